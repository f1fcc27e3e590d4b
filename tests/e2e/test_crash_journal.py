"""Crash safety of the lockfile journal (reconciler/journal.py) with a real
process: SIGKILL half-way through a journal line, just before the journal is
folded into reconciler.lock, and between the lockfile's replacement and the
journal's removal — at the end of an apply and during the fold the next
command does. Every time: reconciler.lock parses, the recorded state is a
whole checkpoint, read-only commands see it without writing, and the next
apply converges.
"""

from __future__ import annotations

import signal
import tomllib

import pytest

from reconciler.lockfile import journal_path, read_lockfile
from tests.e2e import test_crash
from tests.e2e.test_crash import ACTIONS, assert_converged, reconciler

started = test_crash.started  # the same fixture: applied with BEFORE, the config now says AFTER


def serial_of(ws) -> int:
    return tomllib.loads(ws.lock.read_text())["serial"]


def killed(ws, kill_at: str) -> None:
    proc = reconciler(ws, "apply", "--auto-approve", kill_at=kill_at)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)


def converges(ws) -> None:
    proc = reconciler(ws, "apply", "--auto-approve")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not journal_path(ws.lock).exists()
    assert_converged(ws)
    proc = reconciler(ws, "plan", "--detailed-exitcode")
    assert proc.returncode == 0, proc.stdout
    assert "changed outside of reconciler" not in proc.stdout


@pytest.mark.parametrize("n", range(1, ACTIONS + 1))
def test_kill_half_way_through_a_journal_line_loses_only_that_action(started, n):
    base = serial_of(started)
    before = started.lock.read_bytes()
    killed(started, f"torn:{n}")
    assert started.lock.read_bytes() == before  # the lockfile proper is only replaced by a fold
    raw = journal_path(started.lock).read_bytes()
    assert not raw.endswith(b"\n"), "the hook must leave a torn last line"
    assert read_lockfile(started.lock).serial == base + n - 1
    converges(started)


def test_kill_before_the_final_fold_keeps_every_record_in_the_journal(started):
    base = serial_of(started)
    before = started.lock.read_bytes()
    killed(started, "fold:0")
    assert started.lock.read_bytes() == before
    assert read_lockfile(started.lock).serial == base + ACTIONS
    # read-only commands see the journal's records and write nothing
    proc = reconciler(started, "plan", "--detailed-exitcode")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = reconciler(started, "state", "list")
    assert proc.returncode == 0 and "local.delta" in proc.stdout and "local.alpha" not in proc.stdout
    assert started.lock.read_bytes() == before and journal_path(started.lock).exists()
    # the next command that takes the lock folds it
    proc = reconciler(started, "apply", "--auto-approve")
    assert proc.returncode == 0, proc.stderr
    assert "No changes" in proc.stdout
    assert serial_of(started) == base + ACTIONS
    assert not journal_path(started.lock).exists()
    assert_converged(started)


def test_kill_after_the_lockfile_was_replaced_drops_the_folded_journal(started):
    base = serial_of(started)
    killed(started, "folded:0")
    assert serial_of(started) == base + ACTIONS  # the fold's rename happened
    assert journal_path(started.lock).exists()
    assert read_lockfile(started.lock).serial == base + ACTIONS  # not applied twice
    converges(started)
    assert serial_of(started) == base + ACTIONS


@pytest.mark.parametrize("stage", ["fold:0", "folded:0"])
def test_kill_during_the_recovery_fold_of_the_next_command(started, stage):
    base = serial_of(started)
    killed(started, "before:4")  # three actions recorded, in the journal only
    assert read_lockfile(started.lock).serial == base + 3
    killed(started, stage)  # the next apply dies folding them
    tomllib.loads(started.lock.read_text())
    assert read_lockfile(started.lock).serial >= base + 3
    converges(started)
