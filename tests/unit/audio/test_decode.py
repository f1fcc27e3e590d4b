"""Decoding masters: every master format, and clear errors for broken files."""

import numpy as np
import pytest

from reconciler.audio import NotAudioError
from reconciler.audio.decode import decode_bytes, decode_file
from reconciler.audio.errors import AudioDecodeError

from .signals import FORMATS, encode, sine


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_master_format_decodes(tmp_path, fmt):
    rate = 44100 if fmt == "mp3" else 48000
    x = sine(440, 0.5, rate, dbfs=-6, channels=2)
    path = tmp_path / f"m.{fmt}"
    path.write_bytes(encode(x, rate, fmt))
    d = decode_file(path)
    assert d.format == fmt and d.sample_rate == rate and d.channels == 2
    assert not d.truncated and not d.empty
    # lossy codecs add encoder delay/padding; the bulk of the audio is there
    assert abs(d.frames - x.shape[0]) <= (3000 if fmt in ("mp3", "ogg") else 0)
    middle = d.samples[d.frames // 4 : 3 * d.frames // 4]
    rms_db = 10 * np.log10(np.mean(middle**2))
    assert rms_db == pytest.approx(-6 - 3.01, abs=0.3)  # a sine's RMS is 3.01 dB under its peak


@pytest.mark.parametrize(("subtype", "encoding"), [("PCM_16", "pcm_16"), ("PCM_24", "pcm_24"),
                                                    ("ULAW", "ulaw"), ("ALAW", "alaw"), ("PCM_U8", "pcm_8")])
def test_encoding_is_named(subtype, encoding):
    d = decode_bytes(encode(sine(seconds=0.1, rate=8000), 8000, "wav", subtype))
    assert d.encoding == encoding and d.subtype == subtype


def test_header_only_wav_is_empty_not_a_short_prompt():
    data = encode(np.zeros((0, 1)), 8000)
    assert len(data) == 44
    with pytest.raises(AudioDecodeError) as err:
        decode_bytes(data, name="hello.wav")
    assert err.value.reason == "empty" and "hello.wav" in str(err.value)
    assert isinstance(err.value, NotAudioError)
    lenient = decode_bytes(data, strict=False)
    assert lenient.empty and lenient.frames == 0


@pytest.mark.parametrize(("fmt", "subtype"), [("wav", "PCM_16"), ("wav", "ULAW"), ("aiff", "PCM_16"),
                                               ("au", "PCM_16"), ("au", "ULAW"), ("flac", "PCM_16")])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_files_are_detected(fmt, subtype, keep):
    data = encode(sine(440, 1.0, 16000, dbfs=-6, channels=2), 16000, fmt, subtype)
    cut = data[: int(len(data) * keep)]
    with pytest.raises(AudioDecodeError) as err:
        decode_bytes(cut)
    assert err.value.reason == "truncated"
    lenient = decode_bytes(cut, strict=False)
    assert lenient.truncated and 0 < lenient.frames < 16000


@pytest.mark.parametrize("fmt", ["ogg", "mp3"])
def test_cut_lossy_files_raise_a_clear_error(fmt):
    data = encode(sine(440, 1.0, 16000, dbfs=-6), 16000, fmt)
    with pytest.raises(AudioDecodeError, match="truncated or damaged") as err:
        decode_bytes(data[: len(data) // 3])
    assert "0x" not in str(err.value)  # no "<_io.BytesIO object at 0x...>" noise


def test_complete_file_with_unknown_data_size_is_not_truncated():
    data = bytearray(encode(sine(seconds=0.2, rate=8000), 8000, "au"))
    data[8:12] = b"\xff\xff\xff\xff"  # AU: size unknown (streamed)
    assert not decode_bytes(bytes(data)).truncated


@pytest.mark.parametrize("junk", [b"", b"hello world, not audio at all", b"RIFF\x00\x00\x00\x00WAVEjunk" * 3,
                                  b"fLaC" + bytes(100), b"OggS" + bytes(100)])
def test_undecodable_bytes(junk, tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(junk)
    with pytest.raises(AudioDecodeError) as err:
        decode_file(path)
    assert err.value.reason == "undecodable" and str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(AudioDecodeError, match="cannot read"):
        decode_file(tmp_path / "nope.wav")
