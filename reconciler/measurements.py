"""Measurements of audio files (loudness, peaks, silence...), cached by content.

A measurement is a pure function of the file's bytes and of the code that
measures, so it is stored under `.reconciler/cache/measurements/` keyed by the
file's sha256 and the measuring libraries' versions: a no-op plan or lint
reads one small JSON per file instead of decoding it. Safe to delete.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from reconciler.atomic import atomic_write
from reconciler.inputs import InputError, read_file

if TYPE_CHECKING:
    from reconciler.audio.measure import Measurements

# bump when what is measured changes shape or meaning
MEASURE_REVISION = "measure-1"

_STORES: dict[str, MeasurementStore] = {}


class MeasurementStore:
    def __init__(self, root: Path) -> None:
        self.root = root / "measurements"
        self._version: str | None = None
        self._seen: dict[str, Measurements] = {}  # in this process: a master read for the plan and for lint
        self.measured = 0  # cache misses: files decoded and measured by this process

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
            self._version = hashlib.sha256(key.encode()).hexdigest()[:12]
        return self._version

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}-{self.version}.json"

    def get(self, sha256: str) -> Measurements | None:
        if sha256 in self._seen:
            return self._seen[sha256]
        from reconciler.audio.measure import Measurements

        try:
            # read_file: a FIFO or device planted in the cache must not hang us
            found = Measurements.model_validate_json(read_file(self._path(sha256), limit=1024 * 1024))
        except (InputError, ValueError, ValidationError):
            return None  # absent or damaged: measured again
        self._seen[sha256] = found
        return found

    def measure(self, path: Path, sha256: str) -> Measurements:
        """The file's measurements, from the cache or measured now (and stored).
        Raises AudioDecodeError when the file cannot be decoded."""
        found = self.get(sha256)
        if found is not None:
            return found
        from reconciler.audio.measure import measure_file

        measured = measure_file(path)
        self.measured += 1
        self._seen[sha256] = measured
        target = self._path(sha256)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, json.dumps(measured.model_dump(mode="json"), sort_keys=True).encode())
        except OSError:
            pass  # a read-only checkout: measure again next time, no harm
        return measured
