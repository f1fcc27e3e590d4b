"""Measuring a prompt: the facts `lint` judges and `plan` shows.

- loudness: integrated, ITU-R BS.1770-4 (loudness.py); None under 400 ms or silent.
- true_peak: dBTP, BS.1770-4 Annex 2 (4x oversampled); sample_peak: dBFS.
- clipped_runs: runs of >= 3 consecutive samples at the encoding's full scale,
  counted per channel. One sample at full scale is a legitimate peak (a
  full-scale sine touches it); three in a row is the flat top of a clipped
  wave (the usual detector in audio editors). "Full scale" depends on the
  encoding: 32767/32768 for 16-bit PCM, 32124/32768 for G.711 µ-law (its
  largest code), 32256/32768 for A-law, 1.0 for float and lossy codecs.
- leading/trailing silence: time before the first / after the last sample
  above -60 dBFS on any channel (the level below which telephony noise floors
  sit; the same threshold the renderer's trim uses).
- dc_offset: the mean sample value of the worst channel, as a fraction of full
  scale (a DC bias wastes headroom and clicks at the start/end of playback).
- empty / truncated: see decode.py.

Importing this module loads no audio library (numpy and libsndfile are
imported by the functions that measure): the `Measurements` model is read
back from a cache by plans that measure nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import numpy as np

SILENCE_DBFS = -60.0
SILENCE_THRESHOLD = 10 ** (SILENCE_DBFS / 20)
CLIP_RUN = 3  # consecutive full-scale samples that make a clipped run

# largest magnitude each libsndfile subtype can hold, as decoded to float
FULL_SCALE = {
    "PCM_16": 32767 / 32768,
    "PCM_24": (2**23 - 1) / 2**23,
    "PCM_32": (2**31 - 1) / 2**31,
    "PCM_S8": 127 / 128,
    "PCM_U8": 127 / 128,
    "ULAW": 32124 / 32768,
    "ALAW": 32256 / 32768,
}
_DEFAULT_FULL_SCALE = 32767 / 32768

# libsndfile subtype -> our encoding names (recipe.Encoding where there is one);
# here, not in decode.py, so the plain-WAV scan (plainwav.py) names them without libsndfile
SUBTYPE_ENCODINGS = {
    "PCM_16": "pcm_16",
    "PCM_24": "pcm_24",
    "PCM_S8": "pcm_8",
    "PCM_U8": "pcm_8",
    "ULAW": "ulaw",
    "ALAW": "alaw",
    "MPEG_LAYER_III": "mp3",
    "VORBIS": "vorbis",
}


def clip_subtype(subtype: str, encoding: str) -> str | None:
    """The subtype whose full scale judges clipping in a decoded file; None: the
    default (16-bit) full scale, which is what lossy and float files are judged
    at (they decode to 1.0 at full scale). One rule for measure_file and the
    streaming scan (scan.py), so both count the same runs."""
    if encoding in ("mp3", "vorbis") or subtype in ("FLOAT", "DOUBLE"):
        return None
    return subtype if subtype in FULL_SCALE else None


def full_scale(subtype: str | None) -> float:
    return FULL_SCALE.get(subtype or "", _DEFAULT_FULL_SCALE)


class Measurements(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: str | None
    encoding: str | None
    sample_rate: int
    channels: int
    frames: int
    duration: float  # s
    loudness: float | None  # integrated LUFS (None if < 400 ms or all gated)
    true_peak: float | None  # dBTP
    sample_peak: float | None  # dBFS
    clipped_runs: int
    leading_silence: float  # ms
    trailing_silence: float  # ms
    dc_offset: float  # fraction of full scale, worst channel (signed)
    empty: bool
    truncated: bool


def count_clipped_runs(samples: np.ndarray, full_scale: float, run: int = CLIP_RUN) -> int:
    """Runs of >= `run` consecutive samples at/above `full_scale`, over all channels."""
    import numpy as np

    at_full = np.abs(samples) >= full_scale * (1 - 1e-9)
    total = 0
    for channel in at_full.T:
        # edges of True stretches: +1 where a run starts, -1 after it ends
        padded = np.concatenate(([0], channel.astype(np.int8), [0]))
        edges = np.diff(padded)
        lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        total += int(np.count_nonzero(lengths >= run))
    return total


def silence_edges(samples: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """Leading and trailing silence in ms (all of it, twice, when nothing is above the threshold)."""
    import numpy as np

    frames = samples.shape[0]
    loud = np.flatnonzero(np.max(np.abs(samples), axis=1) > SILENCE_THRESHOLD) if frames else []
    if len(loud) == 0:
        whole = 1000.0 * frames / sample_rate if sample_rate else 0.0
        return whole, whole
    lead = 1000.0 * int(loud[0]) / sample_rate
    trail = 1000.0 * (frames - 1 - int(loud[-1])) / sample_rate
    return lead, trail


def measure_samples(
    samples: np.ndarray,
    sample_rate: int,
    *,
    format: str | None = None,
    encoding: str | None = None,
    subtype: str | None = None,
    truncated: bool = False,
) -> Measurements:
    """Measure float samples (full scale 1.0), shape (frames,) or (frames, channels)."""
    import numpy as np

    from reconciler.audio.loudness import integrated_loudness, sample_peak, to_db, true_peak

    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    frames, channels = data.shape
    empty = frames == 0
    lead, trail = silence_edges(data, sample_rate)
    if empty:
        dc = 0.0
    else:
        means = data.mean(axis=0)
        dc = float(means[int(np.argmax(np.abs(means)))])
    peak = sample_peak(data)
    return Measurements(
        format=format,
        encoding=encoding,
        sample_rate=int(sample_rate),
        channels=int(channels),
        frames=int(frames),
        duration=round(frames / sample_rate, 6) if sample_rate else 0.0,
        loudness=None if empty else _round(integrated_loudness(data, sample_rate)),
        true_peak=None if empty else _round(true_peak(data, sample_rate)),
        sample_peak=_round(to_db(peak)),
        clipped_runs=0 if empty else count_clipped_runs(data, full_scale(subtype)),
        leading_silence=round(lead, 3),
        trailing_silence=round(trail, 3),
        dc_offset=round(dc, 6),
        empty=empty,
        truncated=truncated,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def measure_file(path: Path) -> Measurements:
    """Measure a file as it is: empty and truncated files are measured (and
    flagged), AudioDecodeError when it cannot be decoded at all.

    This holds the whole file's samples (and pyloudnorm a 48 kHz copy):
    BS.1770's gating is over the whole programme and pyloudnorm takes it in
    one array. Only the assets that opt into lint are measured, one at a time;
    the broken-audio gate of every other asset streams (scan.py)."""
    from reconciler.audio.decode import decode_file

    decoded = decode_file(path, strict=False)
    return measure_samples(
        decoded.samples,
        decoded.sample_rate,
        format=decoded.format,
        encoding=decoded.encoding,
        subtype=clip_subtype(decoded.subtype, decoded.encoding),
        truncated=decoded.truncated,
    )
