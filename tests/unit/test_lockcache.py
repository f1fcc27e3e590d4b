"""Reading reconciler.lock through rtoml and the content-keyed parse cache
(reconciler/lockcache.py): never other data than the TOML says, never an error
of its own."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import lockcache
from reconciler.errors import LockfileError
from reconciler.gitignore import IGNORED
from reconciler.lockfile import (
    LockEntry,
    Lockfile,
    RecipeRecord,
    RenditionRecord,
    read_lockfile,
)
from reconciler.lockstore import write_lockfile

FILLER = 240  # entries enough to pass lockcache.MIN_CACHED_BYTES


def entry(i: int, **kw) -> LockEntry:
    values = dict(instance="sounds", type="directory", remote_id=f"p{i:05d}.wav", name=f"p{i:05d}",
                  description=f"prompt {i}", sha256=f"{i:064x}", size=100 + i,
                  applied_at="2026-11-27T03:00:00Z", duration=0.25, format="wav")
    values.update(kw)
    return LockEntry(**values)


def big_lock(**extra: LockEntry) -> Lockfile:
    assets = {f"sounds.p{i:05d}": entry(i) for i in range(FILLER)}
    return Lockfile(lineage="lineage-1", serial=3, assets={**assets, **extra})


def tomllib_read(raw: bytes) -> Lockfile:
    """The load path before rtoml and the cache: the oracle."""
    return Lockfile.model_validate(tomllib.loads(raw.decode()))


def written(tmp_path: Path, lock: Lockfile) -> Path:
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, lock)
    assert path.stat().st_size >= lockcache.MIN_CACHED_BYTES
    return path


def test_a_big_lockfile_is_cached_under_the_ignored_cache_folder(tmp_path):
    path = written(tmp_path, big_lock())
    first = read_lockfile(path)
    cache = lockcache.cache_path(path)
    assert cache == tmp_path / ".reconciler" / "reconciler.lock.parsed.json" and cache.is_file()
    assert (tmp_path / ".reconciler" / ".gitignore").read_bytes() == b"*\n"
    assert ".reconciler/" in IGNORED  # what `reconciler init` puts in .gitignore
    assert read_lockfile(path) == first == tomllib_read(path.read_bytes())


def test_a_small_lockfile_makes_no_cache(tmp_path):
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, Lockfile(assets={"sounds.a": entry(1)}))
    read_lockfile(path)
    assert not (tmp_path / ".reconciler").exists()


def test_the_cache_answers_for_exactly_the_bytes_it_was_made_from(tmp_path):
    """A hit really skips the parse: a cache forged for these bytes is served (which
    is why only the lockfile's own bytes may key it)."""
    path = written(tmp_path, big_lock())
    read_lockfile(path)
    forged = big_lock(**{"sounds.forged": entry(99_999)})
    other = tmp_path / "other"
    other.mkdir()
    write_lockfile(other / "reconciler.lock", forged)
    read_lockfile(other / "reconciler.lock")
    # the other file's cache, relabelled with this file's key (its payload hash stays right)
    blob = lockcache.cache_path(other / "reconciler.lock").read_bytes()
    mine = lockcache.cache_path(path).read_bytes()
    head, _, payload = blob.partition(b"\n")
    fmt_key = mine.partition(b"\n")[0].rsplit(b" ", 1)[0]
    lockcache.cache_path(path).write_bytes(fmt_key + b" " + head.rsplit(b" ", 1)[1] + b"\n" + payload)
    assert "sounds.forged" in read_lockfile(path).assets


def test_a_one_byte_change_with_same_size_and_mtime_is_never_served_from_the_cache(tmp_path):
    path = written(tmp_path, big_lock())
    before = path.stat()
    assert read_lockfile(path).assets["sounds.p00007"].remote_id == "p00007.wav"
    raw = path.read_bytes()
    changed = raw.replace(b'remote_id = "p00007.wav"', b'remote_id = "p00008.wav"')
    assert len(changed) == len(raw) and changed != raw
    path.write_bytes(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert read_lockfile(path).assets["sounds.p00007"].remote_id == "p00008.wav"
    assert read_lockfile(path) == tomllib_read(changed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_reads_as_if_there_were_no_cache(tmp_path_factory, data):
    """Whatever byte changes to whatever value, the read (cache present, made from
    the old bytes) gives what a read with no cache gives: the same Lockfile or the
    same error."""
    root = tmp_path_factory.mktemp("flip")
    path = written(root, big_lock())
    read_lockfile(path)  # the cache now holds the old bytes' document
    raw = bytearray(path.read_bytes())
    at = data.draw(st.integers(0, len(raw) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]), label="byte")
    raw[at] = value
    path.write_bytes(bytes(raw))
    fresh = root / "fresh"
    fresh.mkdir()
    (fresh / "reconciler.lock").write_bytes(bytes(raw))

    def outcome(p: Path) -> object:
        try:
            return read_lockfile(p)
        except LockfileError as exc:
            return str(exc).replace(str(p), "LOCKFILE")

    assert outcome(path) == outcome(fresh / "reconciler.lock")
    shutil.rmtree(root)


@pytest.mark.parametrize("junk", [
    b"", b"garbage", b"\x00" * 100, b"reconciler-lockfile-parse 1 abc def\n{}",
    "the header, a payload whose hash is wrong", "the header, a truncated payload",
    "the header, a payload that is not JSON", "the header, a payload that is a list", "a folder",
])
def test_a_corrupt_cache_is_ignored_and_rebuilt(tmp_path, junk):
    path = written(tmp_path, big_lock())
    truth = read_lockfile(path)
    cache = lockcache.cache_path(path)
    head, _, payload = cache.read_bytes().partition(b"\n")
    key = head.rsplit(b" ", 1)[0]

    def with_hash(body: bytes) -> bytes:
        import hashlib
        return key + b" " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body

    if junk == "the header, a payload whose hash is wrong":
        bad = head + b"\n" + payload.replace(b"p00007.wav", b"p00008.wav")
    elif junk == "the header, a truncated payload":
        bad = head + b"\n" + payload[: len(payload) // 2]
    elif junk == "the header, a payload that is not JSON":
        bad = with_hash(b"{not json")
    elif junk == "the header, a payload that is a list":
        bad = with_hash(b"[1, 2]")
    elif junk == "a folder":
        bad = None
    else:
        bad = junk
    if bad is None:
        cache.unlink()
        cache.mkdir()
    else:
        cache.write_bytes(bad)
    assert read_lockfile(path) == truth
    if bad is not None:  # rebuilt: the next read is a hit on a sound cache
        assert cache.read_bytes().partition(b"\n")[0] == head
    assert read_lockfile(path) == truth


def test_an_unusable_cache_folder_never_fails_a_read(tmp_path):
    (tmp_path / ".reconciler").write_text("a file where the folder would be")
    path = written(tmp_path, big_lock())
    assert read_lockfile(path) == tomllib_read(path.read_bytes())


def test_a_corrupt_lockfile_is_still_an_error_and_is_not_cached(tmp_path):
    path = written(tmp_path, big_lock())
    path.write_bytes(path.read_bytes().replace(b"size = 107\n", b'size = "many"\n'))
    for _ in range(2):
        with pytest.raises(LockfileError, match=r"is corrupt: assets\.\"sounds\.p00007\"\.size"):
            read_lockfile(path)
    assert not lockcache.cache_path(path).exists()


def test_what_rtoml_refuses_gets_the_standard_librarys_verdict(tmp_path):
    path = written(tmp_path, big_lock())
    raw = path.read_bytes()
    # an integer past 64 bits: TOML leaves it to the reader; tomllib takes it, rtoml does not
    huge = raw.replace(b"size = 107\n", b"size = 1180591620717411303424\n")
    path.write_bytes(huge)
    assert read_lockfile(path).assets["sounds.p00007"].size == 2**70
    assert read_lockfile(path) == tomllib_read(huge)  # and again, from the cache
    path.write_bytes(raw.replace(b"size = 107\n", b"size = = 107\n"))
    with pytest.raises(LockfileError, match="is malformed TOML: Invalid value"):
        read_lockfile(path)


@pytest.mark.parametrize("edit", [
    (b'description = "prompt 7"\n', b'description = "prompt\\e7"\n'),  # TOML 1.1's \e escape
    (b'description = "prompt 7"\n', b'description = "prompt \\x37"\n'),  # TOML 1.1's \xHH escape
    (b'format = "wav"\n', b'format = "wav"\nextra = { a = "b", }\n'),  # trailing comma in an inline table
    (b'format = "wav"\n', b'format = "wav"\nextra = {\n  a = "b"\n}\n'),  # newlines in an inline table
])
@pytest.mark.parametrize("big", [True, False])
def test_toml_1_1_that_rtoml_takes_and_tomllib_refuses_is_malformed(tmp_path, edit, big):
    """The lockfile is TOML 1.0 (what tomli-w writes, what the README says, what
    a tree without rtoml reads): rtoml's TOML 1.1 extensions are refused the same."""
    lock = big_lock() if big else Lockfile(assets={f"sounds.p{i:05d}": entry(i) for i in range(10)})
    path = tmp_path / "reconciler.lock"
    write_lockfile(path, lock)
    raw = path.read_bytes()
    old, new = edit
    assert raw.count(old) >= 1
    path.write_bytes(raw.replace(old, new, 1))
    for _ in range(2):
        with pytest.raises(LockfileError, match="is malformed TOML"):
            read_lockfile(path)
    assert not lockcache.cache_path(path).exists()


def test_a_brace_or_backslash_in_a_description_reads_as_tomllib_reads_it(tmp_path):
    lock = big_lock(**{"sounds.x": entry(99999, description="{\n}\\e, {x,}\\")})
    path = written(tmp_path, lock)
    assert read_lockfile(path) == lock == tomllib_read(path.read_bytes())


names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
floats = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def entries(draw) -> LockEntry:
    recipe = draw(st.none() | st.builds(RecipeRecord, key=names, encoders=names))
    rendition = draw(st.none() | st.builds(
        RenditionRecord, sha256=names, size=st.integers(0, 2**62), format=names,
        encoding=st.none() | names, sample_rate=st.none() | st.integers(1, 10**6),
        channels=st.none() | st.integers(1, 8), duration=st.none() | floats,
        loudness=st.none() | floats, true_peak=st.none() | floats))
    return LockEntry(
        instance="sounds", type=draw(names), remote_id=draw(names), name=draw(names), description=draw(names),
        sha256=draw(names), size=draw(st.integers(-(2**63), 2**63 - 1)), applied_at=draw(names),
        protect=draw(st.booleans()), duration=draw(st.none() | floats), format=draw(st.none() | names),
        sample_rate=draw(st.none() | st.integers(0, 10**6)), channels=draw(st.none() | st.integers(0, 64)),
        superseded=draw(st.lists(names, max_size=3)), extra=draw(st.dictionaries(names, names, max_size=3)),
        recipe=recipe, rendition=rendition)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=st.dictionaries(names.map(lambda s: "sounds." + s), entries(), max_size=8),
       lineage=names.filter(lambda s: s.strip() != ""), serial=st.integers(0, 2**63 - 1))
def test_rtoml_and_the_cache_read_exactly_what_tomllib_reads(tmp_path_factory, generated, lineage, serial):
    root = tmp_path_factory.mktemp("gen")
    lock = big_lock(**generated).model_copy(update={"lineage": lineage, "serial": serial})
    path = written(root, lock)
    raw = path.read_bytes()
    expected = tomllib_read(raw)
    assert expected == lock  # what was written is what tomllib reads
    if lockcache.rtoml is not None:
        assert lockcache.rtoml.loads(raw.decode()) == tomllib.loads(raw.decode())
    assert read_lockfile(path) == expected  # parsed (rtoml), cache written
    assert lockcache.cache_path(path).is_file()
    assert read_lockfile(path) == expected  # from the cache
    shutil.rmtree(root)
