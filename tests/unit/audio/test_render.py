"""Rendering: channel mix, resampling, trim, loudness under a ceiling, encoding."""

import io

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.audio.decode import decode_bytes
from reconciler.audio.errors import AudioDecodeError, RecipeError
from reconciler.audio.loudness import integrated_loudness, true_peak
from reconciler.audio.recipe import AudioSettings, resolve_recipe
from reconciler.audio.render import fix_ogg_serial, render_bytes, render_decoded, trim_silence

from .signals import encode, peak_frequency, silence, sine, write


def recipe(**settings):
    return resolve_recipe(AudioSettings(**settings), master_format="wav")


def test_telephony_rendition_of_a_studio_master(tmp_path):
    master = write(tmp_path / "m.wav", sine(1000, 2.0, 48000, dbfs=-12, channels=2), 48000)
    data, facts = render_bytes(master, recipe(format="wav", encoding="ulaw", sample_rate=8000, channels=1))
    info = sf.info(io.BytesIO(data))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "ULAW", 8000, 1)
    assert (facts.format, facts.encoding, facts.sample_rate, facts.channels) == ("wav", "ulaw", 8000, 1)
    assert facts.duration == pytest.approx(2.0, abs=0.001)
    decoded = decode_bytes(data)
    # 48k -> 8k keeps the 1 kHz tone at 1 kHz
    assert peak_frequency(decoded.samples, 8000) == pytest.approx(1000, abs=8000 / decoded.frames * 1.5)
    # level untouched without a loudness target (mono mix of identical channels keeps it)
    assert facts.loudness == pytest.approx(-15.01, abs=0.1)


@pytest.mark.parametrize("target", [8000, 11025, 16000, 22050, 44100])
def test_resampling_keeps_the_tone_and_removes_what_does_not_fit(tmp_path, target):
    # 1 kHz stays; a 6 kHz tone above the new Nyquist (for 8 kHz) must not alias back in
    x = sine(1000, 1.0, 48000, dbfs=-6) + sine(6000, 1.0, 48000, dbfs=-12)
    master = write(tmp_path / "m.wav", x, 48000)
    data, facts = render_bytes(master, recipe(sample_rate=target))
    y = decode_bytes(data).samples[:, 0]
    assert facts.sample_rate == target
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    freqs = np.fft.rfftfreq(len(y), 1 / target)
    assert freqs[np.argmax(spectrum)] == pytest.approx(1000, abs=3)
    if target < 12000:
        alias = abs(target - 6000)  # where 6 kHz would fold to
        near = np.abs(freqs - alias) < 20
        assert 20 * np.log10(spectrum[near].max() / spectrum.max()) < -60


def test_channels_mix_down_and_up(tmp_path):
    left, right = sine(440, 1.0, dbfs=-6), sine(440, 1.0, dbfs=-6, phase=np.pi)
    master = write(tmp_path / "m.wav", np.hstack([left, right]), 48000)
    # out-of-phase channels cancel in a mono mean: the mix is the mean, not a channel
    data, _ = render_bytes(master, recipe(channels=1))
    assert np.max(np.abs(decode_bytes(data).samples)) < 1e-3
    mono = write(tmp_path / "mono.wav", left, 48000)
    data, facts = render_bytes(mono, recipe(channels=2))
    y = decode_bytes(data).samples
    assert facts.channels == 2 and np.array_equal(y[:, 0], y[:, 1])


def g711_ulaw_to_linear(code: int) -> int:
    """ITU-T G.711 µ-law expansion (the reference g711.c), 16-bit result."""
    code = ~code & 0xFF
    t = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - t if code & 0x80 else t - 0x84


