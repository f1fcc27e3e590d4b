"""The broken-audio scan (reconciler.audio.scan): block by block, the same facts
as a whole-file measurement, in bounded memory."""

from __future__ import annotations

import struct
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.audio.decode import decode_file
from reconciler.audio.errors import AudioDecodeError
from reconciler.audio.lint import LintRules, lint, lint_broken
from reconciler.audio.measure import count_clipped_runs, full_scale, measure_file
from reconciler.audio.scan import ClipCounter, ScanFacts, scan_file
from reconciler.measurements import MeasurementStore

from .signals import encode, sine, write

FULL16 = 32767 / 32768  # PCM_16's largest sample as libsndfile decodes it


def pcm16(path: Path, samples: np.ndarray, rate: int = 8000) -> Path:
    """A 16-bit PCM WAV of int16 `samples` (frames, channels), bit-exact."""
    return write(path, samples.astype(np.float64) / 32768, rate, "wav", "PCM_16")


def with_run(frames: int, start: int, length: int) -> np.ndarray:
    """Quiet int16 samples with `length` full-scale samples from `start`."""
    x = np.full((frames, 1), 1000, dtype=np.int16)
    x[start : start + length] = 32767
    return x


@pytest.mark.parametrize(("start", "length", "runs"), [
    (62, 3, 1),  # 2 samples in the first block, 1 in the second
    (63, 3, 1),  # 1 + 2
    (64, 3, 1),  # all in the second block
    (60, 70, 1),  # across two edges: one long run, counted once
    (63, 2, 0),  # 2 full-scale samples straddling: a peak, not a clipped run
])
def test_a_clipped_run_straddling_a_block_edge_counts_once(tmp_path, start, length, runs):
    path = pcm16(tmp_path / "edge.wav", with_run(300, start, length))
    assert scan_file(path, block=64).clipped_runs == runs
    assert scan_file(path).clipped_runs == runs  # one block holds it all
    assert measure_file(path).clipped_runs == runs


def test_runs_are_per_channel_and_carried_per_channel():
    counter = ClipCounter(2, 1.0)
    left = np.array([[1.0, 0.0], [1.0, 1.0]])
    right = np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    counter.feed(left)
    counter.feed(right)
    # left channel: 1,1,1 then 0 then 1 -> one run; right: 0,1,1 then 0 -> none
    assert counter.runs == 1


signals = st.tuples(
    st.integers(min_value=1, max_value=3),  # channels
    # full scale both ways, one step under it, and quiet: runs of every length, broken and not
    st.lists(st.sampled_from([32767, -32768, 32766, 0, -1200]), min_size=0, max_size=900),
    st.integers(min_value=1, max_value=200),  # block
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signals)
def test_blockwise_counting_equals_whole_file_counting(case):
    channels, values, block = case
    frames = len(values) // channels
    x = np.array(values[: frames * channels], dtype=np.int16).reshape(frames, channels)
    counter = ClipCounter(channels, FULL16)
    for start in range(0, frames, block):
        counter.feed(x[start : start + block].astype(np.float64) / 32768)
    whole = count_clipped_runs(x.astype(np.float64) / 32768, FULL16) if frames else 0
    assert counter.runs == whole
    with tempfile.TemporaryDirectory() as tmp:
        path = pcm16(Path(tmp) / "x.wav", x if frames else np.zeros((0, channels), np.int16))
        facts = scan_file(path, block=block)
        decoded = decode_file(path, strict=False)
        assert (facts.frames, facts.channels, facts.empty) == (decoded.frames, channels, frames == 0)
        assert facts.clipped_runs == (count_clipped_runs(decoded.samples, full_scale("PCM_16")) if frames else 0)


def clipped(rate: int, channels: int = 1) -> np.ndarray:
    return np.clip(1.7 * sine(200, 1.3, rate, channels=channels), -1, 1)


CASES = [("wav", "PCM_16"), ("wav", "ULAW"), ("wav", "ALAW"), ("wav", "PCM_24"), ("wav", "PCM_U8"),
         ("wav", "FLOAT"), ("au", "PCM_16"), ("aiff", "PCM_16"), ("flac", "PCM_16"), ("ogg", None),
         ("mp3", None)]


@pytest.mark.parametrize(("fmt", "subtype"), CASES)
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("keep", [1.0, 0.5])
def test_a_file_larger_than_the_block_scans_as_it_measures(tmp_path, fmt, subtype, channels, keep):
    rate = 44100 if fmt == "mp3" else 16000
    data = encode(clipped(rate, channels), rate, fmt, subtype)
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(data[: int(len(data) * keep)])
    try:
        measured = ScanFacts.of(measure_file(path))
    except AudioDecodeError as exc:  # an OGG/MP3 cut short cannot be opened: the same error
        with pytest.raises(AudioDecodeError) as err:
            scan_file(path, block=1000)
        assert (str(err.value), err.value.reason) == (str(exc), exc.reason)
        return
    for block in (7, 1000, 65536):
        assert scan_file(path, block=block) == measured
    if fmt not in ("ogg", "mp3"):  # lossy streams promise no length: a cut one reads short or empty
        assert measured.truncated == (keep < 1) and measured.clipped_runs > 0


