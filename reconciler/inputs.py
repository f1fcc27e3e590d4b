"""Reading what the user points reconciler at, without trusting it.

Every input file — the config, the lockfile, a saved plan, each audio file, a
`directory` target's files — is read through `read_file`, and every TOML or
JSON document is parsed through `parse_toml` / `parse_json`. They raise one
exception, `InputError`, carrying a reason written for the terminal; the
caller adds the file and key and turns it into its own error (ConfigError,
LockfileError, PlanError). So a FIFO, a device, a symlink loop, a name longer
than the filesystem allows, a NUL byte, a document nested thousands deep or
an integer with thousands of digits all end in one `Error:` paragraph, never
in a traceback or a hang.

- Only regular files are read: `stat` first (a FIFO would block `open`
  forever, /dev/zero never ends), then `open` with O_NONBLOCK and `fstat`
  again, so a file swapped for a FIFO in between cannot hang us either.
- Sizes are capped before reading (`MAX_*_BYTES`), far above any real file.
- Documents are parsed in `reconciler.documents` (TOML pre-scan, JSON
  guards), glob patterns expanded in `reconciler.globbing`, both raising
  `InputError` too.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from pathlib import Path

MiB = 1024 * 1024

# Limits, each far above anything real (the README lists them):
MAX_CONFIG_BYTES = 8 * MiB  # a 10,000-asset config is about 1.5 MB
MAX_LOCKFILE_BYTES = 256 * MiB  # about 700,000 recorded assets
MAX_PLAN_BYTES = 256 * MiB  # a saved plan of about 200,000 changes
MAX_AUDIO_BYTES = 4 * 1024 * MiB  # WAV's own limit (32-bit RIFF sizes); telephony prompts are KBs

READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class InputError(Exception):
    """An input cannot be used. `reason` is a phrase for the terminal that
    follows the file's name ("is a FIFO, not a regular file"); `missing` is
    true when the file simply does not exist (callers may treat that as
    "empty", e.g. a lockfile not written yet)."""

    def __init__(self, reason: str, *, missing: bool = False, special: bool = False) -> None:
        self.reason = reason
        self.missing = missing
        # not a regular file of an acceptable size (a FIFO, a device, a folder, a
        # symlink loop, too big): what a folder scan skips rather than fails on
        self.special = special
        super().__init__(reason)


_ERRNO_REASONS = {
    errno.ENOENT: "does not exist",
    errno.EACCES: "is not accessible (permission denied)",
    errno.EPERM: "is not accessible (operation not permitted)",
    errno.EISDIR: "is a folder",
    errno.ENOTDIR: "cannot be reached: a part of its path is a file, not a folder",
    errno.ELOOP: "is a symlink loop (too many levels of symbolic links)",
    errno.ENAMETOOLONG: "has a name longer than the filesystem allows",
    errno.ENXIO: "is a socket or a device with nothing behind it",
    errno.EROFS: "is on a read-only filesystem",
    errno.ENOSPC: "cannot be written: no space left on the device",
    errno.EDQUOT: "cannot be written: disk quota exceeded",
    errno.EEXIST: "is in the way: it exists and is not a folder",  # mkdir of a path through a file
    errno.EBUSY: "is busy",
    errno.ETXTBSY: "is busy",
    errno.EIO: "cannot be read or written (input/output error)",
}


def os_reason(exc: OSError) -> str:
    """What an OSError means for the file it names, as a phrase."""
    if isinstance(exc, NotARegularFile):
        return exc.reason
    return _ERRNO_REASONS.get(exc.errno or 0) or f"cannot be used ({exc.strerror or exc})"


class NotARegularFile(OSError):
    """A write target that is not a regular file (or a link to one): replacing
    it would destroy a device node, a FIFO or a socket (as root, `plan --out
    /dev/null` would otherwise leave /dev/null a plain file)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(0, reason, str(path))
        self.reason = reason


_SYSTEM_FOLDERS = ("/dev", "/proc", "/sys")


def check_write_folder(folder: Path | str, path: Path | str) -> None:
    """The folder part of `check_write_target`, for a writer that checks its
    folder once and then writes many files into it (`path`: the one named)."""
    folder = os.path.realpath(folder)
    shm = folder == "/dev/shm" or folder.startswith("/dev/shm/")  # a plain tmpfs, fine to write to
    if not shm and any(folder == top or folder.startswith(top + "/") for top in _SYSTEM_FOLDERS):
        raise NotARegularFile(path, f"is in {folder}, a system folder reconciler never writes to")


def check_write_target(path: Path | str) -> None:
    """Raise NotARegularFile unless `path` is absent, a regular file, or a
    symlink to one (the link is replaced, as before) — and not under /dev
    (but /dev/shm), /proc or /sys, where even a symlink (/dev/stdout) is the system's."""
    check_write_folder(os.path.dirname(os.path.abspath(path)), path)
    try:
        info = os.lstat(path)
    except (OSError, ValueError):
        return  # absent (or unreachable: the write itself says why)
    if stat.S_ISLNK(info.st_mode):
        try:
            info = os.stat(path)
        except OSError:
            return  # a dangling link or a loop: replacing the link harms nothing
    kind = kind_of(info.st_mode)
    if kind is not None:
        raise NotARegularFile(path, f"is {kind}, not a regular file; it was left as it is")


