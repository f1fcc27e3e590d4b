"""The pure GitOps parts on plain data: the mass-delete guard, drift detection,
observed fingerprints, the saved-plan checksum and the Markdown renderer."""

from __future__ import annotations

import json
import re

import pytest

from reconciler.drift import detect
from reconciler.fingerprint import local_stale_reasons, observed_digest
from reconciler.lockfile import LockEntry, Lockfile
from reconciler.model import ObservedInstance, RemoteAsset
from reconciler.plan import (
    Action,
    AssetState,
    Change,
    DriftItem,
    Fingerprints,
    Plan,
    ReplaceStrategy,
)
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, render_markdown, size
from reconciler.safety import DeleteLimits, mass_delete_problems
from reconciler.saved_plan import checksum

SHA_A, SHA_B = "a" * 64, "b" * 64


def change(address: str, action: Action, reason: str = "x", **kw) -> Change:
    return Change(address=address, instance=re.split(r"[.:]", address)[0], provider_type="fake",
                  action=action, reason=reason, **kw)


def entry(name: str, remote_id: str, *, sha: str = SHA_A, size: int = 100, description: str = "") -> LockEntry:
    return LockEntry(instance="ivr", type="fake", remote_id=remote_id, name=name, description=description,
                     sha256=sha, size=size, applied_at="2024-01-01T00:00:00Z")


# --- mass-delete guard -------------------------------------------------------


def deletes(n: int, *, instance: str = "ivr", action: Action = Action.DELETE, **kw) -> list[Change]:
    return [change(f"{instance}.a{i}", action, "not_declared", **kw) for i in range(n)]


def test_guard_message_states_the_numbers():
    plan = Plan(changes=deletes(12))
    assert mass_delete_problems(plan, {"ivr": 30}, {}) == [
        "instance ivr: 12 of 30 managed assets (40%) would be deleted, over max_delete_percent = 30%; use --force"
    ]


def test_guard_threshold_is_strictly_over():
    assert mass_delete_problems(Plan(changes=deletes(3)), {"ivr": 10}, {}) == []
    assert mass_delete_problems(Plan(changes=deletes(4)), {"ivr": 10}, {})


def test_guard_percentage_needs_ten_managed_assets():
    assert mass_delete_problems(Plan(changes=deletes(9)), {"ivr": 9}, {}) == []


def test_guard_max_deletes_applies_to_small_instances_too():
    problems = mass_delete_problems(Plan(changes=deletes(3)), {"ivr": 4}, {"ivr": DeleteLimits(max_deletes=2)})
    assert problems == ["instance ivr: 3 of 4 managed assets would be deleted, over max_deletes = 2; use --force"]


def test_guard_ignores_leftovers_forget_only_and_undeletable_replaces():
    plan = Plan(changes=[
        *[change(f"ivr.s{i}", Action.DELETE, "superseded") for i in range(5)],
        *[change(f"ivr.g{i}", Action.DELETE, "not_declared", forget_only=True) for i in range(5)],
        *[change(f"ivr.m{i}", Action.REPLACE, "content_changed", strategy=ReplaceStrategy.CREATE_THEN_MANUAL)
          for i in range(5)],
        *[change(f"ivr.o{i}", Action.MANUAL, "not_declared") for i in range(5)],
    ])
    assert mass_delete_problems(plan, {"ivr": 10}, {}) == []


def test_guard_counts_prune_against_max_deletes_even_with_nothing_managed():
    plan = Plan(changes=[change(f"ivr:u{i}", Action.DELETE, "unmanaged_prune") for i in range(50)])
    assert mass_delete_problems(plan, {"ivr": 0}, {"ivr": DeleteLimits(max_deletes=1)}) == [
        "instance ivr: 50 of 50 assets (0 managed, 50 unmanaged) would be deleted by prune = true, "
        "over max_deletes = 1; use --force"
    ]


def test_guard_counts_prune_in_the_percentage_and_its_total():
    # 3 managed, 20 unmanaged pruned: 20 of 23 at stake
    plan = Plan(changes=[change(f"ivr:u{i}", Action.DELETE, "unmanaged_prune") for i in range(20)])
    [problem] = mass_delete_problems(plan, {"ivr": 3}, {})
    assert "20 of 23 assets (3 managed, 20 unmanaged) (87%)" in problem
    assert "over max_delete_percent = 30%" in problem


def test_guard_counts_overwrite_and_temp_name_replaces_with_prune_and_deletes():
    plan = Plan(changes=[
        change("ivr.a", Action.REPLACE, "content_changed", strategy=ReplaceStrategy.OVERWRITE),
        change("ivr.b", Action.REPLACE, "content_changed", strategy=ReplaceStrategy.TEMP_NAME),
        change("ivr.c", Action.DELETE, "not_declared"),
        change("ivr:u", Action.DELETE, "unmanaged_prune"),
    ])
    [problem] = mass_delete_problems(plan, {"ivr": 5}, {"ivr": DeleteLimits(max_deletes=3)})
    assert "4 of 6 assets (5 managed, 1 unmanaged) would be destroyed (1 deleted, 2 replaced, " \
        "1 deleted by prune = true), over max_deletes = 3; use --force" in problem


