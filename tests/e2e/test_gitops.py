"""Saved plans, plan formats, the mass-delete guard and --target: the CLI as a
user types it, on the `directory` provider."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.conftest import make_wav
from tests.e2e import gitops_env

project = gitops_env.project
three = gitops_env.three


def saved(p, *args: str) -> dict:
    code, out, err = p.cli("plan", "--out", str(p.plan_file), *args)
    assert code == 0, out + err
    assert f"Saved the plan to {p.plan_file}" in out
    return json.loads(p.plan_file.read_text())


def refused(p, *needles: str) -> str:
    """apply the saved plan; it must fail with exit 1 and change nothing."""
    before = p.snapshot()
    code, out, err = p.cli("apply", str(p.plan_file))
    assert code == 1, out + err
    for needle in needles:
        assert needle in err, err
    assert "Traceback" not in err
    assert p.snapshot() == before, "a refused plan must write nothing"
    return err


# --- saved plans -------------------------------------------------------------


def test_saved_plan_applies_exactly_that_plan(project):
    project.add("welcome", seed=1)
    project.add("hold", seed=2)
    project.write()
    data = saved(project)
    assert data["summary"]["create"] == 2
    assert data["checksum"].startswith("sha256:")
    assert not project.remote.exists()

    code, out, err = project.cli("apply", str(project.plan_file))
    assert code == 0, out + err
    assert "Apply complete: 2 added, 0 changed, 0 replaced, 0 destroyed." in out
    assert project.remote_files() == ["hold.wav", "welcome.wav"]

    code, out, _ = project.cli("plan", "--detailed-exitcode")
    assert code == 0, out


def test_saved_plan_does_only_what_it_says(three):
    """A targeted saved plan applies its one change; the other pending one stays pending."""
    three.assets["welcome"]["description"] = "New greeting"
    three.assets["hold"]["description"] = "New hold"
    three.write()
    data = saved(three, "--target", "ivr.welcome")
    assert [c["address"] for c in data["changes"] if c["action"] != "noop"] == ["ivr.welcome"]
    code, out, err = three.cli("apply", str(three.plan_file))
    assert code == 0, out + err
    assert "Apply complete: 0 added, 1 changed" in out
    code, out, _ = three.cli("plan", "--json")
    changes = {c["address"]: c["action"] for c in json.loads(out)["changes"]}
    assert changes == {"ivr.welcome": "noop", "ivr.hold": "update", "ivr.goodbye": "noop"}


def test_applying_a_saved_plan_twice_is_refused(project):
    project.add("welcome", seed=1)
    project.write()
    saved(project)
    code, out, err = project.cli("apply", str(project.plan_file))
    assert code == 0, out + err
    refused(project, "is stale", "the lockfile was written since the plan was made (serial 0 → 1)")


def test_stale_when_config_changed(three):
    three.assets["welcome"]["description"] = "New greeting"
    three.write()
    saved(three)
    three.assets["welcome"]["description"] = "Edited again after review"
    three.write()
    refused(three, f"the saved plan {three.plan_file} is stale", "the config", "changed since the plan was made",
            f"`reconciler -c {three.config} plan --out {three.plan_file}`")


def test_stale_when_an_audio_file_changed(three):
    three.add("welcome", seed=11, description="Main greeting")
    saved(three)
    (three.root / "audio" / "welcome.wav").write_bytes(make_wav(0.05, seed=12))
    refused(three, "audio file audio/welcome.wav changed")


def test_stale_when_an_unaffected_audio_file_changed(three):
    """Any referenced file counts, not only the ones the plan touches."""
    three.assets["welcome"]["description"] = "New greeting"
    three.write()
    saved(three)
    (three.root / "audio" / "goodbye.wav").write_bytes(make_wav(0.05, seed=13))
    refused(three, "audio file audio/goodbye.wav changed")


def test_stale_when_lockfile_serial_moved(three):
    three.assets["welcome"]["description"] = "New greeting"
    three.write()
    saved(three)
    serial = three.lockfile()["serial"]
    code, _, err = three.cli("state rm", "ivr.goodbye")
    assert code == 0, err
    refused(three, f"the lockfile moved from serial {serial} to {serial + 1}")


def test_stale_when_lockfile_lineage_changed(three):
    three.assets["welcome"]["description"] = "New greeting"
    three.write()
    saved(three)
    data = three.lockfile()
    data["lineage"] = "00000000-0000-4000-8000-000000000000"
    three.write_lockfile(data)
    refused(three, "the lockfile's lineage is 00000000-0000-4000-8000-000000000000", "it is another state")


def test_stale_when_remote_state_of_an_affected_asset_changed(three):
    three.assets["welcome"]["description"] = "New greeting"
    three.write()
    saved(three)
    (three.remote / "welcome.wav").write_bytes(make_wav(0.05, seed=21))  # edited on the "server"
    refused(three, "the remote state of ivr.welcome changed since the plan was made")


def test_stale_when_a_planned_name_is_taken_remotely(three):
    three.add("news", seed=5)
    three.write()
    saved(three)
    (three.remote / "news.wav").write_bytes(make_wav(0.05, seed=6))
    refused(three, "the remote state of ivr.news changed since the plan was made")


def test_remote_change_to_an_unaffected_asset_does_not_make_a_plan_stale(three):
    three.assets["welcome"]["description"] = "New greeting"
    three.write()
    saved(three)
    (three.remote / "unrelated.wav").write_bytes(make_wav(0.05, seed=30))
    code, out, err = three.cli("apply", str(three.plan_file))
    assert code == 0, out + err
    assert "Apply complete: 0 added, 1 changed" in out


def test_tampered_plan_is_refused(three):
    three.assets["welcome"]["description"] = "New greeting"
    three.write()
    data = saved(three)
    change = next(c for c in data["changes"] if c["address"] == "ivr.welcome")
    change["after"]["description"] = "Something nobody reviewed"
    three.plan_file.write_text(json.dumps(data, indent=2))
    refused(three, "was modified after it was written (checksum mismatch)")


def test_plan_with_a_removed_change_is_refused(three):
    (three.root / "audio" / "goodbye.wav").write_bytes(make_wav(0.05, seed=40))
    three.assets["welcome"]["description"] = "New greeting"
    three.write()
    data = saved(three)
    data["changes"] = [c for c in data["changes"] if c["address"] != "ivr.goodbye"]
    three.plan_file.write_text(json.dumps(data))
    refused(three, "checksum mismatch")


def test_plan_without_checksum_or_not_a_plan_is_refused(three):
    data = saved(three)
    del data["checksum"]
    three.plan_file.write_text(json.dumps(data))
    refused(three, "has no checksum")
    three.plan_file.write_text("not json at all")
    refused(three, "is not a reconciler plan file")


def test_saved_plan_refuses_target_and_force(three):
    saved(three)
    code, _, err = three.cli("apply", str(three.plan_file), "--target", "ivr.welcome")
    assert code == 1
    assert "--target cannot be combined with a saved plan" in err
    code, _, err = three.cli("apply", str(three.plan_file), "--force")
    assert code == 1 and "--force cannot be combined" in err


def test_missing_plan_file(three):
    code, _, err = three.cli("apply", str(three.root / "nope.json"))
    assert code == 1
    assert "plan file" in err and "does not exist" in err


# --- formats ---------------------------------------------------------------


def test_json_plan_schema_fields(three):
    three.assets["welcome"]["description"] = "New greeting"
    three.assets.pop("goodbye")
    three.add("news", seed=5)
    three.write()
    code, out, err = three.cli("plan", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["format_version"] == 1
    assert data["summary"] == {
        "create": 1, "update": 1, "replace": 0, "delete": 1, "adopt": 0, "noop": 1, "manual": 0,
    }
    by = {c["address"]: c for c in data["changes"]}
    assert by["ivr.welcome"]["action"] == "update"
    assert by["ivr.welcome"]["reason"] == "attributes_changed"
    assert by["ivr.welcome"]["remote_id"] == "welcome.wav"
    assert by["ivr.welcome"]["before"]["description"] == "Main greeting"
    assert by["ivr.welcome"]["after"]["description"] == "New greeting"
    assert set(by["ivr.news"]["after"]) >= {"name", "description", "sha256", "size", "duration", "format"}
    assert by["ivr.goodbye"]["reason"] == "not_declared"
    for change in data["changes"]:
        assert {"address", "instance", "provider_type", "action", "reason", "remote_id", "before", "after"} <= set(change)
    assert isinstance(data["drift"], list) and isinstance(data["warnings"], list)
    fp = data["fingerprints"]
    assert set(fp["files"]) == {"audio/welcome.wav", "audio/hold.wav", "audio/news.wav", "audio/goodbye.wav"} - {"audio/goodbye.wav"}
    assert fp["lockfile_serial"] == three.lockfile()["serial"]
    assert set(fp["observed"]) == {"ivr.welcome", "ivr.news", "ivr.goodbye"}
    _, out2, _ = three.cli("plan", "--format", "json")
    assert json.loads(out2)["changes"] == data["changes"]


def test_json_plan_has_drift_and_no_payload(three, monkeypatch):
    monkeypatch.setenv("RECONCILER_TEST_TOKEN", "s3cr3t-t0ken-value")
    (three.remote / "welcome.wav").write_bytes(make_wav(0.05, seed=77))
    code, out, _ = three.cli("plan", "--json")
    assert code == 0
    data = json.loads(out)
    assert [(d["address"], d["kind"]) for d in data["drift"]] == [("ivr.welcome", "content_changed")]
    assert "s3cr3t-t0ken-value" not in out
    for path in [*(three.root / "audio").iterdir(), *three.remote.glob("*.wav")]:
        b64 = base64.b64encode(path.read_bytes()).decode()
        for i in range(0, len(b64) - 32, 16):
            assert b64[i : i + 32] not in out
    # no long base64-looking run anywhere (a sha256 hex is 64 chars; payloads are far longer)
    assert not re.search(r"[A-Za-z0-9+/=]{100,}", out)


def test_markdown_plan(three):
    three.assets["welcome"]["description"] = "New greeting"
    three.add("news", seed=5)
    three.write()
    code, out, _ = three.cli("plan", "--format", "markdown", "--detailed-exitcode")
    assert code == 2
    assert out.startswith("### reconciler plan")
    assert "**Plan: 1 to add, 1 to change, 0 to replace, 0 to destroy.**" in out
    assert "| `ivr` | 1 | 1 | 0 | 0 | 0 | 2 |" in out
    assert out.count("<details>") == 2 and out.count("</details>") == 2
    assert "| description | Main greeting | **New greeting** |" in out
    assert "| duration | — | 0.05 s |" in out


def test_markdown_plan_truncates_a_large_plan_under_the_github_limit(project):
    for i in range(400):
        project.add(f"prompt_{i:03d}", seed=i, description=f"Prompt {i}: " + "lorem ipsum dolor " * 12)
    project.write()
    code, out, err = project.cli("plan", "--format", "markdown")
    assert code == 0, err
    assert len(out) <= 60_000 < 65_536
    m = re.search(r"\*\*(\d+) of 400 change details were cut\*\*", out)
    assert m, out[-500:]
    cut = int(m.group(1))
    assert out.count("<details>") == 400 - cut
    assert out.count("<details>") == out.count("</details>")
    assert 0 < cut < 400
    assert "| `ivr` | 400 |" in out  # the table still counts everything


def test_plan_out_with_json_keeps_stdout_clean(three):
    code, out, err = three.cli("plan", "--json", "--out", str(three.plan_file))
    assert code == 0
    json.loads(out)
    assert "Saved the plan to" in err


# --- mass-delete guard -----------------------------------------------------


@pytest.fixture
def thirty(project):
    for i in range(30):
        project.add(f"p{i:02d}", seed=i)
    project.write()
    project.apply()
    return project


def drop(p, n: int) -> None:
    for key in list(p.assets)[:n]:
        del p.assets[key]
    p.write()


def test_mass_delete_guard_stops_plan_and_apply(thirty):
    drop(thirty, 12)
    code, out, err = thirty.cli("plan")
    assert code == 1
    assert "Error: instance ivr: 12 of 30 managed assets (40%) would be deleted, over max_delete_percent = 30%; use --force" in err
    # the refused plan is still shown: what --force would do
    assert "Plan: 0 to add, 0 to change, 0 to replace, 12 to destroy." in out
    assert "This plan is refused by the mass-delete guard" in out
    before = thirty.snapshot()
    code, out, err = thirty.cli("apply", "--auto-approve")
    assert code == 1 and "use --force" in err
    assert "12 to destroy" in out and "Apply complete" not in out
    assert thirty.snapshot() == before


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_mass_delete_guard_renders_the_refused_plan_in_every_format(thirty, fmt):
    drop(thirty, 12)
    code, out, err = thirty.cli("plan", "--format", fmt, "--out", str(thirty.plan_file))
    assert code == 1 and "max_delete_percent = 30%" in err
    assert not thirty.plan_file.exists()  # a refused plan is not saved for `apply FILE`
    if fmt == "json":
        data = json.loads(out)
        assert data["summary"]["delete"] == 12 and "max_delete_percent = 30%" in data["refused"][0]
    else:
        assert "**This plan is refused by the mass-delete guard.**" in out and "12 to destroy" in out


def test_mass_delete_guard_counts_prune(project):
    """50 unmanaged files under max_deletes = 1 with prune = true: refused, nothing deleted."""
    project.add("p00", seed=0)
    project.settings = "prune = true\nmax_deletes = 1"
    project.write()
    project.remote.mkdir(parents=True, exist_ok=True)
    for i in range(50):
        (project.remote / f"old{i:02d}.wav").write_bytes(make_wav(seed=200 + i))
    code, out, err = project.cli("plan")
    assert code == 1
    assert "instance ivr: 50 of 50 assets (0 managed, 50 unmanaged) would be deleted by prune = true, " \
        "over max_deletes = 1; use --force" in err
    assert "50 to destroy" in out
    code, out, err = project.cli("apply", "--auto-approve")
    assert code == 1 and len(project.remote_files()) == 50
    project.apply("--force")
    assert project.remote_files() == ["p00.wav"]


def test_mass_delete_guard_force(thirty):
    drop(thirty, 12)
    code, out, _ = thirty.cli("plan", "--force")
    assert code == 0
    assert "Plan: 0 to add, 0 to change, 0 to replace, 12 to destroy." in out
    saved(thirty, "--force")
    code, out, err = thirty.cli("apply", str(thirty.plan_file))
    assert code == 0, err
    assert len(thirty.remote_files()) == 18


def test_mass_delete_guard_force_on_apply(thirty):
    drop(thirty, 12)
    thirty.apply("--force")
    assert len(thirty.remote_files()) == 18


def test_mass_delete_under_threshold_passes(thirty):
    drop(thirty, 9)  # 30%: not over
    code, out, err = thirty.cli("plan")
    assert code == 0, err


def test_mass_delete_counts_replaces(thirty):
    for i, key in enumerate(list(thirty.assets)[:10]):
        thirty.add(key, seed=100 + i)
    code, _, err = thirty.cli("plan")
    assert code == 1
    assert "instance ivr: 10 of 30 managed assets (33.3%) would be replaced, over max_delete_percent = 30%; use --force" in err


def test_mass_delete_thresholds_per_instance(thirty):
    drop(thirty, 12)
    thirty.settings = "max_delete_percent = 50"
    thirty.write()
    assert thirty.cli("plan")[0] == 0
    thirty.settings = "max_deletes = 5"
    thirty.write()
    code, _, err = thirty.cli("plan")
    assert code == 1
    assert "instance ivr: 12 of 30 managed assets would be deleted, over max_deletes = 5; use --force" in err


def test_small_instances_have_no_percentage_guard(three):
    three.assets.clear()
    three.write()
    code, out, err = three.cli("plan")
    assert code == 0, err
    assert "3 to destroy" in out


def test_protect_still_holds_with_force(three):
    three.assets["welcome"]["protect"] = True
    three.write()
    three.apply()
    three.assets.pop("welcome")
    three.write()
    code, _, err = three.cli("plan", "--force")
    assert code == 1 and "protected" in err


# --- targets ---------------------------------------------------------------


def test_target_instance_wildcard_warns(three):
    three.assets["welcome"]["description"] = "New greeting"
    three.write()
    code, out, _ = three.cli("plan", "--target", "ivr.*", "--json")
    assert code == 0
    data = json.loads(out)
    assert {c["address"] for c in data["changes"]} == {"ivr.welcome", "ivr.hold", "ivr.goodbye"}
    assert any("targeted plan" in w for w in data["warnings"])
    code, out, _ = three.cli("plan", "--target", "ivr.welcome")
    assert "Warning: targeted plan (--target)" in out
    code, out, _ = three.cli("plan", "--target", "other.*")
    assert "--target other.* matches no declared or recorded address" in out


def test_target_apply_touches_only_the_target(three):
    three.assets["welcome"]["description"] = "New greeting"
    three.assets["hold"]["description"] = "New hold"
    three.write()
    three.apply("--target", "ivr.welcome")
    code, out, _ = three.cli("plan", "--json")
    changes = {c["address"]: c["action"] for c in json.loads(out)["changes"]}
    assert changes["ivr.welcome"] == "noop" and changes["ivr.hold"] == "update"
