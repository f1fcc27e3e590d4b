"""Crash safety of group commit (reconciler/groupcommit.py): the journal lines
of actions that complete together share one write and one fsync, done off the
event loop. A real `reconciler apply` of 8 creates, 4 in flight, on soniox
(names need not be unique there, so a create whose record was lost and that
is sent again would show as a duplicate), is SIGKILLed at a checkpoint that
shares its batch with others — before the batch is written, half-way through
its lines, and just after the checkpoint is on disk. The write is held back
(RECONCILER_TEST_JOURNAL_DELAY) so the completions pile up into one batch;
the hook says the batch's size, and the test insists it was more than one.

Every time: the recorded state is exactly the checkpoints before the kill
point (and the point itself, `after`), reconciler.lock parses, and ONE more
apply converges: every asset once on the remote, all recorded, and the plan
after it says "No changes".
"""

from __future__ import annotations

import re
import signal
import tomllib

import pytest

from reconciler.lockfile import Lockfile, read_lockfile
from reconciler.lockstore import TEST_JOURNAL_DELAY_ENV, TEST_KILL_ENV
from tests.e2e.crash_env import INSTANCE, KINDS, Env, audio

ASSETS = {f"a{i}": (f"a{i}", audio(i)) for i in range(8)}
KILL_AT = 3  # the first batch holds the first completion; the third shares the next with others


@pytest.fixture
def env(tmp_path):
    env = Env(KINDS["soniox"](), tmp_path / "ws")
    yield env
    env.close()


@pytest.mark.parametrize("stage", ["before", "torn", "after"])
def test_kill_inside_a_group_commit_loses_only_the_actions_in_flight(env, run_cli, stage):
    env.write(ASSETS)
    run = env.start("apply", "--auto-approve", **{TEST_KILL_ENV: f"{stage}:{KILL_AT}", TEST_JOURNAL_DELAY_ENV: "0.3"})
    code = run.wait()
    output = run.output
    assert code == -signal.SIGKILL, output
    found = re.search(rf"test hook: {stage}:{KILL_AT}, line (\d+) of a batch of (\d+)", output)
    assert found, output
    assert int(found.group(2)) > 1, f"the kill point did not share its fsync: {output}"

    # exactly the checkpoints before the kill point are recorded (and it, after it)
    written = KILL_AT if stage == "after" else KILL_AT - 1
    assert read_lockfile(env.lock).serial == written
    assert len(read_lockfile(env.lock).assets) == written
    if env.lock.exists():
        Lockfile.model_validate(tomllib.loads(env.lock.read_text()))

    code, out, err = run_cli("apply", "--auto-approve", "-c", str(env.config), env=env.env)
    assert code == 0, out + err
    assert env.remote() == sorted(ASSETS.values()), "a duplicate, or an asset missing"
    lock = tomllib.loads(env.lock.read_text())
    assert sorted(lock["assets"]) == sorted(f"{INSTANCE}.{k}" for k in ASSETS)
    code, out, err = run_cli("plan", "--detailed-exitcode", "-c", str(env.config), env=env.env)
    assert code == 0, out + err
    assert "No changes." in out
