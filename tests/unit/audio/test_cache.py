"""The rendition cache: content-addressed, atomic, a damaged entry is a miss."""

import hashlib
import json

import pytest

from reconciler.audio.cache import RenditionCache, entry_name
from reconciler.audio.recipe import AudioSettings, resolve_recipe
from reconciler.audio.render import render_bytes

from .signals import sine, write

ULAW = resolve_recipe(AudioSettings(format="wav", encoding="ulaw", sample_rate=8000, channels=1, loudness=-19))


@pytest.fixture
def master(tmp_path):
    path = write(tmp_path / "m.wav", sine(440, 1.0, 16000, dbfs=-20, channels=2), 16000)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def entry_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_miss_renders_and_stores_then_hits(tmp_path, master):
    path, sha = master
    cache = RenditionCache(tmp_path / ".reconciler" / "cache")
    assert cache.get(sha, ULAW) is None
    made = cache.ensure(path, sha, ULAW)
    data = made.path.read_bytes()
    assert made.sha256 == hashlib.sha256(data).hexdigest() and made.size == len(data)
    assert made.path.suffix == ".wav" and made.facts.sample_rate == 8000
    assert (data, made.facts) == render_bytes(path, ULAW)
    hit = cache.get(sha, ULAW)
    assert hit == made
    # a hit does not render: the master may even be gone
    path.unlink()
    assert cache.ensure(path, sha, ULAW) == made
    # no temp files left behind; bytes + facts
    assert [p.suffix for p in entry_files(cache.root)] == [".json", ".wav"]


def test_keyed_by_master_and_recipe(tmp_path, master):
    path, sha = master
    cache = RenditionCache(tmp_path / "c")
    cache.ensure(path, sha, ULAW)
    other = resolve_recipe(AudioSettings(format="wav", encoding="alaw", sample_rate=8000))
    assert cache.get(sha, other) is None
    assert cache.get("0" * 64, ULAW) is None
    assert entry_name(sha, ULAW, "x") != entry_name(sha, ULAW, "y")  # encoder versions key it too


@pytest.mark.parametrize("damage", ["truncate_bytes", "flip_byte", "delete_bytes", "bad_json",
                                    "delete_json", "json_wrong_shape"])
def test_damaged_entry_is_a_miss_and_gets_repaired(tmp_path, master, damage):
    path, sha = master
    cache = RenditionCache(tmp_path / "c")
    good = cache.ensure(path, sha, ULAW)
    meta = good.path.with_suffix(".json")
    if damage == "truncate_bytes":
        good.path.write_bytes(good.path.read_bytes()[:100])
    elif damage == "flip_byte":
        data = bytearray(good.path.read_bytes())
        data[-1] ^= 0xFF
        good.path.write_bytes(bytes(data))
    elif damage == "delete_bytes":
        good.path.unlink()
    elif damage == "bad_json":
        meta.write_text("{not json")
    elif damage == "delete_json":
        meta.unlink()
    else:
        meta.write_text(json.dumps({"sha256": good.sha256, "size": good.size, "facts": {"format": 3}}))
    assert cache.get(sha, ULAW) is None
    again = cache.ensure(path, sha, ULAW)
    assert again == good and cache.get(sha, ULAW) == good


def test_deleted_cache_only_costs_time(tmp_path, master):
    import shutil

    path, sha = master
    cache = RenditionCache(tmp_path / "c")
    first = cache.ensure(path, sha, ULAW)
    shutil.rmtree(cache.root)
    second = RenditionCache(tmp_path / "c").ensure(path, sha, ULAW)
    assert second == first


def test_a_master_edited_since_it_was_hashed_is_not_filed_under_the_old_hash(tmp_path, master):
    from reconciler.audio.errors import MasterChangedError

    path, sha = master
    write(path, sine(880, 1.0, 16000, dbfs=-20), 16000)  # edited after hashing
    cache = RenditionCache(tmp_path / "c")
    with pytest.raises(MasterChangedError, match="changed while reconciler was running"):
        cache.ensure(path, sha, ULAW)
    assert cache.get(sha, ULAW) is None and not any(cache.root.rglob("*.wav"))
