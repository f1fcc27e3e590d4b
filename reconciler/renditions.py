"""Renditions at load time: an asset's `audio` recipe resolved, its rendition
looked up in (or, on a miss only, rendered into) the content-addressed cache
under `.reconciler/cache/` beside the config, and the facts the planner and
the lockfile need attached to the DesiredAsset.

Rendering happens here, once, before planning; the planner sees facts, never
samples. A cache hit costs the master's sha256 (read anyway to detect local
edits) and two small JSON reads (the rendition's facts, the master's
measurements). The cache is safe to delete: the next load renders again and,
since plans are decided on (master sha256, recipe key), plans the same.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.audio import AudioInfo
from reconciler.audio.errors import AudioDecodeError, MasterChangedError, RecipeError
from reconciler.audio.recipe import (
    AudioSettings,
    Recipe,
    encoder_versions,
    recipe_key,
    resolve_recipe,
)
from reconciler.errors import ConfigError
from reconciler.inputs import write_failure
from reconciler.measurements import MeasurementStore
from reconciler.model import DesiredAsset, MasterAudio, RenditionInfo, SoundFacts

log = logging.getLogger(__name__)

CACHE_DIR = Path(".reconciler") / "cache"


def cache_root(base: Path) -> Path:
    """`.reconciler/cache` in the config's folder."""
    return base / CACHE_DIR


class Renditions:
    """Resolves recipes and renditions for the assets of one config."""

    def __init__(self, base: Path) -> None:
        from reconciler.audio.cache import RenditionCache

        self.base = base
        self.cache = RenditionCache(cache_root(base))
        self.measurements = MeasurementStore.at(cache_root(base))
        self.encoders = encoder_versions()
        self.rendered = 0  # renders done by this load (cache misses)

    def lookup(self, master_sha256: str, recipe: Recipe) -> Any:
        """The cached rendition, or None: from the index when its file is as it was
        verified (one stat), else from the cache itself (reads and hashes it)."""
        from reconciler.audio.facts import Rendition, RenditionFacts

        key = f"{master_sha256}|{recipe_key(recipe)}"
        hit = self.measurements.rendition(key)
        if hit is not None:
            try:
                return Rendition(path=self.measurements.root / hit["path"], sha256=hit["sha256"], size=hit["size"],
                                 facts=RenditionFacts.model_validate(hit["facts"]))
            except (ValidationError, KeyError, TypeError):
                pass
        rendition = self.cache.get(master_sha256, recipe)
        if rendition is not None:
            self.remember(master_sha256, recipe, rendition)
        return rendition

    def remember(self, master_sha256: str, recipe: Recipe, rendition: Any) -> None:
        self.measurements.remember_rendition(
            f"{master_sha256}|{recipe_key(recipe)}", Path(rendition.path), rendition.sha256, rendition.size,
            rendition.facts.model_dump(mode="json"),
        )

    def flush(self) -> None:
        self.measurements.flush()

    def attach(self, asset: DesiredAsset, settings: AudioSettings, *, where: str, file: str) -> DesiredAsset:
        """`asset` with its rendition: the uploaded facts become the rendition's,
        the master's are kept in `master`."""
        assert asset.file is not None
        label = os.path.relpath(asset.file, self.base)
        info = asset.audio
        try:
            recipe = resolve_recipe(settings, master_format=info.format if info else None)
        except RecipeError as exc:
            raise ConfigError(
                f"{where}.audio: {exc}", file=file, hint="Fix the `audio` keys (see the README, \"Audio renditions and lint\")."
            ) from None
        try:
            rendition = self.lookup(asset.sha256, recipe)
            if rendition is None:
                log.info("rendering %s (%s)", label, recipe_key(recipe))
                rendition = self.cache.ensure(asset.file, asset.sha256, recipe)
                self.rendered += 1
                self.remember(asset.sha256, recipe, rendition)
            master_loudness = self.measurements.measure(asset.file, asset.sha256).loudness
        except AudioDecodeError as exc:
            raise ConfigError(
                f"{where}: cannot render {label}: {exc}",
                file=file,
                hint="Check the master: it must hold decodable audio (WAV, FLAC, OGG, MP3, AIFF or AU).",
            ) from None
        except RecipeError as exc:  # what only the master's facts reveal (e.g. mp3 at 96 kHz)
            raise ConfigError(
                f"{where}.audio: cannot render {label} with this recipe: {exc}", file=file,
                hint="Set `sample_rate` (or another format) in its `audio` table.",
            ) from None
        except MasterChangedError as exc:
            raise ConfigError(f"{where}: {exc}", file=file) from None
        except OSError as exc:  # the cache folder cannot be written (read-only, a file in the way...)
            raise ConfigError(
                f"{where}: cannot store the rendition of {label} in the cache {cache_root(self.base)}: "
                f"{write_failure(exc, cache_root(self.base))}",
                file=file,
                hint=f"Make {cache_root(self.base)} a writable folder (it is safe to delete), then run again.",
            ) from None
        master = MasterAudio(
            path=asset.file, file=label, sha256=asset.sha256, size=asset.size,
            facts=master_facts(info, master_loudness),
        )
        facts = rendition.facts
        sound = SoundFacts(
            format=facts.format, encoding=facts.encoding, sample_rate=facts.sample_rate,
            channels=facts.channels, duration=facts.duration, loudness=facts.loudness,
            true_peak=facts.true_peak,
        )
        info_out = AudioInfo(
            format=facts.format, duration=round(facts.duration, 3), sample_rate=facts.sample_rate,
            channels=facts.channels,
        )
        return asset.model_copy(update={
            "file": Path(rendition.path),
            "sha256": rendition.sha256,
            "size": rendition.size,
            "audio": info_out,
            "master": master,
            "rendition": RenditionInfo(
                recipe_key=recipe_key(recipe),
                recipe=recipe_settings(recipe),
                encoders=self.encoders,
                facts=sound,
                target_reached=facts.target_reached,
                notes=tuple(facts.notes),
            ),
        })


def recipe_settings(recipe: Recipe) -> dict:
    """The normalised recipe, field by field; None means "as the master" / "untouched"."""
    return recipe.model_dump()


def master_facts(info: AudioInfo | None, loudness: float | None) -> SoundFacts:
    if info is None:
        return SoundFacts(loudness=loudness)
    return SoundFacts(
        format=info.format, sample_rate=info.sample_rate, channels=info.channels,
        duration=info.duration, loudness=loudness,
    )
