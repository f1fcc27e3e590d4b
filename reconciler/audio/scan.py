"""The broken-audio scan: what the gate of `validate`, `plan` and `apply` needs
to refuse a damaged file (empty, truncated, clipped), read in one pass over
bounded blocks.

Why not `measure_file`: measuring decodes the whole file to float64, then
resamples it to 48 kHz for BS.1770 loudness and 4x for true peak — hundreds of
MB for a five-minute 8 kHz prompt, and a second spent importing scipy — to
answer three questions that need none of it. The scan:
- opens the file once (a checked regular file, `inputs.open_regular`) and
  hands libsndfile the descriptor: reads run in C, without the GIL;
- reads what the header promises (`decode._promised_frames`) with a few preads;
- decodes `block` frames at a time into one reused buffer and counts clipped
  runs across block edges (`ClipCounter` carries the last samples over); a
  read that fails part way (a FLAC cut short) starts again in 4096-frame
  reads, as decode.py salvages a damaged file;
- decodes MP3 alone in one read, as decode.py does: libsndfile 1.2.2's MP3
  decoder returns wrong samples when read in pieces (measured on mono files
  and 8-22 kHz stereo files, whatever the block size), so an MP3 costs its
  samples as float32 — exact, since mpg123 decodes to float32.

The definitions are those of measure.py and decode.py: the same full scale
(`clip_subtype`), the same truncation rule, the same salvage of a file damaged
part way (4096-frame reads up to the damage). `ScanFacts` therefore agree with
the `Measurements` of the same file (tests/unit/audio/test_scan.py), and the
gate may use either.

Importing this module loads no audio library: the measurement store reads
`ScanFacts` back from its index without numpy.
"""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from reconciler.audio.errors import AudioDecodeError
from reconciler.audio.measure import CLIP_RUN

if TYPE_CHECKING:
    import numpy as np

    from reconciler.audio.measure import Measurements

# Frames analysed at a time: 512 KB per channel as float64 — large enough that
# numpy's per-call cost vanishes, small enough that a 4 GiB WAV costs the same.
BLOCK_FRAMES = 65536
# Frames per libsndfile read of a damaged file, as decode._salvage reads it:
# what precedes the damage is kept in pieces this size.
READ_FRAMES = 4096


class ScanFacts(BaseModel):
    """The broken-audio facts of a file (lint's empty, truncated and clipping rules)."""

    model_config = ConfigDict(frozen=True)

    format: str
    encoding: str
    sample_rate: int
    channels: int
    frames: int
    duration: float  # s
    clipped_runs: int
    empty: bool
    truncated: bool

    @classmethod
    def of(cls, m: Measurements) -> ScanFacts:
        """The same facts out of a full measurement of the file."""
        return cls(format=m.format or "", encoding=m.encoding or "", sample_rate=m.sample_rate,
                   channels=m.channels, frames=m.frames, duration=m.duration,
                   clipped_runs=m.clipped_runs, empty=m.empty, truncated=m.truncated)


def clip_threshold(full_scale: float) -> np.float64:
    """The magnitude from which a decoded sample is at full scale (as measure.count_clipped_runs)."""
    import numpy as np

    # a numpy float64 (not a Python float): float32 blocks are compared in float64
    return np.float64(full_scale * (1 - 1e-9))


class ClipCounter:
    """Runs of >= `run` consecutive samples at full scale, per channel (as
    `measure.count_clipped_runs`), fed block by block. The last `run` samples'
    state is carried into the next block, so a run straddling a block edge is
    counted once, whatever the block size."""

    def __init__(self, channels: int, full_scale: float, run: int = CLIP_RUN) -> None:
        import numpy as np

        self.threshold = clip_threshold(full_scale)
        self.run = run
        self.runs = 0
        self._tail = np.zeros((run, channels), dtype=bool)  # before the first sample: not at full scale

    def feed(self, block: np.ndarray) -> None:
        import numpy as np

        if block.shape[0] == 0:
            return
        self.feed_flags(np.abs(block.reshape(block.shape[0], -1)) >= self.threshold)

    def feed_flags(self, at_full: np.ndarray) -> None:
        """Feed a block already judged: (frames, channels), True at full scale."""
        import numpy as np

        if at_full.shape[0] == 0:
            return
        if not at_full.any():
            # the usual block: no run ends, starts or goes on here (the carried
            # samples are cut off from the next block by these)
            self._tail[:] = False
            return
        joined = np.concatenate((self._tail, at_full))
        r, n = self.run, joined.shape[0]
        # a run is counted at its r-th sample: the r samples ending there are at
        # full scale and the one before them is not
        starts = ~joined[: n - r]
        for k in range(r):
            starts &= joined[k + 1 : n - r + k + 1]
        self.runs += int(np.count_nonzero(starts))
        self._tail = joined[n - r :].copy()


# Scans made while a file was read for its sha256 (digests.read_facts answers a
# plain WAV from the bytes it just hashed, plainwav.py), by sha256: the gate
# takes them from here instead of opening the file again. A scan is a function
# of the bytes, so an entry is never stale; only this process's files are here.
_EARLY: dict[str, ScanFacts] = {}


def remember(sha256: str, facts: ScanFacts) -> None:
    _EARLY[sha256] = facts


def recall(sha256: str) -> ScanFacts | None:
    """The scan made when the file of this sha256 was read, or None."""
    return _EARLY.get(sha256)


