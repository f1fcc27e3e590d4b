"""examples/ci and the action: every reconciler command line in them (and in
ci/action.sh, which the workflows run through action.yml) parses with the real
CLI, and they use the exit codes the way the README says. The workflows are
run for real in test_ci_workflows.py and schema-checked in test_ci_schemas.py."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from reconciler.cli import cli

ROOT = Path(__file__).parents[2]
CI = ROOT / "examples" / "ci"
FILES = sorted({*CI.glob("*.yml"), *CI.glob("*.yaml"), *CI.glob(".*.yaml")})
PRE_COMMIT = [p for p in FILES if "pre-commit" in p.name]
ACTION_SH = ROOT / "ci" / "action.sh"


def command_lines(text: str) -> list[list[str]]:
    """`reconciler ...` invocations (up to a redirection or `||`)."""
    out = []
    for m in re.finditer(r"^\s*(?:(?:- )?(?:run|entry):\s*)?reconciler ([a-z][^\n]*)$", text, re.MULTILINE):
        line = re.split(r"\s(?:\d?>|\|\||#)", m.group(1))[0]
        out.append(shlex.split(line))
    return out


def action_command_lines() -> list[list[str]]:
    """`"$RECONCILER" ...` invocations in ci/action.sh, continuation lines joined,
    cut at a redirection or `||`; shell variables become placeholder words."""
    text = ACTION_SH.read_text().replace("\\\n", " ")
    out = []
    for m in re.finditer(r'"\$RECONCILER" ([a-z][^\n]*)', text):
        line = re.split(r"\s(?:\d?>|\|\||#)", m.group(1))[0].replace('"${EXTRA[@]}"', "")
        out.append([re.sub(r"^\$\{?(\w+)\}?$", r"\1.value", w) for w in shlex.split(line)])
    return out


def parse(words: list[str]) -> None:
    ctx = click.Context(cli, info_name="reconciler")
    command = cli.get_command(ctx, words[0])
    assert command is not None, words
    rest = words[1:]
    if isinstance(command, click.Group):
        sub = command.get_command(ctx, rest[0])
        assert sub is not None, words
        command, rest = sub, rest[1:]
    command.make_context(words[0], rest, parent=ctx)  # raises on an unknown option


def test_examples_exist():
    names = {p.name for p in FILES}
    assert {"plan-comment.yml", "apply.yml", "drift.yml", ".pre-commit-hooks.yaml", "pre-commit-config.yaml"} <= names


@pytest.mark.parametrize("path", PRE_COMMIT, ids=lambda p: p.name)
def test_every_command_line_parses(path):
    lines = command_lines(path.read_text())
    assert lines, f"no reconciler command found in {path.name}"
    for words in lines:
        parse(words)


def test_every_command_line_of_the_action_parses():
    lines = action_command_lines()
    assert {w[0] for w in lines} == {"plan", "apply", "drift", "validate"}, lines
    for words in lines:
        parse(words)


def uses_the_action(name: str, command: str) -> str:
    text = (CI / name).read_text()
    assert re.search(r"- uses: [\w-]+/reconciler@v\d", text), f"{name} does not use the action"
    assert f"command: {command}" in text
    return text


def test_plan_workflow_uses_the_action_with_one_comment():
    text = uses_the_action("plan-comment.yml", "plan")
    assert "pull_request:" in text and "comment: true" in text
    assert "pull-requests: write" in text
    action = ACTION_SH.read_text()
    assert "--detailed-exitcode" in action and "--format markdown" in action and "--out" in action
    assert "|| code=$?" in action  # `bash -e` would stop at exit 2 otherwise
    # one comment, updated: found by a marker, else created
    assert "<!-- reconciler-plan config=$CONFIG -->" in action
    assert "-X PATCH" in action and "-X POST" in action


def test_apply_workflow_is_serialised_and_may_write():
    text = uses_the_action("apply.yml", "apply")
    assert "push:" in text and "branches: [main]" in text
    assert "group: reconciler-apply" in text and "cancel-in-progress: false" in text
    for permission in ("contents: write", "pull-requests: write", "actions: read"):
        assert permission in text
    assert "plan-run: ${{ inputs.plan-run }}" in text and "workflow_dispatch:" in text
    plan = (CI / "plan-comment.yml").read_text()
    paths = lambda t: re.search(r"paths:.*?\n((?:\s+- .*\n)+)", t).group(1).split()  # noqa: E731
    assert paths(text) == paths(plan)  # a change planned in a PR is applied after its merge


def test_drift_workflow():
    text = uses_the_action("drift.yml", "drift")
    assert "schedule:" in text and "cron:" in text
    assert "issues: write" in text and "comment: true" in text


def test_pre_commit_hook_runs_validate():
    hooks = (CI / ".pre-commit-hooks.yaml").read_text()
    assert "entry: reconciler validate" in hooks and "pass_filenames: false" in hooks
    assert (ROOT / ".pre-commit-hooks.yaml").read_text() == hooks
    assert "entry: reconciler validate" in (CI / "pre-commit-config.yaml").read_text()


def test_the_action_plan_command_behaves_as_the_action_expects(tmp_path, run_cli, wav):
    """The exact plan command of the action: markdown on stdout, exit 2, a saved plan."""
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "welcome.wav").write_bytes(wav(seed=1))
    cfg = tmp_path / "reconciler.toml"
    cfg.write_text('[providers.ivr]\ntype = "directory"\npath = "remote"\n'
                   '[providers.ivr.assets.welcome]\nfile = "audio/welcome.wav"\n')
    words = next(w for w in action_command_lines() if w[0] == "plan")
    words = [{"CONFIG.value": str(cfg), "PLAN_FILE.value": str(tmp_path / "plan.json")}.get(w, w) for w in words]
    code, out, err = run_cli(*words)
    assert code == 2, err
    assert out.startswith("### reconciler plan")
    assert (tmp_path / "plan.json").exists()
