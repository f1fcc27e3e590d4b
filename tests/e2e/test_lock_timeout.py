"""--lock-timeout on apply and the state commands: wait for a held lockfile
with a message (Terraform's -lock-timeout), fail when it stays held."""

from __future__ import annotations

import threading
import time

import filelock
import pytest

from reconciler.durations import format_duration, parse_duration
from tests.e2e import gitops_env

project = gitops_env.project
three = gitops_env.three


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0), ("0s", 0), ("10s", 10), ("5m", 300), ("1h", 3600), ("1m30s", 90), ("1.5h", 5400),
    ("500ms", 0.5), (".5s", 0.5), ("2h45m", 9900), ("100us", 1e-4), ("1µs", 1e-6),
])
def test_durations_in_terraform_syntax(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "5 m", "-1s", "1d", "m", "1s2", "s10", "1.2.3s"])
def test_durations_refused(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_format_duration():
    assert [format_duration(s) for s in (0, 0.25, 10, 90, 300, 3661)] == ["0s", "250ms", "10s", "1m30s", "5m", "1h1m1s"]


class Holder:
    """Another holder of the lockfile's OS lock: `join()` waits until it let go."""

    def __init__(self, thread: threading.Thread, released: threading.Event) -> None:
        self.thread, self.released = thread, released

    def release(self) -> None:
        self.released.set()

    def join(self) -> None:
        self.thread.join()


def hold_for(lock_path: str, seconds: float) -> Holder:
    """Hold the lockfile's OS lock for `seconds`, or until `release()`d."""
    taken, released = threading.Event(), threading.Event()

    def run() -> None:
        with filelock.FileLock(lock_path).acquire(timeout=0):
            taken.set()
            released.wait(seconds)

    t = threading.Thread(target=run)
    t.start()
    assert taken.wait(5)
    return Holder(t, released)


COMMANDS = {
    "apply": ("apply", "--auto-approve"),
    "state rm": ("state rm", "ivr.goodbye"),
    "state mv": ("state mv", "ivr.goodbye", "ivr.farewell"),
    "import": ("import", "ivr.goodbye", "goodbye.wav"),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_waits_with_a_message_then_runs(three, name):
    command, *args = COMMANDS[name]
    if name == "import":
        three.cli("state rm", "ivr.goodbye")
    else:
        three.assets["welcome"]["description"] = "changed"  # something for apply to do
        three.write()
    before = three.lock.read_bytes()
    holder = hold_for(str(three.lock) + ".lck", 0.8)
    started = time.monotonic()
    code, out, err = three.cli(command, *args, "--lock-timeout", "20s")
    waited = time.monotonic() - started
    holder.join()
    assert code == 0, out + err
    assert "is held by another reconciler process; waiting up to 20s for it (--lock-timeout)..." in err
    assert waited >= 0.5  # it waited for the holder instead of failing at once
    assert three.lock.read_bytes() != before  # and then did its work


@pytest.mark.parametrize("name", list(COMMANDS))
def test_default_fails_at_once_and_a_short_timeout_fails_after_waiting(three, name):
    command, *args = COMMANDS[name]
    if name == "import":
        three.cli("state rm", "ivr.goodbye")
    before = three.lock.read_bytes()
    holder = hold_for(str(three.lock) + ".lck", 60)  # held until both commands have failed
    try:
        started = time.monotonic()
        code, _, err = three.cli(command, *args)
        assert code == 1 and time.monotonic() - started < 2.5
        assert "held by another reconciler process" in err and "--lock-timeout" in err
        assert "waiting" not in err
        code, _, err = three.cli(command, *args, "--lock-timeout", "300ms")
        assert code == 1
        assert "still held by another reconciler process after waiting 300ms (--lock-timeout)" in err
    finally:
        holder.release()
        holder.join()
    assert three.lock.read_bytes() == before


def test_a_bad_duration_is_a_usage_error(three):
    code, _, err = three.cli("apply", "--auto-approve", "--lock-timeout", "5 minutes")
    assert code == 1 and "'5 minutes' is not a duration" in err and "5m" in err


@pytest.mark.parametrize(("text", "shown"), [("1500ms", "1.5s"), ("1m30.5s", "1m30.5s"), ("2.25s", "2.25s"), ("1.5h", "1h30m")])
def test_the_wait_is_shown_as_long_as_it_is(text, shown):
    """The waiting message names the timeout given, not a rounded one."""
    assert format_duration(parse_duration(text)) == shown