def g711_alaw_to_linear(code: int) -> int:
    """ITU-T G.711 A-law expansion (the reference g711.c), 16-bit result."""
    code ^= 0x55
    t = (code & 0x0F) << 4
    seg = (code & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << max(seg - 1, 0)
    return t if code & 0x80 else -t


def wav_data_chunk(data: bytes) -> bytes:
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if data[pos : pos + 4] == b"data":
            return data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    raise AssertionError("no data chunk")


@pytest.mark.parametrize(("encoding", "expand"), [("ulaw", g711_ulaw_to_linear), ("alaw", g711_alaw_to_linear)])
def test_g711_output_decodes_back_within_quantisation(tmp_path, encoding, expand):
    # Decode the rendition's bytes with the standard's own expansion table, so the
    # bytes are checked as G.711 codes, not only through libsndfile.
    x = np.concatenate([sine(300, 0.3, 8000, dbfs=-1), sine(300, 0.3, 8000, dbfs=-30),
                        sine(300, 0.3, 8000, dbfs=-55)])[:, 0]
    master = write(tmp_path / "m.wav", x, 8000, subtype="DOUBLE")
    data, facts = render_bytes(master, recipe(encoding=encoding))
    assert sf.info(io.BytesIO(data)).subtype == encoding.upper() and facts.encoding == encoding
    codes = wav_data_chunk(data)
    y = np.array([expand(c) for c in codes]) / 32768
    assert len(y) == len(x)
    assert np.array_equal(y, decode_bytes(data).samples[:, 0])  # libsndfile agrees with G.711
    # G.711 segments: the step doubles per segment (µ-law 2..256, A-law 16..1024 in 16-bit
    # units at the top segment), so the error is within half the step of the sample's
    # segment: ~3 % of the value (8-bit logarithmic), plus the smallest step near zero.
    error = np.abs(y - x)
    assert np.all(error <= 0.032 * np.abs(x) + 16 / 32768)
    assert error.max() <= 512 / 32768


@pytest.mark.parametrize(("encoding", "bits"), [("pcm_16", 16), ("pcm_24", 24), ("pcm_8", 8)])
def test_pcm_rounds_to_nearest(tmp_path, encoding, bits):
    master = write(tmp_path / "m.wav", sine(440, 0.2, 16000, dbfs=-3), 16000, subtype="DOUBLE")
    x = decode_bytes(master.read_bytes()).samples[:, 0]
    data, _ = render_bytes(master, recipe(encoding=encoding))
    y = decode_bytes(data).samples[:, 0]
    assert np.abs(y - x).max() <= 0.5 / 2 ** (bits - 1) + 1e-12


def test_trim_keeps_a_100_ms_pad(tmp_path):
    rate = 16000
    x = np.concatenate([silence(1.5, rate), sine(500, 1.0, rate, dbfs=-20), silence(2.0, rate)])
    master = write(tmp_path / "m.wav", x, rate)
    data, facts = render_bytes(master, recipe(trim_silence=True))
    y = decode_bytes(data).samples[:, 0]
    assert facts.duration == pytest.approx(1.2, abs=0.002)
    loud = np.flatnonzero(np.abs(y) > 10 ** (-60 / 20))
    assert loud[0] / rate == pytest.approx(0.1, abs=0.002)  # 100 ms of pad before the sound
    assert (len(y) - 1 - loud[-1]) / rate == pytest.approx(0.1, abs=0.002)


def test_trim_keeps_shorter_existing_silence_and_leaves_silent_masters_alone(tmp_path):
    x = np.concatenate([silence(0.03), sine(500, 0.5, dbfs=-20)])
    assert trim_silence(x, 48000).shape[0] == x.shape[0]  # 30 ms lead is less than the pad
    master = write(tmp_path / "m.wav", silence(1.0), 48000)
    _, facts = render_bytes(master, recipe(trim_silence=True))
    assert facts.duration == pytest.approx(1.0) and "left untouched" in facts.notes[0]


@pytest.mark.parametrize("fmt", ["wav", "flac", "aiff", "au", "mp3", "ogg"])
@pytest.mark.parametrize("target", [-16.0, -23.5])
def test_loudness_normalisation_lands_within_0_1_lu(tmp_path, fmt, target):
    rate = 16000
    x = np.concatenate([sine(300, 1.5, rate, dbfs=-30), sine(900, 1.5, rate, dbfs=-36)])
    master = write(tmp_path / "m.wav", x, rate)
    data, facts = render_bytes(master, resolve_recipe(AudioSettings(format=fmt, loudness=target)))
    y = decode_bytes(data)
    measured = integrated_loudness(y.samples, y.sample_rate)
    assert measured == pytest.approx(target, abs=0.1)
    assert facts.loudness == pytest.approx(measured, abs=0.01)
    assert facts.target_reached and facts.notes == []


def test_target_above_the_ceiling_stops_at_the_ceiling_and_says_so(tmp_path):
    # a square-ish crest: peaks at -6 dBFS, loudness about -9 LUFS; -5 LUFS needs +4 dB,
    # the -1 dBTP ceiling allows at most ~+5 dB of peak... use a spiky signal instead:
    rate = 48000
    x = sine(1000, 2.0, rate, dbfs=-30)
    x[::4800] = 0.5  # clicks: the peak is far above the body's loudness
    master = write(tmp_path / "m.wav", x, rate, subtype="FLOAT")
    data, facts = render_bytes(master, recipe(loudness=-10.0))
    y = decode_bytes(data)
    tp = true_peak(y.samples, rate)
    assert tp <= -1.0 + 0.005
    assert tp == pytest.approx(-1.0, abs=0.05)  # the gain went as far as the ceiling allows
    assert not facts.target_reached
    assert facts.loudness < -10.0 - 0.1
    assert "not reached" in facts.notes[0] and "-1.0 dBTP" in facts.notes[0]
    assert f"reached {facts.loudness:.1f} LUFS" in facts.notes[0]


def test_custom_ceiling_is_honoured_after_g711(tmp_path):
    master = write(tmp_path / "m.wav", sine(1000, 2.0, 8000, dbfs=-20), 8000)
    data, facts = render_bytes(master, recipe(encoding="ulaw", loudness=-5.0, true_peak=-3.0))
    y = decode_bytes(data)
    assert true_peak(y.samples, 8000) <= -3.0 + 0.005
    assert not facts.target_reached and facts.true_peak <= -3.0


def test_without_a_loudness_target_the_level_is_untouched(tmp_path):
    x = sine(1000, 1.0, 48000, dbfs=-0.1)  # above the default ceiling, but nobody asked for a level
    master = write(tmp_path / "m.wav", x, 48000)
    data, facts = render_bytes(master, recipe(format="flac"))
    assert np.abs(decode_bytes(data).samples - decode_bytes(master.read_bytes()).samples).max() == 0
    assert facts.target_reached and facts.true_peak > -1.0


def test_too_short_to_measure_is_left_alone_and_said(tmp_path):
    master = write(tmp_path / "m.wav", sine(1000, 0.2, 8000, dbfs=-30), 8000)
    _, facts = render_bytes(master, recipe(loudness=-16.0))
    assert not facts.target_reached and "too short" in facts.notes[0]


def test_broken_masters_raise_audio_decode_error(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(encode(np.zeros((0, 1)), 8000))
    with pytest.raises(AudioDecodeError, match="no audio frames"):
        render_bytes(empty, recipe())
    full = encode(sine(seconds=1.0, rate=8000), 8000)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(AudioDecodeError, match="truncated"):
        render_bytes(cut, recipe())


def test_mp3_at_a_master_rate_lame_cannot_write_is_a_recipe_error(tmp_path):
    master = write(tmp_path / "m.wav", sine(seconds=0.5, rate=96000), 96000)
    with pytest.raises(RecipeError, match="sample_rate"):
        render_bytes(master, resolve_recipe(AudioSettings(format="mp3")))


def test_ogg_serial_is_fixed_and_pages_stay_valid(tmp_path):
    master = write(tmp_path / "m.wav", sine(440, 1.0, 16000, dbfs=-6), 16000)
    data, _ = render_bytes(master, resolve_recipe(AudioSettings(format="ogg")))
    assert data[14:18] == (0x52435231).to_bytes(4, "little")
    assert fix_ogg_serial(data) == data  # already canonical: CRCs recompute to what is there
    assert decode_bytes(data).frames > 15000  # libsndfile/libogg accept the CRCs


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    level=st.floats(-50, 0),
    target=st.floats(-30, -6),
    ceiling=st.floats(-6, -0.5),
    encoding=st.sampled_from(["pcm_16", "ulaw", "alaw", "pcm_8"]),
    freq=st.floats(100, 3000),
)
def test_render_never_exceeds_the_ceiling(level, target, ceiling, encoding, freq):
    from reconciler.audio.decode import Decoded

    x = sine(freq, 0.6, 8000, dbfs=level) + sine(freq * 1.37, 0.6, 8000, dbfs=level - 6)
    decoded = Decoded(samples=x, sample_rate=8000, format="wav", subtype="DOUBLE", encoding="double",
                      truncated=False)
    data, facts = render_decoded(decoded, recipe(encoding=encoding, loudness=target, true_peak=ceiling))
    y = decode_bytes(data)
    assert true_peak(y.samples, 8000) <= ceiling + 0.005
    if facts.target_reached:
        assert facts.loudness == pytest.approx(target, abs=0.1)


@pytest.mark.parametrize("master_format", ["wav", "flac", "ogg", "mp3", "aiff", "au"])
def test_every_master_format_renders_to_telephony(tmp_path, master_format):
    rate = 44100 if master_format == "mp3" else 48000
    # 997 Hz, not 1 kHz: 1 kHz at 8 kHz repeats the same 8 sample values, so G.711's
    # steps make its level move in 0.15 dB jumps (why test tones are 997 Hz)
    x = sine(997, 1.5, rate, dbfs=-18, channels=2)
    master = write(tmp_path / f"m.{master_format}", x, rate, master_format)
    data, facts = render_bytes(master, recipe(format="wav", encoding="ulaw", sample_rate=8000, channels=1,
                                              loudness=-19))
    y = decode_bytes(data)
    assert (y.sample_rate, y.channels, y.encoding) == (8000, 1, "ulaw")
    assert facts.loudness == pytest.approx(-19, abs=0.1) and facts.target_reached
    assert peak_frequency(y.samples, 8000) == pytest.approx(997, abs=8)


@pytest.mark.parametrize("settings", [
    {"format": "wav", "encoding": "alaw", "sample_rate": 8000, "channels": 1},
    {"format": "au", "sample_rate": 8000, "channels": 1},
    {"format": "aiff", "encoding": "pcm_16", "sample_rate": 16000},
    {"format": "flac", "sample_rate": 22050, "channels": 1},
    {"format": "mp3", "sample_rate": 16000, "channels": 1},
    {"format": "ogg", "sample_rate": 16000, "channels": 2},
])
def test_renditions_are_what_the_uploader_will_see(tmp_path, settings):
    # the project's own inspection (what providers are told) agrees with the facts
    from reconciler.audio import inspect_bytes

    master = write(tmp_path / "m.wav", sine(440, 1.0, 48000, dbfs=-12, channels=2), 48000)
    data, facts = render_bytes(master, resolve_recipe(AudioSettings(**settings)))
    info = inspect_bytes(data)
    assert (info.format, info.sample_rate, info.channels) == (facts.format, facts.sample_rate, facts.channels)
    assert info.duration == pytest.approx(facts.duration, abs=0.08)


@pytest.mark.parametrize("target", [16000, 44100, 48000])
def test_upsampling_keeps_the_tone_and_adds_no_images(tmp_path, target):
    master = write(tmp_path / "m.wav", sine(1000, 1.0, 8000, dbfs=-6), 8000)
    data, facts = render_bytes(master, recipe(sample_rate=target))
    y = decode_bytes(data).samples[:, 0]
    assert facts.sample_rate == target and len(y) == pytest.approx(target, abs=2)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    freqs = np.fft.rfftfreq(len(y), 1 / target)
    assert freqs[np.argmax(spectrum)] == pytest.approx(1000, abs=3)
    image = np.abs(freqs - 7000) < 20  # where a zero-order upsampler would mirror 1 kHz
    assert 20 * np.log10(spectrum[image].max() / spectrum.max()) < -60


def test_trim_listens_to_every_channel(tmp_path):
    rate = 16000
    left = np.concatenate([silence(1.0, rate), sine(500, 1.0, rate, dbfs=-20)])
    right = np.concatenate([sine(500, 0.5, rate, dbfs=-20), silence(1.5, rate)])
    master = write(tmp_path / "m.wav", np.hstack([left, right]), rate)
    _, facts = render_bytes(master, recipe(trim_silence=True))
    assert facts.duration == pytest.approx(2.0, abs=0.002)  # sound from 0 to 2 s on one side or the other
