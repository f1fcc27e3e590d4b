"""What a plan needs of each local audio file — sha256, size, format facts —
at the least cost: streamed, header-only, on threads, and remembered.

- The sha256 is computed over 1 MiB chunks (memory: one chunk per thread,
  whatever the file's size); hashlib releases the GIL on large buffers, so a
  thread pool hashes several files at once.
- The facts come from the file's header: mutagen is handed the open file and
  reads what it needs (for an MP3 a few frames, for OGG the last page), not
  the whole file. A file that fits in one chunk (most prompts) is answered
  from the bytes just hashed; a plain WAV among them without mutagen
  (audio/plainwav.py), and its broken-audio scan, which the gate of plan and
  apply asks for next, is made from the same bytes (audio/scan.remember):
  one open and one read per file.
- A stat-keyed cache (`.reconciler/digests.json` beside the config, like
  git's index or ccache's manifests) remembers, per path, the sha256 and facts
  of a file whose (size, mtime_ns, ctime_ns, inode, device) has not changed,
  so an unchanged tree is not read again. It never lets a changed file pass
  as unchanged: any write moves mtime or, when mtime is put back (`touch -d`,
  `os.utime`), ctime, which no user can set; and an entry is only trusted when
  the file was last changed more than RACY_NS before it was hashed — a write
  within the same timestamp tick as the hashing (a filesystem with coarse
  timestamps, a tool that rewrites a file within the same second) could
  otherwise leave every stat field equal (git's "racily clean" entries).
  Deleting the folder only costs time. Unreadable, unwritable or corrupt, the
  cache is ignored: it is never a reason for a command to fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reconciler.atomic import atomic_write
from reconciler.audio.inspect import AudioInfo, NotAudioError, inspect_bytes, inspect_file
from reconciler.documents import parse_json
from reconciler.inputs import (
    MAX_AUDIO_BYTES,
    InputError,
    open_regular,
    os_reason,
    read_file,
    stat_regular,
)
from reconciler.pooling import POOL_MIN_BYTES

CACHE_DIR = ".reconciler"
CACHE_FILE = "digests.json"
MAX_DIGEST_CACHE_BYTES = 256 * 1024 * 1024  # ~1,000,000 files; a bigger one is ignored
CACHE_VERSION = 1
CHUNK = 1024 * 1024
# a change must be this much older than the hashing for the entry to be
# trusted: above the coarsest common timestamp granularity (FAT's 2 s)
RACY_NS = 3 * 1_000_000_000
THREADS = min(8, (os.cpu_count() or 1) + 2)

Facts = tuple[str, int, AudioInfo]  # sha256, size, facts


def _key(info: os.stat_result) -> list[int]:
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]


class DigestCache:
    """path -> (stat key, hashed_at_ns, sha256, facts); see the module docstring."""

    def __init__(self, folder: Path | None, *, racy_ns: int = RACY_NS) -> None:
        self.path = folder / CACHE_DIR / CACHE_FILE if folder is not None else None
        self.racy_ns = racy_ns
        self._old: dict[str, list] = {}
        self._new: dict[str, list] = {}
        self._lock = threading.Lock()
        if self.path is not None:
            # read_file/parse_json: a FIFO, device or 10,000-deep document planted here
            # must not hang or crash the plan; a damaged cache is simply empty
            with contextlib.suppress(InputError, TypeError, AttributeError):
                data = parse_json(read_file(self.path, limit=MAX_DIGEST_CACHE_BYTES))
                if data.get("version") == CACHE_VERSION and isinstance(data.get("files"), dict):
                    self._old = data["files"]

    def holds(self, path: str) -> bool:
        """Whether the cache read has an entry for `path` (lookup may still refuse it)."""
        return path in self._old

    def lookup(self, path: str, info: os.stat_result) -> Facts | None:
        entry = self._old.get(path)
        if not isinstance(entry, list) or len(entry) != 4 or entry[0] != _key(info):
            return None
        key, hashed_at, sha, facts = entry
        if not isinstance(hashed_at, int) or max(info.st_mtime_ns, info.st_ctime_ns) > hashed_at - self.racy_ns:
            return None  # changed too close to its hashing: a later write could look identical
        try:
            audio = AudioInfo.model_validate(facts)
        except ValueError:
            return None
        with self._lock:
            self._new[path] = entry
        return sha, info.st_size, audio

    def store(self, path: str, info: os.stat_result, hashed_at: int, facts: Facts) -> None:
        sha, _, audio = facts
        with self._lock:
            self._new[path] = [_key(info), hashed_at, sha, audio.model_dump()]

    def save(self) -> None:
        """Keep what this run used (files no longer referenced drop out); write
        only when that differs from what was read."""
        if self.path is None or self._new == self._old:
            return
        body = json.dumps({"version": CACHE_VERSION, "files": dict(sorted(self._new.items()))},
                          separators=(",", ":")).encode()
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.path.parent / ".gitignore"
            if not ignore.exists():  # a cache never belongs in git, whatever the user's .gitignore says
                atomic_write(ignore, b"*\n")
            atomic_write(self.path, body)


def read_facts(path: Path, cache: DigestCache | None = None) -> Facts:
    """sha256, size and facts of one audio file. Raises InputError (not a
    readable regular file) or NotAudioError."""
    if cache is not None:
        hit = cache.lookup(str(path), stat_regular(path, limit=MAX_AUDIO_BYTES))
        if hit is not None:
            return hit
    return _read(path, cache)


def _read(path: Path, cache: DigestCache | None, pooled: list[Path] | None = None) -> Facts | None:
    """read_facts, the cache already asked. With `pooled`, a file worth a worker
    thread (reconciler.pooling) is not read but added to it (None is returned):
    the size comes from the open, not from a stat of its own."""
    hashed_at = time.time_ns()
    fd, before = open_regular(path, limit=MAX_AUDIO_BYTES)
    try:
        if pooled is not None and before.st_size >= POOL_MIN_BYTES:
            pooled.append(path)
            return None
        digest = hashlib.sha256()
        size = 0
        first = b""
        want = min(CHUNK, before.st_size + 1)  # not a 1 MiB buffer for a file of 200 bytes
        while chunk := os.read(fd, want):
            if not size:
                first = chunk
            digest.update(chunk)
            size += len(chunk)
            if size > MAX_AUDIO_BYTES:
                raise InputError(f"grew past the limit of {MAX_AUDIO_BYTES:,} bytes while being read")
            if len(chunk) < want:
                break  # a short read of a regular file is its end: no read to hear it again
            want = CHUNK
        sha = digest.hexdigest()
        if size == len(first):  # the whole file is in memory (most prompts): no second read
            audio = _facts_of(first, sha)
        else:
            with os.fdopen(fd, "rb", buffering=0, closefd=False) as fh:
                fh.seek(0)
                audio = inspect_file(fh, size)
        after = os.fstat(fd)
    except OSError as exc:
        raise InputError(os_reason(exc)) from None
    finally:
        os.close(fd)
    facts = (sha, size, audio)
    if cache is not None and _key(after) == _key(before) and after.st_size == size:
        cache.store(str(path), after, hashed_at, facts)  # not when it changed while being read
    return facts


def _facts_of(data: bytes, sha: str) -> AudioInfo:
    """The facts of a whole file's bytes. A plain WAV (plainwav.py) is answered
    from these bytes, and its broken-audio scan, which the gate of plan and
    apply will ask for, is made now and kept by sha256 (scan.remember)."""
    if data[:4] == b"RIFF":
        from reconciler.audio.plainwav import read

        plain = read(data)
        if plain is not None:
            from reconciler.audio.scan import remember

            remember(sha, plain[1])
            return plain[0]
    return inspect_bytes(data)


def read_many(paths: Iterable[Path], cache: DigestCache | None = None) -> dict[Path, Facts | Exception]:
    """read_facts of each path, on a thread pool for the larger files; failures
    are returned, not raised, so the caller reports the first one in its own order."""
    unique = list(dict.fromkeys(paths))

    def one(path: Path, pooled: list[Path] | None = None) -> Facts | Exception | None:
        try:
            return _read(path, cache, pooled)
        except (InputError, NotAudioError) as exc:
            return exc

    results: dict[Path, Facts | Exception | None] = {}
    pooled: list[Path] = []
    for path in unique:
        # cache hits first, here: a hit is a stat and a dict lookup, cheaper than a
        # trip through the pool (10,000 unchanged files: no thread work at all);
        # then tiny files are read here, as they are opened (reconciler.pooling)
        found = _cached(path, cache)
        if found is None:
            found = one(path, pooled)
        if found is not None:
            results[path] = found
    if len(pooled) < 2:
        results.update((p, one(p)) for p in pooled)
    else:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results.update(zip(pooled, pool.map(one, pooled), strict=True))
    return {p: found for p in unique if (found := results[p]) is not None}


def _cached(path: Path, cache: DigestCache | None) -> Facts | None:
    """The cache's answer for `path`, or None (a miss, or a path that read_facts
    must report on). A path the cache holds nothing for costs no stat."""
    if cache is None or not cache.holds(str(path)):
        return None
    try:
        return cache.lookup(str(path), stat_regular(path, limit=MAX_AUDIO_BYTES))
    except InputError:
        return None
