"""Planning with renditions, on plain data (no audio decoded, no HTTP): decisions
are made on (master sha256, recipe key), remote comparisons on the uploaded
rendition's sha256/size, and the lockfile records master + recipe + rendition."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.applier import lock_entry
from reconciler.audio import AudioInfo
from reconciler.compare import content_change, recipe_difference
from reconciler.lockfile import (
    LockEntry,
    Lockfile,
    RecipeRecord,
    RenditionRecord,
    read_lockfile,
)
from reconciler.lockstore import _dump
from reconciler.model import (
    Desired,
    DesiredAsset,
    DesiredInstance,
    MasterAudio,
    ObservedInstance,
    RemoteAsset,
    RenditionInfo,
    SoundFacts,
)
from reconciler.plan import Action
from reconciler.planner import plan
from reconciler.providers.base import Capabilities
from reconciler.providers.settings import ProviderSettings
from reconciler.render.json import plan_document
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text

INST = "pbx"
MASTER = "m" * 64
MASTER2 = "n" * 64
REND = "r" * 64
REND_NEW_ENCODER = "s" * 64
KEY_19 = "wav/ulaw/8000/1/lufs=-19.0/tp=-1.0/trim=0"
KEY_16 = "wav/ulaw/8000/1/lufs=-16.0/tp=-1.0/trim=0"
RECIPE_19 = {"format": "wav", "encoding": "ulaw", "sample_rate": 8000, "channels": 1, "loudness": -19.0,
             "true_peak": -1.0, "trim_silence": False}
RECIPE_16 = {**RECIPE_19, "loudness": -16.0}

DIRECTORY_LIKE = Capabilities(can_rename=True, can_describe=True, can_overwrite=True, lists_sha256=True,
                              lists_size=True, lists_description=True)
SIZE_ONLY = Capabilities(can_rename=False, can_describe=False, unique_names=False, lists_size=True)
NAMES_ONLY = Capabilities(can_delete=False, can_overwrite=True, lists_duration=True)


def rendered(*, master: str = MASTER, rend: str = REND, size: int = 3000, key: str = KEY_19,
             recipe: dict | None = None, loudness: float = -19.0, notes: tuple[str, ...] = ()) -> DesiredAsset:
    facts = SoundFacts(format="wav", encoding="ulaw", sample_rate=8000, channels=1, duration=3.2,
                       loudness=loudness, true_peak=-1.0)
    return DesiredAsset(
        address=f"{INST}.welcome", instance=INST, key="welcome", name="welcome",
        file=Path("/cache/r.wav"), sha256=rend, size=size,
        audio=AudioInfo(format="wav", duration=3.2, sample_rate=8000, channels=1),
        master=MasterAudio(path=Path("/cfg/masters/welcome.flac"), file="masters/welcome.flac", sha256=master,
                           size=90_000, facts=SoundFacts(format="flac", sample_rate=48000, channels=2,
                                                         duration=3.2, loudness=-23.4)),
        rendition=RenditionInfo(recipe_key=key, recipe=recipe or RECIPE_19, encoders="libsndfile-1 render-1",
                                facts=facts, notes=notes),
    )


def recorded(asset: DesiredAsset, remote_id: str = "welcome.wav") -> Lockfile:
    entry = lock_entry(asset, RemoteAsset(remote_id=remote_id, name=asset.name), provider_type="fake")
    return Lockfile(lineage="t", serial=1, assets={asset.address: entry})


def desired(*assets: DesiredAsset) -> Desired:
    return Desired(
        config_path=Path("reconciler.toml"), lockfile_path=Path("reconciler.lock"),
        instances={INST: DesiredInstance(name=INST, type="fake", settings=ProviderSettings(type="fake"),
                                         assets={a.address: a for a in assets})},
    )


def run(asset: DesiredAsset, lock: Lockfile, remotes: list[RemoteAsset], caps: Capabilities):
    obs = {INST: ObservedInstance(assets=tuple(remotes) if caps.can_list else None)}
    return plan(desired(asset), lock, obs, {INST: caps})


def the(change_plan, address: str = f"{INST}.welcome"):
    return next(c for c in change_plan.changes if c.address == address)


# --- the lockfile record ------------------------------------------------------------


def test_lock_entry_records_master_recipe_and_rendition():
    entry = lock_entry(rendered(), RemoteAsset(remote_id="welcome.wav", name="welcome"), provider_type="fake")
    assert entry.sha256 == MASTER and entry.size == 90_000 and entry.format == "flac"
    assert entry.recipe is not None and entry.recipe.key == KEY_19
    assert entry.recipe.encoders == "libsndfile-1 render-1"
    r = entry.rendition
    assert r is not None
    assert (r.sha256, r.size, r.format, r.encoding, r.sample_rate, r.channels, r.loudness) == (
        REND, 3000, "wav", "ulaw", 8000, 1, -19.0)
    assert entry.uploaded_sha256 == REND and entry.uploaded_size == 3000


def test_lockfile_with_a_rendition_round_trips(tmp_path):
    lock = recorded(rendered())
    path = tmp_path / "reconciler.lock"
    path.write_bytes(_dump(lock))
    text = path.read_text()
    assert '[assets."pbx.welcome".rendition]' in text and '[assets."pbx.welcome".recipe]' in text
    again = read_lockfile(path)
    assert again.assets["pbx.welcome"] == lock.assets["pbx.welcome"]
    assert _dump(again) == path.read_bytes()


def test_an_old_lockfile_loads_and_writes_back_byte_for_byte(tmp_path):
    old = (
        "# reconciler lockfile: which local content sits under which remote id.\n"
        "# Generated; commit it, do not edit it by hand.\n"
        'version = 1\nlineage = "abc"\nserial = 3\n\n'
        '[assets."pbx.welcome"]\napplied_at = "2024-01-01T00:00:00Z"\ndescription = ""\nduration = 0.2\n'
        'format = "wav"\ninstance = "pbx"\nname = "welcome"\nprotect = false\nremote_id = "welcome.wav"\n'
        f'sha256 = "{MASTER}"\nsize = 1644\ntype = "directory"\n'
    )
    path = tmp_path / "reconciler.lock"
    path.write_text(old)
    lock = read_lockfile(path)
    entry = lock.assets["pbx.welcome"]
    assert entry.recipe is None and entry.rendition is None
    assert entry.uploaded_sha256 == MASTER
    assert _dump(lock).decode() == old


# --- decisions ------------------------------------------------------------------------


@pytest.mark.parametrize("caps", [DIRECTORY_LIKE, SIZE_ONLY, NAMES_ONLY], ids=["sha", "size", "names"])
def test_a_new_encoder_shifting_bytes_plans_nothing(caps):
    """Same master, same recipe, different rendition bytes (an encoder upgrade):
    the remote still holds the recorded rendition, and that is no change."""
    lock = recorded(rendered())
    remote = RemoteAsset(remote_id="welcome.wav", name="welcome", sha256=REND if caps.lists_sha256 else None,
                         size=3000 if caps.lists_size else None, description="" if caps.lists_description else None,
                         duration=3.2 if caps.lists_duration else None)
    shifted = rendered(rend=REND_NEW_ENCODER, size=3004)
    result = run(shifted, lock, [remote], caps)
    assert the(result).action is Action.NOOP
    assert not result.has_changes and result.drift == []


def test_a_changed_recipe_is_a_replace_that_says_what_changed():
    lock = recorded(rendered())
    new = rendered(rend="t" * 64, key=KEY_16, recipe=RECIPE_16, loudness=-16.0)
    remote = RemoteAsset(remote_id="welcome.wav", name="welcome", sha256=REND, size=3000, description="")
    change = the(run(new, lock, [remote], DIRECTORY_LIKE))
    assert change.action is Action.REPLACE and change.reason == "recipe_changed"
    assert any("recipe changed: loudness -19 LUFS -> -16 LUFS" in n for n in change.notes)
    assert not any(n.startswith("master changed") for n in change.notes)


def test_a_changed_master_is_a_replace_that_says_so():
    lock = recorded(rendered())
    new = rendered(master=MASTER2, rend="t" * 64)
    remote = RemoteAsset(remote_id="welcome.wav", name="welcome", sha256=REND, size=3000, description="")
    change = the(run(new, lock, [remote], DIRECTORY_LIKE))
    assert change.action is Action.REPLACE and change.reason == "master_changed"
    assert any(n.startswith("master changed: sha256 mmmmmmmmmmmm -> nnnnnnnnnnnn") for n in change.notes)


def test_master_and_recipe_changed_together():
    lock = recorded(rendered())
    new = rendered(master=MASTER2, key=KEY_16, recipe=RECIPE_16)
    change = the(run(new, lock, [], Capabilities(can_list=False)))
    assert change.reason == "master_and_recipe_changed"


def test_recipe_added_to_a_file_uploaded_as_is_is_a_replace():
    plain = DesiredAsset(address=f"{INST}.welcome", instance=INST, key="welcome", name="welcome",
                         sha256=MASTER, size=90_000, audio=AudioInfo(format="flac"))
    lock = recorded(plain)
    change = the(run(rendered(), lock, [], Capabilities(can_list=False)))
    assert change.action is Action.REPLACE and change.reason == "recipe_changed"
    assert any(n.startswith("recipe added") for n in change.notes)
    back = the(run(plain, recorded(rendered()), [], Capabilities(can_list=False)))
    assert back.action is Action.REPLACE and any(n.startswith("recipe removed") for n in back.notes)


@pytest.mark.parametrize("field,remote_kw", [("sha", {"sha256": "x" * 64, "size": 3000}),
                                             ("size", {"size": 2999})])
def test_remote_drift_is_judged_against_the_rendition(field, remote_kw):
    lock = recorded(rendered())
    remote = RemoteAsset(remote_id="welcome.wav", name="welcome", description="", **remote_kw)
    result = run(rendered(), lock, [remote], DIRECTORY_LIKE)
    assert the(result).action is Action.REPLACE and the(result).reason == "remote_content_changed"
    detail = result.drift[0].detail
    assert (REND[:12] in detail) if field == "sha" else ("3000 → 2999" in detail)


def test_adoption_compares_the_rendition_not_the_master():
    unrecorded = Lockfile(lineage="t", serial=1)
    same = RemoteAsset(remote_id="welcome.wav", name="welcome", sha256=REND, size=3000, description="")
    assert the(run(rendered(), unrecorded, [same], DIRECTORY_LIKE)).action is Action.ADOPT
    master_bytes = RemoteAsset(remote_id="welcome.wav", name="welcome", sha256=MASTER, size=90_000, description="")
    with pytest.raises(Exception, match="different content"):
        run(rendered(), unrecorded, [master_bytes], DIRECTORY_LIKE)


def test_rename_keeps_the_recorded_rendition():
    """An update uploads nothing, so the lockfile must keep the rendition the remote holds."""
    old = recorded(rendered()).assets[f"{INST}.welcome"]
    renamed = rendered(rend=REND_NEW_ENCODER).model_copy(update={"name": "hello"})
    entry = lock_entry(renamed, RemoteAsset(remote_id="hello.wav", name="hello"), provider_type="fake", previous=old)
    assert entry.rendition == old.rendition and entry.name == "hello"
    other_recipe = rendered(key=KEY_16, recipe=RECIPE_16)
    entry = lock_entry(other_recipe, RemoteAsset(remote_id="x", name="welcome"), provider_type="fake", previous=old)
    assert entry.recipe is not None and entry.recipe.key == KEY_16


def test_content_change_without_renditions_is_todays_rule():
    plain = DesiredAsset(address="a.b", instance="a", key="b", name="b", sha256=MASTER, size=1)
    entry = LockEntry(instance="a", type="t", remote_id="1", name="b", sha256=MASTER2, size=1, applied_at="x")
    assert content_change(plain, entry) == ("content_changed", [])
    assert content_change(plain, entry.model_copy(update={"sha256": MASTER})) is None


def test_recipe_difference_names_each_changed_key():
    text = recipe_difference(RECIPE_19, {**RECIPE_19, "sample_rate": None, "loudness": None, "channels": 2})
    assert text == "sample_rate 8000 Hz -> as the master, channels 1 -> 2, loudness -19 LUFS -> untouched"


# --- output ---------------------------------------------------------------------------


def test_text_plan_shows_master_to_rendition_and_the_facts_that_change():
    note = "loudness target -12.0 LUFS not reached: limited by true-peak ceiling -1.0 dBTP (reached -13.1 LUFS)"
    created = run(rendered(notes=(note,)), Lockfile(lineage="t", serial=1), [], DIRECTORY_LIKE)
    text = render_text(created)
    assert "      masters/welcome.flac (FLAC 48000 Hz 2 ch, 3.20 s, -23.4 LUFS)\n" in text
    assert "      → rendition wav/ulaw 8000 Hz 1 ch, 3.20 s, -19.0 LUFS, peak -1.0 dBTP\n" in text
    assert note in text
    lock = recorded(rendered())
    remote = RemoteAsset(remote_id="welcome.wav", name="welcome", sha256=REND, size=3000, description="")
    replaced = render_text(run(rendered(rend="t" * 64, key=KEY_16, recipe=RECIPE_16, loudness=-16.0), lock,
                               [remote], DIRECTORY_LIKE))
    assert "must be replaced [id=welcome.wav] (the audio recipe changed)" in replaced
    assert "~ loudness    = -19.0 LUFS -> -16.0 LUFS" in replaced
    assert "(was wav/ulaw 8000 Hz 1 ch, 3.20 s, -19.0 LUFS, peak -1.0 dBTP)" in replaced


def test_json_and_markdown_carry_the_audio_facts():
    lock = recorded(rendered())
    remote = RemoteAsset(remote_id="welcome.wav", name="welcome", sha256=REND, size=3000, description="")
    result = run(rendered(rend="t" * 64, key=KEY_16, recipe=RECIPE_16, loudness=-16.0), lock, [remote],
                 DIRECTORY_LIKE)
    doc = plan_document(result)
    change = doc["changes"][0]
    assert change["before"]["audio"]["loudness"] == -19.0 and change["after"]["audio"]["loudness"] == -16.0
    assert change["after"]["master"]["file"] == "masters/welcome.flac"
    assert change["before"]["recipe"] == KEY_19 and change["after"]["recipe"] == KEY_16
    md = render_markdown(result)
    assert "#### Audio" in md
    assert "| `pbx.welcome` | -/+ | WAV/ulaw 8 kHz 1 ch -19.0 LUFS -1.0 dBTP | WAV/ulaw 8 kHz 1 ch -16.0 LUFS -1.0 dBTP |" in md


def test_plans_without_renditions_have_no_audio_keys():
    plain = DesiredAsset(address=f"{INST}.a", instance=INST, key="a", name="a", sha256=MASTER, size=10,
                         audio=AudioInfo(format="wav", duration=0.2, sample_rate=8000, channels=1))
    doc = plan_document(plan(desired(plain), Lockfile(), {INST: ObservedInstance(assets=())}, {INST: DIRECTORY_LIKE}))
    after = doc["changes"][0]["after"]
    assert sorted(after) == ["channels", "description", "duration", "format", "name", "sample_rate", "sha256", "size"]
    assert "#### Audio" not in render_markdown(plan(desired(plain), Lockfile(), {INST: ObservedInstance(assets=())},
                                                    {INST: DIRECTORY_LIKE}))


def test_recipe_and_rendition_records_reject_unknown_keys():
    with pytest.raises(ValueError):
        RenditionRecord.model_validate({"sha256": "x", "size": 1, "format": "wav", "bogus": 1})
    with pytest.raises(ValueError):
        RecipeRecord.model_validate({"key": "k", "encoders": "e", "nope": 1})


# --- recipe and rule layering (config) ----------------------------------------------------


def test_audio_tables_merge_key_by_key_least_specific_first():
    from reconciler.assets import effective_audio
    from reconciler.audio.recipe import AudioSettings

    instance = AudioSettings.model_validate({"format": "wav", "encoding": "ulaw", "loudness": -19})
    asset = AudioSettings.model_validate({"loudness": -16})
    merged = effective_audio(instance, asset)
    assert merged is not None
    assert (merged.format, merged.encoding, merged.loudness) == ("wav", "ulaw", -16)
    assert effective_audio(None, None) is None
    assert effective_audio(None, asset) == asset
    assert effective_audio(instance, None) == instance


def test_lint_rules_layer_threshold_by_threshold():
    from reconciler.assets import effective_lint
    from reconciler.audio.lint import LintRules

    top = LintRules.model_validate({"loudness": {"severity": "error", "tolerance": 2.0}})
    instance = LintRules.model_validate({"loudness": {"target": -16.0}})
    asset = LintRules.model_validate({"clipping": "warn"})
    rules = effective_lint(top, instance, asset)
    assert rules is not None
    assert (rules.loudness.severity, rules.loudness.tolerance, rules.loudness.target) == ("error", 2.0, -16.0)
    assert rules.clipping.severity == "warn"
    assert effective_lint(None, None, None) is None
