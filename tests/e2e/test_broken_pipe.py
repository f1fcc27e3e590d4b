"""The reader of reconciler's output goes away (`reconciler apply | head -1`):
no traceback, and an apply in progress still runs to its end and records every
action, so the next plan has nothing to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_wav

REPO = Path(__file__).resolve().parents[2]


def world(root: Path, count: int) -> Path:
    (root / "audio").mkdir()
    for i in range(count):
        (root / "audio" / f"p{i:04d}.wav").write_bytes(make_wav(0.05, freq=200 + i))
    config = root / "reconciler.toml"
    config.write_text('[providers.local]\ntype = "directory"\npath = "remote"\n'
                      '[[providers.local.glob]]\npattern = "audio/*.wav"\n')
    return config


def run_closing_stdout(config: Path, *args: str) -> tuple[int, str]:
    """Run reconciler with stdout a pipe whose reader closes after one line."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args, "-c", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=config.parent, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # `head -1` is done
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=120), stderr


@pytest.mark.parametrize("command", [("apply", "--auto-approve"), ("plan",)])
def test_a_closed_stdout_ends_without_a_traceback(tmp_path, command):
    config = world(tmp_path, 120)
    code, stderr = run_closing_stdout(config, *command)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert code in (0, 1, 2)


def test_an_apply_whose_reader_went_away_still_records_every_action(tmp_path):
    config = world(tmp_path, 120)
    code, stderr = run_closing_stdout(config, "apply", "--auto-approve")
    assert code == 0, stderr
    assert len(list((tmp_path / "remote").glob("*.wav"))) == 120
    again = subprocess.run([sys.executable, "-m", "reconciler", "plan", "--detailed-exitcode", "-c", str(config)],
                           capture_output=True, text=True, cwd=tmp_path,
                           env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)})
    assert again.returncode == 0, again.stdout + again.stderr
