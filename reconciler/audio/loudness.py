"""Loudness and peak measurement.

Integrated loudness: ITU-R BS.1770-4 ("Algorithms to measure audio programme
loudness and true-peak audio level", 2015): K-weighting (a high-shelf pre-filter
and an RLB high-pass), mean square over 400 ms blocks overlapping by 75 %, an
absolute gate at -70 LUFS and a relative gate 10 LU below the ungated level.
A full-scale 997 Hz/1 kHz sine in one channel reads -3.01 LUFS by definition
(the -0.691 dB offset in the standard). Computed with **pyloudnorm**, using its
"DeMan" filter design (Brecht De Man's derivation, which reproduces the
standard's published 48 kHz coefficients exactly: the full-scale 997 Hz sine
reads -3.010 LUFS; pyloudnorm's default design reads -3.05). BS.1770 specifies
the filters at 48 kHz; designed directly at telephony rates the bilinear
transform warps them (an 8 kHz rendition would read ~0.2 LU off), so signals
below 44.1 kHz are resampled to 48 kHz (soxr) before measuring: the loudness of
an 8 kHz µ-law rendition and of its 48 kHz master agree.

- why pyloudnorm: it is a small, readable implementation of BS.1770-4 on top of
  numpy/scipy (manylinux wheels only, no compiled code of its own, so the
  README's two install commands stay all the set-up), checked by its authors
  against the EBU Tech 3341 conformance signals, actively released (0.2.0), and
  its filters are computed for any sample rate (8 kHz renditions included).
- why not pyebur128: it wraps the reference C libebur128 and measures true peak
  itself, which is attractive, but it is a young binding (0.1.x) with few users;
  the rest of its value (true peak) is ~30 lines over soxr, which we already
  need for resampling. pyloudnorm's block loop is Python, but a 5 s prompt has
  ~50 blocks: loudness is not the bottleneck of a render (see bench_audio.py).

True peak: BS.1770-4 Annex 2: oversample (4x for rates below 96 kHz, 2x below
192 kHz, as libebur128 does; the Annex's example is 4x at 48 kHz) and take the
largest absolute sample, in dBTP. The Annex's 48-tap interpolating FIR is a
reference design; we use soxr's "very high quality" linear-phase resampler as
the interpolator (passband flat to well above 0.9 x Nyquist, stopband > 170 dB),
which meets the Annex's intent (finding inter-sample peaks to within a fraction
of a dB; the Annex accepts an under-read up to 0.55 dB at 4x) and is streamed
in one-second chunks so memory does not grow with the prompt's length. The
Annex's 12.04 dB pre-attenuation exists for fixed-point arithmetic; in float it
is unnecessary. The result is never below the sample peak.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

BLOCK_SECONDS = 0.4  # BS.1770 gating block
_CHUNK_SECONDS = 1.0  # true-peak streaming chunk
MEASURE_RATE = 48000  # the rate BS.1770's K-weighting coefficients are published for
MEASURE_MIN_RATE = 44100  # below this, resample to MEASURE_RATE before K-weighting


def _as_2d(samples: np.ndarray) -> np.ndarray:
    return samples.reshape(-1, 1) if samples.ndim == 1 else samples


def to_db(amplitude: float) -> float | None:
    return 20.0 * math.log10(amplitude) if amplitude > 0 else None


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float | None:
    """Integrated loudness in LUFS; None when it cannot be measured (shorter
    than one 400 ms block, every block below the -70 LUFS gate, or more than the
    5 channels BS.1770 weights)."""
    import pyloudnorm

    data = _as_2d(np.asarray(samples, dtype=np.float64))
    if data.shape[0] <= int(BLOCK_SECONDS * sample_rate) or not 1 <= data.shape[1] <= 5:
        return None
    if sample_rate < MEASURE_MIN_RATE:
        import soxr

        data = _as_2d(soxr.resample(data, sample_rate, MEASURE_RATE, quality="VHQ"))
        sample_rate = MEASURE_RATE
    meter = pyloudnorm.Meter(sample_rate, block_size=BLOCK_SECONDS, filter_class="DeMan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # log10(0) of silent blocks; we map -inf to None
        value = float(meter.integrated_loudness(data))
    return value if math.isfinite(value) else None


def oversampling_factor(sample_rate: int) -> int:
    if sample_rate < 96000:
        return 4
    if sample_rate < 192000:
        return 2
    return 1


def sample_peak(samples: np.ndarray) -> float:
    """Largest absolute sample value (linear, 1.0 = full scale)."""
    return float(np.max(np.abs(samples))) if samples.size else 0.0


def true_peak_linear(samples: np.ndarray, sample_rate: int) -> float:
    """BS.1770-4 Annex 2 true peak, linear (1.0 = 0 dBTP)."""
    import soxr

    data = _as_2d(np.asarray(samples, dtype=np.float64))
    peak = sample_peak(data)
    factor = oversampling_factor(sample_rate)
    if factor == 1 or data.shape[0] == 0:
        return peak
    stream = soxr.ResampleStream(
        sample_rate, sample_rate * factor, data.shape[1], dtype="float64", quality="VHQ"
    )
    chunk = max(int(_CHUNK_SECONDS * sample_rate), 1)
    for start in range(0, data.shape[0], chunk):
        block = np.ascontiguousarray(data[start : start + chunk])
        last = start + chunk >= data.shape[0]
        out = stream.resample_chunk(block, last=last)
        if out.size:
            peak = max(peak, float(np.max(np.abs(out))))
    return peak


def true_peak(samples: np.ndarray, sample_rate: int) -> float | None:
    """True peak in dBTP; None for digital silence."""
    return to_db(true_peak_linear(samples, sample_rate))
