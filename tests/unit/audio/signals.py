"""Test signals, generated in code (no audio files in the repo)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

FORMATS = {  # our format name -> (libsndfile format, a subtype a master would use)
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "aiff": ("AIFF", "PCM_16"),
    "au": ("AU", "PCM_16"),
}


def sine(freq: float = 1000.0, seconds: float = 1.0, rate: int = 48000, dbfs: float = 0.0,
         channels: int = 1, phase: float = 0.0) -> np.ndarray:
    """(frames, channels) float64 sine at `dbfs` peak level."""
    t = np.arange(int(round(seconds * rate))) / rate
    x = (10 ** (dbfs / 20)) * np.sin(2 * np.pi * freq * t + phase)
    return np.repeat(x[:, None], channels, axis=1)


def silence(seconds: float, rate: int = 48000, channels: int = 1) -> np.ndarray:
    return np.zeros((int(round(seconds * rate)), channels))


def encode(samples: np.ndarray, rate: int, fmt: str = "wav", subtype: str | None = None) -> bytes:
    sf_format, default_subtype = FORMATS[fmt]
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=sf_format, subtype=subtype or default_subtype)
    return buf.getvalue()


def write(path: Path, samples: np.ndarray, rate: int, fmt: str = "wav", subtype: str | None = None) -> Path:
    path.write_bytes(encode(samples, rate, fmt, subtype))
    return path


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    """Frequency of the largest FFT bin (Hann window) of the first channel."""
    x = samples[:, 0] if samples.ndim == 2 else samples
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])
