"""Rendering a master into a rendition: decode -> mix channels -> resample ->
trim silence -> loudness gain under a true-peak ceiling -> encode.

Choices, and why:
- Resampling: soxr (libsoxr) at its fixed "HQ" quality (20-bit precision,
  linear phase, passband to ~0.91 x Nyquist): more than the 16-bit or G.711
  output can carry, and fixed so the same input gives the same bytes.
- Channel mix: to mono = the mean of the channels (no clipping, no level jump
  for a centred voice recorded on two channels); mono to stereo = the same
  signal on both; more than two channels to stereo = the first two (L, R).
- Silence trim: samples below -60 dBFS (the lint's silence threshold) at each
  end are cut, keeping a 100 ms pad of what was there: speech onsets and
  reverb tails ramp up from below any threshold, so cutting at the threshold
  clips the first consonant; 100 ms is inaudible as dead air yet keeps the
  natural attack and decay, and also absorbs the few tens of milliseconds some
  telephony media paths lose when playback starts. A master silent throughout
  is left untouched (and says so).
- Loudness: gain = target - measured integrated loudness (ITU-R BS.1770-4, see
  loudness.py), but never so much that the true peak exceeds the ceiling
  (`true_peak`, default -1.0 dBTP, the EBU R 128 / AES TD1004 streaming
  ceiling that leaves room for codec overshoot). The ceiling wins: the facts
  then say the target was not reached, and by how much. The level is checked on
  the *encoded* rendition (G.711 and MP3 quantisation move peaks by a fraction
  of a dB) and the gain lowered if the encoded file went over the ceiling.
  Without a loudness target the level is untouched.
- Encoding: explicit libsndfile subtypes; PCM, G.711 and FLAC are quantised
  here (round to nearest, no dither: dither is random noise, and the same master
  must give the same bytes) so libsndfile only packs integers.
- G.711: ITU-T Recommendation G.711 (11/1988), "Pulse code modulation (PCM) of
  voice frequencies": 8-bit logarithmic companding, µ-law (µ = 255, North
  America/Japan; 14-bit linear range, largest level 8159, i.e. 32124 in 16-bit
  terms) and A-law (A = 87.6, Europe and the rest; 13-bit range, largest 4032,
  i.e. 32256). Eight segments per sign, each twice the step of the one before,
  16 steps per segment: the error is within half a step of the sample's
  segment, about 3 % of its value (tests/unit/audio/test_render.py decodes our
  bytes with the Recommendation's own expansion and checks this). The
  companding is libsndfile's table-driven encoder from 16-bit samples; G.711
  is defined at 8 kHz, mono, which is what telephony platforms want (set
  sample_rate = 8000, channels = 1), but the encoding itself is rate-agnostic. MP3 (LAME via libsndfile) output is deterministic. Ogg/Vorbis
  is deterministic except for the Ogg stream serial number, which libsndfile
  draws at random; we rewrite it to a fixed value and recompute each page's
  CRC, so Ogg renditions are byte-identical across runs too.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from reconciler.audio.decode import Decoded, decode_bytes, decode_file
from reconciler.audio.errors import RecipeError
from reconciler.audio.facts import Rendition, RenditionFacts  # noqa: F401 (contract: render.Rendition)
from reconciler.audio.loudness import integrated_loudness, to_db, true_peak_linear
from reconciler.audio.measure import SILENCE_DBFS, SILENCE_THRESHOLD
from reconciler.audio.recipe import MP3_SAMPLE_RATES, Recipe

RESAMPLE_QUALITY = "HQ"
TRIM_PAD_SECONDS = 0.100
LOUDNESS_TOLERANCE = 0.1  # LU: a target counts as reached within this
_CEILING_SLACK = 0.005  # dB: float noise allowed over the ceiling before correcting
_LOUDNESS_SLACK = 0.05  # LU: encoded loudness this close to the target needs no correction
_MAX_CORRECTIONS = 4

_FORMATS = {"wav": "WAV", "mp3": "MP3", "flac": "FLAC", "ogg": "OGG", "aiff": "AIFF", "au": "AU"}
_SUBTYPES = {
    "pcm_16": "PCM_16",
    "pcm_24": "PCM_24",
    "ulaw": "ULAW",
    "alaw": "ALAW",
    "mp3": "MPEG_LAYER_III",
    "vorbis": "VORBIS",
    "flac": "PCM_16",
}
OGG_SERIAL = 0x52435231  # "RCR1": fixed Ogg stream serial (see module docstring)


def _subtype(recipe: Recipe) -> str:
    if recipe.encoding == "pcm_8":
        return "PCM_U8" if recipe.format == "wav" else "PCM_S8"  # WAV 8-bit is unsigned
    return _SUBTYPES[recipe.encoding]


def mix_channels(samples: np.ndarray, channels: int | None) -> np.ndarray:
    have = samples.shape[1]
    if channels is None or channels == have:
        return samples
    if channels == 1:
        # the mean of the channels, as a matrix-vector product (numpy's mean over
        # a strided axis is several times slower on long prompts)
        return (samples @ np.full(have, 1.0 / have)).reshape(-1, 1)
    if have == 1:
        return np.repeat(samples, channels, axis=1)
    return samples[:, :channels]


def resample(samples: np.ndarray, rate: int, target: int | None) -> tuple[np.ndarray, int]:
    if target is None or target == rate or samples.shape[0] == 0:
        return samples, rate
    import soxr

    out = soxr.resample(samples, rate, target, quality=RESAMPLE_QUALITY)
    return out.reshape(-1, samples.shape[1]), target


def trim_silence(samples: np.ndarray, rate: int, pad: float = TRIM_PAD_SECONDS) -> np.ndarray | None:
    """Cut leading/trailing samples below -60 dBFS, keeping `pad` seconds of
    what was there on each side. None when no sample is above the threshold."""
    loud = np.flatnonzero(np.max(np.abs(samples), axis=1) > SILENCE_THRESHOLD)
    if loud.size == 0:
        return None
    keep = int(round(pad * rate))
    start = max(int(loud[0]) - keep, 0)
    end = min(int(loud[-1]) + 1 + keep, samples.shape[0])
    return samples[start:end]


def _quantise(samples: np.ndarray, bits: int) -> np.ndarray:
    """Round to `bits` bits (nearest, clipped), returned in the integer container
    libsndfile packs from (int16 for <= 16 bits, int32 left-aligned for 24)."""
    scale = float(1 << (bits - 1))
    q = np.clip(np.rint(samples * scale), -scale, scale - 1)
    if bits <= 16:
        return (q * (1 << (16 - bits))).astype(np.int16)
    return (q.astype(np.int32) << (32 - bits)).astype(np.int32)


def encode(samples: np.ndarray, rate: int, recipe: Recipe) -> bytes:
    import soundfile as sf

    subtype = _subtype(recipe)
    if recipe.encoding in ("mp3", "vorbis"):
        data: np.ndarray = np.clip(samples, -1.0, 1.0).astype(np.float32)
    elif recipe.encoding == "pcm_24":
        data = _quantise(samples, 24)
    elif recipe.encoding == "pcm_8":
        data = _quantise(samples, 8)
    else:  # pcm_16, flac (16-bit), ulaw/alaw (companded from 16-bit)
        data = _quantise(samples, 16)
    buf = io.BytesIO()
    sf.write(buf, data, rate, format=_FORMATS[recipe.format], subtype=subtype)
    out = buf.getvalue()
    return fix_ogg_serial(out) if recipe.format == "ogg" else out


# --- Ogg: fixed stream serial (RFC 3533 page layout, CRC-32 poly 0x04C11DB7) ---

def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_crc_table()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    table = _OGG_CRC
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) ^ byte) & 0xFF]
    return crc


def fix_ogg_serial(data: bytes, serial: int = OGG_SERIAL) -> bytes:
    """Rewrite every page's stream serial to `serial` and recompute its CRC."""
    out = bytearray(data)
    pos = 0
    while pos + 27 <= len(out) and out[pos : pos + 4] == b"OggS":
        nseg = out[pos + 26]
        body = sum(out[pos + 27 : pos + 27 + nseg])
        end = pos + 27 + nseg + body
        if end > len(out):
            break
        out[pos + 14 : pos + 18] = serial.to_bytes(4, "little")
        out[pos + 22 : pos + 26] = b"\0\0\0\0"
        out[pos + 22 : pos + 26] = _ogg_crc(bytes(out[pos:end])).to_bytes(4, "little")
        pos = end
    return bytes(out)


