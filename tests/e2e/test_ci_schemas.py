"""Every workflow in examples/ci and the action's action.yml validate against
the GitHub schemas that check-jsonschema vendors (offline: no download), and
the check can fail: a broken workflow and a broken action are rejected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
WORKFLOWS = sorted((ROOT / "examples" / "ci").glob("*.yml"))
CHECK = str(Path(sys.executable).with_name("check-jsonschema"))


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
