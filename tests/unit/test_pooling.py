"""Tiny files are read in the calling thread, larger ones on a pool; the
answers are the same either way and come back in the order asked."""

from __future__ import annotations

import hashlib

from reconciler.digests import read_many
from reconciler.pooling import POOL_MIN_BYTES, split_by_size
from tests.conftest import make_wav


def test_split_by_size_keeps_order_and_sends_unreadable_paths_to_the_caller(tmp_path):
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * (POOL_MIN_BYTES - 1))
    edge = tmp_path / "edge.bin"
    edge.write_bytes(b"x" * POOL_MIN_BYTES)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (POOL_MIN_BYTES * 3))
    missing = tmp_path / "missing.bin"
    here, pooled = split_by_size([big, small, missing, edge])
    assert here == [small, missing]
    assert pooled == [big, edge]


def test_read_many_answers_small_and_large_files_alike_in_order(tmp_path):
    """A mix below and above the threshold: each path gets its own digest and
    audio facts (a mix-up between the two paths would give another file's)."""
    paths = []
    for i, seconds in enumerate([0.05, 9.0, 0.05, 10.0, 0.1]):  # 8 kHz 8-bit: 9 s is ~72 KB
        path = tmp_path / f"p{i}.wav"
        path.write_bytes(make_wav(seconds=seconds, seed=i))
        paths.append(path)
    here, pooled = split_by_size(paths)
    assert here and len(pooled) >= 2  # both paths of read_many are taken
    facts = read_many(list(reversed(paths)))
    assert list(facts) == list(reversed(paths))
    for path in paths:
        sha256, size, audio = facts[path]
        assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert size == path.stat().st_size
        assert audio is not None
