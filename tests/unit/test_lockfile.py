"""reconciler.lock: deterministic, atomic, locked, and never overwritten when corrupt."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from reconciler.errors import LockfileError
from reconciler.lockfile import LockEntry, Lockfile, read_lockfile
from reconciler.lockstore import LockfileStore, write_lockfile


def entry(name: str, **kw) -> LockEntry:
    values = dict(
        instance="sounds", type="directory", remote_id=f"{name}.wav", name=name,
        description=f"about {name}", sha256="ab" * 32, size=123, applied_at="2024-05-01T10:00:00Z",
    )
    values.update(kw)
    return LockEntry(**values)


def sample(order: list[str]) -> Lockfile:
    return Lockfile(lineage="l-1", serial=7, assets={f"sounds.{n}": entry(n) for n in order})


def test_missing_lockfile_reads_as_empty(tmp_path):
    lock = read_lockfile(tmp_path / "reconciler.lock")
    assert lock.assets == {} and lock.serial == 0 and lock.version == 1
    assert not (tmp_path / "reconciler.lock").exists()


def test_round_trip(tmp_path):
    path = tmp_path / "reconciler.lock"
    lock = sample(["b", "a"])
    lock.assets["sounds.a"] = entry("a", superseded=["old.wav"], duration=1.5, format="wav", protect=True)
    write_lockfile(path, lock)
    assert read_lockfile(path) == lock


def test_output_is_sorted_and_independent_of_insertion_order(tmp_path):
    one, two = tmp_path / "one.lock", tmp_path / "two.lock"
    write_lockfile(one, sample(["c", "a", "b"]))
    write_lockfile(two, sample(["b", "c", "a"]))
    assert one.read_bytes() == two.read_bytes()
    text = one.read_text()
    positions = [text.index(f'[assets."sounds.{n}"]') for n in ("a", "b", "c")]
    assert positions == sorted(positions)
    # keys inside each table are sorted too
    table = text.split('[assets."sounds.a"]')[1].split("[assets.")[0]
    keys = [line.split(" = ")[0] for line in table.strip().splitlines()]
    assert keys == sorted(keys)
    # the header the issue requires, at the top
    data = tomllib.loads(text)
    assert (data["version"], data["lineage"], data["serial"]) == (1, "l-1", 7)
    assert text.startswith("#")
    for field in ("instance", "type", "remote_id", "name", "description", "sha256", "size", "applied_at"):
        assert field in data["assets"]["sounds.a"]


def test_rewrite_is_byte_identical(tmp_path):
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, sample(["a", "b"]))
    first = path.read_bytes()
    write_lockfile(path, read_lockfile(path))
    assert path.read_bytes() == first


def test_empty_lists_are_not_written(tmp_path):
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, sample(["a"]))
    assert "superseded" not in path.read_text() and "extra" not in path.read_text()


def test_atomic_write_leaves_no_temp_files(tmp_path):
    path = tmp_path / "reconciler.lock"
    for serial in range(5):
        lock = sample(["a"])
        lock.serial = serial
        write_lockfile(path, lock)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reconciler.lock"]


def test_failed_write_leaves_no_temp_file_and_the_old_content(tmp_path):
    # the rename fails (the target is a folder): the temp file must not stay behind
    path = tmp_path / "reconciler.lock"
    path.mkdir()
    (path / "keep").write_text("x")
    with pytest.raises(LockfileError, match=f"cannot write the lockfile {path}: {path} is a folder"):
        write_lockfile(path, sample(["a"]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reconciler.lock"]
    assert (path / "keep").read_text() == "x"


@pytest.mark.parametrize(
    "body",
    [
        b"version = = 1\n",  # not TOML
        b"\xff\xfe not utf-8",
        b'version = 1\nlineage = "x"\nserial = 1\n[assets."a.b"]\ninstance = "a"\n',  # fields missing
        b'version = 1\nlineage = "x"\nserial = 1\nsurprise = true\n',  # unknown key
    ],
)
def test_corrupt_lockfile_is_an_error_and_untouched(tmp_path, body):
    path = tmp_path / "reconciler.lock"
    path.write_bytes(body)
    with pytest.raises(LockfileError, match="corrupt") as err:
        read_lockfile(path)
    assert str(path) in err.value.message and "not been modified" in err.value.message
    assert path.read_bytes() == body


def test_malformed_lockfile_names_line_and_column(tmp_path):
    path = tmp_path / "reconciler.lock"
    path.write_bytes(b'version = 1\nserial = "x\n')
    with pytest.raises(LockfileError, match=r"line 2, column"):
        read_lockfile(path)


def test_newer_format_version_is_refused(tmp_path):
    path = tmp_path / "reconciler.lock"
    path.write_text('version = 99\nlineage = "x"\nserial = 1\n')
    with pytest.raises(LockfileError, match=r"written by a newer version of reconciler \(format 99"):
        read_lockfile(path)


def test_store_checkpoints_every_record_and_grows_the_serial(tmp_path):
    path = tmp_path / "reconciler.lock"
    with LockfileStore(path) as store:
        store.record("sounds.a", entry("a"))
        assert read_lockfile(path).serial == 1
        store.record("sounds.b", entry("b"))
        on_disk = read_lockfile(path)
        assert on_disk.serial == 2 and sorted(on_disk.assets) == ["sounds.a", "sounds.b"]
        store.forget("sounds.a")
        store.forget("sounds.never-recorded")  # nothing to forget: no write
    final = read_lockfile(path)
    assert final.serial == 3 and sorted(final.assets) == ["sounds.b"]
    assert final.lineage == on_disk.lineage


def test_a_second_store_is_kept_out(tmp_path):
    path = tmp_path / "reconciler.lock"
    with LockfileStore(path):
        with pytest.raises(LockfileError, match="held by another reconciler process"):
            LockfileStore(path).__enter__()
    with LockfileStore(path):  # released on exit
        pass


def test_store_on_a_corrupt_lockfile_releases_the_lock(tmp_path):
    path = tmp_path / "reconciler.lock"
    path.write_bytes(b"garbage = = \n")
    failed = LockfileStore(path)  # kept alive: garbage collection would release it anyway
    with pytest.raises(LockfileError, match="corrupt"):
        failed.__enter__()
    path.write_bytes(b"")
    # the failed attempt must not keep holding the lock
    with LockfileStore(path) as store:
        assert store.state is not None and store.state.assets == {}


def test_lock_anchor_sits_beside_the_lockfile(tmp_path: Path):
    store = LockfileStore(tmp_path / "state.lock")
    assert store.lock_path == tmp_path / "state.lock.lck"


def reference_dump(lock: Lockfile) -> bytes:
    """The whole document through tomli_w at once: what `_dump` must equal."""
    import tomli_w

    from reconciler.lockstore import HEADER

    data = {
        "version": lock.version, "lineage": lock.lineage, "serial": lock.serial,
        "assets": {
            a: {k: v for k, v in sorted(e.model_dump(exclude_none=True).items()) if v not in ([], {})}
            for a, e in sorted(lock.assets.items())
        },
    }
    return (HEADER + tomli_w.dumps(data)).encode()


@pytest.mark.parametrize(
    "assets",
    [
        {},
        {"sounds.a": entry("a")},
        {"sounds.b": entry("b", extra={"file_type": "ivr"}), "sounds.a": entry("a", superseded=["x", "y"]),
         "other.c": entry("c", instance="other", description='quote " and \\ and ü', duration=0.25)},
    ],
)
def test_dump_is_tomli_w_of_the_whole_document(tmp_path, assets):
    lock = Lockfile(lineage="l", serial=3, assets=assets)
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, lock)
    assert path.read_bytes() == reference_dump(lock)
    assert read_lockfile(path) == lock


def test_store_writes_match_a_fresh_dump_after_every_checkpoint(tmp_path):
    # the journal replayed gives the store's state; folded, a fresh dump of it
    path = tmp_path / "reconciler.lock"
    with LockfileStore(path) as store:
        steps = [
            lambda: store.record("sounds.a", entry("a")),
            lambda: store.record("sounds.b", entry("b")),
            lambda: store.record("sounds.a", entry("a", remote_id="new.wav", superseded=["a.wav"])),
            lambda: store.record("sounds.a", store.state.assets["sounds.a"].model_copy(update={"superseded": []})),
            lambda: store.forget("sounds.b"),
            lambda: store.record("sounds.b", entry("b", description="back again")),
        ]
        for step in steps:
            step()
            assert read_lockfile(path).assets == store.state.assets
            assert read_lockfile(path).serial == store.state.serial
            store.fold()
            assert not store.journal_path.exists()
            assert path.read_bytes() == reference_dump(read_lockfile(path))
            assert read_lockfile(path).assets == store.state.assets