def test_empty_and_header_only_and_undecodable(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(encode(np.zeros((0, 1)), 8000))
    facts = scan_file(empty)
    assert facts.empty and facts.frames == 0 and not facts.truncated and facts == ScanFacts.of(measure_file(empty))
    promised = bytearray(encode(np.zeros((0, 1)), 8000))
    promised[40:44] = struct.pack("<I", 16000)  # the data chunk promises a second it does not hold
    (tmp_path / "cut.wav").write_bytes(bytes(promised))
    assert scan_file(tmp_path / "cut.wav") == ScanFacts.of(measure_file(tmp_path / "cut.wav"))
    assert scan_file(tmp_path / "cut.wav").truncated
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"hello world, not audio at all")
    with pytest.raises(AudioDecodeError) as err:
        scan_file(junk)
    assert err.value.reason == "undecodable" and str(junk) in str(err.value)
    with pytest.raises(AudioDecodeError, match="cannot read"):
        scan_file(tmp_path / "missing.wav")


def test_broken_findings_from_a_scan_are_lints_own(tmp_path):
    path = write(tmp_path / "clip.wav", clipped(16000), 16000)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(path.read_bytes()[:20000])
    rules = LintRules.model_validate({"clipping": {"max_runs": 3}})
    for p in (path, cut):
        full = [f for f in lint("a", measure_file(p), rules) if f.rule in ("empty", "truncated", "clipping")]
        assert lint_broken("a", scan_file(p), rules) == full and full


def big_wav(path: Path, frames: int) -> Path:
    """A 16-bit mono WAV of `frames` frames, written in pieces (the test holds no
    more of it than the scan may), with one clipped run at the very end."""
    piece = np.tile(np.array([0, 3000, 6000, 3000, 0, -3000, -6000, -3000], dtype="<i2"), 8192).tobytes()
    with path.open("wb") as fh:
        fh.write(b"RIFF" + struct.pack("<I", 36 + 2 * frames) + b"WAVEfmt "
                 + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", 2 * frames))
        left = frames - 3
        while left > 0:
            fh.write(piece[: 2 * min(left, len(piece) // 2)])
            left -= len(piece) // 2
        fh.write(struct.pack("<3h", 32767, 32767, 32767))
    return path


def test_scanning_a_30_mb_file_holds_one_block(tmp_path):
    path = big_wav(tmp_path / "long.wav", 15_000_000)  # 30 MB, 31 minutes at 8 kHz
    assert path.stat().st_size > 30_000_000
    tracemalloc.start()
    try:
        facts = scan_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert facts.frames == 15_000_000 and facts.clipped_runs == 1 and not facts.truncated
    # numpy's allocations are traced: a whole-file decode would be 120 MB (float64)
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MB"


def test_the_gate_scans_side_by_side_in_bounded_memory_and_once(tmp_path):
    files = {f"sha{i}": big_wav(tmp_path / f"long{i}.wav", 4_000_000) for i in range(3)}
    store = MeasurementStore(tmp_path / "cache")
    tracemalloc.start()
    try:
        found = store.scan_many(files)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [f.clipped_runs for f in found.values()] == [1, 1, 1] and store.scanned == 3
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MB"  # a block per worker, not 3 x 32 MB
    store.flush()
    again = MeasurementStore(tmp_path / "cache")  # another process: read back, not scanned
    assert again.scan_many(files) == found and again.scanned == 0


GATE = """
import sys
from pathlib import Path
from reconciler import audiolint
from reconciler.config import load_config
try:
    audiolint.gate(load_config(Path(sys.argv[1])))
except Exception as exc:
    print("refused:", type(exc).__name__, exc)
print(",".join(m for m in ("numpy", "soundfile", "soxr", "pyloudnorm", "scipy") if m in sys.modules))
"""


@pytest.mark.parametrize(("fmt", "loaded"), [
    # plain WAVs are scanned from the bytes hashed (plainwav.py): numpy only to count the clipped runs
    ("wav", "numpy"),
    ("flac", "numpy,soundfile"),  # the streaming scan through libsndfile
])
def test_the_gate_loads_no_loudness_stack(tmp_path, fmt, loaded):
    # no recipe, no lint table: the gate scans and measures nothing:
    # scipy (through pyloudnorm) cost a second of import on every cold plan
    (tmp_path / "audio").mkdir()
    write(tmp_path / "audio" / f"ok.{fmt}", sine(440, 0.5, 8000, dbfs=-6), 8000, fmt)
    write(tmp_path / "audio" / f"clip.{fmt}", clipped(8000), 8000, fmt)
    config = tmp_path / "reconciler.toml"
    config.write_text('[providers.local]\ntype = "directory"\npath = "remote"\n'
                      f'[[providers.local.glob]]\npattern = "audio/*.{fmt}"\n')
    out = subprocess.run([sys.executable, "-c", GATE, str(config)], capture_output=True, text=True, check=True)
    *refusal, modules = out.stdout.strip().splitlines()
    assert "audio lint: 1 error-level finding" in refusal[0] and f"clip.{fmt}" in "\n".join(refusal)
    assert modules == loaded