def test_guard_counts_replaces_and_is_per_instance():
    plan = Plan(changes=[*deletes(2), *deletes(2, action=Action.REPLACE, instance="ivr"),
                         *deletes(1, instance="hold")])
    problems = mass_delete_problems(plan, {"ivr": 10, "hold": 10}, {"hold": DeleteLimits(max_delete_percent=5)})
    assert problems == [
        "instance hold: 1 of 10 managed assets (10%) would be deleted, over max_delete_percent = 5%; use --force",
        "instance ivr: 4 of 10 managed assets (40%) would be destroyed (2 deleted, 2 replaced), "
        "over max_delete_percent = 30%; use --force",
    ]


# --- drift -------------------------------------------------------------------


def test_drift_detect_every_kind():
    lock = Lockfile(lineage="l", serial=3, assets={
        "ivr.a": entry("a", "1"),
        "ivr.b": entry("b", "2", description="old"),
        "ivr.c": entry("c", "3"),
        "ivr.d": entry("d", "4", size=100),
        "ivr.e": entry("e", "5"),
    })
    observed = {"ivr": ObservedInstance(assets=(
        RemoteAsset(remote_id="1", name="a-renamed", sha256=SHA_A),
        RemoteAsset(remote_id="2", name="b", description="new", sha256=SHA_A),
        RemoteAsset(remote_id="3", name="c", sha256=SHA_B),
        RemoteAsset(remote_id="4", name="d", size=120),  # no hash listed: sizes compared
        RemoteAsset(remote_id="9", name="stray"),
    ))}
    report = detect(lock, observed)
    assert [(d.address, d.kind) for d in report.drift] == [
        ("ivr.a", "renamed"), ("ivr.b", "description_edited"), ("ivr.c", "content_changed"),
        ("ivr.d", "size_changed"), ("ivr.e", "deleted"), ("ivr:9", "unmanaged"),
    ]
    assert report.summary == {"renamed": 1, "description_edited": 1, "deleted": 1, "content_changed": 1,
                              "size_changed": 1, "unmanaged": 1}
    assert report.checked == {"ivr": 5}


def test_drift_cannot_list_and_unconfigured_instances_are_warnings():
    lock = Lockfile(lineage="l", serial=1, assets={"ivr.a": entry("a", "1"),
                                                   "old.x": entry("x", "7").model_copy(update={"instance": "old"})})
    report = detect(lock, {"ivr": ObservedInstance(assets=None)})
    assert not report.has_drift
    assert report.warnings == [
        "instance 'old' is recorded in the lockfile but not configured; not checked",
        "instance 'ivr' cannot list its assets; drift was not checked",
    ]


def test_superseded_ids_are_not_unmanaged():
    e = entry("a", "1").model_copy(update={"superseded": ["0"]})
    lock = Lockfile(lineage="l", serial=1, assets={"ivr.a": e})
    observed = {"ivr": ObservedInstance(assets=(RemoteAsset(remote_id="1", name="a", sha256=SHA_A),
                                                RemoteAsset(remote_id="0", name="a")))}
    assert detect(lock, observed).drift == []


# --- fingerprints and checksum ---------------------------------------------------


def test_observed_digest_sees_only_the_change_own_assets():
    c = change("ivr.a", Action.UPDATE, remote_id="1", before=AssetState(name="a"), after=AssetState(name="a2"))
    base = (RemoteAsset(remote_id="1", name="a", sha256=SHA_A), RemoteAsset(remote_id="5", name="other"))
    digest = observed_digest(c, ObservedInstance(assets=base))
    other_changed = (base[0], RemoteAsset(remote_id="5", name="other", size=3))
    assert observed_digest(c, ObservedInstance(assets=other_changed)) == digest
    mine_changed = (RemoteAsset(remote_id="1", name="a", sha256=SHA_B), base[1])
    assert observed_digest(c, ObservedInstance(assets=mine_changed)) != digest
    name_taken = (*base, RemoteAsset(remote_id="6", name="a2"))
    assert observed_digest(c, ObservedInstance(assets=name_taken)) != digest
    assert observed_digest(c, ObservedInstance(assets=None)) == "not-listed"


def prints(**kw) -> Fingerprints:
    base = dict(config_path="r.toml", config_sha256="c", files={"a.wav": SHA_A}, lockfile_lineage="l",
                lockfile_serial=2)
    return Fingerprints(**{**base, **kw})


@pytest.mark.parametrize(("now", "reason"), [
    (prints(config_sha256="d"), "the config r.toml changed since the plan was made"),
    (prints(files={"a.wav": SHA_B}), "audio file a.wav changed (sha256 aaaaaaaaaaaa → bbbbbbbbbbbb)"),
    (prints(files={}), "audio file a.wav is no longer referenced by the config"),
    (prints(lockfile_serial=3), "the lockfile moved from serial 2 to 3 (another apply or a state command wrote it)"),
    (prints(lockfile_lineage="m"), "the lockfile's lineage is m, the plan was made against l: it is another state"),
    (prints(lockfile_lineage=None, lockfile_serial=0), "the lockfile the plan was made against is gone"),
])
def test_local_stale_reasons(now, reason):
    assert local_stale_reasons(prints(), now) == [reason]
    assert local_stale_reasons(prints(), prints()) == []


