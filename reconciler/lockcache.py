"""Reading reconciler.lock fast, without changing what it says.

A 10,000-entry lockfile (4.6 MB) took 2.2 s of CPU to read: 1.2–1.6 s in
`tomllib` (pure Python), 0.4 s in the pre-scan that guards it, 0.1 s checking
strings, 0.08 s in pydantic. Measured by tests/bench/bench_lockfile.py, the
same data costs 0.12 s to parse with rtoml (Rust; the toml crate, which bounds
nesting itself) and 0.05 s as JSON. So, two layers, neither of which changes
the file (it stays the TOML tomli-w writes, reviewed in pull requests):

- `parse_lockfile_toml`: rtoml when it is installed; whatever rtoml refuses
  (malformed, an integer past 64 bits...) goes through `parse_toml`, so a bad
  file gets the standard library's verdict and message.
- a content-keyed parse cache, `.reconciler/<lockfile name>.parsed.json` beside
  the lockfile: the JSON of the parsed document, under the sha256 of the exact
  lockfile bytes it was parsed from (and a sha256 of the JSON itself). A read
  hashes the bytes it just read (~2 ms for 4.6 MB): any other bytes — one
  changed byte, a rewrite with the same size and mtime, a `git checkout` —
  miss the cache and are parsed. A hit is validated by the same function as a
  parse (pydantic, header, addresses), so it gives exactly the Lockfile the
  TOML gives. The cache is never the only copy of anything: deleting it costs
  one parse. Unreadable, damaged or unwritable, it is ignored.

JSON, not pickle or marshal: the cache is only data, and loading it can run
no code and crash nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from reconciler.atomic import atomic_write
from reconciler.documents import check_parsed_strings, decode_utf8, parse_toml
from reconciler.inputs import InputError, read_file

try:  # a dependency; a tree installed before it was one still reads with tomllib
    import rtoml
except ImportError:  # pragma: no cover - exercised only without the wheel
    rtoml = None

CACHE_DIR = ".reconciler"
CACHE_FORMAT = b"reconciler-lockfile-parse 1"
# below this a parse costs a few milliseconds: not worth a file (nor a folder) of its own
MIN_CACHED_BYTES = 64 * 1024

T = TypeVar("T")

# TOML 1.1 syntax that rtoml (the toml crate) accepts and tomllib (TOML 1.0, what
# the lockfile is documented as and tomli-w writes) refuses: \e and \xHH escapes,
# newlines and a trailing comma in inline tables. A text that may hold one gets
# tomllib's verdict, as without rtoml; a false alarm (a description holding "{"
# on a line of its own) costs only a tomllib parse. 1.1's times without seconds
# need no check: they parse to times, which no lockfile field accepts.
_TOML_1_1 = re.compile(r"\\[ex]|\{[^}\n]*\n|,\s*\}")


def cache_path(lockfile: Path) -> Path:
    return lockfile.parent / CACHE_DIR / f"{lockfile.name}.parsed.json"


def parse_lockfile_toml(raw: bytes) -> dict[str, Any]:
    """The lockfile's TOML as a dict: what `parse_toml` returns, about 10x faster
    when rtoml is installed. InputError for anything that is not valid TOML."""
    if rtoml is None:
        return parse_toml(raw)
    text = decode_utf8(raw)
    if ("{" in text or "\\" in text) and _TOML_1_1.search(text) is not None:
        return parse_toml(raw)  # tomli-w writes no inline table, nor these escapes
    try:
        data = rtoml.loads(text)
    except Exception:  # refused by rtoml: the standard library has the last word
        return parse_toml(raw)
    check_parsed_strings(text, data)
    return data


def load(path: Path, raw: bytes, *, parse: Callable[[bytes], dict[str, Any]],
         validate: Callable[[dict[str, Any]], T]) -> T:
    """`validate(parse(raw))`, with `parse` answered from the cache when it holds
    the document parsed from exactly `raw`. Errors from parse and validate go
    to the caller as they are; the cache itself never raises."""
    key = hashlib.sha256(raw).hexdigest().encode()
    where = cache_path(path)
    cached = _read(where, key) if len(raw) >= MIN_CACHED_BYTES else None
    if cached is not None:
        return validate(cached)
    data = parse(raw)
    result = validate(data)  # only a document that loads is worth remembering
    if len(raw) >= MIN_CACHED_BYTES:
        _write(where, key, data)
    return result


def _read(where: Path, key: bytes) -> dict[str, Any] | None:
    try:
        blob = read_file(where, limit=1024 * 1024 * 1024)
    except InputError:
        return None  # none yet, or a folder, FIFO...: a miss
    header, _, payload = blob.partition(b"\n")
    parts = header.rsplit(b" ", 2)
    if len(parts) != 3 or parts[0] != CACHE_FORMAT or parts[1] != key:
        return None  # another version's cache, or the lockfile changed
    if hashlib.sha256(payload).hexdigest().encode() != parts[2]:
        return None  # damaged since it was written
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _write(where: Path, key: bytes, data: dict[str, Any]) -> None:
    try:
        # allow_nan=False: what JSON cannot say exactly (a TOML datetime raises TypeError
        # here, inf/nan ValueError) is simply not cached
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError):
        return
    header = b" ".join((CACHE_FORMAT, key, hashlib.sha256(payload).hexdigest().encode()))
    with contextlib.suppress(OSError):
        where.parent.mkdir(parents=True, exist_ok=True)
        ignore = where.parent / ".gitignore"
        if not ignore.exists():  # a cache never belongs in git, whatever the user's .gitignore says
            atomic_write(ignore, b"*\n")
        atomic_write(where, header + b"\n" + payload)
