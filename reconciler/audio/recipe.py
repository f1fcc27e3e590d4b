"""Rendition recipes: the `audio = {...}` settings, resolved into a complete,
normalised `Recipe`, and the identities the plan and the lockfile use.

Two identities, on purpose:
- `recipe_key` is the normalised settings only. Plan decisions are made on
  (master sha256, recipe_key), so a library upgrade that shifts a few bytes of
  the rendition never plans a replace storm.
- `encoder_versions` names the code that shapes the bytes (libsndfile, soxr,
  pyloudnorm, numpy, scipy, our render revision). It is recorded in the lockfile and keys the
  cache (an upgrade re-renders on a cache miss but does not change the plan).

This module stays light (pydantic only): the CLI imports it to validate configs.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.audio.errors import RecipeError

AudioFormat = Literal["wav", "mp3", "flac", "ogg", "aiff", "au"]
Encoding = Literal["pcm_16", "pcm_8", "pcm_24", "ulaw", "alaw", "mp3", "vorbis", "flac"]

FORMATS: tuple[str, ...] = ("wav", "mp3", "flac", "ogg", "aiff", "au")

# format -> encodings it can carry; the first is the natural one filled in when
# `encoding` is absent. AU defaults to µ-law: it is the telephony container
# (audio/basic, 8 kHz µ-law) and the only reason to ask for .au.
FORMAT_ENCODINGS: dict[str, tuple[str, ...]] = {
    "wav": ("pcm_16", "pcm_8", "pcm_24", "ulaw", "alaw"),
    "aiff": ("pcm_16", "pcm_8", "pcm_24", "ulaw", "alaw"),
    "au": ("ulaw", "alaw", "pcm_16", "pcm_8", "pcm_24"),
    "flac": ("flac",),
    "mp3": ("mp3",),
    "ogg": ("vorbis",),
}

# The sample rates LAME (libsndfile's MP3 encoder) can write.
MP3_SAMPLE_RATES: tuple[int, ...] = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

# Bump when the render pipeline changes in a way that shifts output bytes
# (recorded in the lockfile via encoder_versions, keys the cache).
RENDER_REVISION = "render-1"

DEFAULT_TRUE_PEAK = -1.0


def _no_bool(value: Any) -> Any:
    # TOML `true` must not sneak in as 1 (pydantic lets bools satisfy Literal[1, 2]).
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


class AudioSettings(BaseModel):
    """The `audio = {...}` table of an instance or an asset; every key optional."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: AudioFormat | None = None
    encoding: Encoding | None = None
    sample_rate: int | None = Field(default=None, ge=8000, le=192000)
    channels: Literal[1, 2] | None = None
    loudness: float | None = Field(default=None, ge=-70.0, le=-5.0)
    true_peak: float | None = Field(default=None, ge=-30.0, le=0.0)
    trim_silence: bool | None = None

    @field_validator("sample_rate", "channels", "loudness", "true_peak", mode="before")
    @classmethod
    def _numbers_not_bools(cls, value: Any) -> Any:
        return _no_bool(value)

    def merged_over(self, base: AudioSettings | None) -> AudioSettings:
        """Keys set on self override base's (asset over instance; library < instance < override)."""
        if base is None:
            return self
        merged = base.model_dump(exclude_unset=True)
        merged.update(self.model_dump(exclude_unset=True))
        return AudioSettings(**merged)


