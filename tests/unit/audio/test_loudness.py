"""BS.1770-4 loudness and Annex 2 true peak on signals with known answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.audio.loudness import integrated_loudness, sample_peak, true_peak

from .signals import silence, sine


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_full_scale_1khz_sine_reads_minus_3_01_lufs(rate):
    assert integrated_loudness(sine(1000, 3.0, rate), rate) == pytest.approx(-3.01, abs=0.05)


@pytest.mark.parametrize("rate", [8000, 48000])
def test_minus_20_dbfs_sine_reads_minus_23_lufs(rate):
    assert integrated_loudness(sine(1000, 3.0, rate, dbfs=-20), rate) == pytest.approx(-23.01, abs=0.05)


def test_stereo_sums_power_of_channels():
    # identical content in two channels is 3 dB louder than in one
    assert integrated_loudness(sine(1000, 3.0, dbfs=-20, channels=2), 48000) == pytest.approx(-20.0, abs=0.05)


def test_gating_ignores_silence():
    # The gates drop the silent blocks: 2 s of tone inside 6 s reads near the tone's
    # -23 LUFS (blocks straddling its edges pull a little), not the -27.8 of the
    # energy average over the whole file.
    x = np.concatenate([silence(2.0), sine(1000, 2.0, dbfs=-20), silence(2.0)])
    assert -24.0 < integrated_loudness(x, 48000) < -23.0


def test_unmeasurable_loudness_is_none():
    assert integrated_loudness(sine(1000, 0.3), 48000) is None  # shorter than one 400 ms block
    assert integrated_loudness(silence(2.0), 48000) is None  # all gated
    assert integrated_loudness(sine(1000, 2.0, dbfs=-90), 48000) is None  # below -70 LUFS


def test_full_scale_sine_true_peak_is_about_0_dbtp():
    assert true_peak(sine(1000, 1.0), 48000) == pytest.approx(0.0, abs=0.1)


def test_true_peak_finds_the_inter_sample_peak():
    # fs/4 sine sampled 45 degrees off its crest: every sample is at 0.707 of the
    # wave's peak; normalised to sample peak 1.0 the true peak is +3.01 dBTP
    x = sine(12000, 1.0, 48000, phase=np.pi / 4)
    x /= np.max(np.abs(x))
    assert 20 * np.log10(sample_peak(x)) == pytest.approx(0.0, abs=1e-9)
    assert true_peak(x, 48000) == pytest.approx(3.01, abs=0.1)


def test_true_peak_of_silence_is_none():
    assert true_peak(silence(0.5), 48000) is None


@settings(max_examples=25, deadline=None)
@given(level=st.floats(-40, 0), freq=st.floats(50, 3500), phase=st.floats(0, 6.28))
def test_true_peak_is_never_below_the_sample_peak(level, freq, phase):
    x = sine(freq, 0.25, 8000, dbfs=level, phase=phase)
    assert true_peak(x, 8000) >= 20 * np.log10(sample_peak(x)) - 1e-9
