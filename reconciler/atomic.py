"""Atomic file replacement: a reader sees the old file or the new, never half."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
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

    A `path` that is a device, FIFO, socket or folder is never replaced
    (NotARegularFile, an OSError)."""
    check_write_target(path)
    replace_file(path, data)
    if fsync_dir:
        with contextlib.suppress(OSError):
            fsync_folder(os.path.dirname(os.fspath(path)) or ".")


def replace_file(path: Path | str, data: bytes | Iterable[bytes]) -> None:
    """`atomic_write` for a caller that checked the target itself (the copies
    into a `directory` folder): temp file, fsync, rename; no folder fsync.

    The temp file is opened with mode 0666 and the kernel applies the umask:
    the permissions a plain `open()` gives (a PBX reading a sounds folder, or a
    teammate, must be able to read it), with no `os.umask` round trip to read
    the umask (process-wide state, with copies in several threads) and no
    chmod: two system calls fewer per file."""
    folder, name = os.path.split(os.fspath(path))
    fd, tmp = _create_temp(folder, name)
    try:
        try:
            for chunk in (data,) if isinstance(data, bytes | bytearray | memoryview) else data:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _create_temp(folder: str, name: str) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        # O_EXCL settles a clash, so the name needs no strong randomness (no getrandom call per file)
        tmp = os.path.join(folder, f".{name}{TEMP_MARK}{random.getrandbits(32):08x}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temp file name", folder)


def fsync_folder(folder: Path | str) -> None:
    """Make the entries of `folder` (a rename, a new file, an unlink) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