def scan_file(path: Path, *, block: int = BLOCK_FRAMES) -> ScanFacts:
    """The broken-audio facts of a file, in memory bounded by `block` frames
    (except MP3, see the module's doc). AudioDecodeError (naming the file) when
    it cannot be read or decoded at all; an empty or truncated file is not an
    error here, it is what the facts say."""
    from reconciler.inputs import MAX_AUDIO_BYTES, InputError, open_regular, os_reason

    try:
        fd, _ = open_regular(path, limit=MAX_AUDIO_BYTES)
    except InputError as exc:
        raise AudioDecodeError(f"{path}: cannot read: it {exc.reason}", "undecodable") from None
    try:
        return _scan_fd(fd, str(path), max(int(block), 1))
    except OSError as exc:
        raise AudioDecodeError(f"{path}: cannot read: it {os_reason(exc)}", "undecodable") from None
    finally:
        os.close(fd)


def _scan_fd(fd: int, name: str, block: int) -> ScanFacts:
    import soundfile as sf

    from reconciler.audio import decode
    from reconciler.audio.inspect import sniff_format

    fmt = sniff_format(_read_at(fd, 0, 16))
    if fmt is None:
        raise AudioDecodeError(
            f"{name}: not a recognised audio format (expected WAV, FLAC, OGG, MP3, AIFF or AU)", "undecodable"
        )
    quiet = decode._quiet_stderr() if fmt == "mp3" else contextlib.nullcontext()
    try:
        with quiet:
            return _scan(fd, fmt, name, block)
    except (sf.LibsndfileError, RuntimeError, struct.error) as exc:
        hint = " (the file may be truncated or damaged)" if fmt in ("ogg", "mp3", "flac") else ""
        raise AudioDecodeError(f"{name}: {fmt.upper()} data cannot be decoded{hint}: {decode._short(exc)}",
                               "undecodable") from exc


def _read_at(fd: int, offset: int, n: int) -> bytes:
    """`n` bytes at `offset` (fewer at the end); never while libsndfile has the descriptor open."""
    if hasattr(os, "pread"):
        return os.pread(fd, n, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # no pread (Windows)
    return os.read(fd, n)


def _open(fd: int) -> Any:
    import soundfile as sf

    os.lseek(fd, 0, os.SEEK_SET)  # libsndfile reads the descriptor from where it stands
    return sf.SoundFile(fd, closefd=False)


def _scan(fd: int, fmt: str, name: str, block: int) -> ScanFacts:
    import soundfile as sf

    from reconciler.audio import decode
    from reconciler.audio.measure import SUBTYPE_ENCODINGS, clip_subtype, full_scale

    read_error: Exception | None = None
    with _open(fd) as handle:
        header = decode._Header(handle.subtype, int(handle.channels), int(handle.frames))
        sample_rate, subtype = int(handle.samplerate), handle.subtype
        encoding = "flac" if fmt == "flac" else SUBTYPE_ENCODINGS.get(subtype, subtype.lower())
        scale = full_scale(clip_subtype(subtype, encoding))
        counter = ClipCounter(max(header.channels, 1), scale)
        if fmt == "mp3":
            try:
                samples = handle.read(dtype="float32", always_2d=True)  # one read: see the module's doc
            except (sf.LibsndfileError, RuntimeError) as exc:
                read_error = exc
                frames = 0
            else:
                counter.feed(samples)
                frames = samples.shape[0]
                del samples
        else:
            frames, read_error = _read_blocks(handle, counter, block, block)
    if read_error is not None:
        # damaged part way: as decode._salvage, what precedes the damage, read
        # again from the start in READ_FRAMES pieces (a read that reaches the
        # damage fails whole, so the pieces' size decides what is kept)
        counter = ClipCounter(max(header.channels, 1), scale)
        try:
            with _open(fd) as handle:
                frames, _ = _read_blocks(handle, counter, block, READ_FRAMES)
        except (sf.LibsndfileError, RuntimeError):
            frames = 0
    promised = decode._promised_frames(lambda offset, n: _read_at(fd, offset, n), fmt, header)
    truncated = read_error is not None or (promised is not None and frames < promised)
    if read_error is not None and frames == 0 and promised is None:
        raise AudioDecodeError(f"{name}: {fmt.upper()} data cannot be decoded: {decode._short(read_error)}",
                               "undecodable")
    return ScanFacts(
        format=fmt,
        encoding=encoding,
        sample_rate=sample_rate,
        channels=max(header.channels, 1),
        frames=frames,
        duration=round(frames / sample_rate, 6) if sample_rate else 0.0,
        clipped_runs=counter.runs if frames else 0,
        empty=frames == 0,
        truncated=truncated,
    )


def _read_blocks(handle: Any, counter: ClipCounter, block: int, piece: int) -> tuple[int, Exception | None]:
    """Feed the file to `counter` `block` frames at a time, read in `piece`-frame
    reads into one reused buffer: (frames read, the read error that stopped it
    or None)."""
    import numpy as np
    import soundfile as sf

    frames, remaining = 0, max(int(handle.frames), 0)  # what read() would ask for, as decode.py's reads
    # a short file gets a buffer of its size (most prompts are a few seconds)
    piece = min(piece, max(remaining, 1))
    size = -(-min(block, max(remaining, 1)) // piece) * piece
    buffer = np.empty((size, max(int(handle.channels), 1)), dtype=np.float64)
    error: Exception | None = None
    while remaining > 0 and error is None:
        filled = 0
        while filled < size and remaining > 0:
            want = min(piece, remaining)
            try:
                got = handle.read(out=buffer[filled : filled + want]).shape[0]
            except (sf.LibsndfileError, RuntimeError) as exc:
                error = exc
                break
            filled += got
            remaining = remaining - got if got == want else 0  # a short read is the end
        for start in range(0, filled, block):
            counter.feed(buffer[start : min(start + block, filled)])
        frames += filled
    return frames, error
