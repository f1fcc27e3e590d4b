"""Plain WAV files read from bytes already in memory: the header facts mutagen
gives (inspect.py) and the broken-audio facts libsndfile gives (scan.py), each
exactly as that library answers, without either library.

Why: a plan of a fresh checkout reads every file once for its sha256. For a
prompt of a few KB, mutagen's parse (~50 us of Python) and the streaming scan
through soundfile (~100 us: libsndfile reads a header in ~30 syscalls, then
the SoundFile wrapper and the block loop) cost ten times the hashing. Here
both come from the bytes the hash just read, in a few microseconds.

Only a file whose layout leaves the libraries no other way to read it takes
this path (`parse`): RIFF/WAVE sized to the file; `fmt ` first (16 bytes, or
18 with an empty extension) naming PCM 8/16/24/32-bit, float 32/64-bit,
A-law or µ-law with the block align and byte rate those imply; then at most
one `fact` (4 bytes), one `PEAK` (its size for the channels) and one LIST of
INFO texts (as ffmpeg writes); `data` last, holding whole frames and ending
the file (with or without its pad byte). Anything else —
WAVE_FORMAT_EXTENSIBLE, other chunks or lists, a data chunk
cut short, empty or promising nothing — returns None, and mutagen and
libsndfile answer as before. tests/unit/audio/test_plainwav.py generates
files on both sides of that line and compares every fact with the libraries'.

The samples are decoded as libsndfile decodes them to float64 (an integer
sample times 2**-(bits-1), u8 less 128 first; floats as they are) and fed to
the scan's ClipCounter, so "full scale" keeps one definition. A-law and µ-law
are judged by their codes: the only codes libsndfile decodes at full scale
(±32256 and ±32124 of 32768) are the two listed below.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.audio.inspect import AudioInfo
from reconciler.audio.measure import SUBTYPE_ENCODINGS, clip_subtype, full_scale
from reconciler.audio.scan import ClipCounter, ScanFacts, clip_threshold

if TYPE_CHECKING:
    import numpy as np

# (format tag, bits per sample) -> libsndfile's subtype
SUBTYPES = {
    (1, 8): "PCM_U8",
    (1, 16): "PCM_16",
    (1, 24): "PCM_24",
    (1, 32): "PCM_32",
    (3, 32): "FLOAT",
    (3, 64): "DOUBLE",
    (6, 8): "ALAW",
    (7, 8): "ULAW",
}
# G.711 codes that decode to the largest magnitude (libsndfile's tables)
G711_FULL_SCALE_CODES = {"ALAW": (0x2A, 0xAA), "ULAW": (0x00, 0x80)}
# numpy dtype of each subtype's samples as stored (PCM_24 is assembled from bytes)
_DTYPES = {"PCM_U8": "u1", "PCM_16": "<i2", "PCM_32": "<i4", "FLOAT": "<f4", "DOUBLE": "<f8"}
_PCM_SCALES = {"PCM_16": 2.0**-15, "PCM_32": 2.0**-31}
# Integer subtypes: (the byte of a sample that tells, bytes per sample, the values
# that byte has in every sample at full scale). The most significant byte of a
# signed sample at full scale is 0x7F or 0x80 (PCM_32 counts the three values
# nearest each end: 1e-9 under full scale is 2.1 steps); u8 at full scale is
# 0, 1 or 255; G.711 its two codes. A file with none of those bytes there has
# no sample at full scale, and numpy is not even imported.
_TELLING_BYTES = {
    "PCM_U8": (0, 1, b"\x00\x01\xff"),
    "PCM_16": (1, 2, b"\x7f\x80"),
    "PCM_24": (2, 3, b"\x7f\x80"),
    "PCM_32": (3, 4, b"\x7f\x80"),
    "ALAW": (0, 1, bytes(G711_FULL_SCALE_CODES["ALAW"])),
    "ULAW": (0, 1, bytes(G711_FULL_SCALE_CODES["ULAW"])),
}
# each subtype's telling bytes as one byte class: one search in C per file
_TELLING = {subtype: (at, width, re.compile(b"[" + re.escape(values) + b"]"))
            for subtype, (at, width, values) in _TELLING_BYTES.items()}
# subtype -> (our encoding name, the full scale that judges clipping), as scan.py derives them
_JUDGED = {subtype: (encoding, full_scale(clip_subtype(subtype, encoding)))
           for subtype in SUBTYPES.values()
           for encoding in [SUBTYPE_ENCODINGS.get(subtype, subtype.lower())]}
# bounds well inside what libsndfile opens (it refuses 0 channels or a 0 Hz rate)
MAX_CHANNELS = 64
MAX_RATE = 768_000

_FMT = struct.Struct("<HHIIHH")
# a text's id; never INFO, which libsndfile takes for a list's type with no size
# after it, and so walks the rest of the list out of step (test_plainwav)
_INFO_ID = re.compile(rb"I(?!NFO)[A-Z0-9]{3}")
_CHUNK = struct.Struct("<4sI")


@dataclass(frozen=True)
class PlainWav:
    """The facts of a plain WAV's header, and where its samples lie."""

    subtype: str
    channels: int
    sample_rate: int
    block_align: int
    data_offset: int
    data_size: int

    @property
    def frames(self) -> int:
        return self.data_size // self.block_align