# --- the pipeline ---

def _check_encodable(recipe: Recipe, rate: int, channels: int) -> None:
    if recipe.format == "mp3" and rate not in MP3_SAMPLE_RATES:
        raise RecipeError(
            f"mp3 cannot be written at {rate} Hz (the master's rate); set sample_rate to one of "
            f"{', '.join(str(r) for r in MP3_SAMPLE_RATES)}"
        )
    if recipe.format == "mp3" and channels > 2:
        raise RecipeError(f"mp3 carries 1 or 2 channels, the master has {channels}; set channels")


def render_decoded(decoded: Decoded, recipe: Recipe) -> tuple[bytes, RenditionFacts]:
    """The pipeline on an already decoded master."""
    notes: list[str] = []
    samples = mix_channels(decoded.samples, recipe.channels)
    samples, rate = resample(samples, decoded.sample_rate, recipe.sample_rate)
    _check_encodable(recipe, rate, samples.shape[1])
    if recipe.trim_silence:
        trimmed = trim_silence(samples, rate)
        if trimmed is None:
            notes.append(f"trim_silence: the master is below {SILENCE_DBFS:.0f} dBFS throughout; left untouched")
        else:
            samples = trimmed

    gain_db = 0.0
    limited = False
    if recipe.loudness is not None:
        measured = integrated_loudness(samples, rate)
        peak = true_peak_linear(samples, rate)
        if measured is None or peak <= 0:
            notes.append(
                f"loudness target {recipe.loudness:.1f} LUFS not applied: the audio is too short "
                f"(< 400 ms) or too quiet to measure; level left untouched"
            )
        else:
            gain_db = recipe.loudness - measured
            headroom = recipe.true_peak - 20 * np.log10(peak)
            if gain_db > headroom:
                gain_db, limited = float(headroom), True

    # Encoding (G.711 companding, MP3, Vorbis) moves the level and the peaks a
    # little. When we set the level, check the *encoded* file and correct the gain:
    # first the ceiling (never above it), then the target (within 0.05 LU).
    # Deterministic: the same input takes the same corrections.
    for attempt in range(_MAX_CORRECTIONS + 1):
        data = encode(samples * (10 ** (gain_db / 20)), rate, recipe)
        rendered = decode_bytes(data, name="rendition")
        tp_lin = true_peak_linear(rendered.samples, rate)
        loudness = integrated_loudness(rendered.samples, rate)
        if recipe.loudness is None or tp_lin <= 0 or loudness is None or attempt == _MAX_CORRECTIONS:
            break
        over = 20 * np.log10(tp_lin) - recipe.true_peak
        if over > _CEILING_SLACK:
            gain_db -= over + 0.01 * (attempt + 1)
            limited = True
            continue
        miss = recipe.loudness - loudness
        if limited or abs(miss) <= _LOUDNESS_SLACK:
            break
        if miss > -over:  # raising by `miss` would cross the ceiling: stop at it
            miss, limited = -over, True
        gain_db += miss
    target_reached = True
    if recipe.loudness is not None:
        if loudness is None:
            target_reached = False
            if not notes:
                notes.append(f"loudness target {recipe.loudness:.1f} LUFS not reached: the rendition cannot be measured")
        elif abs(loudness - recipe.loudness) > LOUDNESS_TOLERANCE:
            target_reached = False
            why = (f"limited by true-peak ceiling {recipe.true_peak:.1f} dBTP" if limited
                   else f"the {recipe.encoding} encoder moved the level")
            notes.append(
                f"loudness target {recipe.loudness:.1f} LUFS not reached: {why} "
                f"(reached {loudness:.1f} LUFS)"
            )
    facts = RenditionFacts(
        format=recipe.format,
        encoding=recipe.encoding,
        sample_rate=rate,
        channels=int(samples.shape[1]),
        duration=round(rendered.frames / rate, 3),
        loudness=None if loudness is None else round(loudness, 2),
        true_peak=None if (tp := to_db(tp_lin)) is None else round(tp, 2),
        target_reached=target_reached,
        notes=notes,
    )
    return data, facts


def render_data(data: bytes, recipe: Recipe, *, name: str = "master") -> tuple[bytes, RenditionFacts]:
    """Render master bytes (see render_bytes)."""
    return render_decoded(decode_bytes(data, strict=True, name=name), recipe)


def render_bytes(master: Path, recipe: Recipe) -> tuple[bytes, RenditionFacts]:
    """Render a master file; AudioDecodeError for undecodable/empty/truncated masters,
    RecipeError when the recipe cannot carry this master (e.g. mp3 at 96 kHz)."""
    return render_decoded(decode_file(master, strict=True), recipe)
