"""Audio inspection: format sniffed from content (never the extension), duration,
sample rate and channels.

mutagen parses the containers it knows; the sniffing of the magic bytes is
ours because mutagen's own guess weighs the file name, and a `.mp3` that is
really text must be rejected.
"""

from __future__ import annotations

import hashlib
import io
import struct
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict

from reconciler.inputs import MAX_AUDIO_BYTES, read_file

# format -> MIME type, as providers name them
MIME_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "aiff": "audio/aiff",
    "au": "audio/basic",
}

EXTENSIONS = {"wav": "wav", "mp3": "mp3", "ogg": "ogg", "flac": "flac", "aiff": "aiff", "au": "au"}


class AudioInfo(BaseModel):
    """What can be learnt of a file by reading it."""

    model_config = ConfigDict(frozen=True)

    format: str
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.format]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


class NotAudioError(ValueError):
    """The bytes are not in any audio format we recognise."""


def sniff_format(head: bytes) -> str | None:
    """The audio container named by the first bytes, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06):
        return "mp3"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b".snd":
        return "au"
    return None


def _au_info(head: bytes, file_size: int) -> AudioInfo:
    offset, size, encoding, rate, channels = struct.unpack(">IIIII", head[4:24])
    bytes_per_sample = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1}.get(encoding)
    duration = None
    if bytes_per_sample and rate and channels:
        payload = size if size != 0xFFFFFFFF else file_size - offset
        duration = payload / (bytes_per_sample * rate * channels)
    return AudioInfo(format="au", duration=duration, sample_rate=rate, channels=channels)


# format -> the mutagen classes that read it (module, class), imported on first use
PARSERS: dict[str, tuple[tuple[str, str], ...]] = {
    "wav": (("mutagen.wave", "WAVE"),),
    "mp3": (("mutagen.mp3", "MP3"),),
    "ogg": (("mutagen.oggvorbis", "OggVorbis"), ("mutagen.oggopus", "OggOpus")),
    "flac": (("mutagen.flac", "FLAC"),),
    "aiff": (("mutagen.aiff", "AIFF"),),
}


def inspect_bytes(data: bytes) -> AudioInfo:
    """Inspect audio bytes; raise NotAudioError when they are not audio."""
    return inspect_file(io.BytesIO(data), len(data))


def inspect_file(fh: BinaryIO, size: int) -> AudioInfo:
    """Inspect an open, seekable audio file of `size` bytes from its current
    position; raise NotAudioError when it is not audio. mutagen reads the
    headers (and what else it needs to compute the length), not the whole file."""
    import importlib

    start = fh.tell()
    head = fh.read(24)
    fmt = sniff_format(head[:16])
    if fmt is None:
        raise NotAudioError("not a recognised audio format (expected WAV, MP3, OGG, FLAC, AIFF or AU)")
    if fmt == "au":
        if len(head) < 24:
            raise NotAudioError("looks like AU but its header is cut short")
        return _au_info(head, size)
    from mutagen import MutagenError

    last_error: Exception | None = None
    for module, name in PARSERS[fmt]:
        parser = getattr(importlib.import_module(module), name)
        fh.seek(start)
        try:
            parsed = parser(fh)
        except (MutagenError, ValueError, struct.error, EOFError, IndexError) as exc:
            last_error = exc
            continue
        info = parsed.info
        rate = getattr(info, "sample_rate", None)
        return AudioInfo(
            format=fmt,
            duration=round(float(info.length), 3) if getattr(info, "length", None) else None,
            sample_rate=int(rate) if rate else None,
            channels=getattr(info, "channels", None),
        )
    raise NotAudioError(f"looks like {fmt.upper()} but cannot be parsed: {last_error}")


def file_digest(path: Path) -> tuple[str, int, bytes]:
    """sha256 hex, size and bytes of a local audio file (`InputError` when it
    is not a regular file of at most MAX_AUDIO_BYTES)."""
    data = read_file(path, limit=MAX_AUDIO_BYTES)
    return hashlib.sha256(data).hexdigest(), len(data), data


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
