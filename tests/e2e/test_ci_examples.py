"""examples/ci: every reconciler command line in them parses with the real CLI,
and the workflows use the exit codes the way the README says."""

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


def command_lines(text: str) -> list[list[str]]:
    """`reconciler ...` invocations (up to a redirection or `||`)."""
    out = []
    for m in re.finditer(r"^\s*(?:(?:- )?(?:run|entry):\s*)?reconciler ([a-z][^\n]*)$", text, re.MULTILINE):
        line = re.split(r"\s(?:\d?>|\|\||#)", m.group(1))[0]
        out.append(shlex.split(line))
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
    assert {"plan-comment.yml", "drift.yml", ".pre-commit-hooks.yaml", "pre-commit-config.yaml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_command_line_parses(path):
    lines = command_lines(path.read_text())
    assert lines, f"no reconciler command found in {path.name}"
    for words in lines:
        parse(words)


def test_plan_workflow_reads_the_detailed_exit_code():
    text = (CI / "plan-comment.yml").read_text()
    assert "pull_request:" in text
    assert "--detailed-exitcode" in text and "--format markdown" in text
    assert "|| code=$?" in text  # `bash -e` would stop at exit 2 otherwise
    assert "exitcode == '1'" in text and "exit 1" in text  # errors fail the job
    # one comment, updated: found by a marker, else created
    assert "<!-- reconciler-plan -->" in text
    assert "updateComment" in text and "createComment" in text
    assert "pull-requests: write" in text


def test_drift_workflow():
    text = (CI / "drift.yml").read_text()
    assert "schedule:" in text and "cron:" in text
    assert "reconciler drift" in text and "|| code=$?" in text
    assert "exitcode == '2'" in text and "exitcode == '0'" in text


def test_pre_commit_hook_runs_validate():
    hooks = (CI / ".pre-commit-hooks.yaml").read_text()
    assert "entry: reconciler validate" in hooks and "pass_filenames: false" in hooks
    assert (ROOT / ".pre-commit-hooks.yaml").read_text() == hooks
    assert "entry: reconciler validate" in (CI / "pre-commit-config.yaml").read_text()


def test_the_workflow_plan_command_behaves_as_the_workflow_expects(tmp_path, run_cli, wav):
    """The exact command of the plan workflow: markdown on stdout, exit 2, a saved plan."""
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "welcome.wav").write_bytes(wav(seed=1))
    cfg = tmp_path / "reconciler.toml"
    cfg.write_text('[providers.ivr]\ntype = "directory"\npath = "remote"\n'
                   '[providers.ivr.assets.welcome]\nfile = "audio/welcome.wav"\n')
    words = next(w for w in command_lines((CI / "plan-comment.yml").read_text()) if w[0] == "plan")
    words = [str(tmp_path / "plan.json") if w == "plan.json" else w for w in words]
    code, out, err = run_cli(*words, "-c", str(cfg))
    assert code == 2, err
    assert out.startswith("### reconciler plan")
    assert (tmp_path / "plan.json").exists()
