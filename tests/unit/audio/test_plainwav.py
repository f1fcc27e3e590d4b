"""The plain-WAV path (reconciler.audio.plainwav) answers exactly as the
libraries it stands in for: header facts as mutagen (inspect_bytes), the
broken-audio scan as libsndfile (scan_file). Every case computes both and
compares them whole, so any drift of the fast path fails here."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import subprocess
import sys
import tempfile
import warnings
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.audio import inspect_bytes, plainwav
from reconciler.audio.scan import recall, scan_file
from reconciler.digests import read_facts

from .signals import encode, sine

SUBTYPES = sorted(plainwav.SUBTYPES.values())
RATES = (8000, 11025, 16000, 22050, 44100, 48000)


def old_answers(data: bytes) -> tuple:
    """What the libraries say: mutagen's facts and libsndfile's scan (or their errors)."""
    try:
        info = inspect_bytes(data)
    except Exception as exc:  # noqa: BLE001 - compared, not swallowed
        info = exc
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.wav"
        path.write_bytes(data)
        try:
            scan = scan_file(path)
        except Exception as exc:  # noqa: BLE001
            scan = exc
    return info, scan


def assert_plain_answers_as_the_libraries(data: bytes) -> bool:
    """True when `data` took the plain path (and then answered as the libraries)."""
    wav = plainwav.parse(data)
    if wav is None:
        return False
    info, scan = old_answers(data)
    assert plainwav.audio_info(wav) == info
    assert plainwav.scan_facts(wav, data) == scan
    return True


def signals(rate: int, channels: int) -> dict[str, np.ndarray]:
    """Real signals: a tone, a clipped tone, silence, noise, a full-scale square."""
    rng = np.random.default_rng(rate + channels)
    tone = sine(440, 0.3, rate, dbfs=-3, channels=channels)
    return {
        "tone": tone,
        "clipped": np.clip(1.8 * tone, -1, 1),
        "silence": np.zeros((rate // 10, channels)),
        "noise": rng.uniform(-1, 1, (rate // 10, channels)),
        "square": np.sign(sine(50, 0.2, rate, channels=channels)),
        "one frame": np.full((1, channels), 0.25),
    }


@pytest.mark.parametrize("subtype", SUBTYPES)
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_files_libsndfile_writes_are_plain_and_answer_as_the_libraries(subtype, channels):
    for rate in (8000, 44100):
        for name, x in signals(rate, channels).items():
            data = encode(x, rate, "wav", subtype)
            assert assert_plain_answers_as_the_libraries(data), (subtype, channels, rate, name)


@pytest.mark.parametrize(("width", "frames"), [(1, 165), (1, 8000), (2, 801), (3, 99), (4, 10)])
def test_files_pythons_wave_module_writes_are_plain(width, frames):
    # 8-bit with an odd frame count: no pad byte after the data, as the wave module writes it
    rng = np.random.default_rng(width)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(8000)
        w.writeframes(rng.integers(0, 256, frames * width, dtype=np.uint8).tobytes())
    assert assert_plain_answers_as_the_libraries(buf.getvalue())


@pytest.mark.parametrize("fmt", ["flac", "ogg", "mp3", "aiff", "au"])
def test_other_formats_are_left_to_the_libraries(tmp_path, fmt):
    data = encode(sine(440, 0.3, 44100 if fmt == "mp3" else 16000), 44100 if fmt == "mp3" else 16000, fmt)
    assert plainwav.parse(data) is None
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(data)
    sha, size, info = read_facts(path)
    assert (sha, size, info) == (hashlib.sha256(data).hexdigest(), len(data), inspect_bytes(data))
    assert recall(sha) is None  # scanned by scan_file when the gate asks


def test_read_facts_keeps_the_scan_of_a_plain_wav(tmp_path):
    data = encode(np.clip(1.8 * sine(300, 0.4, 8000), -1, 1), 8000, "wav", "ULAW")
    path = tmp_path / "x.wav"
    path.write_bytes(data)
    sha, size, info = read_facts(path)
    assert (sha, size, info) == (hashlib.sha256(data).hexdigest(), len(data), inspect_bytes(data))
    assert recall(sha) == scan_file(path) and recall(sha).clipped_runs > 0


def g711(subtype: str, codes: bytes) -> bytes:
    tag = {"ALAW": 6, "ULAW": 7}[subtype]
    return riff([(b"fmt ", struct.pack("<HHIIHHH", tag, 1, 8000, 8000, 1, 8, 0)), (b"fact", struct.pack("<I", len(codes))),
                 (b"data", codes)])


@pytest.mark.parametrize("subtype", ["ALAW", "ULAW"])
def test_every_g711_code_is_judged_as_libsndfile_decodes_it(subtype):
    # each code three times in a row, between quiet codes: a clipped run exactly where libsndfile
    # decodes the code at full scale
    quiet = {"ALAW": 0xD5, "ULAW": 0xFF}[subtype]
    for code in range(256):
        assert assert_plain_answers_as_the_libraries(g711(subtype, bytes([quiet, code, code, code, quiet])))
    every = bytes(c for code in range(256) for c in (code, code, code, quiet))
    assert assert_plain_answers_as_the_libraries(g711(subtype, every))
    assert plainwav.scan_facts(plainwav.parse(g711(subtype, every)), g711(subtype, every)).clipped_runs == 2


@pytest.mark.parametrize(("tag", "bits"), sorted(k for k in plainwav.SUBTYPES if k[0] in (1, 3)))
def test_every_edge_sample_is_judged_as_libsndfile_decodes_it(tag, bits):
    # one value near full scale three times in a row, alone in the file: the run is
    # counted exactly where libsndfile's float64 sample reaches the threshold
    values = FLOATS if tag == 3 else EDGES[bits // 8]
    quiet = 0.25 if tag == 3 else (128 if bits == 8 else 3)
    fmt = struct.pack("<HHIIHH", tag, 1, 8000, 8000 * bits // 8, bits // 8, bits)
    runs = 0
    for value in values:
        data = riff([(b"fmt ", fmt), (b"data", pack_samples(tag, bits, [quiet, value, value, value, quiet]))])
        assert assert_plain_answers_as_the_libraries(data), value
        runs += plainwav.scan_facts(plainwav.parse(data), data).clipped_runs
    assert runs > 0


def riff(chunks: list[tuple[bytes, bytes]], *, size_delta: int = 0, pad: bool = True, tail: bytes = b"") -> bytes:
    body = b"WAVE"
    for name, payload in chunks:
        body += name + struct.pack("<I", len(payload)) + payload + (b"\0" if pad and len(payload) % 2 else b"")
    body += tail
    return b"RIFF" + struct.pack("<I", max(len(body) + size_delta, 0)) + body


# samples near each end of every integer scale, and floats around the full-scale threshold
EDGES = {
    1: [0, 1, 2, 127, 128, 129, 253, 254, 255],
    2: [32767, 32766, 32765, -32768, -32767, -32766, 0, 1200, -1200],
    3: [2**23 - 1, 2**23 - 2, -(2**23), -(2**23) + 1, -(2**23) + 2, 0, 5000],
    4: [2**31 - 1, 2**31 - 2, 2**31 - 3, 2**31 - 4, -(2**31), -(2**31) + 1, -(2**31) + 2, -(2**31) + 3,
        -(2**31) + 4, 0],
}
THRESHOLD = 32767 / 32768 * (1 - 1e-9)
FLOATS = [1.0, -1.0, 1.5, -2.0, THRESHOLD, -THRESHOLD, math.nextafter(THRESHOLD, 0), 32767 / 32768, 0.5, 0.0,
          float("nan"), float("inf"), float("-inf"), 1e-30]


def pack_samples(tag: int, bits: int, values: list) -> bytes:
    if tag == 3:
        return np.array(values, dtype="<f4" if bits == 32 else "<f8").tobytes()
    if bits == 24:
        return b"".join(struct.pack("<i", v)[:3] for v in values)
    return np.array(values, dtype={8: "u1", 16: "<i2", 32: "<i4"}[bits]).tobytes()


def info_list(*texts: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """A LIST of INFO texts, each padded to an even length."""
    body = b"".join(name + struct.pack("<I", len(t)) + t + b"\0" * (len(t) & 1) for name, t in texts)
    return b"LIST", b"INFO" + body


FFMPEG_LIST = info_list((b"ISFT", b"Lavf58.76.100\0"))
BAD_CHUNKS = [(b"fact", b"\0" * 8), (b"PEAK", b"\0" * 12), (b"junk", b"\0" * 6), (b"id3 ", b"ID3"),
              (b"ID3 ", b"ID3\x03\0\0\0\0\0\0"), (b"fact", b"\0\0\0\0"),
              # lists that are not plain INFO texts: another type, a text that overruns or
              # leaves bytes over, an id libsndfile acts on, a type mutagen cannot decode
              (b"LIST", b"adtllabl\x08\0\0\0\x01\0\0\0ab\0\0"), (b"LIST", b"INFOISFT\x09\0\0\0abc\0"),
              (b"LIST", b"INFOISFT\x02\0\0\0ab\0\0"), (b"LIST", b"INFOdata\x02\0\0\0ab"),
              (b"LIST", b"INFO\0\0\0\0\x02\0\0\0ab"), (b"LIST", b"\xffNFOISFT\x02\0\0\0ab"), (b"LIST", b"IN"),
              (b"LIST", b"INFOIsft\x02\0\0\0ab")]


def test_a_list_of_info_texts_as_ffmpeg_writes_it_is_plain():
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    samples = pack_samples(1, 16, [0, 32767, 32767, 32767, 9, -32768, -32768, -32768])
    for extra in (FFMPEG_LIST, info_list(), info_list((b"INAM", b"x"), (b"ICMT", b"a" * 3000), (b"IXYZ", b""))):
        assert assert_plain_answers_as_the_libraries(riff([(b"fmt ", fmt), extra, (b"data", samples)]))


DEFECTS = ("tag", "channels", "rate", "align", "byte rate", "extension", "chunk", "order", "riff size",
           "partial frame", "tail", "cut", "empty")


@st.composite
def wav_files(draw, defective: bool = True) -> bytes:
    """WAV files on and around the plain path's boundary: well formed (any
    subtype, layout and content a writer may produce), or with one or two
    defects (a field, a chunk or a size off)."""
    defects = draw(st.frozensets(st.sampled_from(DEFECTS), min_size=1, max_size=2)) if defective else frozenset()

    def pick(defect: str, good: st.SearchStrategy, bad: st.SearchStrategy):
        return draw(bad if defect in defects else good)

    tag, bits = pick("tag", st.sampled_from(sorted(plainwav.SUBTYPES)),
                     st.sampled_from([(1, 12), (3, 16), (0xFFFE, 16), (2, 4), (1, 0), (7, 16)]))
    channels = pick("channels", st.sampled_from([1, 2, 3]), st.sampled_from([0, 65]))
    rate = pick("rate", st.sampled_from(RATES), st.sampled_from([0, 800_000]))
    width = max(bits // 8, 1)
    align = channels * width + pick("align", st.just(0), st.sampled_from([1, -1]))
    byte_rate = max(align, 0) * rate + pick("byte rate", st.just(0), st.just(1))
    extension = pick("extension", st.sampled_from([b"", b"\0\0"]), st.sampled_from([b"\x16\0", b"\0\0\0\0"]))
    fmt = struct.pack("<HHIIHH", tag, channels, rate, byte_rate % 2**32, max(align, 0) % 2**16, bits)
    frames = 0 if "empty" in defects else draw(st.integers(1, 40))
    count = frames * channels
    if tag in (6, 7) and bits == 8:
        samples = bytes(draw(st.lists(st.integers(0, 255), min_size=count, max_size=count)))
    elif tag == 3 and bits in (32, 64):
        samples = pack_samples(tag, bits, draw(st.lists(st.sampled_from(FLOATS), min_size=count, max_size=count)))
    elif tag == 1 and bits in (8, 16, 24, 32):
        samples = pack_samples(tag, bits, draw(st.lists(st.sampled_from(EDGES[width]), min_size=count,
                                                        max_size=count)))
    else:
        samples = bytes(draw(st.lists(st.integers(0, 255), max_size=60)))
    if "partial frame" in defects:
        samples += bytes(draw(st.sampled_from([1, 2])))
    texts = st.tuples(st.sampled_from([b"ISFT", b"INAM", b"ICMT", b"IART", b"ICRD", b"IXYZ", b"I0A9"]),
                      st.binary(max_size=40) | st.just(b"x" * 2100))  # past libsndfile's 2 KB buffer
    valid_extras = [(b"fact", b"\0\0\0\0"), (b"PEAK", b"\0" * (8 + 8 * channels)),
                    info_list(*draw(st.lists(texts, max_size=3)))]
    extras = [chunk for chunk in valid_extras if draw(st.booleans())]
    extras = draw(st.permutations(extras))
    if "chunk" in defects:
        extras.insert(draw(st.integers(0, len(extras))), draw(st.sampled_from([
            (b"fact", b"\0" * 8), (b"PEAK", b"\0" * 12), (b"LIST", b"INFOISFT\x04\0\0\0abc\0"), (b"junk", b"\0" * 6),
            (b"id3 ", b"ID3"), valid_extras[0], *BAD_CHUNKS[-8:]])))  # a second fact chunk, odd lists
    chunks = [(b"fmt ", fmt + extension), *extras, (b"data", samples)]
    if "order" in defects:
        chunks = [chunks[-1], *chunks[:-1]]
    data = riff(chunks, size_delta=pick("riff size", st.just(0), st.sampled_from([2, -2, -8])), pad=draw(st.booleans()),
                tail=pick("tail", st.just(b""), st.sampled_from([b"LIST\x04\0\0\0INFO", b"\0\0"])))
    return data[: len(data) - pick("cut", st.just(0), st.sampled_from([1, 3]))]


@pytest.mark.parametrize("where", [1, 2])
@pytest.mark.parametrize("chunk", BAD_CHUNKS)
def test_a_chunk_the_libraries_may_read_otherwise_is_left_to_them(chunk, where):
    # an ID3 chunk mutagen refuses, a PEAK chunk libsndfile refuses...: whatever the libraries
    # make of a chunk, the plain path either says the same or declines (here, after a fact chunk)
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    chunks = [(b"fmt ", fmt), (b"fact", b"\0\0\0\0"), (b"data", pack_samples(1, 16, [0, 32767, 32767, 32767, 9]))]
    chunks.insert(where, chunk)
    assert not assert_plain_answers_as_the_libraries(riff(chunks))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wav_files(defective=False))
def test_a_well_formed_file_takes_the_plain_path_and_answers_as_the_libraries(data):
    assert assert_plain_answers_as_the_libraries(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wav_files())
def test_a_defective_file_answers_as_the_libraries_wherever_the_plain_path_takes_it(data):
    assert_plain_answers_as_the_libraries(data)  # or leaves it to them


def test_a_quiet_plain_wav_loads_no_numpy(tmp_path):
    # no sample with a full-scale byte (the tone peaks at half scale): nothing for numpy to count
    path = tmp_path / "quiet.wav"
    path.write_bytes(encode(sine(440, 0.5, 8000, dbfs=-6), 8000, "wav", "PCM_16"))
    code = ("import sys; from pathlib import Path; from reconciler.digests import read_facts; "
            f"read_facts(Path({str(path)!r})); print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("bits, nan", [(32, struct.pack("<I", 0x7FA00000)), (32, struct.pack("<I", 0xFF800001)),
                                       (64, struct.pack("<Q", 0x7FF4000000000000))],
                         ids=["f32+", "f32-", "f64"])
def test_a_float_file_of_signalling_nans_answers_as_the_libraries_without_a_warning(bits, nan):
    # libsndfile widens float32 to float64 in C, silently; numpy's cast of a signalling
    # NaN raises the invalid flag: a RuntimeWarning a user would see under `reconciler plan`
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 8000 * bits // 8, bits // 8, bits)
    data = riff([(b"fmt ", fmt), (b"data", nan * 3 + pack_samples(3, bits, [1.0, 1.0, 1.0, 0.0]))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plainwav.read(data) is not None
    assert assert_plain_answers_as_the_libraries(data)


# A text chunk named INFO inside a LIST of INFO texts: libsndfile takes that id
# for the list's own type and reads no size after it (wavlike_subchunk_parse),
# so it walks the rest of the list out of step, reading markers from the texts'
# bytes: here it meets a `data` inside the second text, backs out and reads
# no audio at all (an empty, truncated file) where the layout says 8 frames.
OUT_OF_STEP = [info_list((b"INFO", b"\x10\0\0\0"), (b"ICMT", b"x" * 8 + b"data\0\0\0\0" + b"y" * 4)),
               info_list((b"INFO", b"abcd")), info_list((b"ISFT", b"Lavf"), (b"INFO", b"\x04\0\0\0"))]


@pytest.mark.parametrize("listed", OUT_OF_STEP, ids=["data inside", "alone", "after a text"])
def test_a_text_named_info_is_left_to_the_libraries(listed):
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    data = riff([(b"fmt ", fmt), listed, (b"data", pack_samples(1, 16, [0, 32767, 32767, 32767, 9, -32768, 3, 4]))])
    assert not assert_plain_answers_as_the_libraries(data)
    if listed is OUT_OF_STEP[0]:
        assert old_answers(data)[1].empty  # what the plain path would have got wrong
