"""`ignore` (unmanaged remote names) and `ignore_changes` (name, description) on
plain data: the planner and `drift.detect`, no files, no HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.audio import AudioInfo
from reconciler.drift import Policy, detect
from reconciler.errors import ConflictError
from reconciler.lockfile import LockEntry, Lockfile
from reconciler.model import Desired, DesiredAsset, DesiredInstance, ObservedInstance, RemoteAsset
from reconciler.plan import Action
from reconciler.planner import plan
from reconciler.providers.base import Capabilities
from reconciler.providers.settings import ProviderSettings

INST = "box"
SHA, SHA2 = "a" * 64, "b" * 64
FULL = Capabilities(can_rename=True, can_describe=True, lists_sha256=True, lists_size=True, lists_description=True)
NO_DESCRIBE = Capabilities(can_rename=True, can_describe=False, lists_sha256=True, lists_size=True)


def asset(key: str, *, sha: str = SHA, name: str | None = None, description: str = "",
          ignore: tuple[str, ...] = ()) -> DesiredAsset:
    return DesiredAsset(
        address=f"{INST}.{key}", instance=INST, key=key, name=name or key, description=description,
        sha256=sha, size=10, ignore_changes=ignore,
        audio=AudioInfo(format="wav", duration=1.0, sample_rate=8000, channels=1),
    )


def entry(key: str, *, name: str | None = None, description: str = "", sha: str = SHA) -> tuple[str, LockEntry]:
    return f"{INST}.{key}", LockEntry(
        instance=INST, type="fake", remote_id=f"id-{key}", name=name or key, description=description,
        sha256=sha, size=10, applied_at="2024-01-01T00:00:00Z",
    )


def remote(rid: str, name: str, *, description: str | None = "", sha: str = SHA) -> RemoteAsset:
    return RemoteAsset(remote_id=rid, name=name, description=description, sha256=sha, size=10)


def run(assets, entries, remotes, *, caps=FULL, prune=False, ignore=(), ignore_changes=()):
    settings = ProviderSettings(type="fake", prune=prune, ignore=list(ignore), ignore_changes=list(ignore_changes))
    d = Desired(
        config_path=Path("r.toml"), lockfile_path=Path("r.lock"),
        instances={INST: DesiredInstance(name=INST, type="fake", settings=settings,
                                         assets={a.address: a for a in assets})},
    )
    lock = Lockfile(lineage="t", serial=1, assets=dict(entries))
    return plan(d, lock, {INST: ObservedInstance(assets=tuple(remotes))}, {INST: caps})


def acting(p):
    return [c for c in p.changes if c.action is not Action.NOOP]


# --- ignore: unmanaged remote assets ----------------------------------------------------------
@pytest.mark.parametrize("prune", [False, True])
def test_ignored_unmanaged_assets_are_neither_drift_nor_pruned(prune):
    remotes = [remote("id-a", "a"), remote("t1", "tmp-1"), remote("l1", "legacy/x"), remote("o1", "other")]
    p = run([asset("a")], [entry("a")], remotes, prune=prune, ignore=["tmp-*", "legacy/*"])
    touched = {c.remote_id for c in acting(p)} | {d.address for d in p.drift}
    assert not touched & {"t1", "l1", f"{INST}:t1", f"{INST}:l1"}
    # what no pattern matches is still reported (and pruned with prune = true)
    if prune:
        assert [(c.action, c.remote_id) for c in acting(p)] == [(Action.DELETE, "o1")]
    else:
        assert [d.address for d in p.drift] == [f"{INST}:o1"] and not acting(p)


def test_ignore_matches_whole_names_case_sensitively():
    p = run([], [], [remote("x", "TMP-1"), remote("y", "my-tmp-1")], ignore=["tmp-*"])
    assert sorted(d.address for d in p.drift) == [f"{INST}:x", f"{INST}:y"]


def test_ignore_never_hides_a_conflict_with_a_declared_name():
    with pytest.raises(ConflictError):
        run([asset("tmp-a", sha=SHA)], [], [remote("r", "tmp-a", sha=SHA2)], ignore=["tmp-*"])


def test_ignore_does_not_apply_to_managed_assets():
    p = run([], [entry("tmp-a")], [remote("id-tmp-a", "tmp-a")], ignore=["tmp-*"])
    assert [(c.action, c.address) for c in acting(p)] == [(Action.DELETE, f"{INST}.tmp-a")]


# --- ignore_changes -----------------------------------------------------------------------------
def test_console_edited_description_is_left_alone_and_is_not_drift():
    p = run([asset("a", description="cfg", ignore=("description",))], [entry("a", description="cfg")],
            [remote("id-a", "a", description="edited in the console")])
    assert acting(p) == [] and p.drift == []


def test_local_description_edit_is_ignored_too():
    p = run([asset("a", description="new", ignore=("description",))], [entry("a", description="old")],
            [remote("id-a", "a", description="old")])
    assert acting(p) == []


def test_without_ignore_changes_the_same_edit_is_an_update_and_drift():
    p = run([asset("a", description="cfg")], [entry("a", description="cfg")],
            [remote("id-a", "a", description="edited")])
    assert [c.action for c in acting(p)] == [Action.UPDATE]
    assert [d.kind for d in p.drift] == ["description_edited"]


def test_ignored_description_is_kept_by_a_rename_update():
    """A rename still happens; the update carries the remote's description, not the config's."""
    p = run([asset("a", name="new-name", description="cfg", ignore=("description",))],
            [entry("a", description="cfg")], [remote("id-a", "a", description="console")])
    (c,) = acting(p)
    assert c.action is Action.UPDATE and c.after.name == "new-name" and c.after.description == "console"


def test_ignored_name_no_rename_and_no_replace_where_rename_is_impossible():
    caps = Capabilities(can_rename=False, can_describe=False, lists_sha256=True, lists_size=True)
    p = run([asset("a", ignore=("name",))], [entry("a")], [remote("id-a", "renamed-by-hand")], caps=caps)
    assert acting(p) == [] and p.drift == []
    p = run([asset("a")], [entry("a")], [remote("id-a", "renamed-by-hand")], caps=caps)
    assert [(c.action, c.reason) for c in acting(p)] == [(Action.REPLACE, "cannot_update_in_place")]


def test_ignored_description_where_the_provider_cannot_describe_is_no_replace():
    p = run([asset("a", description="x", ignore=("description",))], [entry("a")], [remote("id-a", "a", description=None)],
            caps=NO_DESCRIBE)
    assert acting(p) == []


def test_content_change_is_still_a_replace_with_the_config_values():
    p = run([asset("a", sha=SHA2, description="cfg", ignore=("description", "name"))], [entry("a")],
            [remote("id-a", "by-hand", description="console")])
    (c,) = acting(p)
    assert c.action is Action.REPLACE and c.reason == "content_changed"
    assert (c.after.name, c.after.description) == ("a", "cfg")


def test_ignoring_one_field_does_not_ignore_the_other():
    p = run([asset("a", ignore=("description",))], [entry("a")], [remote("id-a", "b", description="console")])
    (c,) = acting(p)
    assert c.action is Action.UPDATE and c.after.name == "a" and c.after.description == "console"
    assert [d.kind for d in p.drift] == ["renamed"]


# --- drift.detect with the same policy ---------------------------------------------------------
def test_drift_detect_honours_ignore_and_ignore_changes():
    lock = Lockfile(lineage="t", serial=1, assets=dict([entry("a"), entry("b"), entry("gone")]))
    obs = {INST: ObservedInstance(assets=(
        remote("id-a", "a", description="console"), remote("id-b", "b-renamed", description="console"),
        remote("t", "tmp-1"), remote("u", "stray"),
    ))}
    plain = detect(lock, obs)
    assert plain.summary["unmanaged"] == 2 and plain.summary["description_edited"] == 2
    policy = Policy(
        ignore={INST: ["tmp-*"]},
        ignore_changes={f"{INST}.a": ["description"]},
        instance_ignore_changes={INST: ["name"]},  # for b, recorded but no longer declared
    )
    report = detect(lock, obs, policy=policy)
    got = sorted((d.address, d.kind) for d in report.drift)
    assert got == [
        (f"{INST}.b", "description_edited"),
        (f"{INST}.gone", "deleted"),
        (f"{INST}:u", "unmanaged"),
    ]
