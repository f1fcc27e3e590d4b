"""The lockfile as evidence (issue 12, section 4): a newer format is named as
such, a missing header field or an entry on the wrong instance type is an error
naming it and the way out, and the audio facts of each asset are recorded while
old lockfiles without them still load."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w

from reconciler.errors import LockfileError, PlanError
from reconciler.lockfile import (
    LOCKFILE_VERSION,
    LockEntry,
    Lockfile,
    check_entry_types,
    read_lockfile,
)

ENTRY = {
    "instance": "local", "type": "directory", "remote_id": "welcome.wav", "name": "welcome",
    "sha256": "ab" * 32, "size": 10, "applied_at": "2024-01-01T00:00:00Z",
}


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "reconciler.lock"
    path.write_text(tomli_w.dumps(data))
    return path


def header(**kw) -> dict:
    return {"version": LOCKFILE_VERSION, "lineage": "l-1", "serial": 3, **kw}


def error(path: Path) -> str:
    before = path.read_bytes()
    with pytest.raises(LockfileError) as err:
        read_lockfile(path)
    assert path.read_bytes() == before
    return err.value.render()


@pytest.mark.parametrize("extra", [{}, {"new_field": "from the future"}])
def test_newer_format_says_so_even_with_fields_this_version_does_not_know(tmp_path, extra):
    path = write(tmp_path, header(version=LOCKFILE_VERSION + 1, **extra,
                                  assets={"local.welcome": {**ENTRY, "rendition": {"x": 1}}}))
    text = error(path)
    assert "written by a newer version of reconciler" in text
    assert f"format {LOCKFILE_VERSION + 1}, this one reads up to {LOCKFILE_VERSION}" in text
    assert "upgrade" in text.lower()
    assert "corrupt" not in text and "git checkout" not in text


@pytest.mark.parametrize("field", ["serial", "lineage", "version"])
def test_missing_header_field_is_named(tmp_path, field):
    data = header(assets={"local.welcome": ENTRY})
    del data[field]
    text = error(write(tmp_path, data))
    assert f"`{field}`" in text and str(tmp_path / "reconciler.lock") in text
    assert "git" in text  # the way out: restore it


@pytest.mark.parametrize(("field", "value"), [("serial", "3"), ("serial", -1), ("lineage", ""), ("version", True)])
def test_wrong_header_value_is_named(tmp_path, field, value):
    text = error(write(tmp_path, header(**{field: value})))
    assert f"`{field}`" in text


def test_bad_entry_is_named(tmp_path):
    text = error(write(tmp_path, header(assets={"local.welcome": {**ENTRY, "size": "ten"}})))
    assert "local.welcome" in text and "size" in text


def test_entry_on_another_instance_than_its_address_is_named(tmp_path):
    text = error(write(tmp_path, header(assets={"local.welcome": {**ENTRY, "instance": "other"}})))
    assert "local.welcome" in text and "'other'" in text


def test_entry_type_must_match_its_instance():
    lock = Lockfile(lineage="l", serial=1, assets={
        "local.welcome": LockEntry(**ENTRY),
        "local.hold": LockEntry(**{**ENTRY, "type": "soniox", "remote_id": "1", "name": "hold"}),
    })
    with pytest.raises(PlanError) as err:
        check_entry_types(lock, {"local": "directory"}, lockfile="reconciler.lock")
    text = err.value.render()
    assert "local.hold" in text and "soniox" in text and "directory" in text
    assert "local.welcome" not in text.split("\n")[0]
    assert "state rm" in text  # the way out
    check_entry_types(lock, {"other": "directory"}, lockfile="reconciler.lock")  # unknown instances: not here


def test_audio_facts_round_trip_and_old_entries_load(tmp_path):
    facts = {"duration": 1.25, "sample_rate": 8000, "channels": 1, "format": "wav"}
    path = write(tmp_path, header(assets={"local.welcome": {**ENTRY, **facts}, "local.old": {**ENTRY, "name": "old"}}))
    lock = read_lockfile(path)
    new, old = lock.assets["local.welcome"], lock.assets["local.old"]
    assert (new.duration, new.sample_rate, new.channels, new.format) == (1.25, 8000, 1, "wav")
    assert (old.duration, old.sample_rate, old.channels, old.format) == (None, None, None, None)
