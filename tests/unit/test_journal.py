"""The lockfile journal: constant-cost checkpoints, replayed by readers, folded
by the next writer, never applied to a lockfile it does not extend."""

from __future__ import annotations

import pytest

from reconciler.errors import LockfileError
from reconciler.lockfile import journal_path, read_lockfile
from reconciler.lockstore import LockfileStore, write_lockfile
from tests.unit.test_lockfile import entry, sample


def crashed(path, steps) -> bytes:
    """Run `steps` in a store that is never exited (a SIGKILL: no fold); the journal's bytes."""
    store = LockfileStore(path).__enter__()
    steps(store)
    store._flock.release()  # the OS would release it with the process
    return journal_path(path).read_bytes()


def test_records_go_to_the_journal_and_the_lockfile_is_rewritten_once(tmp_path):
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, sample(["a"]))
    before = path.read_bytes()
    with LockfileStore(path) as store:
        for name in "bcdef":
            store.record(f"sounds.{name}", entry(name))
        assert path.read_bytes() == before  # no rewrite per action
        assert len(journal_path(path).read_bytes().splitlines()) == 1 + 5  # header + one line each
    assert not journal_path(path).exists()
    lock = read_lockfile(path)
    assert lock.serial == 7 + 5 and sorted(lock.assets) == [f"sounds.{n}" for n in "abcdef"]


def test_an_unfolded_journal_is_replayed_by_readers_and_folded_by_the_next_store(tmp_path):
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, sample(["a", "b"]))
    before = path.read_bytes()
    crashed(path, lambda s: (s.record("sounds.c", entry("c")), s.forget("sounds.a")))
    seen = read_lockfile(path)
    assert seen.serial == 9 and sorted(seen.assets) == ["sounds.b", "sounds.c"]
    assert path.read_bytes() == before  # reading never writes
    with LockfileStore(path) as store:
        assert store.state.serial == 9
        assert not journal_path(path).exists()  # folded on entry
    assert read_lockfile(path) == seen


def test_a_torn_last_line_is_the_action_in_flight(tmp_path):
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, sample(["a"]))
    raw = crashed(path, lambda s: (s.record("sounds.b", entry("b")), s.record("sounds.c", entry("c"))))
    journal_path(path).write_bytes(raw[:-10])
    assert sorted(read_lockfile(path).assets) == ["sounds.a", "sounds.b"]


def test_a_journal_killed_before_its_first_line_records_nothing(tmp_path):
    path = tmp_path / "reconciler.lock"
    raw = crashed(path, lambda s: s.record("sounds.b", entry("b")))
    header = raw.split(b"\n")[0] + b"\n"
    for partial in (b"", header[:5], header):
        journal_path(path).write_bytes(partial)
        assert read_lockfile(path).assets == {}
        with LockfileStore(path):
            pass
        assert not path.exists() and not journal_path(path).exists()


def test_the_first_apply_crashed_keeps_its_lineage(tmp_path):
    path = tmp_path / "reconciler.lock"  # no lockfile yet
    crashed(path, lambda s: s.record("sounds.a", entry("a")))
    one, two = read_lockfile(path), read_lockfile(path)
    assert one.lineage == two.lineage and one.serial == 1 and list(one.assets) == ["sounds.a"]
    with LockfileStore(path):
        pass
    assert read_lockfile(path) == one


def test_a_damaged_line_in_the_middle_is_an_error_naming_the_journal(tmp_path):
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, sample(["a"]))
    raw = crashed(path, lambda s: (s.record("sounds.b", entry("b")), s.record("sounds.c", entry("c"))))
    lines = raw.split(b"\n")
    lines[1] = b"{garbage"
    journal_path(path).write_bytes(b"\n".join(lines))
    before = path.read_bytes()
    with pytest.raises(LockfileError, match="journal .* is damaged at line 2"):
        read_lockfile(path)
    with pytest.raises(LockfileError, match="damaged"):
        LockfileStore(path).__enter__()
    assert path.read_bytes() == before
    with LockfileStore(path.with_name("other.lock")):  # the failed store released its lock
        pass


def test_a_journal_is_never_replayed_onto_another_lockfile(tmp_path):
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, sample(["a"]))
    crashed(path, lambda s: s.record("sounds.b", entry("b")))
    other = sample(["z"]).model_copy(update={"lineage": "restored", "serial": 3})
    write_lockfile(path, other)
    with pytest.raises(LockfileError, match="restored or replaced"):
        read_lockfile(path)
    older = sample(["a"]).model_copy(update={"serial": 5})  # same lineage, behind the journal's base
    write_lockfile(path, older)
    with pytest.raises(LockfileError, match="serial 7"):
        read_lockfile(path)


def test_a_journal_already_folded_is_dropped(tmp_path):
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, sample(["a"]))
    raw = crashed(path, lambda s: s.record("sounds.b", entry("b")))
    with LockfileStore(path):
        pass  # folds it
    journal_path(path).write_bytes(raw)  # as if the crash came between rename and unlink
    lock = read_lockfile(path)
    assert lock.serial == 8 and sorted(lock.assets) == ["sounds.a", "sounds.b"]
    with LockfileStore(path) as store:
        assert store.state.serial == 8
    assert not journal_path(path).exists()
