"""The CI harness evaluates `if:` and `${{ }}` as GitHub documents them
(https://docs.github.com/en/actions/learn-github-actions/expressions), so the
workflow tests take the branches GitHub would take."""

from __future__ import annotations

import pytest

from tests.e2e.ci.expressions import (
    ExpressionError,
    base_functions,
    condition,
    evaluate,
    interpolate,
)
from tests.e2e.ci.runner import parse_output_file

CONTEXTS = {
    "steps": {"run": {"outputs": {"plan-path": "/tmp/p.json", "exit-code": "2"}}},
    "inputs": {"install": "true", "comment": "false", "plan-run": ""},
    "github": {"event": {"pull_request": {"number": 7}}, "event_name": "push"},
}


def ev(text: str, ok: bool = True):
    return evaluate(text, CONTEXTS, base_functions(lambda: ok))


@pytest.mark.parametrize(("text", "value"), [
    ("steps.run.outputs.plan-path != ''", True),
    ("steps.other.outputs.plan-path != ''", False),  # missing is null, and null == '' (both 0)
    ("steps.run.outputs.exit-code == 2", True),  # '2' == 2: coerced to numbers
    ("inputs.install == 'TRUE'", True),  # strings compare ignoring case
    ("inputs.comment == 'true'", False),
    ("!inputs.plan-run", True),
    ("github.event.pull_request.number", 7.0),
    ("github.event_name == 'push' && 'yes' || 'no'", "yes"),  # && and || return an operand
    ("github.event_name == 'pull_request' && 'yes' || 'no'", "no"),
    ("contains('plan apply', 'APPLY')", True),
    ("format('{0}-{1}', 'reconciler', 7)", "reconciler-7"),
])
def test_values(text, value):
    assert ev(text) == value


def test_if_without_a_status_function_means_success_and():
    assert condition("inputs.install == 'true'", CONTEXTS, base_functions(lambda: True))
    assert not condition("inputs.install == 'true'", CONTEXTS, base_functions(lambda: False))
    assert condition("always() && inputs.install == 'true'", CONTEXTS, base_functions(lambda: False))
    assert condition("${{ failure() }}", CONTEXTS, base_functions(lambda: False))
    assert condition(None, CONTEXTS, base_functions(lambda: True))


def test_interpolation_and_unknown_names():
    fns = base_functions(lambda: True)
    assert interpolate("plan: ${{ steps.run.outputs.plan-path }}!", CONTEXTS, fns) == "plan: /tmp/p.json!"
    assert interpolate("[${{ steps.nope.outputs.x }}]", CONTEXTS, fns) == "[]"
    assert interpolate(True, CONTEXTS, fns) == "true"  # `comment: true` reaches the action as 'true'
    with pytest.raises(ExpressionError):
        ev("secrets.TOKEN")  # a context the workflow cannot have here
    with pytest.raises(ExpressionError):
        ev("hashFiles('x')")


def test_output_file_formats(tmp_path):
    f = tmp_path / "out"
    f.write_text("exit-code=2\nbody<<EOF\nline 1\nline=2\nEOF\nplan-path=/a=b\n")
    assert parse_output_file(f) == {"exit-code": "2", "body": "line 1\nline=2", "plan-path": "/a=b"}