def parse(data: bytes) -> PlainWav | None:
    """The header of `data` when it is a plain WAV (see the module's doc), else None."""
    end = len(data)
    if end < 45 or data[:4] != b"RIFF" or data[8:12] != b"WAVE" or _CHUNK.unpack_from(data, 0)[1] + 8 != end:
        return None
    chunk, size = _CHUNK.unpack_from(data, 12)
    if chunk != b"fmt " or not (size == 16 or (size == 18 and data[36:38] == b"\0\0")):
        return None
    tag, channels, rate, byte_rate, align, bits = _FMT.unpack_from(data, 20)
    subtype = SUBTYPES.get((tag, bits))
    if (subtype is None or not 1 <= channels <= MAX_CHANNELS or not 1 <= rate <= MAX_RATE
            or align != channels * bits // 8 or byte_rate != align * rate):
        return None
    sizes = {b"fact": 4, b"PEAK": 8 + 8 * channels}  # the chunks allowed between fmt and data
    listed = False
    pos = 20 + size
    while pos + 8 <= end:
        chunk, size = _CHUNK.unpack_from(data, pos)
        if chunk == b"data":
            stop = pos + 8 + size
            if size == 0 or size % align or not (stop == end or (size & 1 and stop + 1 == end)):
                return None
            return PlainWav(subtype, channels, rate, align, pos + 8, size)
        if chunk == b"LIST" and not listed:
            listed = True
            if not _info_list(data, pos + 8, size, end):
                return None
        elif sizes.pop(chunk, None) != size:
            return None  # another chunk, one seen twice, or the wrong size
        pos += 8 + size
    return None


def _info_list(data: bytes, start: int, size: int, end: int) -> bool:
    """Whether a LIST chunk is a plain INFO list (ffmpeg writes one, `ISFT`):
    even-sized, within the file, its text chunks (I + three capitals or
    digits, not INFO) filling it exactly. mutagen only reads its type; libsndfile walks
    its chunks and skips what it does not keep, with nothing to refuse."""
    stop = start + size
    if size & 1 or stop > end or data[start : start + 4] != b"INFO":
        return False
    pos = start + 4
    while pos < stop:
        if pos + 8 > stop or not _INFO_ID.fullmatch(data, pos, pos + 4):
            return False
        text = _CHUNK.unpack_from(data, pos)[1]
        pos += 8 + text + (text & 1)  # a text of odd length is padded
    return pos == stop


def read(data: bytes) -> tuple[AudioInfo, ScanFacts] | None:
    """The header facts and the scan of `data` when it is a plain WAV, else None."""
    wav = parse(data)
    return None if wav is None else (audio_info(wav), scan_facts(wav, data))


def audio_info(wav: PlainWav) -> AudioInfo:
    """What inspect.inspect_file answers (mutagen's WAVE: the data chunk's
    declared size over the block align, over the rate — computed as mutagen
    computes it, float for float)."""
    length = wav.data_size / wav.block_align / wav.sample_rate
    return AudioInfo(format="wav", duration=round(length, 3) if length else None,
                     sample_rate=wav.sample_rate, channels=wav.channels)


def scan_facts(wav: PlainWav, data: bytes) -> ScanFacts:
    """What scan.scan_file answers for this file (libsndfile reads every frame
    the data chunk holds: nothing is missing, nothing is cut)."""
    subtype, channels, frames = wav.subtype, wav.channels, wav.frames
    encoding, scale = _JUDGED[subtype]
    runs = 0
    if _may_reach_full_scale(subtype, data, wav.data_offset, wav.data_size):
        at_full = _at_full(subtype, data, frames * channels, wav.data_offset, scale).reshape(frames, channels)
        if at_full.any():  # most files: no sample at full scale, no run to count
            counter = ClipCounter(channels, scale)
            counter.feed_flags(at_full)
            runs = counter.runs
    return ScanFacts(format="wav", encoding=encoding, sample_rate=wav.sample_rate, channels=channels,
                     frames=frames, duration=round(frames / wav.sample_rate, 6), clipped_runs=runs,
                     empty=False, truncated=False)


def _may_reach_full_scale(subtype: str, data: bytes, offset: int, size: int) -> bool:
    """False when no sample can be at full scale (see _TELLING_BYTES); True for floats."""
    if subtype not in _TELLING:
        return True
    at, width, values = _TELLING[subtype]
    if width == 1:  # the 8-bit data searched in place
        return values.search(data, offset, offset + size) is not None
    return values.search(data[offset + at : offset + size : width]) is not None  # one strided copy


def _at_full(subtype: str, data: bytes, count: int, offset: int, scale: float) -> np.ndarray:
    """Which samples are at full scale, as ClipCounter judges libsndfile's
    float64 samples: each decoded exactly as libsndfile decodes it (an integer
    sample times 2**-(bits-1), u8 less 128 first; floats as they are)."""
    import numpy as np

    if subtype in G711_FULL_SCALE_CODES:
        codes = np.frombuffer(data, np.uint8, count, offset)
        low, high = G711_FULL_SCALE_CODES[subtype]
        return (codes == low) | (codes == high)
    if subtype == "PCM_24":
        raw = np.frombuffer(data, np.uint8, count * 3, offset).reshape(count, 3).astype(np.uint32)
        # the three bytes into the top of an int32 (as libsndfile does), then back down: sign-extended
        samples = ((raw[:, 0] << 8) | (raw[:, 1] << 16) | (raw[:, 2] << 24)).view(np.int32) >> 8
        decoded = samples.astype(np.float64) * 2.0**-23
    else:
        # errstate: a float32 signalling NaN raises the invalid flag as numpy widens
        # it (a RuntimeWarning on the user's terminal); libsndfile widens in C, silently
        with np.errstate(invalid="ignore"):
            decoded = np.frombuffer(data, _DTYPES[subtype], count, offset).astype(np.float64)
        if subtype == "PCM_U8":
            decoded = (decoded - 128.0) * 2.0**-7
        elif subtype in _PCM_SCALES:
            decoded *= _PCM_SCALES[subtype]
    return np.abs(decoded) >= clip_threshold(scale)
