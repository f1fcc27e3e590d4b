"""What a crash must not leave behind, and what must be checked before an
apply touches anything remote:

- a lockfile that cannot be written (read-only folder, lockfile, lock anchor
  or journal) is found before the first request: a clear error, exit 1,
  nothing done remotely, the lockfile byte for byte as it was;
- the temp files of a write killed before its rename (in a `directory`
  target, beside the lockfile) are never listed as unmanaged and are removed
  by the next apply — only ours, by their exact name pattern.
"""

from __future__ import annotations

import ctypes
import os
import stat
import subprocess

import pytest

from reconciler.atomic import is_temp_name
from tests.e2e.crash_env import KINDS, Env, audio

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _drop_root_privilege() -> None:
    """In the child, before exec: as root, file permissions bind only without
    the DAC capabilities; dropping them from the bounding set leaves the
    exec'd reconciler an ordinary user as far as permissions go."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                os._exit(97)


def run_unprivileged(env: Env, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        env.argv(*args), env=env.subprocess_env(), cwd=env.root, capture_output=True, text=True,
        timeout=120, check=False, preexec_fn=_drop_root_privilege,  # noqa: PLW1509 - no threads fork here
    )
    if proc.returncode == 97:
        pytest.skip("cannot drop root's DAC capabilities here")
    return proc


def read_only(path) -> None:
    path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)


@pytest.mark.parametrize("what", ["folder", "lockfile", "lock anchor", "journal"])
def test_an_unwritable_lockfile_stops_apply_before_any_remote_call(what, tmp_path, run_cli):
    env = Env(KINDS["plusofon"](), tmp_path / "ws")
    try:
        env.write({"alpha": ("alpha", audio(1))})
        code, out, err = run_cli("apply", "--auto-approve", "-c", str(env.config), env=env.env)
        assert code == 0, out + err
        env.write({"alpha": ("alpha", audio(1)), "bravo": ("bravo", audio(2))})
        journal = env.root / "reconciler.lock.journal"
        if what == "journal":
            journal.write_bytes(b"")  # as an apply killed before its first record leaves it
        before = env.lock.read_bytes()
        env.emulator.reset_log()
        target = {"folder": env.root, "lockfile": env.lock, "lock anchor": env.root / "reconciler.lock.lck",
                  "journal": journal}[what]
        if what == "lock anchor":
            target.touch()
        read_only(target)
        try:
            proc = run_unprivileged(env, "apply", "--auto-approve")
        finally:
            target.chmod(0o755 if target.is_dir() else 0o644)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert proc.stderr.startswith("Error: ") and "Traceback" not in proc.stderr, proc.stderr
        assert "nothing was done" in proc.stderr or "cannot lock" in proc.stderr, proc.stderr
        assert str(target) in proc.stderr
        assert env.emulator.requests == [], "a request was made before the lockfile check"
        assert env.lock.read_bytes() == before
        assert [name for name, _ in env.remote()] == ["alpha"]
    finally:
        env.close()


def test_temp_files_of_a_killed_write_are_removed_by_the_next_apply(tmp_path, run_cli):
    env = Env(KINDS["directory"](), tmp_path / "ws")
    env.write({"alpha": ("alpha", audio(1))})
    code, out, err = run_cli("apply", "--auto-approve", "-c", str(env.config))
    assert code == 0, out + err
    # what atomic_write leaves when killed between its temp file and the rename
    ours = [env.target / ".bravo.wav.reconciler-k3x_9q2a.tmp", env.target / ".reconciler-index.json.reconciler-0a1b2c3d.tmp",
            env.root / ".reconciler.lock.reconciler-zz9_aa00.tmp"]
    # a person's files that look alike but are not ours: never touched
    theirs = [env.target / ".notes.tmp", env.target / ".bravo.wav.k3x_9q2a.tmp", env.target / "bravo.reconciler-k3x_9q2a.tmp",
              env.root / ".draft.toml.reconciler-abc.tmp"]
    for path in ours + theirs:
        path.write_bytes(audio(2)[:100])
    assert all(is_temp_name(p.name) for p in ours) and not any(is_temp_name(p.name) for p in theirs)

    code, out, err = run_cli("plan", "-c", str(env.config))
    assert code == 0, out + err
    assert ".bravo.wav.reconciler-" not in out and ".json.reconciler-" not in out, out
    assert "bravo.reconciler-k3x_9q2a" in out  # a person's (listed, never touched)
    assert all(p.exists() for p in ours), "plan must not change anything"

    env.write({"alpha": ("alpha", audio(1)), "bravo": ("bravo", audio(2))})
    code, out, err = run_cli("apply", "--auto-approve", "-c", str(env.config))
    assert code == 0, out + err
    assert not any(p.exists() for p in ours)
    assert all(p.exists() for p in theirs)
    assert sorted(p.name for p in env.target.iterdir() if not p.name.startswith(".")) == [
        "alpha.wav", "bravo.reconciler-k3x_9q2a.tmp", "bravo.wav"]
    code, out, err = run_cli("plan", "--detailed-exitcode", "-c", str(env.config))
    assert code == 0 and "No changes." in out, out + err


def test_an_apply_with_nothing_to_do_still_removes_our_temp_files(tmp_path, run_cli):
    env = Env(KINDS["directory"](), tmp_path / "ws")
    env.write({"alpha": ("alpha", audio(1))})
    assert run_cli("apply", "--auto-approve", "-c", str(env.config))[0] == 0
    stale = env.target / ".alpha.wav.reconciler-abcdefgh.tmp"
    stale.write_bytes(b"half a file")
    code, out, err = run_cli("apply", "--auto-approve", "-c", str(env.config))
    assert code == 0 and "No changes." in out, out + err
    assert not stale.exists()
