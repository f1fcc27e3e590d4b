"""The action's install step (ci/action.sh install, as action.yml runs it):
reconciler goes into its own virtualenv under RUNNER_TEMP, from the action's
own folder unless `version` names a pip requirement, and the command step
then runs that virtualenv's reconciler. `python` and the venv's tools are
stand-ins that record their arguments (a real install needs the network)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
ACTION_SH = ROOT / "ci" / "action.sh"

FAKE_PYTHON = r"""#!/usr/bin/env bash
# `python -m venv DIR` makes DIR/bin/{python,reconciler}, stand-ins that log their arguments
echo "python $*" >> "$LOG"
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  printf '#!/usr/bin/env bash\necho "venv-python $*" >> "$LOG"\n' > "$3/bin/python"
  printf '#!/usr/bin/env bash\necho "venv-reconciler $*" >> "$LOG"\necho "reconciler, version 9.9.9"\n' > "$3/bin/reconciler"
  chmod +x "$3/bin/python" "$3/bin/reconciler"
fi
"""


def run(tmp: Path, step: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python").write_text(FAKE_PYTHON)
    (bin_dir / "python").chmod(0o755)
    log = tmp / "log"
    full = {
        "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LOG": str(log),
        "RUNNER_TEMP": str(tmp / "temp"), "GITHUB_ACTION_PATH": str(ROOT), "GITHUB_OUTPUT": str(tmp / "out"), **env,
    }
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(ACTION_SH), step],
                          cwd=tmp, env=full, capture_output=True, text=True)
    return proc, log.read_text().splitlines() if log.exists() else []


def test_installs_the_actions_own_copy_into_a_venv(tmp_path):
    proc, log = run(tmp_path, "install")
    assert proc.returncode == 0, proc.stderr
    venv = tmp_path / "temp" / "reconciler-venv"
    assert log[0] == f"python -m venv {venv}"
    assert log[1] == f"venv-python -m pip install --quiet --disable-pip-version-check {ROOT}"
    assert "reconciler, version 9.9.9" in proc.stdout


def test_version_installs_that_requirement(tmp_path):
    proc, log = run(tmp_path, "install", INPUT_VERSION="reconciler==0.1.0")
    assert proc.returncode == 0, proc.stderr
    assert log[1].endswith("pip install --quiet --disable-pip-version-check reconciler==0.1.0")


def test_the_command_step_runs_the_venvs_reconciler(tmp_path):
    run(tmp_path, "install")
    proc, log = run(tmp_path, "run", INPUT_COMMAND="validate", INPUT_CONFIG="prompts/reconciler.toml")
    assert proc.returncode == 0, proc.stderr
    assert log[-1] == "venv-reconciler validate -c prompts/reconciler.toml --no-color"
    assert (tmp_path / "out").read_text() == "exit-code=0\n"


def test_install_false_needs_reconciler_on_path(tmp_path):
    proc, log = run(tmp_path, "install", INPUT_INSTALL="false")
    assert proc.returncode == 1
    assert "install is false but no reconciler is on PATH" in proc.stderr
    assert log == []  # nothing installed


def test_an_unknown_command_is_refused(tmp_path):
    proc, _ = run(tmp_path, "run", INPUT_COMMAND="destroy")
    assert proc.returncode == 1
    assert "command must be plan, apply, drift or validate, not 'destroy'" in proc.stderr
