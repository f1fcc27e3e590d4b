"""Audio inspection: the format comes from the bytes, never the file name."""

from __future__ import annotations

import hashlib
import struct

import pytest

from reconciler.audio import NotAudioError, file_digest, inspect_bytes, sniff_format
from tests.conftest import make_mp3_frame_stream, make_wav


def test_wav():
    info = inspect_bytes(make_wav(seconds=0.5, rate=8000))
    assert info.format == "wav"
    assert info.duration == pytest.approx(0.5, abs=0.01)
    assert info.sample_rate == 8000 and info.channels == 1
    assert info.mime_type == "audio/wav" and info.extension == "wav"


def test_wav_rate_and_length_are_read_not_assumed():
    info = inspect_bytes(make_wav(seconds=1.0, rate=16000))
    assert info.sample_rate == 16000 and info.duration == pytest.approx(1.0, abs=0.01)


def test_mp3_frame_stream():
    data = make_mp3_frame_stream(frames=40)
    info = inspect_bytes(data)
    assert info.format == "mp3" and info.mime_type == "audio/mpeg"
    assert info.sample_rate == 44100
    # 40 frames of 1152 samples at 44.1 kHz
    assert info.duration == pytest.approx(40 * 1152 / 44100, abs=0.05)


@pytest.mark.parametrize(
    "data",
    [
        b"this is a text file pretending to be an mp3\n" * 10,
        b"",
        b"<html><body>404</body></html>",
        b"\x00" * 64,
    ],
)
def test_not_audio(data):
    with pytest.raises(NotAudioError, match="not a recognised audio format"):
        inspect_bytes(data)


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "WAV"),  # a header and nothing after it
        (b"\xff\xfb" + b"garbage!" * 20, "MP3"),  # a frame sync, then no frames
    ],
)
def test_magic_without_a_body_is_not_audio(data, fmt):
    with pytest.raises(NotAudioError, match=f"looks like {fmt} but cannot be parsed"):
        inspect_bytes(data)


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", "wav"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x04", "mp3"),
        (b"OggS\x00\x02", "ogg"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"FORM\x00\x00\x00\x00AIFF", "aiff"),
        (b"FORM\x00\x00\x00\x00AIFC", "aiff"),
        (b".snd\x00\x00\x00\x18", "au"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", None),  # RIFF, but not WAVE
        (b"\xff\xf9", None),  # ADTS AAC: sync bits, but layer 0 is not MP3
        (b"text", None),
    ],
)
def test_sniff_format(head, fmt):
    assert sniff_format(head) == fmt


def test_au_header():
    rate, channels, seconds = 8000, 1, 0.25
    payload = b"\x7f" * int(rate * seconds)
    header = b".snd" + struct.pack(">IIIII", 24, len(payload), 2, rate, channels)  # 8-bit linear PCM
    info = inspect_bytes(header + payload)
    assert info.format == "au" and info.sample_rate == rate and info.channels == channels
    assert info.duration == pytest.approx(seconds)


def test_file_digest(tmp_path):
    data = make_wav(seed=3)
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    sha, size, raw = file_digest(path)
    assert sha == hashlib.sha256(data).hexdigest() and size == len(data) and raw == data
