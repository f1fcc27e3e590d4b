"""The planner's safety rules on plain data (issue 12, section 1): the mass-delete
guard counts every destructive action and still returns the refused plan; a
remote id that moves (file-name ids: a new format or a new name) is announced."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.audio import AudioInfo
from reconciler.errors import ConflictError
from reconciler.model import Desired, DesiredAsset, DesiredInstance
from reconciler.plan import Action, ReplaceStrategy
from reconciler.providers.base import Capabilities
from reconciler.providers.settings import ProviderSettings
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from tests.unit.test_planner import (
    FULL,
    INST,
    SHA_A,
    SHA_B,
    TYPE,
    entry,
    lock,
    observed,
    remote,
    run,
)

# a folder-like provider: the remote id is `<name>.<ext>`, overwrite keeps it when neither moves
FILES = FULL.model_copy(update={"can_overwrite": True, "id_is_filename": True})
# wolkvox-like: file-name ids, overwrite, but no delete
NO_DELETE_FILES = FILES.model_copy(update={"can_delete": False, "can_rename": False, "can_describe": False})


def audio_asset(key: str, fmt: str, *, sha: str = SHA_A, name: str | None = None) -> DesiredAsset:
    return DesiredAsset(
        address=f"{INST}.{key}", instance=INST, key=key, name=name or key, sha256=sha, size=1000,
        audio=AudioInfo(format=fmt, duration=1.0, sample_rate=8000, channels=1),
    )


def desired_with(*assets: DesiredAsset, **settings) -> Desired:
    return Desired(
        config_path=Path("reconciler.toml"), lockfile_path=Path("reconciler.lock"),
        instances={INST: DesiredInstance(name=INST, type=TYPE, settings=ProviderSettings(type=TYPE, **settings),
                                         assets={a.address: a for a in assets})},
    )


# --- the mass-delete guard ------------------------------------------------------

def strays(n: int):
    return [remote(f"stray{i}.wav", f"stray{i}", sha=SHA_B) for i in range(n)]


def test_prune_deletes_are_refused_under_max_deletes_and_the_plan_is_kept():
    d = desired_with(audio_asset("welcome", "wav"), prune=True, max_deletes=1)
    p = run(d, lock(), observed(*strays(50)), FILES)
    assert p.summary.delete == 50  # the plan is whole: it shows what --force would do
    assert len(p.refused) == 1
    assert "instance box: 50 of 50 assets" in p.refused[0] and "max_deletes = 1" in p.refused[0]
    assert "--force" in p.refused[0]
    forced = run(d, lock(), observed(*strays(50)), FILES, force=True)
    assert forced.refused == [] and forced.summary.delete == 50


def test_prune_deletes_count_in_the_percentage():
    d = desired_with(audio_asset("welcome", "wav"), prune=True)
    p = run(d, lock(), observed(*strays(12)), FILES)
    assert p.refused and "(100%)" in p.refused[0] and "max_delete_percent = 30%" in p.refused[0]
    assert run(d, lock(), observed(*strays(2)), FILES).refused == []  # 2 of 2: under 10 at stake


def test_replaces_count_including_overwrites():
    assets = [audio_asset(f"a{i}", "wav", sha=SHA_B) for i in range(3)]
    entries = [entry(f"a{i}", remote_id=f"a{i}.wav") for i in range(3)]
    remotes = [remote(f"a{i}.wav", f"a{i}") for i in range(3)]
    p = run(desired_with(*assets, max_deletes=2), lock(*entries), observed(*remotes), FILES)
    assert p.summary.replace == 3
    assert {c.strategy for c in p.changes} == {ReplaceStrategy.OVERWRITE}
    assert p.refused and "3 of 3 managed assets would be replaced, over max_deletes = 2" in p.refused[0]


def test_refused_plan_is_rendered_with_the_refusal():
    d = desired_with(audio_asset("welcome", "wav"), prune=True, max_deletes=0)
    p = run(d, lock(), observed(*strays(1)), FILES)
    assert "This plan is refused by the mass-delete guard" in render_text(p)
    assert "- box:stray0.wav" in render_text(p)
    md = render_markdown(p)
    assert "**This plan is refused by the mass-delete guard.**" in md and "max_deletes = 0" in md


# --- remote ids that move -------------------------------------------------------

def test_format_change_on_file_name_ids_is_an_announced_id_change():
    d = desired_with(audio_asset("goodbye", "au", sha=SHA_B))
    p = run(d, lock(entry("goodbye", remote_id="goodbye.wav")), observed(remote("goodbye.wav", "goodbye")), FILES)
    c = p.changes[0]
    assert c.action is Action.REPLACE and c.remote_id_changes and c.new_remote_id == "goodbye.au"
    assert not any("same remote id" in n for n in c.notes)
    assert any("remote id goodbye.wav will change to goodbye.au" in n for n in c.notes)
    assert "! the remote id goodbye.wav will change to goodbye.au" in render_text(p)
    md = render_markdown(p)
    assert "> [!CAUTION]" in md and "`goodbye.wav` → `goodbye.au`" in md


def test_same_format_overwrite_keeps_the_id_and_says_nothing_loud():
    d = desired_with(audio_asset("goodbye", "wav", sha=SHA_B))
    p = run(d, lock(entry("goodbye", remote_id="goodbye.wav")), observed(remote("goodbye.wav", "goodbye")), FILES)
    c = p.changes[0]
    assert c.strategy is ReplaceStrategy.OVERWRITE and not c.remote_id_changes and c.new_remote_id is None
    assert "[!CAUTION]" not in render_markdown(p)


def test_format_change_without_delete_leaves_the_old_file_as_a_manual_step():
    d = desired_with(audio_asset("goodbye", "mp3", sha=SHA_B))
    r = remote("goodbye.wav", "goodbye", sha=None, size=None)
    p = run(d, lock(entry("goodbye", remote_id="goodbye.wav")), observed(r), NO_DELETE_FILES)
    c = p.changes[0]
    assert c.strategy is ReplaceStrategy.CREATE_THEN_MANUAL and c.remote_id_changes
    assert c.new_remote_id == "goodbye.mp3"


def test_rename_on_file_name_ids_announces_the_new_id():
    d = desired_with(audio_asset("goodbye", "wav", name="farewell"))
    p = run(d, lock(entry("goodbye", remote_id="goodbye.wav")), observed(remote("goodbye.wav", "goodbye")), FILES)
    c = p.changes[0]
    assert c.action is Action.UPDATE and c.remote_id_changes and c.new_remote_id == "farewell.wav"
    assert "`goodbye.wav` → `farewell.wav`" in render_markdown(p)


def test_new_id_taken_by_unmanaged_other_content_is_a_conflict():
    d = desired_with(audio_asset("goodbye", "au", sha=SHA_B))
    remotes = [remote("goodbye.wav", "goodbye"), remote("goodbye.au", "goodbye", sha="c" * 64)]
    with pytest.raises(ConflictError, match="goodbye.au"):
        run(d, lock(entry("goodbye", remote_id="goodbye.wav")), observed(*remotes), FILES)
    # our own bytes already there (a crash after the write): not a conflict
    remotes[1] = remote("goodbye.au", "goodbye", sha=SHA_B)
    assert run(d, lock(entry("goodbye", remote_id="goodbye.wav")), observed(*remotes), FILES).changes


def test_assigned_ids_are_not_predicted():
    caps = Capabilities(**{**FULL.model_dump(), "can_overwrite": False})
    d = desired_with(audio_asset("goodbye", "au", sha=SHA_B))
    p = run(d, lock(entry("goodbye")), observed(remote("id-goodbye", "goodbye")), caps)
    c = p.changes[0]
    assert c.remote_id_changes and c.new_remote_id is None


