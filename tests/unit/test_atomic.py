"""atomic_write / replace_file: whole files or nothing, with the permissions a
plain open() gives, from many threads at once."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from reconciler.atomic import atomic_write, is_temp_name, replace_file


def test_files_written_by_many_threads_at_once_all_get_the_umask_permissions(tmp_path):
    # the mode is the kernel's 0666 & ~umask, as a plain open() makes it (mkstemp's
    # 0600 would fail this; so would a umask left at 0 by another thread)
    old = os.umask(0o027)
    try:
        barrier = threading.Barrier(8)

        def write(i: int) -> None:
            barrier.wait()
            for k in range(40):
                replace_file(tmp_path / f"f{i}-{k}.wav", b"RIFF" + bytes(100))

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {0o640}
    assert len(list(tmp_path.iterdir())) == 8 * 40


def test_a_failing_chunk_leaves_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(b"old")

    def chunks():
        yield b"new, half"
        raise ValueError("the source changed")

    with pytest.raises(ValueError):
        atomic_write(path, chunks())
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]


def test_the_temp_file_is_named_as_remove_stale_temps_expects(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    replace_file(tmp_path / "hello.wav", b"x")
    [name] = seen
    assert is_temp_name(name) and name.startswith(".hello.wav.reconciler-"), name
