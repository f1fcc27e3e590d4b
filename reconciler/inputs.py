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
- TOML is pre-scanned before `tomllib` sees it (`toml_prescan`): nesting
  depth, parts of one dotted key and the length of a number are bounded,
  because tomllib recurses per nesting level (RecursionError), grows
  quadratically with the parts of a dotted key, and calls `int()` on numbers
  of any length (ValueError past 4,300 digits).
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

MiB = 1024 * 1024

# Limits, each far above anything real (the README lists them):
MAX_CONFIG_BYTES = 8 * MiB  # a 10,000-asset config is about 1.5 MB
MAX_LOCKFILE_BYTES = 256 * MiB  # about 700,000 recorded assets
MAX_PLAN_BYTES = 256 * MiB  # a saved plan of about 200,000 changes
MAX_AUDIO_BYTES = 4 * 1024 * MiB  # WAV's own limit (32-bit RIFF sizes); telephony prompts are KBs
MAX_NESTING = 64  # arrays/inline tables inside each other; a config uses 2
MAX_KEY_PARTS = 64  # parts of one dotted key or table header; a config uses 4
MAX_NUMBER_CHARS = 100  # one number (or digit-led bare key); a date-time is 35

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


def check_write_target(path: Path | str) -> None:
    """Raise NotARegularFile unless `path` is absent, a regular file, or a
    symlink to one (the link is replaced, as before) — and not under /dev
    (but /dev/shm), /proc or /sys, where even a symlink (/dev/stdout) is the system's."""
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    shm = folder == "/dev/shm" or folder.startswith("/dev/shm/")  # a plain tmpfs, fine to write to
    if not shm and any(folder == top or folder.startswith(top + "/") for top in _SYSTEM_FOLDERS):
        raise NotARegularFile(path, f"is in {folder}, a system folder reconciler never writes to")
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


def _fs_limits() -> tuple[int, int]:
    try:
        return os.pathconf("/", "PC_NAME_MAX"), os.pathconf("/", "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        return 255, 4096


def real_path(path: Path | str) -> Path:
    """`Path.resolve()` that never raises: a symlink loop stays unresolved
    (Path.resolve raises RuntimeError on one in Python 3.11), and the read
    that follows reports it as a loop."""
    return Path(os.path.realpath(path))


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


def decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line})") from None


# Tokens that matter to the pre-scan; everything else (letters, spaces) is skipped.
# Strings and comments are consumed whole so their content counts for nothing.
_TOML_TOKEN = re.compile(
    r'"""(?:[^\\]|\\.)*?"""'  # multi-line basic string
    r"|'''.*?'''"  # multi-line literal string
    r'|"(?:[^"\\\n]|\\.)*"'  # basic string
    r"|'[^'\n]*'"  # literal string
    r"|#[^\n]*"  # comment
    r"|(?<![A-Za-z0-9_+\-:.])[0-9+\-][A-Za-z0-9_+\-:]*"  # a number, date or digit-led bare key
    r"|[\[{]|[\]}]|\."  # nesting and dots
    r"|[,=\n]",  # what ends a dotted key
    re.S,
)


def toml_prescan(text: str) -> None:
    """Bound what would make tomllib recurse, grow or raise: nesting depth,
    parts of one dotted key, length of a number. Linear, before parsing."""
    depth = 0
    dots = 0
    for m in _TOML_TOKEN.finditer(text):
        tok = m.group()
        first = tok[0]
        if first in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise InputError(_at(text, m.start(), f"nests arrays or tables more than {MAX_NESTING} deep"))
            dots = 0
        elif first in "]}":
            depth = max(0, depth - 1)
            dots = 0
        elif first == ".":
            dots += 1
            if dots >= MAX_KEY_PARTS:
                raise InputError(_at(text, m.start(), f"has a dotted key of more than {MAX_KEY_PARTS} parts"))
        elif first in ",=\n":
            dots = 0
        elif first in "0123456789+-" and len(tok) > MAX_NUMBER_CHARS:
            raise InputError(
                _at(text, m.start(), f"has a number {len(tok):,} characters long (at most {MAX_NUMBER_CHARS})")
            )


def _at(text: str, pos: int, what: str) -> str:
    return f"{what} at line {text.count(chr(10), 0, pos) + 1}"


