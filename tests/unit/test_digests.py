"""Local file facts: streamed sha256, header-only facts, and a stat-keyed
cache that never lets a changed file pass as unchanged."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from reconciler.audio import inspect_bytes
from reconciler.digests import CACHE_DIR, CACHE_FILE, DigestCache, read_facts, read_many
from reconciler.inputs import InputError
from tests.conftest import make_mp3_frame_stream, make_wav


def test_streamed_facts_equal_whole_file_facts(tmp_path):
    for name, data in {"a.wav": make_wav(3.0, rate=16000), "b.mp3": make_mp3_frame_stream(40)}.items():
        path = tmp_path / name
        path.write_bytes(data)
        sha, size, info = read_facts(path)
        assert (sha, size, info) == (hashlib.sha256(data).hexdigest(), len(data), inspect_bytes(data))


def test_an_unchanged_file_is_served_from_the_cache(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(make_wav(0.2))
    cache = DigestCache(tmp_path, racy_ns=0)
    first = read_facts(path, cache)
    cache.save()
    again = DigestCache(tmp_path, racy_ns=0)
    assert again.lookup(str(path), os.stat(path)) == first
    assert read_facts(path, again) == first


def test_a_rewrite_with_the_mtime_put_back_is_seen(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(make_wav(0.2, seed=1))
    before = os.stat(path)
    cache = DigestCache(tmp_path, racy_ns=0)
    first = read_facts(path, cache)
    cache.save()
    time.sleep(0.01)
    new = make_wav(0.2, seed=2)
    assert len(new) == before.st_size
    path.write_bytes(new)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, same mtime
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
    again = DigestCache(tmp_path, racy_ns=0)
    assert again.lookup(str(path), os.stat(path)) is None  # ctime moved: nobody can put it back
    assert read_facts(path, again)[0] == hashlib.sha256(new).hexdigest() != first[0]


def test_a_file_changed_just_before_it_was_hashed_is_read_again(tmp_path):
    # on a filesystem with coarse timestamps a rewrite within the same tick
    # leaves every stat field equal: such an entry is never trusted
    path = tmp_path / "a.wav"
    path.write_bytes(make_wav(0.2))
    cache = DigestCache(tmp_path)  # the real window
    read_facts(path, cache)
    cache.save()
    assert DigestCache(tmp_path).lookup(str(path), os.stat(path)) is None


def test_the_cache_keeps_only_what_the_run_used_and_writes_only_on_change(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(make_wav(0.1, seed=1))
    b.write_bytes(make_wav(0.1, seed=2))
    cache = DigestCache(tmp_path, racy_ns=0)
    read_many([a, b], cache)
    cache.save()
    stored = tmp_path / CACHE_DIR / CACHE_FILE
    assert (tmp_path / CACHE_DIR / ".gitignore").read_text() == "*\n"
    written = stored.stat().st_mtime_ns
    time.sleep(0.01)
    cache = DigestCache(tmp_path, racy_ns=0)
    read_many([a, b], cache)
    cache.save()
    assert stored.stat().st_mtime_ns == written  # nothing new: not rewritten
    cache = DigestCache(tmp_path, racy_ns=0)
    read_facts(a, cache)
    cache.save()
    assert str(b) not in stored.read_text() and str(a) in stored.read_text()


@pytest.mark.parametrize("junk", [b"", b"{not json", b'{"version": 1, "files": []}', b'{"version": 1, "files": {"x": 5}}',
                                  b'{"version": 99, "files": {}}'])
def test_a_corrupt_cache_is_ignored_and_replaced(tmp_path, junk):
    path = tmp_path / "a.wav"
    data = make_wav(0.1)
    path.write_bytes(data)
    (tmp_path / CACHE_DIR).mkdir()
    (tmp_path / CACHE_DIR / CACHE_FILE).write_bytes(junk)
    cache = DigestCache(tmp_path, racy_ns=0)
    assert read_facts(path, cache)[0] == hashlib.sha256(data).hexdigest()
    cache.save()
    assert DigestCache(tmp_path, racy_ns=0).lookup(str(path), os.stat(path)) is not None


def test_an_unwritable_cache_never_fails_the_command(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(make_wav(0.1))
    (tmp_path / CACHE_DIR).write_text("a file where the folder should be")
    cache = DigestCache(tmp_path)
    read_facts(path, cache)
    cache.save()  # no exception


def test_read_many_returns_each_failure_in_place(tmp_path):
    good = tmp_path / "good.wav"
    good.write_bytes(make_wav(0.1))
    text = tmp_path / "text.wav"
    text.write_text("not audio at all")
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    results = read_many([good, tmp_path / "missing.wav", text, fifo, good])
    assert list(results) == [good, tmp_path / "missing.wav", text, fifo]
    assert results[good][1] == good.stat().st_size
    assert isinstance(results[tmp_path / "missing.wav"], InputError)
    assert "not a recognised audio format" in str(results[text])
    assert isinstance(results[fifo], InputError) and "FIFO" in results[fifo].reason
