"""The lockfile's journal: one fsynced line per completed remote action.

Rewriting the whole lockfile after every action made a large apply quadratic
(10,000 creates spent most of their time re-rendering and fsyncing TOML). An
apply instead appends one JSON line per checkpoint to `reconciler.lock.journal`
beside the lockfile — a cost that does not grow with the lockfile — and folds
the journal into `reconciler.lock` once at the end (an atomic rewrite, then
the journal is removed). After a crash, readers replay the journal in memory
and the next command that takes the lock folds it, so:

- a SIGKILL at any instant loses at most the actions in flight (a line is
  written in one `write` and fsynced before the apply goes on — the lines of
  actions that complete together share one write and one fsync, done off the
  event loop: reconciler/groupcommit.py; a torn last line is an action in
  flight, and is ignored);
- `reconciler.lock` itself is only ever replaced atomically, so it always
  parses, and the committed file stays the deterministic TOML it was.

The first line names the lockfile state the journal extends (lineage and
serial), so a journal is never replayed onto another lockfile (restored from
git, say): a journal whose base serial is behind the lockfile's was already
folded (the fold renames the lockfile before it removes the journal).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.documents import parse_json
from reconciler.errors import LockfileError
from reconciler.inputs import MAX_LOCKFILE_BYTES, InputError, read_file

JOURNAL_VERSION = 1


@dataclass(frozen=True)
class Journal:
    lineage: str
    base_serial: int
    records: list[dict[str, Any]]  # {"serial": n, "set": {address: entry}} or {"serial": n, "forget": [...]}


def read_journal(path: Path) -> Journal | None:
    """The journal at `path`, or None. A torn last line (the write a SIGKILL
    interrupted) is dropped; any other damage is an error naming the file."""
    try:
        raw = read_file(path, limit=MAX_LOCKFILE_BYTES)
    except InputError as exc:
        if exc.missing:
            return None
        raise LockfileError(
            f"the lockfile journal {path} {exc.reason}",
            hint="Move it aside, then run `reconciler plan`.",
        ) from None
    lines = raw.split(b"\n")
    # everything after the last newline was never completed
    complete, torn = lines[:-1], lines[-1]
    del torn
    parsed: list[dict[str, Any]] = []
    for number, line in enumerate(complete, 1):
        try:
            value = parse_json(line)
            if not isinstance(value, dict):
                raise InputError("is not an object")
        except InputError as exc:
            raise LockfileError(
                f"the lockfile journal {path} is damaged at line {number} (it {exc.reason})",
                hint="It holds actions of an interrupted apply that are not yet in the lockfile. "
                "Move it aside, then run `reconciler plan`: remote assets it recorded show up as "
                "adoptable or unmanaged.",
            ) from None
        parsed.append(value)
    if not parsed:
        return None  # killed before the header was complete: nothing was recorded
    header = parsed[0]
    if header.get("journal") != JOURNAL_VERSION or not isinstance(header.get("lineage"), str) or not isinstance(
        header.get("base_serial"), int
    ):
        raise LockfileError(
            f"the lockfile journal {path} has an unknown header (written by another version?)",
            hint="Use the reconciler version that wrote it, or move it aside and plan again.",
        )
    records = parsed[1:]
    for i, record in enumerate(records, 1):
        if record.get("serial") != header["base_serial"] + i:
            raise LockfileError(
                f"the lockfile journal {path} is out of sequence at line {i + 1}",
                hint="Move it aside, then run `reconciler plan`.",
            )
    return Journal(lineage=header["lineage"], base_serial=header["base_serial"], records=records)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class JournalWriter:
    """Appends checkpoints; each `write` returns once its lines are on disk."""

    def __init__(self, path: Path, *, lineage: str, base_serial: int) -> None:
        self.path = path
        self.lineage = lineage
        self.base_serial = base_serial
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o666)
            header = {"journal": JOURNAL_VERSION, "lineage": self.lineage, "base_serial": self.base_serial}
            os.write(fd, journal_line(header))
            os.fsync(fd)
            _fsync_dir(self.path.parent)  # the journal's name must survive a power cut too
            self._fd = fd
        return self._fd

    def write(self, lines: list[bytes], *, torn: bytes | None = None) -> None:
        """Append whole `lines` with one write and one fsync: the checkpoints of
        the actions that completed together (group commit, GroupCommit). `torn`
        (a test hook) writes half of one more line after them and dies there."""
        fd = self._open()
        data = b"".join(lines)
        if torn is not None:
            os.write(fd, data + torn[: len(torn) // 2])
            os.kill(os.getpid(), 9)
        # an O_APPEND file: the lines land whole or, cut by a crash, end in a
        # torn last line that the reader drops (the actions in flight)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)

    @property
    def written(self) -> bool:
        return self._fd is not None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def remove_journal(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        _fsync_dir(path.parent)


def journal_line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
