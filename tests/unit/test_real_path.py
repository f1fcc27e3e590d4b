"""real_path with resolved folders reused (one pass over many files) finds
exactly what os.path.realpath finds, symlinks and `..` included."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.inputs import real_path, relative_to


def tree(root: Path) -> None:
    """Folders, a folder symlink, a file symlink, a dangling one, a loop."""
    (root / "audio" / "en").mkdir(parents=True)
    (root / "other").mkdir()
    (root / "audio" / "en" / "a.wav").write_bytes(b"a")
    (root / "other" / "b.wav").write_bytes(b"b")
    (root / "linked").symlink_to(root / "audio")  # a folder symlink
    (root / "audio" / "en" / "to-b.wav").symlink_to(root / "other" / "b.wav")  # a file symlink
    (root / "audio" / "en" / "up").symlink_to("../..")  # relative, climbing
    (root / "audio" / "dangling.wav").symlink_to(root / "nowhere.wav")
    (root / "loop1").symlink_to(root / "loop2")
    (root / "loop2").symlink_to(root / "loop1")


PARTS = ["audio", "en", "a.wav", "to-b.wav", "up", "linked", "other", "b.wav", "..", ".", "missing",
         "dangling.wav", "loop1"]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=st.lists(st.lists(st.sampled_from(PARTS), min_size=1, max_size=6), min_size=1, max_size=8))
def test_reusing_resolved_folders_changes_no_answer(tmp_path, paths):
    root = tmp_path / "t"
    if not root.exists():
        root.mkdir()
        tree(root)
    folders: dict[str, str] = {}  # shared by every path of the example, as one config load shares it
    for parts in paths:
        path = root.joinpath(*parts)
        assert real_path(path, folders) == Path(os.path.realpath(path)), path


def test_a_relative_path_resolves_against_the_working_folder(tmp_path, monkeypatch):
    tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    folders: dict[str, str] = {}
    for text in ("linked/en/a.wav", "audio/en/to-b.wav", "a.wav", "audio/en/up/other/b.wav"):
        assert real_path(text, folders) == Path(os.path.realpath(text))


@settings(max_examples=300, deadline=None)
@given(folder=st.lists(st.sampled_from(["a", "b", "..", ".", "", "a.b"]), max_size=4),
       tail=st.lists(st.sampled_from(["a", "b", "..", ".", "", "x.wav"]), max_size=4),
       absolute=st.booleans())
def test_relative_to_is_relpath(folder, tail, absolute):
    root = os.sep if absolute else ""
    f = (root + os.path.join(*folder) if folder else root) or "."  # relpath refuses an empty path
    p = os.path.join(f, *tail) if tail else f
    assert relative_to(p, f) == os.path.relpath(p, f)
    assert relative_to(Path(p), Path(f)) == os.path.relpath(Path(p), Path(f))