def parse_toml(raw: bytes) -> dict[str, Any]:
    """A TOML document, guarded: InputError for anything tomllib cannot take."""
    text = decode_utf8(raw)
    toml_prescan(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"is malformed TOML: {exc}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # what the pre-scan should have stopped
        raise InputError(f"cannot be parsed as TOML ({type(exc).__name__}: {str(exc)[:200]})") from None
    check_strings(data)
    return data


def parse_json(raw: bytes) -> Any:
    """A JSON document, guarded like `parse_toml`."""
    text = decode_utf8(raw)
    try:
        data = json.loads(text)
    except RecursionError:
        raise InputError("is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int() past 4,300 digits
        raise InputError(f"is not valid JSON: {str(exc)[:200]}") from None
    except MemoryError:
        raise InputError("is too large to parse") from None
    check_strings(data)
    return data


def check_strings(data: Any, where: str = "") -> None:
    """No NUL byte and no lone surrogate in any key or string: every one may
    end up in a path, a URL, a header or a file we write, where the OS or a
    library would refuse it later, far from the line that caused it."""
    stack: list[tuple[str, Any]] = [(where, data)]
    while stack:
        at, value = stack.pop()
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                raise InputError(f"has {problem} in the value of {at[:200] or 'the document'}")
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _string_problem(key)
                if problem:
                    raise InputError(f"has {problem} in a key{' under ' + at[:200] if at else ''}")
                stack.append((f"{at}.{key}" if at else key, item))
        elif isinstance(value, list):
            stack.extend((f"{at}[{i}]", item) for i, item in enumerate(value))


def _string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "a NUL byte"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a JSON "\ud800" escape
        return "an unpaired surrogate (not a Unicode character)"
    return None


MAX_GLOB_SCAN = 200_000  # folder entries one pattern may look at (~3 s); a sounds tree has thousands
_MAGIC = re.compile(r"[*?[]")


def glob_paths(pattern: str, *, limit: int = MAX_GLOB_SCAN) -> list[str]:
    """The paths matching `pattern`, as `glob.glob(pattern, recursive=True)`
    finds them (`*`, `?`, `[...]`; `**` for any depth; names starting with '.'
    only when the pattern's part does), but bounded: `**` never descends into
    a symlinked folder (two `x -> .` links make the standard glob walk 2^40
    paths), every folder entry looked at counts against `limit`, and the walk
    uses its own stack, not recursion. InputError when over `limit`."""
    absolute = pattern.startswith(os.sep)
    parts = [p for p in pattern.split(os.sep) if p not in ("", ".")]
    found: dict[str, None] = {}
    stack: list[tuple[str, int]] = [(os.sep if absolute else "", 0)]
    seen: set[tuple[str, int]] = set()
    budget = limit

    def entries(folder: str) -> list[os.DirEntry[str]]:
        nonlocal budget
        try:
            with os.scandir(folder or ".") as it:
                listed = list(it)
        except (OSError, ValueError):
            return []
        budget -= len(listed)
        if budget < 0:
            raise InputError(f"looks at more than {limit:,} folder entries; make it narrower")
        return listed

    while stack:
        folder, i = stack.pop()
        if (folder, i) in seen:  # several `**` reach one folder by several routes
            continue
        seen.add((folder, i))
        if i == len(parts):
            if folder:
                found[folder] = None
            continue
        part = parts[i]
        if part == "**":
            stack.append((folder, i + 1))  # `**` matching no folder at all
            last = i == len(parts) - 1
            for entry in entries(folder):
                if entry.name.startswith("."):
                    continue
                path = os.path.join(folder, entry.name)
                if last:  # a final `**` matches files too
                    stack.append((path, i + 1))
                if _is_real_dir(entry):
                    stack.append((path, i))
        elif _MAGIC.search(part):
            hidden_ok = part.startswith(".")
            last = i == len(parts) - 1
            for entry in entries(folder):
                if (
                    (hidden_ok or not entry.name.startswith("."))
                    and fnmatch.fnmatchcase(entry.name, part)
                    and (last or _is_dir(entry))
                ):
                    stack.append((os.path.join(folder, entry.name), i + 1))
        else:
            path = os.path.join(folder, part)
            if os.path.lexists(path) if i == len(parts) - 1 else os.path.isdir(path):
                stack.append((path, i + 1))
    return sorted(found)


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
