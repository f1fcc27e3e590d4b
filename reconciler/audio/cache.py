"""Content-addressed rendition cache (`<config folder>/.reconciler/cache`).

An entry's name is the sha256 of (master sha256, recipe_key, encoder_versions):
the same master and recipe rendered by the same encoders. Two files per entry,
in a two-hex-digit fan-out folder:
    <aa>/<name>.<ext>    the rendition bytes
    <aa>/<name>.json     {"sha256", "size", "facts"} written after the bytes
Both are written to a temporary file and renamed into place, bytes first, so a
crash leaves either nothing or a complete entry. An entry that does not check
out (unreadable or invalid JSON, missing file, size or sha256 not matching) is
a miss and is rendered again: the cache is safe to delete or damage at any
time; it only ever costs time.

A hit loads no audio library (numpy, libsndfile, soxr...): the plan of a
project whose renditions are all cached costs a hash of each master and a
read + hash of each (small) rendition, nothing more.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import ValidationError

from reconciler.atomic import atomic_write
from reconciler.audio.errors import AudioDecodeError, MasterChangedError
from reconciler.audio.facts import Rendition, RenditionFacts
from reconciler.audio.inspect import EXTENSIONS
from reconciler.audio.recipe import Recipe, encoder_versions, recipe_key
from reconciler.documents import parse_json
from reconciler.inputs import MAX_AUDIO_BYTES, InputError, MiB, read_file


def entry_name(master_sha256: str, recipe: Recipe, encoders: str | None = None) -> str:
    encoders = encoder_versions() if encoders is None else encoders
    material = "\0".join(("reconciler-rendition-1", master_sha256, recipe_key(recipe), encoders))
    return hashlib.sha256(material.encode()).hexdigest()


def _store(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)


class RenditionCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._encoders: str | None = None

    @property
    def encoders(self) -> str:
        if self._encoders is None:
            self._encoders = encoder_versions()
        return self._encoders

    def _paths(self, master_sha256: str, recipe: Recipe) -> tuple[Path, Path]:
        name = entry_name(master_sha256, recipe, self.encoders)
        folder = self.root / name[:2]
        return folder / f"{name}.{EXTENSIONS[recipe.format]}", folder / f"{name}.json"

    def get(self, master_sha256: str, recipe: Recipe) -> Rendition | None:
        """The cached rendition, or None (absent or damaged). Never renders."""
        data_path, meta_path = self._paths(master_sha256, recipe)
        try:
            # read_file: a FIFO or device planted in the cache must not hang us
            meta = parse_json(read_file(meta_path, limit=MiB))
            data = read_file(data_path, limit=MAX_AUDIO_BYTES)
            facts = RenditionFacts.model_validate(meta["facts"])
            sha, size = meta["sha256"], meta["size"]
        except (InputError, KeyError, TypeError, ValidationError):
            return None
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
            return None
        return Rendition(path=data_path, sha256=sha, size=size, facts=facts)

    def ensure(self, master: Path, master_sha256: str, recipe: Recipe) -> Rendition:
        """The cached rendition, rendered and stored first on a miss.
        AudioDecodeError / RecipeError as render_bytes; MasterChangedError when
        the master's bytes no longer hash to `master_sha256`."""
        hit = self.get(master_sha256, recipe)
        if hit is not None:
            return hit
        try:
            master_data = read_file(Path(master), limit=MAX_AUDIO_BYTES)
        except InputError as exc:
            raise AudioDecodeError(f"{master}: cannot read: it {exc.reason}") from None
        # Render the very bytes we key by: a master edited since the caller hashed
        # it must not be filed under the old sha256 (the cache would lie forever).
        actual = hashlib.sha256(master_data).hexdigest()
        if actual != master_sha256:
            raise MasterChangedError(
                f"{master} changed while reconciler was running (sha256 {actual[:12]}..., "
                f"expected {master_sha256[:12]}...); run the command again"
            )
        from reconciler.audio.render import render_data  # the audio stack, only on a miss

        data, facts = render_data(master_data, recipe, name=str(master))
        data_path, meta_path = self._paths(master_sha256, recipe)
        sha = hashlib.sha256(data).hexdigest()
        _store(data_path, data)
        meta = {"sha256": sha, "size": len(data), "facts": facts.model_dump(mode="json"),
                "master_sha256": master_sha256, "recipe": recipe_key(recipe),
                "encoders": self.encoders}
        _store(meta_path, json.dumps(meta, indent=1, sort_keys=True).encode())
        return Rendition(path=data_path, sha256=sha, size=len(data), facts=facts)
