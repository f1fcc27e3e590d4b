"""Recorded state written: reconciler.lock rendered and replaced atomically,
locked, and checkpointed through its journal during an apply.

Written with tomli-w (the standard library reads TOML but cannot write it;
tomlkit's comment preservation buys nothing for a generated file). Locked
with filelock, an advisory OS lock that dies with the process, so a killed
apply never leaves a stale lock behind.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import tomli_w
from filelock import FileLock, Timeout

from reconciler.atomic import TEMP_MARK, atomic_write, remove_stale_temps
from reconciler.durations import format_duration
from reconciler.errors import LockfileError
from reconciler.groupcommit import GroupCommit
from reconciler.inputs import kind_of, write_failure
from reconciler.journal import JournalWriter, remove_journal
from reconciler.lockfile import LockEntry, Lockfile, _read_toml_lockfile, _replay, journal_path

# Test hook, used only by the crash tests (tests/e2e/test_crash*.py):
# RECONCILER_TEST_KILL_AT set to "before:N" or "after:N" makes the process
# SIGKILL itself just before or just after writing the Nth checkpoint of an
# apply, i.e. between a remote action and its record, or between two actions
# (the checkpoints before the Nth are on disk, and after:N the Nth too, even
# when they share one group-commit write); "torn:N" half-way through the Nth
# journal line; "fold:0" / "folded:0" just before the journal is folded into
# the lockfile, or after the lockfile was replaced but before the journal is
# removed. Unset, as always outside those tests, it does nothing.
TEST_KILL_ENV = "RECONCILER_TEST_KILL_AT"
TEST_JOURNAL_DELAY_ENV = "RECONCILER_TEST_JOURNAL_DELAY"  # seconds; only with a checkpoint kill point


def _test_kill_hook(stage: str, checkpoint: int) -> None:
    if os.environ.get(TEST_KILL_ENV) == f"{stage}:{checkpoint}":
        os.kill(os.getpid(), signal.SIGKILL)


def _checkpoint_kill_point() -> tuple[str, int] | None:
    stage, _, n = os.environ.get(TEST_KILL_ENV, "").partition(":")
    return (stage, int(n)) if stage in ("before", "after", "torn") and n.isdigit() else None


# one checkpoint waiting for its journal write: (its number in this process, its line)
Staged = tuple[int, bytes]


HEADER = (
    "# reconciler lockfile: which local content sits under which remote id.\n"
    "# Generated; commit it, do not edit it by hand.\n"
)

# address -> (entry, its TOML table): what one lockfile write formatted
ChunkCache = dict[str, tuple["LockEntry", str]]


def _entry_chunk(address: str, entry: LockEntry) -> str:
    fields = {k: v for k, v in sorted(entry.model_dump(exclude_none=True).items()) if v != [] and v != {}}
    return tomli_w.dumps({"assets": {address: fields}})


def _dump(lock: Lockfile, cache: ChunkCache | None = None) -> bytes:
    """The file's bytes: exactly tomli_w's rendering of the whole document,
    built table by table so that an apply, which rewrites the lockfile after
    every action, formats only the entries that changed (`cache`, keyed by
    address and checked by identity: entries are replaced, never mutated)."""
    head = tomli_w.dumps({"version": lock.version, "lineage": lock.lineage, "serial": lock.serial})
    chunks: list[str] = []
    for address, entry in sorted(lock.assets.items()):
        hit = cache.get(address) if cache is not None else None
        if hit is None or hit[0] is not entry:
            hit = (entry, _entry_chunk(address, entry))
            if cache is not None:
                cache[address] = hit
        chunks.append(hit[1])
    if cache is not None:
        for gone in cache.keys() - lock.assets.keys():
            del cache[gone]
    body = "\n".join(chunks) if chunks else "[assets]\n"
    return (HEADER + head + "\n" + body).encode()


def write_lockfile(path: Path, lock: Lockfile, *, cache: ChunkCache | None = None) -> None:
    """Atomic: temp file in the same folder, fsync, rename, fsync the folder."""
    body = _dump(lock, cache)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, body, fsync_dir=True)
    except OSError as exc:
        raise LockfileError(
            f"cannot write the lockfile {path}: {write_failure(exc, path)}",
            hint="Make its folder writable (or point `lockfile` under [settings] elsewhere) and run again.",
        ) from None


class LockfileStore:
    """The lockfile during an apply or a state command: hold the lock, record
    every action in the journal at once, fold the journal into the lockfile on
    exit (and a journal a crash left behind, on entry)."""

    def __init__(
        self, path: Path, *, timeout: float = 0.0, on_wait: Callable[[Path, float], None] | None = None
    ) -> None:
        # --lock-timeout: how long to wait for another process's lock (0: fail at once);
        # `on_wait(path, timeout)` is called once, when the lock is found held
        self.timeout = timeout
        self.on_wait = on_wait
        self.path = path
        self.lock_path = path.with_name(path.name + ".lck")
        self.journal_path = journal_path(path)
        self._flock = FileLock(str(self.lock_path), timeout=0)
        self.state: Lockfile | None = None
        self._checkpoints = 0
        self._journal: JournalWriter | None = None
        self._group: GroupCommit[Staged] = GroupCommit(self._write_staged)
        self._kill_at = _checkpoint_kill_point()

    def _acquire(self) -> None:
        try:
            self._flock.acquire(timeout=0)
            return
        except Timeout:
            if self.timeout <= 0:
                raise LockfileError(
                    f"lockfile {self.path} is held by another reconciler process (an apply or a "
                    "state command)",
                    hint="Wait for it to finish, or wait for it with --lock-timeout (e.g. 5m). The OS "
                    f"lock dies with its process, so nothing needs removing; {self.lock_path} is "
                    "only the lock's anchor.",
                ) from None
        if self.on_wait is not None:
            self.on_wait(self.path, self.timeout)
        try:
            self._flock.acquire(timeout=self.timeout, poll_interval=0.1)
        except Timeout:
            raise LockfileError(
                f"lockfile {self.path} is still held by another reconciler process after waiting "
                f"{format_duration(self.timeout)} (--lock-timeout)",
                hint="Let it finish, or wait longer with a larger --lock-timeout. The OS lock dies with "
                f"its process, so nothing needs removing; {self.lock_path} is only the lock's anchor.",
            ) from None

    def __enter__(self) -> LockfileStore:
        try:
            self._acquire()
        except OSError as exc:  # the lock's anchor cannot be created or opened
            raise LockfileError(
                f"cannot lock the lockfile {self.path}: {write_failure(exc, self.lock_path)}",
                hint=f"Make {self.lock_path.parent} writable and {self.lock_path} a regular file "
                "(or point `lockfile` under [settings] elsewhere), and run again.",
            ) from None
        try:
            self._check_writable()
            remove_stale_temps(self.path.parent)  # a write killed before its rename
            lock = _read_toml_lockfile(self.path)
            replayed = _replay(self.path, lock)
            if replayed is not None:  # an interrupted apply's records: into the lockfile first
                self.state = replayed
                self._fold()
            else:
                remove_journal(self.journal_path)  # none, empty, or already folded
                self.state = lock
        except BaseException:
            self._flock.release()  # __exit__ does not run when __enter__ raises
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._journal is not None and self._journal.written:
                self.fold()
        finally:
            if self._journal is not None:
                self._journal.close()
            self._flock.release()

    def _unwritable(self, what: Path, exc: OSError) -> LockfileError:
        return LockfileError(
            f"cannot write {what} ({exc.strerror or exc}): an apply records every remote action in "
            f"the lockfile {self.path} as it goes, so nothing was done",
            hint=f"Make {self.path.parent} and the files {self.path.name}, {self.lock_path.name} and "
            f"{self.journal_path.name} in it writable (or point `lockfile` under [settings] somewhere "
            "writable), then run again.",
        )

    def _check_writable(self) -> None:
        """Before any remote call: the lockfile can be checkpointed (a temp file
        made in its folder and renamed over it) and the lock's anchor written. An
        action that landed remotely and could not be recorded would be lost."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}{TEMP_MARK}", suffix=".tmp", dir=self.path.parent)
        except OSError as exc:
            raise self._unwritable(self.path.parent, exc) from None
        os.close(fd)
        os.unlink(tmp)
        for path in (self.path, self.lock_path, self.journal_path):
            try:
                kind = kind_of(os.stat(path).st_mode)
                if kind is not None:  # a FIFO would block the open below forever
                    raise LockfileError(
                        f"{path} is {kind}, not a regular file; it is part of the lockfile {self.path}",
                        hint=f"Move {path} aside (or point `lockfile` under [settings] elsewhere), then run again.",
                    )
                # open for writing, change nothing: the permission check alone
                os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise self._unwritable(path, exc) from None

    def fold(self) -> None:
        """Write everything recorded into the lockfile and drop the journal."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self._fold()

    def _fold(self) -> None:
        assert self.state is not None
        _test_kill_hook("fold", 0)
        write_lockfile(self.path, self.state)
        _test_kill_hook("folded", 0)  # the lockfile is whole and new; the journal not yet removed
        remove_journal(self.journal_path)

    def _stage(self, record: bytes) -> Staged:
        """The next checkpoint's number and journal line (`record`: the JSON
        members after the serial, `_set` or `_forgotten`). Serials are handed
        out here, on the event loop, in the order the lines are then written."""
        assert self.state is not None
        if self._journal is None:
            self._journal = JournalWriter(self.journal_path, lineage=self.state.lineage, base_serial=self.state.serial)
        self.state.serial += 1
        self._checkpoints += 1
        return self._checkpoints, b'{"serial":%d,%s}\n' % (self.state.serial, record)

    def _write_staged(self, batch: list[Staged]) -> None:
        """One write and one fsync for the lines of `batch` (in a worker thread
        during an apply: GroupCommit)."""
        assert self._journal is not None
        lines = [line for _, line in batch]
        if self._kill_at is not None:
            self._test_kill(batch, lines)
        self._journal.write(lines)

    def _test_kill(self, batch: list[Staged], lines: list[bytes]) -> None:
        """Test hook (TEST_KILL_ENV): die at the Nth checkpoint, whatever batch
        it shares; TEST_JOURNAL_DELAY_ENV first holds the write back, so that
        the completions of concurrent actions pile up into one batch."""
        assert self._journal is not None and self._kill_at is not None
        time.sleep(float(os.environ.get(TEST_JOURNAL_DELAY_ENV) or 0))
        stage, n = self._kill_at
        for i, (number, line) in enumerate(batch):
            if number == n:
                head = lines[: i + 1] if stage == "after" else lines[:i]
                os.write(2, f"test hook: {stage}:{n}, line {i + 1} of a batch of {len(batch)}\n".encode())
                if head or stage == "torn":
                    self._journal.write(head, torn=line if stage == "torn" else None)
                os.kill(os.getpid(), signal.SIGKILL)

    def _journal_error(self, exc: OSError) -> LockfileError:
        return LockfileError(
            f"cannot record in the lockfile journal {self.journal_path}: "
            f"{write_failure(exc, self.journal_path)}",
            hint="Make the lockfile's folder writable and run again; the next plan shows what "
            "this apply did remotely and did not record (adoptable or unmanaged assets).",
        )

    def _checkpoint(self, record: bytes) -> None:
        """Record at once, blocking (state commands, outside an event loop)."""
        try:
            self._write_staged([self._stage(record)])
        except OSError as exc:
            raise self._journal_error(exc) from None

    async def _commit(self, record: bytes) -> None:
        """Record, returning once the line is on disk; the checkpoints of
        concurrent actions share one write and fsync, off the event loop."""
        try:
            await self._group.commit(self._stage(record))
        except OSError as exc:
            raise self._journal_error(exc) from None

    def record(self, address: str, entry: LockEntry) -> None:
        self.record_many({address: entry})

    def record_many(self, entries: dict[str, LockEntry]) -> None:
        """Record the results of one remote action that made several assets (a
        batch upload) in one checkpoint: a crash still loses at most that action."""
        if entries:
            self._checkpoint(self._set(entries))

    def forget(self, address: str) -> None:
        assert self.state is not None
        if self.state.assets.pop(address, None) is not None:
            self._checkpoint(_forgotten(address))

    # the same during an apply, where actions run concurrently: each returns
    # once its record is durable, and only then does the action go on
    async def arecord(self, address: str, entry: LockEntry) -> None:
        await self.arecord_many({address: entry})

    async def arecord_many(self, entries: dict[str, LockEntry]) -> None:
        if entries:
            await self._commit(self._set(entries))

    async def aforget(self, address: str) -> None:
        assert self.state is not None
        if self.state.assets.pop(address, None) is not None:
            await self._commit(_forgotten(address))

    def _set(self, entries: dict[str, LockEntry]) -> bytes:
        """Record `entries` in memory; the journal record of it. Each entry is
        rendered by pydantic's serialiser straight to JSON (a dict of it, then
        json.dumps of the line, cost 4 times as much, per action, on the event loop)."""
        assert self.state is not None
        self.state.assets.update(entries)
        return b'"set":{%s}' % b",".join(
            _json_text(address) + b":" + entry.model_dump_json().encode() for address, entry in entries.items()
        )


def _json_text(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _forgotten(address: str) -> bytes:
    return b'"forget":[%s]' % _json_text(address)
