"""What a plan needs to know about audio without decoding it again: one index
file, `.reconciler/cache/index.json`, read once per process.

- measurements (loudness, peaks, silence...) of masters and renditions, keyed
  by the file's sha256: a measurement is a pure function of the bytes and of
  the code that measures;
- scans (reconciler.audio.scan: empty, truncated, clipped runs), keyed the same
  way: all the broken-audio gate of validate/plan/apply needs of a file that
  opted into no lint, without decoding it whole (a measurement, when there is
  one, answers for the scan too);
- rendition lookups, keyed by (master sha256, recipe key): where the rendition
  sits in the content-addressed cache, its sha256, size and facts, and the
  file's size and mtime when it was verified — a later hit costs one stat, not
  a read and a hash of the rendition.

The whole index is tied to the versions of the audio libraries and of the
measuring code (`version`): any upgrade starts it afresh. One file instead of
several per asset keeps a no-op plan with 1,000 renditions close to one
without. It is a cache, like the renditions beside it: damaged, missing or
deleted, it only costs time. Two processes writing it at once lose nothing
but entries, which are measured again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from reconciler.atomic import atomic_write
from reconciler.inputs import InputError, read_file
from reconciler.pooling import split_by_size

if TYPE_CHECKING:
    from reconciler.audio.errors import AudioDecodeError
    from reconciler.audio.measure import Measurements
    from reconciler.audio.scan import ScanFacts

# bump when what is measured or stored changes shape or meaning
MEASURE_REVISION = "index-1"
INDEX_FILE = "index.json"
INDEX_MAX_BYTES = 256 * 1024 * 1024  # ~1 KB per file measured: far beyond any prompt library
SECTIONS = ("measurements", "renditions", "scans")
# Files scanned side by side: libsndfile decodes and numpy compares without the
# GIL, and each scan holds one block, so memory stays bounded by this many blocks.
SCAN_WORKERS = min(4, os.cpu_count() or 1)

_STORES: dict[str, MeasurementStore] = {}


class MeasurementStore:
    """Measurements and rendition lookups of one cache folder (shared in a process: `at`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / INDEX_FILE
        self._version: str | None = None
        self._data: dict[str, dict[str, Any]] | None = None
        self._dirty = False
        self._seen: dict[str, Measurements] = {}
        self._scanned: dict[str, ScanFacts] = {}
        self.measured = 0  # cache misses: files decoded and measured by this process
        self.scanned = 0  # cache misses: files scanned by this process

    @classmethod
    def at(cls, root: Path) -> MeasurementStore:
        """The one store of a cache folder in this process (load and lint share it)."""
        key = str(root)
        if key not in _STORES:
            _STORES[key] = cls(root)
        return _STORES[key]

    @property
    def version(self) -> str:
        if self._version is None:
            from reconciler.audio.recipe import encoder_versions

            key = f"{encoder_versions()} {MEASURE_REVISION}"
            self._version = hashlib.sha256(key.encode()).hexdigest()[:16]
        return self._version

    def _read(self) -> dict[str, dict[str, Any]]:
        empty: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
        try:
            # read_file: a FIFO or device planted in the cache must not hang us
            doc = json.loads(read_file(self.path, limit=INDEX_MAX_BYTES))
        except (InputError, ValueError):
            return empty  # absent or damaged: a miss
        if not isinstance(doc, dict) or doc.get("version") != self.version:
            return empty
        return {k: doc[k] if isinstance(doc.get(k), dict) else {} for k in empty}

    @property
    def data(self) -> dict[str, dict[str, Any]]:
        if self._data is None:
            self._data = self._read()
        return self._data

    # --- measurements -------------------------------------------------------------
    def get(self, sha256: str) -> Measurements | None:
        if sha256 in self._seen:
            return self._seen[sha256]
        raw = self.data["measurements"].get(sha256)
        if raw is None:
            return None
        from reconciler.audio.measure import Measurements

        try:
            # validated, not model_construct: pydantic-core validates a flat dict in
            # 5 us, model_construct (Python) takes 13 — per file of a 10,000-asset plan
            found = Measurements.model_validate(raw)
        except ValidationError:
            return None  # damaged: measured again
        self._seen[sha256] = found
        return found

    def measure(self, path: Path, sha256: str) -> Measurements:
        """The file's measurements, from the index or measured now (and stored
        at the next `flush`). Raises AudioDecodeError when it cannot be decoded."""
        found = self.get(sha256)
        if found is not None:
            return found
        from reconciler.audio.measure import measure_file

        measured = measure_file(path)
        self.measured += 1
        self._seen[sha256] = measured
        self.data["measurements"][sha256] = measured.model_dump(mode="json")
        self._dirty = True
        return measured

    # --- scans (the broken-audio gate) -----------------------------------------------
    def get_scan(self, sha256: str) -> ScanFacts | None:
        """The file's scan from this process, the index, or its measurements."""
        if sha256 in self._scanned:
            return self._scanned[sha256]
        from reconciler.audio.scan import ScanFacts, recall

        found: ScanFacts | None = None
        raw = self.data["scans"].get(sha256)
        if raw is not None:
            try:
                found = ScanFacts.model_validate(raw)  # as `get`
            except ValidationError:
                found = None  # damaged: scanned again
        if found is None:
            found = recall(sha256)  # scanned as it was hashed (a plain WAV): stored as a scan
            if found is not None:
                self.data["scans"][sha256] = found.model_dump(mode="json")
                self._dirty = True
        if found is None:
            measured = self.get(sha256)
            found = ScanFacts.of(measured) if measured is not None else None
        if found is not None:
            self._scanned[sha256] = found
        return found

    def scan_many(self, files: Mapping[str, Path]) -> dict[str, ScanFacts | AudioDecodeError]:
        """The scan of each file (sha256 -> path), from the index or scanned now,
        several at a time (stored at the next `flush`); a file that cannot be
        decoded at all maps to its AudioDecodeError (not stored: it is the gate's
        error to report, and a fixed file gets a new sha256 anyway)."""
        found: dict[str, ScanFacts | AudioDecodeError] = {}
        missing: dict[str, Path] = {}
        for sha256, path in files.items():
            hit = self.get_scan(sha256)
            if hit is not None:
                found[sha256] = hit
            else:
                missing[sha256] = path
        if not missing:
            return found
        from reconciler.audio.errors import AudioDecodeError
        from reconciler.audio.scan import scan_file

        def scan(path: Path) -> ScanFacts | AudioDecodeError:
            try:
                return scan_file(path)
            except AudioDecodeError as exc:
                return exc

        # tiny files cost more through a pool than one after another (reconciler.pooling)
        small, large = split_by_size(missing.values())
        scanned = {path: scan(path) for path in small}
        workers = min(SCAN_WORKERS, len(large))
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers, thread_name_prefix="scan") as pool:
                scanned.update(zip(large, pool.map(scan, large), strict=True))
        else:
            scanned.update((path, scan(path)) for path in large)
        results = [scanned[path] for path in missing.values()]
        for sha256, result in zip(missing, results, strict=True):
            found[sha256] = result
            if not isinstance(result, AudioDecodeError):
                self.scanned += 1
                self._scanned[sha256] = result
                self.data["scans"][sha256] = result.model_dump(mode="json")
                self._dirty = True
        return found

    # --- rendition lookups -----------------------------------------------------------
    def rendition(self, key: str) -> dict[str, Any] | None:
        """A recorded lookup whose file still has the size and mtime it had when verified."""
        hit = self.data["renditions"].get(key)
        if not isinstance(hit, dict):
            return None
        try:
            st = os.stat(self.root / hit["path"])
            if st.st_size != hit["size"] or st.st_mtime_ns != hit["mtime_ns"]:
                return None
        except (OSError, KeyError, TypeError):
            return None
        return hit

    def remember_rendition(self, key: str, path: Path, sha256: str, size: int, facts: dict[str, Any]) -> None:
        try:
            st = os.stat(path)
            rel = os.path.relpath(path, self.root)
        except (OSError, ValueError):
            return
        self.data["renditions"][key] = {
            "path": rel, "sha256": sha256, "size": size, "mtime_ns": st.st_mtime_ns, "facts": facts,
        }
        self._dirty = True

    def flush(self) -> None:
        """Write what this process added, merged over what another may have written meanwhile."""
        if not self._dirty:
            return
        current = self._read()
        for section, entries in self.data.items():
            current[section].update(entries)
        body = json.dumps({"version": self.version, **current}, sort_keys=True, separators=(",", ":"))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, body.encode())
        except OSError:
            return  # a read-only checkout: measured again next time, no harm
        self._data = current
        self._dirty = False
