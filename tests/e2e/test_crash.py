"""Crash safety with a real process: `reconciler apply` is SIGKILLed
between two actions, or between a remote action and its lockfile record (the
RECONCILER_TEST_KILL_AT hook in reconciler/lockstore.py), and the next apply
must finish the job: no duplicate, no lost record, then "No changes".
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import tomllib
from pathlib import Path

import pytest

from reconciler.lockfile import read_lockfile
from reconciler.lockstore import TEST_KILL_ENV
from tests.conftest import make_wav
from tests.e2e.crash_env import run_process

AUDIO = {name: make_wav(0.1, seed=i) for i, name in enumerate(
    ["alpha", "bravo", "charlie", "charlie2", "delta", "echo", "foxtrot"])}

BEFORE = {
    "alpha": {"file": "audio/alpha.wav"},
    "bravo": {"file": "audio/bravo.wav", "description": "old"},
    "charlie": {"file": "audio/charlie.wav"},
    "foxtrot": {"file": "audio/foxtrot.wav"},
}
# one of each action: delete alpha, update bravo, replace charlie, create delta
# and echo, rename foxtrot — six actions, six lockfile checkpoints
AFTER = {
    "bravo": {"file": "audio/bravo.wav", "description": "new"},
    "charlie": {"file": "audio/charlie2.wav"},
    "delta": {"file": "audio/delta.wav", "description": "fourth"},
    "echo": {"file": "audio/echo.wav"},
    "foxtrot": {"file": "audio/foxtrot.wav", "name": "fox"},
}
ACTIONS = 6
REPO = Path(__file__).resolve().parents[2]
EXPECTED_FILES = {
    "bravo.wav": "bravo", "charlie.wav": "charlie2", "delta.wav": "delta",
    "echo.wav": "echo", "fox.wav": "foxtrot",
}


def toml(assets: dict[str, dict]) -> str:
    lines = ["[providers.local]", 'type = "directory"', 'path = "remote"']
    for key, fields in assets.items():
        lines.append(f"[providers.local.assets.{key}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


def reconciler(workspace, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != TEST_KILL_ENV}
    env["NO_COLOR"] = "1"
    # the package under test, installed or not
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if kill_at:
        env[TEST_KILL_ENV] = kill_at
    # a process of its own, forked from a server that imported reconciler once (crash_env)
    return run_process([*args, "-c", str(workspace.config)], env, workspace.root, timeout=60)


@pytest.fixture
def started(workspace, run_cli):
    """Applied with BEFORE; the config now says AFTER."""
    for name, data in AUDIO.items():
        workspace.audio(f"{name}.wav", data)
    workspace.write(toml(BEFORE))
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    assert code == 0, out + err
    workspace.write(toml(AFTER))
    return workspace


def assert_converged(ws) -> None:
    on_disk = sorted(p.name for p in ws.target.iterdir())
    assert on_disk == [".reconciler-index.json", *sorted(EXPECTED_FILES)], "duplicates or leftovers"
    for filename, source in EXPECTED_FILES.items():
        assert (ws.target / filename).read_bytes() == AUDIO[source], filename
    index = json.loads((ws.target / ".reconciler-index.json").read_text())
    assert index == {"bravo.wav": "new", "delta.wav": "fourth"}

    lock = tomllib.loads(ws.lock.read_text())
    recorded = {addr: e["remote_id"] for addr, e in lock["assets"].items()}
    assert recorded == {
        "local.bravo": "bravo.wav", "local.charlie": "charlie.wav", "local.delta": "delta.wav",
        "local.echo": "echo.wav", "local.foxtrot": "fox.wav",
    }
    for addr, entry in lock["assets"].items():
        source = EXPECTED_FILES[entry["remote_id"]]
        assert entry["sha256"] == hashlib.sha256(AUDIO[source]).hexdigest(), addr
        assert "superseded" not in entry, addr
    assert lock["assets"]["local.bravo"]["description"] == "new"
    assert lock["assets"]["local.foxtrot"]["name"] == "fox"
    # no temp files of the atomic writes left anywhere (`.reconciler/` is the
    # local cache folder: git-ignored, safe to delete)
    assert sorted(p.name for p in ws.root.iterdir() if p.name.startswith(".") and p.name != ".reconciler") == []
    assert [p for p in ws.root.rglob("*.tmp")] == []


def test_uninterrupted_apply_takes_six_checkpoints(started):
    serial = tomllib.loads(started.lock.read_text())["serial"]
    proc = reconciler(started, "apply", "--auto-approve")
    assert proc.returncode == 0, proc.stderr
    assert tomllib.loads(started.lock.read_text())["serial"] == serial + ACTIONS
    assert_converged(started)


@pytest.mark.parametrize(
    "kill_at",
    [f"before:{n}" for n in range(1, ACTIONS + 1)] + [f"after:{n}" for n in range(1, ACTIONS)],
)
def test_apply_killed_mid_way_converges_on_the_next_apply(started, kill_at):
    lock_before = started.lock.read_bytes()
    proc = reconciler(started, "apply", "--auto-approve", kill_at=kill_at)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)
    assert "Apply complete" not in proc.stdout
    # the lockfile is always a whole file, and with its journal it holds the
    # last checkpoint, or the one before it
    tomllib.loads(started.lock.read_text())
    lock = read_lockfile(started.lock).model_dump()
    n = int(kill_at.split(":")[1])
    written = n - 1 if kill_at.startswith("before") else n
    assert lock["serial"] == tomllib.loads(lock_before.decode())["serial"] + written
    if written == 0:
        assert started.lock.read_bytes() == lock_before

    proc = reconciler(started, "apply", "--auto-approve")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Apply complete" in proc.stdout
    assert_converged(started)

    proc = reconciler(started, "plan", "--detailed-exitcode")
    assert proc.returncode == 0, proc.stdout
    assert "No changes. Remote state matches the configuration." in proc.stdout
    assert "changed outside of reconciler" not in proc.stdout
