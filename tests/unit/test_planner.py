"""The planner on plain data: every row of the DESIGN.md planning table, the
drift cases, the safety rules. No files, no HTTP, no providers — only values
typed out by hand and `reconciler.planner.plan`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.audio import AudioInfo
from reconciler.errors import ConflictError, PlanError, UnsafePlanError
from reconciler.lockfile import LockEntry, Lockfile
from reconciler.model import Desired, DesiredAsset, DesiredInstance, ObservedInstance, RemoteAsset
from reconciler.plan import Action, ReplaceStrategy
from reconciler.planner import plan
from reconciler.providers.base import Capabilities
from reconciler.providers.settings import ProviderSettings

INST = "box"
TYPE = "fake"

SHA_A = "a" * 64
SHA_B = "b" * 64
SHA_C = "c" * 64

# A provider that lists everything (like `directory`), unless a test says otherwise.
FULL = Capabilities(
    can_list=True, can_rename=True, can_describe=True, can_delete=True,
    lists_sha256=True, lists_size=True, lists_description=True,
)


def asset(key: str, *, sha: str = SHA_A, size: int = 1000, name: str | None = None,
          description: str = "", protect: bool = False, duration: float | None = 1.0,
          instance: str = INST) -> DesiredAsset:
    return DesiredAsset(
        address=f"{instance}.{key}", instance=instance, key=key, name=name or key,
        description=description, protect=protect, sha256=sha, size=size,
        audio=AudioInfo(format="wav", duration=duration, sample_rate=8000, channels=1),
    )


def entry(key: str, *, remote_id: str | None = None, sha: str = SHA_A, size: int = 1000,
          name: str | None = None, description: str = "", protect: bool = False,
          superseded: list[str] | None = None, instance: str = INST) -> tuple[str, LockEntry]:
    return f"{instance}.{key}", LockEntry(
        instance=instance, type=TYPE, remote_id=remote_id or f"id-{key}", name=name or key,
        description=description, sha256=sha, size=size, applied_at="2024-01-01T00:00:00Z",
        protect=protect, superseded=superseded or [],
    )


def remote(remote_id: str, name: str, *, sha: str | None = SHA_A, size: int | None = 1000,
           description: str | None = "", duration: float | None = None) -> RemoteAsset:
    return RemoteAsset(remote_id=remote_id, name=name, sha256=sha, size=size,
                       description=description, duration=duration)


def desired(*assets: DesiredAsset, prune: bool = False, instance: str = INST) -> Desired:
    settings = ProviderSettings(type=TYPE, prune=prune)
    return Desired(
        config_path=Path("reconciler.toml"),
        lockfile_path=Path("reconciler.lock"),
        instances={instance: DesiredInstance(name=instance, type=TYPE, settings=settings,
                                             assets={a.address: a for a in assets})},
    )


def lock(*entries: tuple[str, LockEntry]) -> Lockfile:
    return Lockfile(lineage="test", serial=1, assets=dict(entries))


def observed(*remotes: RemoteAsset) -> dict[str, ObservedInstance]:
    return {INST: ObservedInstance(assets=tuple(remotes))}


def run(d: Desired, r: Lockfile, o: dict[str, ObservedInstance], caps: Capabilities = FULL,
        **kw):
    return plan(d, r, o, {name: caps for name in d.instances}, **kw)


def only(p, action: Action | None = None):
    """The single non-noop change of a plan."""
    changes = [c for c in p.changes if c.action is not Action.NOOP]
    assert len(changes) == 1, changes
    if action is not None:
        assert changes[0].action is action, changes[0]
    return changes[0]


# --- nothing differs --------------------------------------------------------

def test_in_sync_is_noop():
    p = run(desired(asset("welcome")), lock(entry("welcome")), observed(remote("id-welcome", "welcome")))
    assert [c.action for c in p.changes] == [Action.NOOP]
    assert not p.has_changes
    assert p.drift == [] and p.warnings == []


# --- desired, not recorded ----------------------------------------------------

def test_create_when_name_is_free():
    p = run(desired(asset("welcome", description="hi")), lock(), observed(remote("other.wav", "other", sha=SHA_B)))
    c = only(p, Action.CREATE)
    assert c.address == "box.welcome" and c.reason == "not_recorded"
    assert c.remote_id is None and c.before is None
    assert c.after.name == "welcome" and c.after.sha256 == SHA_A and c.after.description == "hi"
    assert c.depends_on == []
    assert p.summary.create == 1 and p.has_changes


def test_adopt_by_sha256():
    p = run(desired(asset("welcome")), lock(), observed(remote("r1", "welcome", sha=SHA_A, size=999)))
    c = only(p, Action.ADOPT)
    assert c.remote_id == "r1"
    assert any("checked by sha256" in n for n in c.notes)
    assert not any("only" in n for n in c.notes)
    # the adopted remote is not also reported as unmanaged
    assert p.drift == []


def test_adopt_by_size_says_so():
    p = run(desired(asset("welcome", size=1234)), lock(),
            observed(remote("r1", "welcome", sha=None, size=1234)))
    c = only(p, Action.ADOPT)
    assert any("checked by size" in n for n in c.notes)
    assert any("size only" in n for n in c.notes)


def test_adopt_by_duration_says_so():
    p = run(desired(asset("welcome", duration=2.0)), lock(),
            observed(remote("r1", "welcome", sha=None, size=None, duration=2.1)))
    c = only(p, Action.ADOPT)
    assert any("checked by duration" in n for n in c.notes)
    assert any("duration only" in n for n in c.notes)


def test_duration_outside_tolerance_is_a_conflict():
    with pytest.raises(ConflictError, match="different content"):
        run(desired(asset("welcome", duration=2.0)), lock(),
            observed(remote("r1", "welcome", sha=None, size=None, duration=3.0)))


def test_name_taken_by_other_content_is_a_conflict_with_the_way_out():
    with pytest.raises(ConflictError) as err:
        run(desired(asset("welcome")), lock(), observed(remote("r9", "welcome", sha=SHA_B)))
    msg = str(err.value)
    assert "box.welcome" in msg and "r9" in msg and "different content" in msg
    assert "reconciler import box.welcome r9" in msg
    assert "name" in msg  # rename is offered too


def test_size_mismatch_is_a_conflict():
    with pytest.raises(ConflictError, match="checked by size"):
        run(desired(asset("welcome", size=10)), lock(), observed(remote("r9", "welcome", sha=None, size=11)))


def test_content_not_comparable_is_a_conflict():
    with pytest.raises(ConflictError, match="cannot be compared"):
        run(desired(asset("welcome", duration=None)), lock(),
            observed(remote("r9", "welcome", sha=None, size=None, duration=None)))


# --- recorded, remote gone ------------------------------------------------------

def test_recorded_but_deleted_remotely_is_created_again_as_drift():
    p = run(desired(asset("welcome")), lock(entry("welcome")), observed())
    c = only(p, Action.CREATE)
    assert c.reason == "remote_missing"
    assert c.drift == ["deleted"]
    assert [(d.address, d.kind) for d in p.drift] == [("box.welcome", "deleted")]
    assert "id-welcome" in p.drift[0].detail


# --- content changed ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("caps", "strategy"),
    [
        ({"can_overwrite": True}, ReplaceStrategy.OVERWRITE),
        ({"unique_names": False}, ReplaceStrategy.CREATE_BEFORE_DESTROY),
        ({"unique_names": True, "can_rename": True}, ReplaceStrategy.TEMP_NAME),
        ({"unique_names": True, "can_rename": False}, ReplaceStrategy.DESTROY_BEFORE_CREATE),
        ({"can_delete": False}, ReplaceStrategy.CREATE_THEN_MANUAL),
    ],
)
def test_local_content_change_replaces_with_strategy_from_capabilities(caps, strategy):
    capabilities = FULL.model_copy(update=caps)
    p = run(desired(asset("welcome", sha=SHA_B, size=2000)), lock(entry("welcome")),
            observed(remote("id-welcome", "welcome")), capabilities)
    c = only(p, Action.REPLACE)
    assert c.reason == "content_changed"
    assert c.strategy is strategy
    assert c.remote_id == "id-welcome"
    assert c.before.sha256 == SHA_A and c.after.sha256 == SHA_B
    assert c.before.size == 1000 and c.after.size == 2000
    id_changes = [n for n in c.notes if "remote id id-welcome will change" in n]
    assert bool(id_changes) is (strategy is not ReplaceStrategy.OVERWRITE)
    assert p.summary.replace == 1


# --- name / description -------------------------------------------------------------

def test_description_changed_locally_is_an_update():
    p = run(desired(asset("welcome", description="new")), lock(entry("welcome", description="old")),
            observed(remote("id-welcome", "welcome", description="old")))
    c = only(p, Action.UPDATE)
    assert c.reason == "attributes_changed" and c.remote_id == "id-welcome"
    assert (c.before.description, c.after.description) == ("old", "new")
    assert c.drift == [] and p.drift == []


def test_name_changed_locally_is_an_update():
    p = run(desired(asset("welcome", name="hello")), lock(entry("welcome")),
            observed(remote("id-welcome", "welcome")))
    c = only(p, Action.UPDATE)
    assert (c.before.name, c.after.name) == ("welcome", "hello")


def test_rename_without_rename_capability_replaces_and_says_why():
    caps = FULL.model_copy(update={"can_rename": False})
    p = run(desired(asset("welcome", name="hello")), lock(entry("welcome")),
            observed(remote("id-welcome", "welcome")), caps)
    c = only(p, Action.REPLACE)
    assert c.reason == "cannot_update_in_place"
    assert any("cannot rename in place" in n for n in c.notes)
    assert c.strategy is ReplaceStrategy.DESTROY_BEFORE_CREATE


def test_description_without_describe_capability_replaces_and_says_why():
    caps = FULL.model_copy(update={"can_describe": False})
    p = run(desired(asset("welcome", description="new")), lock(entry("welcome")),
            observed(remote("id-welcome", "welcome")), caps)
    c = only(p, Action.REPLACE)
    assert c.reason == "cannot_update_in_place"
    assert any("cannot change a description in place" in n for n in c.notes)


# --- orphans ------------------------------------------------------------------------------

def test_orphan_is_deleted():
    p = run(desired(), lock(entry("old")), observed(remote("id-old", "old")))
    c = only(p, Action.DELETE)
    assert c.address == "box.old" and c.reason == "not_declared"
    assert c.remote_id == "id-old" and not c.forget_only
    assert c.before.name == "old" and c.after is None
    assert p.summary.delete == 1


def test_orphan_without_delete_capability_is_manual():
    caps = FULL.model_copy(update={"can_delete": False})
    p = run(desired(), lock(entry("old")), observed(remote("id-old", "old")), caps)
    c = only(p, Action.MANUAL)
    assert any("by hand" in n for n in c.notes)
    assert not p.has_changes  # a person must act; the tool will not
    assert p.summary.manual == 1


def test_orphan_already_gone_only_forgets_the_record():
    p = run(desired(), lock(entry("old")), observed())
    c = only(p, Action.DELETE)
    assert c.forget_only
    assert any("already gone" in n for n in c.notes)


# --- unmanaged ----------------------------------------------------------------------------

def test_unmanaged_is_listed_and_untouched():
    p = run(desired(asset("welcome")), lock(entry("welcome")),
            observed(remote("id-welcome", "welcome"), remote("stray.wav", "stray", sha=SHA_C)))
    assert not p.has_changes
    assert [(d.kind, d.address) for d in p.drift] == [("unmanaged", "box:stray.wav")]
    assert "stray" in p.drift[0].detail


def test_unmanaged_is_deleted_with_prune():
    p = run(desired(asset("welcome"), prune=True), lock(entry("welcome")),
            observed(remote("id-welcome", "welcome"), remote("stray.wav", "stray", sha=SHA_C)))
    c = only(p, Action.DELETE)
    assert c.reason == "unmanaged_prune" and c.remote_id == "stray.wav"
    assert p.drift == []


def test_prune_without_delete_capability_is_manual():
    caps = FULL.model_copy(update={"can_delete": False})
    p = run(desired(prune=True), lock(), observed(remote("stray.wav", "stray")), caps)
    assert only(p, Action.MANUAL).reason == "unmanaged_prune"


# --- protect ---------------------------------------------------------------------------------

def test_protected_asset_cannot_be_replaced():
    with pytest.raises(UnsafePlanError, match=r"box\.welcome is protected and would be replaced"):
        run(desired(asset("welcome", sha=SHA_B, protect=True)), lock(entry("welcome")),
            observed(remote("id-welcome", "welcome")))


def test_protected_asset_cannot_be_replaced_for_lack_of_rename():
    caps = FULL.model_copy(update={"can_rename": False})
    with pytest.raises(UnsafePlanError, match="protected"):
        run(desired(asset("welcome", name="hello", protect=True)), lock(entry("welcome", protect=True)),
            observed(remote("id-welcome", "welcome")), caps)


def test_recorded_protect_blocks_deleting_an_orphan():
    with pytest.raises(UnsafePlanError, match=r"box\.old is protected and would be deleted"):
        run(desired(), lock(entry("old", protect=True)), observed(remote("id-old", "old")))


def test_protected_asset_may_still_be_updated_in_place():
    p = run(desired(asset("welcome", description="new", protect=True)),
            lock(entry("welcome", protect=True)), observed(remote("id-welcome", "welcome")))
    c = only(p, Action.UPDATE)
    assert c.protect


def test_protect_outside_the_targets_does_not_block():
    p = run(desired(asset("welcome"), asset("other", sha=SHA_B)),
            lock(entry("old", protect=True)), observed(remote("id-old", "old")),
            targets=["box.welcome"])
    assert [c.address for c in p.changes] == ["box.welcome"]


# --- superseded (interrupted replace) --------------------------------------------------------------

def test_superseded_ids_are_deleted():
    p = run(desired(asset("welcome")), lock(entry("welcome", remote_id="new", superseded=["old"])),
            observed(remote("new", "welcome"), remote("old", "welcome")))
    c = only(p, Action.DELETE)
    assert c.reason == "superseded" and c.remote_id == "old" and not c.forget_only
    # the superseded remote is claimed, not reported as unmanaged or as a name conflict
    assert p.drift == []


def test_superseded_id_already_gone_only_clears_the_record():
    p = run(desired(asset("welcome")), lock(entry("welcome", remote_id="new", superseded=["old"])),
            observed(remote("new", "welcome")))
    c = only(p, Action.DELETE)
    assert c.forget_only


def test_superseded_without_delete_capability_is_manual():
    caps = FULL.model_copy(update={"can_delete": False})
    p = run(desired(asset("welcome")), lock(entry("welcome", remote_id="new", superseded=["old"])),
            observed(remote("new", "welcome"), remote("old", "welcome")), caps)
    assert only(p, Action.MANUAL).reason == "superseded"


# --- drift --------------------------------------------------------------------------------------------

def test_drift_renamed_in_console_is_put_back():
    p = run(desired(asset("welcome")), lock(entry("welcome")),
            observed(remote("id-welcome", "Welcome (copy)")))
    c = only(p, Action.UPDATE)
    assert c.drift == ["renamed"]
    assert (c.before.name, c.after.name) == ("Welcome (copy)", "welcome")
    assert any("put back" in n for n in c.notes)
    assert [(d.kind, d.address) for d in p.drift] == [("renamed", "box.welcome")]


def test_drift_description_edited_is_put_back():
    p = run(desired(asset("welcome", description="Main")), lock(entry("welcome", description="Main")),
            observed(remote("id-welcome", "welcome", description="edited")))
    c = only(p, Action.UPDATE)
    assert c.drift == ["description_edited"]
    assert (c.before.description, c.after.description) == ("edited", "Main")


def test_description_not_reported_is_not_drift():
    p = run(desired(asset("welcome", description="Main")), lock(entry("welcome", description="Main")),
            observed(remote("id-welcome", "welcome", description=None)))
    assert not p.has_changes and p.drift == []


def test_drift_content_changed_by_sha_replaces():
    p = run(desired(asset("welcome")), lock(entry("welcome")),
            observed(remote("id-welcome", "welcome", sha=SHA_C)))
    c = only(p, Action.REPLACE)
    assert c.reason == "remote_content_changed"
    assert c.drift == ["content_changed"]
    assert (c.before.sha256, c.after.sha256) == (SHA_C, SHA_A)


def test_drift_size_changed_replaces_when_no_hash_is_listed():
    p = run(desired(asset("welcome")), lock(entry("welcome")),
            observed(remote("id-welcome", "welcome", sha=None, size=5)))
    c = only(p, Action.REPLACE)
    assert c.drift == ["size_changed"]
    assert [d.kind for d in p.drift] == ["size_changed"]


def test_several_kinds_of_drift_at_once():
    p = run(desired(asset("welcome", description="d")), lock(entry("welcome", description="d")),
            observed(remote("id-welcome", "renamed", description="x")))
    c = only(p, Action.UPDATE)
    assert c.drift == ["renamed", "description_edited"]


# --- providers that cannot list -----------------------------------------------------------------------

def test_provider_that_cannot_list_warns_and_creates_unchecked():
    caps = FULL.model_copy(update={"can_list": False})
    p = run(desired(asset("welcome")), lock(), {INST: ObservedInstance(assets=None)}, caps)
    c = only(p, Action.CREATE)
    assert any("cannot list" in n for n in c.notes)
    assert any("cannot list" in w and "box" in w for w in p.warnings)


def test_unlisted_instance_keeps_recorded_assets_without_drift():
    p = run(desired(asset("welcome")), lock(entry("welcome")), {INST: ObservedInstance(assets=None)})
    assert not p.has_changes and p.drift == []
    assert any("not checked" in w for w in p.warnings)


def test_missing_observation_is_treated_as_unlisted():
    p = run(desired(asset("welcome")), lock(entry("welcome")), {})
    assert not p.has_changes
    assert any("cannot list" in w for w in p.warnings)


def test_observed_warnings_are_passed_through():
    obs = {INST: ObservedInstance(assets=(), warnings=("compared sizes only",))}
    p = run(desired(), lock(), obs)
    assert "compared sizes only" in p.warnings


# --- targets ----------------------------------------------------------------------------------------------

def test_targets_limit_the_plan_and_warn():
    d = desired(asset("a"), asset("b"), asset("c"))
    p = run(d, lock(), observed(), targets=["box.b"])
    assert [c.address for c in p.changes] == ["box.b"]
    assert p.targets == ["box.b"]
    assert any("--target" in w for w in p.warnings)


def test_target_glob_matches_an_instance():
    d = desired(asset("a"), asset("b"))
    p = run(d, lock(), observed(), targets=["box.*"])
    assert sorted(c.address for c in p.changes) == ["box.a", "box.b"]
    p = run(d, lock(), observed(), targets=["nope.*"])
    assert p.changes == []


def test_conflict_outside_the_targets_does_not_stop_the_plan():
    d = desired(asset("a"), asset("b"))
    p = run(d, lock(), observed(remote("r", "b", sha=SHA_C)), targets=["box.a"])
    assert [c.address for c in p.changes] == ["box.a"]


# --- lockfile vs config --------------------------------------------------------------------------------------

def test_lockfile_instance_missing_from_config_is_an_error():
    r = lock(entry("old", instance="gone"))
    with pytest.raises(PlanError, match="gone") as err:
        run(desired(), r, observed())
    assert "gone.old" in str(err.value)
    assert "state rm" in err.value.render()


# --- ordering --------------------------------------------------------------------------------------------------

def test_new_asset_taking_an_orphans_name_waits_for_the_delete():
    # key renamed: box.old (name "welcome") is orphaned, box.new wants the name "welcome"
    p = run(desired(asset("new", name="welcome")), lock(entry("old", name="welcome", remote_id="w")),
            observed(remote("w", "welcome")))
    by_addr = {c.address: c for c in p.changes}
    assert by_addr["box.old"].action is Action.DELETE
    assert by_addr["box.new"].action is Action.CREATE
    assert by_addr["box.new"].depends_on == ["box.old"]
    assert by_addr["box.old"].depends_on == []


def test_no_dependency_where_names_may_coexist():
    caps = FULL.model_copy(update={"unique_names": False})
    p = run(desired(asset("new", name="welcome")), lock(entry("old", name="welcome", remote_id="w")),
            observed(remote("w", "welcome")), caps)
    assert {c.address: c.depends_on for c in p.changes} == {"box.old": [], "box.new": []}


# --- several instances --------------------------------------------------------------------------------------------

def test_instances_are_planned_with_their_own_capabilities():
    d = desired(asset("a", sha=SHA_B))
    d.instances["two"] = DesiredInstance(
        name="two", type=TYPE, settings=ProviderSettings(type=TYPE),
        assets={"two.a": asset("a", sha=SHA_B, instance="two")},
    )
    r = lock(entry("a"), entry("a", instance="two"))
    o = {INST: ObservedInstance(assets=(remote("id-a", "a"),)),
         "two": ObservedInstance(assets=(remote("id-a", "a"),))}
    caps = {INST: FULL.model_copy(update={"can_overwrite": True}), "two": FULL}
    p = plan(d, r, o, caps)
    strategies = {c.address: c.strategy for c in p.changes}
    assert strategies == {"box.a": ReplaceStrategy.OVERWRITE, "two.a": ReplaceStrategy.TEMP_NAME}


# --- protect reaches the lockfile ------------------------------------------------------------------

def test_protect_added_to_an_in_sync_asset_is_recorded():
    # otherwise the lockfile never learns it, and deleting the asset from the
    # config later would not be stopped
    p = run(desired(asset("welcome", protect=True)), lock(entry("welcome")),
            observed(remote("id-welcome", "welcome")))
    c = only(p, Action.UPDATE)
    assert c.reason == "protect_changed" and c.protect
    assert any("lockfile" in n for n in c.notes)


def test_protect_removed_is_recorded_so_the_asset_can_later_be_deleted():
    p = run(desired(asset("welcome")), lock(entry("welcome", protect=True)),
            observed(remote("id-welcome", "welcome")))
    c = only(p, Action.UPDATE)
    assert c.reason == "protect_changed" and not c.protect


def test_config_decides_protect_for_a_declared_asset():
    # removing `protect = true` and changing the audio in one go is allowed,
    # as the error's own hint ("Remove `protect = true`") promises
    p = run(desired(asset("welcome", sha=SHA_B)), lock(entry("welcome", protect=True)),
            observed(remote("id-welcome", "welcome")))
    assert only(p, Action.REPLACE).reason == "content_changed"


def test_record_outdated_when_the_remote_already_matches():
    # an apply killed between a description update and its lockfile record
    p = run(desired(asset("welcome", description="new")), lock(entry("welcome", description="old")),
            observed(remote("id-welcome", "welcome", description="new")))
    c = only(p, Action.UPDATE)
    assert c.reason == "record_outdated"
    assert any("description: 'old' -> 'new'" in n and "no provider call" in n for n in c.notes)
    assert (c.before.name, c.before.description) == (c.after.name, c.after.description)


def test_target_brings_the_delete_that_frees_its_name():
    # --target box.new alone would create into a name the orphan still holds
    p = run(desired(asset("new", name="welcome")), lock(entry("old", name="welcome", remote_id="w")),
            observed(remote("w", "welcome")), targets=["box.new"])
    assert sorted((c.address, c.action) for c in p.changes) == [
        ("box.new", Action.CREATE), ("box.old", Action.DELETE)]


def test_target_brings_a_protected_dependency_and_its_refusal():
    with pytest.raises(UnsafePlanError, match=r"box\.old is protected"):
        run(desired(asset("new", name="welcome")),
            lock(entry("old", name="welcome", remote_id="w", protect=True)),
            observed(remote("w", "welcome")), targets=["box.new"])
