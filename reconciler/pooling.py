"""Which files are worth a worker thread.

Hashing (hashlib, past 2 KiB) and decoding (libsndfile) release the GIL, so
a thread pool overlaps them for files of some size. For tiny files the work
is mostly Python (open, stat, a few calls), and handing each one to a pool
only adds GIL contention: a cold plan of 5,000 files of 200 bytes took 4.9 s
pooled and 3.3 s one after another (6 s of CPU against 3.4 s). So files
under POOL_MIN_BYTES are read in the calling thread, the rest on the pool.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

POOL_MIN_BYTES = 64 * 1024

P = TypeVar("P", str, Path)


def split_by_size(paths: Iterable[P]) -> tuple[list[P], list[P]]:
    """(files to read here, files worth a pool), in their given order. A path
    that cannot be stat'ed goes with the small ones: reading it reports why."""
    small: list[P] = []
    large: list[P] = []
    for path in paths:
        try:
            size = os.stat(path).st_size
        except (OSError, ValueError):
            size = 0
        (large if size >= POOL_MIN_BYTES else small).append(path)
    return small, large