class Recipe(BaseModel):
    """A resolved, normalised recipe: everything the renderer needs, nothing optional
    except what means "keep the master's"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: AudioFormat
    encoding: Encoding
    sample_rate: int | None = None  # None = keep the master's
    channels: int | None = None  # None = keep the master's
    loudness: float | None = None  # None = level untouched
    true_peak: float = DEFAULT_TRUE_PEAK
    trim_silence: bool = False


def _pick_format(settings: AudioSettings, master_format: str | None) -> str:
    """format absent: the master's if it can carry the asked encoding, else the
    first format that can (wav for the PCM/G.711 family)."""
    candidates = [master_format] if master_format in FORMAT_ENCODINGS else []
    candidates.append("wav")
    if settings.encoding is None:
        return candidates[0]
    for fmt in [*candidates, *FORMATS]:
        if settings.encoding in FORMAT_ENCODINGS[fmt]:
            return fmt
    raise RecipeError(f"no format can carry encoding {settings.encoding!r}")  # pragma: no cover


def resolve_recipe(settings: AudioSettings, *, master_format: str | None = None) -> Recipe:
    """Fill in the natural defaults and refuse impossible combinations."""
    fmt = settings.format or _pick_format(settings, master_format)
    allowed = FORMAT_ENCODINGS[fmt]
    encoding = settings.encoding or allowed[0]
    if encoding not in allowed:
        carriers = [f for f in FORMATS if encoding in FORMAT_ENCODINGS[f]]
        raise RecipeError(
            f"format {fmt!r} cannot carry encoding {encoding!r}: {fmt} takes "
            f"{', '.join(allowed)}; {encoding} needs format {' or '.join(carriers)}"
        )
    if fmt == "mp3" and settings.sample_rate is not None and settings.sample_rate not in MP3_SAMPLE_RATES:
        raise RecipeError(
            f"mp3 cannot be written at {settings.sample_rate} Hz; use one of "
            f"{', '.join(str(r) for r in MP3_SAMPLE_RATES)}"
        )
    return Recipe(
        format=fmt,  # type: ignore[arg-type]
        encoding=encoding,  # type: ignore[arg-type]
        sample_rate=settings.sample_rate,
        channels=settings.channels,
        loudness=None if settings.loudness is None else float(settings.loudness),
        true_peak=DEFAULT_TRUE_PEAK if settings.true_peak is None else float(settings.true_peak),
        trim_silence=bool(settings.trim_silence),
    )


def _num(value: float) -> str:
    # round first so -16 and -16.0000001 give one key; +0.0 for -0.0
    return repr(round(float(value), 2) + 0.0)


@functools.lru_cache(maxsize=1024)  # Recipe is frozen (hashable); a config has few distinct recipes
def recipe_key(recipe: Recipe) -> str:
    """Canonical, stable string of the normalised settings only, e.g.
    "wav/ulaw/8000/1/lufs=-16.0/tp=-1.0/trim=0" ("keep" = the master's rate/channels)."""
    rate = "keep" if recipe.sample_rate is None else str(recipe.sample_rate)
    channels = "keep" if recipe.channels is None else str(recipe.channels)
    lufs = "off" if recipe.loudness is None else _num(recipe.loudness)
    return (
        f"{recipe.format}/{recipe.encoding}/{rate}/{channels}/lufs={lufs}"
        f"/tp={_num(recipe.true_peak)}/trim={int(recipe.trim_silence)}"
    )


@functools.cache
def encoder_versions() -> str:
    """Versions of everything that shapes the rendition's bytes, e.g.
    "libsndfile-1.2.2 soxr-1.1.0 pyloudnorm-0.2.0 numpy-2.4.6 scipy-1.17.1 render-1"
    (numpy and scipy compute the filters and the gain, so they can move a bit).

    Computed once per process (the lockfile records it for every rendition),
    without importing the audio stack: it keys the cache, and a plan whose
    renditions are all cached must stay as cheap as one without renditions."""
    from importlib.metadata import PackageNotFoundError

    parts = [f"libsndfile-{libsndfile_version()}"]
    for dist in ("soxr", "pyloudnorm", "numpy", "scipy"):
        try:
            parts.append(f"{dist}-{dist_version(dist)}")
        except PackageNotFoundError:  # pragma: no cover - declared dependencies
            parts.append(f"{dist}-unknown")
    parts.append(RENDER_REVISION)
    return " ".join(parts)


def dist_version(dist: str) -> str:
    """`importlib.metadata.version(dist)`, read from the metadata's headers
    only: `version()` parses the whole METADATA with the email parser, and
    numpy's and scipy's carry their long descriptions (about 9 ms of a
    quickstart plan for the four versions)."""
    from importlib.metadata import distribution

    found = distribution(dist)
    for line in (found.read_text("METADATA") or found.read_text("PKG-INFO") or "").splitlines():
        if line.startswith("Version:"):
            return line.partition(":")[2].strip()
        if not line:  # the headers end at the first blank line
            break
    return found.version


def libsndfile_version() -> str:
    """The version of the libsndfile soundfile uses, as soundfile reports it
    (`soundfile.__libsndfile_version__`), read with ctypes from the library
    bundled in the soundfile wheel when soundfile (which imports numpy) is not
    loaded yet."""
    import sys

    loaded = sys.modules.get("soundfile")
    if loaded is not None:
        return str(loaded.__libsndfile_version__)
    try:
        import ctypes
        import importlib.util
        from pathlib import Path

        spec = importlib.util.find_spec("_soundfile_data")
        folder = Path(next(iter(spec.submodule_search_locations or [])))  # type: ignore[union-attr]
        libs = sorted(folder.glob("libsndfile*"))
        if len(libs) == 1:
            lib = ctypes.CDLL(str(libs[0]))
            lib.sf_version_string.restype = ctypes.c_char_p
            text = lib.sf_version_string().decode("utf-8", "replace")
            return text[len("libsndfile-"):] if text.startswith("libsndfile-") else text
    except (ImportError, OSError, AttributeError, TypeError, StopIteration):
        pass
    import soundfile  # a system libsndfile: let soundfile find it as it does

    return str(soundfile.__libsndfile_version__)


def recipe_identity(recipe: Recipe) -> dict[str, str]:
    """What the lockfile records for a rendition's recipe."""
    return {"key": recipe_key(recipe), "encoders": encoder_versions()}