def write_failure(exc: OSError, target: Path | str) -> str:
    """'<file> <what went wrong>' for a failed write of `target`: the file the
    OSError names, except a temp file of ours (`.<name>.*.tmp`), which the
    user never asked for: then the target itself."""
    name = str(exc.filename2 or exc.filename or target)
    if os.path.basename(name).startswith(f".{Path(target).name}."):
        name = str(target)
    return f"{name} {os_reason(exc)}"


def kind_of(mode: int) -> str | None:
    """'a FIFO (named pipe)' etc. for anything that is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def path_problem(value: str) -> str | None:
    """Why a string from an input cannot be a path on this system, or None."""
    if "\x00" in value:
        return "contains a NUL byte"
    try:
        encoded = os.fsencode(value)
    except UnicodeError:
        return "cannot be encoded as a file name"
    name_max, path_max = _fs_limits()
    if len(encoded) >= path_max:
        return f"is {len(encoded):,} bytes long, over the {path_max - 1:,} a path may have"
    longest = max(encoded.split(b"/"), key=len)
    if len(longest) > name_max:
        return (
            f"has a part {len(longest):,} bytes long ('{os.fsdecode(longest[:24])}...'), "
            f"over the {name_max} a file name may have"
        )
    return None


@functools.cache
def _fs_limits() -> tuple[int, int]:
    """NAME_MAX and PATH_MAX of the root file system, asked once per process:
    two statfs calls for every path checked were ~7 syscalls per file of an apply."""
    try:
        return os.pathconf("/", "PC_NAME_MAX"), os.pathconf("/", "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        return 255, 4096


def real_path(path: Path | str, folders: dict[str, str] | None = None) -> Path:
    """`Path.resolve()` that never raises: a symlink loop stays unresolved
    (Path.resolve raises RuntimeError on one in Python 3.11), and the read
    that follows reports it as a loop.

    `folders`: what this pass resolved already, for one pass over many files
    (a config of 10,000 assets): realpath lstats every component of every path
    in Python; a file whose own name is no symlink resolves to its resolved
    folder plus its name, exactly what realpath would find, for one lstat."""
    if folders is None:
        return Path(os.path.realpath(path))
    return Path(real_path_text(os.fspath(path), folders))


def real_path_text(text: str, folders: dict[str, str]) -> str:
    """`real_path` as a string (10,000 Path objects cost more than the lookups);
    `folders` maps each path resolved in this pass, folder or file, to its answer."""
    found = folders.get(text)
    if found is not None:
        return found
    head, tail = os.path.split(text)
    try:
        # lstat succeeds only when every folder on the way exists: then the
        # kernel walked the same folders realpath would (a missing folder
        # followed by `..` is folded by realpath as text; leave that to it)
        plain = bool(head) and tail not in ("", ".", "..") and not stat.S_ISLNK(os.lstat(text).st_mode)
    except (OSError, ValueError):
        plain = False
    if not plain:
        found = os.path.realpath(text)
    else:
        real_head = folders.get(head)
        if real_head is None:
            real_head = folders[head] = os.path.realpath(head)
        found = os.path.join(real_head, tail)
    folders[text] = found
    return found


def relative_to(path: Path | str, folder: Path | str) -> str:
    """`os.path.relpath(path, folder)`, without its cost (two abspaths and a
    split of each) where the answer is plain: a normalised absolute path
    under a normalised absolute folder is its own tail."""
    p, f = os.fspath(path), os.fspath(folder)
    prefix = f if f.endswith(os.sep) else f + os.sep
    if len(p) > len(prefix) and p.startswith(prefix) and os.path.isabs(f) and os.path.normpath(p) == p and os.path.normpath(f) == f:
        return p[len(prefix):]
    return os.path.relpath(p, f)


def stat_regular(path: Path | str, *, limit: int) -> os.stat_result:
    """The stat of a regular file of at most `limit` bytes, or InputError."""
    problem = path_problem(str(path))
    if problem:
        raise InputError(f"path {problem}")
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(
            os_reason(exc), missing=exc.errno == errno.ENOENT, special=exc.errno in (errno.ELOOP, errno.ENXIO)
        ) from None
    _check_regular(info, limit)
    return info


def open_regular(path: Path | str, *, limit: int) -> tuple[int, os.stat_result]:
    """A file descriptor open for reading on a regular file of at most `limit`
    bytes, and its fstat; InputError otherwise. The caller closes it."""
    stat_regular(path, limit=limit)
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError as exc:
        raise InputError(
            os_reason(exc), missing=exc.errno == errno.ENOENT, special=exc.errno in (errno.ELOOP, errno.ENXIO)
        ) from None
    try:
        info = os.fstat(fd)
        _check_regular(info, limit)  # it may have been swapped since the stat
    except OSError as exc:
        os.close(fd)
        raise InputError(os_reason(exc)) from None
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def read_file(path: Path | str, *, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or InputError."""
    fd, _ = open_regular(path, limit=limit)
    try:
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(limit + 1 - total, 16 * MiB) or 1)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise InputError(f"grew past the limit of {limit:,} bytes while being read")
    except OSError as exc:
        raise InputError(os_reason(exc)) from None
    except MemoryError:
        raise InputError("is too large to read into memory") from None
    finally:
        os.close(fd)


def _check_regular(info: os.stat_result, limit: int) -> None:
    kind = kind_of(info.st_mode)
    if kind is not None:
        raise InputError(f"is {kind}, not a regular file", special=True)
    if info.st_size > limit:
        raise InputError(f"is {info.st_size:,} bytes, over the limit of {limit:,} bytes", special=True)
