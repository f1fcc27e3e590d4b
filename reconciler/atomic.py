"""Atomic file replacement: a reader sees the old file or the new, never half."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from reconciler.inputs import check_write_target

# `.<name>.reconciler-<8 random>.tmp`: what a write killed before its rename
# leaves behind. The marker word keeps a person's own `.x.tmp` files out of
# `remove_stale_temps`.
TEMP_MARK = ".reconciler-"
_TEMP = re.compile(r"^\..+\.reconciler-[a-z0-9_]{8}\.tmp$")


def is_temp_name(filename: str) -> bool:
    """Whether `filename` is one of atomic_write's temp files."""
    return _TEMP.match(filename) is not None


def remove_stale_temps(folder: Path) -> list[str]:
    """Delete the temp files a killed atomic_write left in `folder` (ours only,
    by name); the names removed. Call it only while no write of ours can be in
    flight there (under the lockfile lock)."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if is_temp_name(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def atomic_write(path: Path, data: bytes | Iterable[bytes], *, fsync_dir: bool = False) -> None:
    """Write `data` (bytes, or chunks of them) to a temp file beside `path`,
    fsync, rename over `path`. An exception from the chunks leaves `path` as it was.

    The temp file gets the permissions a plain `open()` would (mkstemp makes
    0600, which a PBX reading a sounds folder, or a teammate, cannot read).
    A `path` that is a device, FIFO, socket or folder is never replaced
    (NotARegularFile, an OSError)."""
    check_write_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            for chunk in (data,) if isinstance(data, bytes | bytearray | memoryview) else data:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if fsync_dir:
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
