"""Decoding masters into float samples with soundfile (libsndfile, bundled in
the wheel: WAV, FLAC, OGG/Vorbis, MP3, AIFF, AU; no ffmpeg, no network).

libsndfile is lenient with damaged files: a WAV whose header promises more
data than the file holds is silently read short, a 44-byte header-only WAV
reads as zero frames. A prompt cut in half must not go live as a shorter
prompt, so we compare what the header promises with what was decoded:
- WAV: the `data` chunk size; AU: the header's data size (0xFFFFFFFF = unknown);
- AIFF: the frame count in the COMM chunk;
- FLAC: the total samples of STREAMINFO (libsndfile errors part way through).
OGG and MP3 files cut short usually cannot be opened at all by libsndfile
(it seeks to the end for the stream length); they raise AudioDecodeError with
reason "undecodable" and a message that names truncation as the likely cause.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from reconciler.audio.errors import AudioDecodeError
from reconciler.audio.inspect import sniff_format
from reconciler.audio.measure import SUBTYPE_ENCODINGS
from reconciler.inputs import MAX_AUDIO_BYTES, InputError, read_file

# Frames per read when salvaging a damaged file: small enough that a FLAC cut
# short yields what precedes the damage (a read that reaches it fails whole).
_READ_FRAMES = 4096

DecodeProblem = Literal["undecodable", "empty", "truncated"]


@dataclass(frozen=True)
class Decoded:
    """Samples as float64, shape (frames, channels), full scale = 1.0."""

    samples: np.ndarray
    sample_rate: int
    format: str  # wav, mp3, ogg, flac, aiff, au
    subtype: str  # libsndfile's, e.g. PCM_16, ULAW, VORBIS
    encoding: str  # ours, e.g. pcm_16, ulaw, flac
    truncated: bool  # the header promises more data than the file holds

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def empty(self) -> bool:
        return self.frames == 0


def _fail(message: str, reason: DecodeProblem) -> AudioDecodeError:
    return AudioDecodeError(message, reason)


# Reads `n` bytes at `offset` (fewer at the end): the header parsers below walk
# chunks through it, so a file on disk is parsed with a few small preads (the
# broken-audio scan, scan.py) and bytes in memory by slicing (decode_bytes).
ReadAt = Callable[[int, int], bytes]


def _riff_data_size(read_at: ReadAt) -> int | None:
    """Declared size of the WAV `data` chunk, None when unknown/absent."""
    pos = 12
    while len(head := read_at(pos, 8)) == 8:
        chunk_id = head[:4]
        (size,) = struct.unpack("<I", head[4:8])
        if chunk_id == b"data":
            # 0 and 0xFFFFFFFF are what streaming writers put when they cannot seek back
            return None if size in (0, 0xFFFFFFFF) else size
        pos += 8 + size + (size & 1)
    return None


def _aiff_promised_frames(read_at: ReadAt) -> int | None:
    pos = 12
    while len(head := read_at(pos, 8)) == 8:
        chunk_id = head[:4]
        (size,) = struct.unpack(">I", head[4:8])
        if chunk_id == b"COMM" and len(frames_field := read_at(pos + 10, 4)) == 4:
            (frames,) = struct.unpack(">I", frames_field)
            return frames
        pos += 8 + size + (size & 1)
    return None


@dataclass(frozen=True)
class _Header:
    subtype: str
    channels: int
    frames: int  # as libsndfile reports them (already clamped to the data for WAV/AU/AIFF)


_SAMPLE_WIDTHS = {"PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "PCM_U8": 1, "PCM_S8": 1, "ULAW": 1,
                  "ALAW": 1, "FLOAT": 4, "DOUBLE": 8}


def _promised_frames(read_at: ReadAt, fmt: str, header: _Header) -> int | None:
    """Frames the header promises (None when the container does not say)."""
    width = _SAMPLE_WIDTHS.get(header.subtype)
    frame_bytes = width * header.channels if width and header.channels else None
    if fmt == "wav":
        size = _riff_data_size(read_at)
        return None if size is None or not frame_bytes else size // frame_bytes
    if fmt == "au" and len(au_header := read_at(0, 24)) >= 24:
        (size,) = struct.unpack(">I", au_header[8:12])
        return None if size == 0xFFFFFFFF or not frame_bytes else size // frame_bytes
    if fmt == "aiff":
        return _aiff_promised_frames(read_at)
    if fmt == "flac":
        return header.frames or None  # STREAMINFO total samples; 0 = unknown
    return None


def decode_bytes(data: bytes, *, strict: bool = True, name: str = "audio") -> Decoded:
    """Decode audio bytes. strict: an empty or truncated file raises
    AudioDecodeError (what rendering wants); lenient: it is returned with
    `empty`/`truncated` set (what lint wants, to report it as a finding)."""
    fmt = sniff_format(data[:16])
    if fmt is None:
        raise _fail(
            f"{name}: not a recognised audio format (expected WAV, FLAC, OGG, MP3, AIFF or AU)",
            "undecodable",
        )
    quiet = _quiet_stderr() if fmt == "mp3" else contextlib.nullcontext()
    try:
        with quiet:
            return _decode(data, fmt, strict=strict, name=name)
    except (sf.LibsndfileError, RuntimeError, struct.error) as exc:
        hint = " (the file may be truncated or damaged)" if fmt in ("ogg", "mp3", "flac") else ""
        raise _fail(f"{name}: {fmt.upper()} data cannot be decoded{hint}: {_short(exc)}",
                    "undecodable") from exc


def _decode(data: bytes, fmt: str, *, strict: bool, name: str) -> Decoded:
    read_error: Exception | None = None
    with sf.SoundFile(io.BytesIO(data)) as handle:
        header = _Header(handle.subtype, int(handle.channels), int(handle.frames))
        sample_rate, subtype = int(handle.samplerate), handle.subtype
        # One read of everything: libsndfile's MP3 decoder returns garbage when
        # read in pieces through a virtual file (measured with 0.14.0/1.2.2).
        try:
            samples = handle.read(dtype="float64", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            read_error = exc
    if read_error is not None:
        # A file damaged part way (a FLAC cut short): salvage what precedes the
        # damage with small reads, so lint can say "truncated" with what is there.
        samples = _salvage(data, header.channels)
    promised = _promised_frames(lambda offset, n: data[offset : offset + n], fmt, header)
    frames = samples.shape[0]
    truncated = read_error is not None or (promised is not None and frames < promised)
    if read_error is not None and frames == 0 and promised is None:
        raise _fail(f"{name}: {fmt.upper()} data cannot be decoded: {_short(read_error)}",
                    "undecodable")
    decoded = Decoded(
        samples=samples,
        sample_rate=sample_rate,
        format=fmt,
        subtype=subtype,
        encoding="flac" if fmt == "flac" else SUBTYPE_ENCODINGS.get(subtype, subtype.lower()),
        truncated=truncated,
    )
    if strict and truncated:
        raise _fail(
            f"{name}: {fmt.upper()} file is truncated: the header promises "
            f"{promised if promised is not None else 'more'} frames, the file holds {frames}",
            "truncated",
        )
    if strict and decoded.empty:
        raise _fail(f"{name}: {fmt.upper()} file holds no audio frames (header only)", "empty")
    return decoded


def _salvage(data: bytes, channels: int) -> np.ndarray:
    blocks: list[np.ndarray] = []
    try:
        with sf.SoundFile(io.BytesIO(data)) as handle:
            while len(block := handle.read(_READ_FRAMES, dtype="float64", always_2d=True)):
                blocks.append(block)
    except (sf.LibsndfileError, RuntimeError):
        pass
    return np.concatenate(blocks) if blocks else np.zeros((0, max(channels, 1)))


def decode_file(path: Path, *, strict: bool = True) -> Decoded:
    """Decode a file; AudioDecodeError names the file."""
    try:
        data = read_file(path, limit=MAX_AUDIO_BYTES)
    except InputError as exc:
        raise _fail(f"{path}: cannot read: it {exc.reason}", "undecodable") from None
    return decode_bytes(data, strict=strict, name=str(path))


def _short(exc: Exception) -> str:
    # libsndfile says "Error opening <_io.BytesIO object at 0x...>: <reason>"; keep the reason
    # (an open file descriptor is named by its number: "Error opening 7: <reason>")
    text = re.sub(r"^Error opening (?:<[^>]*>|\d+):\s*", "", str(exc).strip())
    if text.startswith("File does not exist or is not a regular file"):
        # what libsndfile says when mpg123 finds no decodable MP3 frame in a stream
        return "no decodable MPEG audio frames"
    lines = text.splitlines()
    return lines[0][:160] if lines else type(exc).__name__


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """libmpg123 (inside libsndfile) prints warnings about damaged MP3s straight
    to file descriptor 2, which would break the CLI's one-paragraph errors.
    Silence fd 2 around MP3 decoding only (serialised: it is process-wide)."""
    with _STDERR_LOCK:
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 (embedded interpreter): nothing to silence
            yield
            return
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
                try:
                    yield
                finally:
                    os.dup2(saved, 2)
        finally:
            os.close(saved)


_STDERR_LOCK = threading.Lock()