def test_checksum_covers_everything_but_itself():
    data = {"format_version": 1, "changes": [{"a": 1}], "checksum": "whatever"}
    c = checksum(data)
    assert c == checksum({**data, "checksum": "other"})
    assert c != checksum({**data, "changes": [{"a": 2}]})
    assert c == checksum(json.loads(json.dumps({k: data[k] for k in reversed(list(data))})))


# --- markdown ------------------------------------------------------------------


def replace(i: int, strategy: ReplaceStrategy) -> Change:
    return change(f"ivr.p{i}", Action.REPLACE, "content_changed", remote_id=f"10{i}", strategy=strategy,
                  remote_id_changes=strategy is not ReplaceStrategy.OVERWRITE,
                  before=AssetState(name=f"p{i}", sha256=SHA_A, size=1000, duration=1.0, format="wav", sample_rate=8000),
                  after=AssetState(name=f"p{i}", sha256=SHA_B, size=2000, duration=1.5, format="wav", sample_rate=16000),
                  notes=[f"the remote id 10{i} will change: update call flows that reference it"])


def test_markdown_loud_note_when_a_replace_changes_the_remote_id():
    out = render_markdown(Plan(changes=[replace(1, ReplaceStrategy.TEMP_NAME), replace(2, ReplaceStrategy.OVERWRITE)]))
    assert "> [!CAUTION]" in out
    assert "**1 change(s) will change remote ids.**" in out
    assert "> - `ivr.p1` (replace): id `101` → a new id" in out
    assert "`ivr.p2`: id" not in out
    assert "| duration | 1.00 s | **1.50 s** |" in out
    assert "| sample rate | 8000 Hz | **16000 Hz** |" in out
    assert "| size | 1000 B | **2.0 KiB** |" in out
    assert "| format | WAV | WAV |" in out


def test_markdown_no_caution_without_id_changes():
    out = render_markdown(Plan(changes=[replace(2, ReplaceStrategy.OVERWRITE)]))
    assert "CAUTION" not in out


def test_markdown_escapes_user_text():
    c = change("ivr.x", Action.CREATE, "not_recorded",
               after=AssetState(name="x", description="a | b <script>alert(1)</script>"))
    out = render_markdown(Plan(changes=[c], drift=[DriftItem(address="ivr.y", instance="ivr", kind="renamed",
                                                              detail="'a|b' → '<b>'")]))
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "a \\| b" in out and "'a\\|b' → '&lt;b&gt;'" in out


@pytest.mark.parametrize("n", [0, 1, 50, 2000])
def test_markdown_always_fits(n):
    changes = [replace(i, ReplaceStrategy.TEMP_NAME) for i in range(n)]
    drift = [DriftItem(address=f"ivr:{i}", instance="ivr", kind="unmanaged", detail="x" * 200) for i in range(n)]
    out = render_markdown(Plan(changes=changes, drift=drift, warnings=["w" * 500] * min(n, 300)))
    assert len(out) <= 60_000 < GITHUB_COMMENT_LIMIT
    shown = out.count("<details>")
    assert out.count("</details>") == shown
    if shown < n:
        assert f"**{n - shown} of {n} change details were cut**" in out
    if n == 0:
        assert "**No changes.**" in out


def test_markdown_budget_is_respected_even_for_a_huge_head():
    changes = [change(f"i{i}.a", Action.CREATE, "not_recorded", after=AssetState(name="a")) for i in range(5000)]
    out = render_markdown(Plan(changes=changes), budget=20_000)
    assert len(out) <= 20_000
    assert "cut to fit the comment size limit" in out


def test_markdown_budget_counts_utf16_units():
    """Cyrillic and emoji descriptions: the budget holds as GitHub counts."""
    changes = [change(f"ivr.p{i}", Action.CREATE, "not_recorded",
                      after=AssetState(name=f"p{i}", description="Добро пожаловать 📞" * 20)) for i in range(500)]
    out = render_markdown(Plan(changes=changes), budget=30_000)
    assert size(out) <= 30_000
    assert "change details were cut" in out


def test_drift_markdown_truncates_under_the_budget():
    from reconciler.drift import DriftReport
    from reconciler.render.drift import render_drift_markdown

    report = DriftReport(drift=[DriftItem(address=f"ivr:{i}.wav", instance="ivr", kind="unmanaged",
                                          detail="звонок " * 30) for i in range(3000)],
                         warnings=["instance 'x' cannot list its assets; drift was not checked"])
    out = render_drift_markdown(report)
    assert size(out) <= 60_000
    m = re.search(r"\*\*(\d+) of 3000 drift rows were cut\*\*", out)
    assert m and out.count("| `ivr:") == 3000 - int(m.group(1))
    assert "> [!WARNING]" in out
