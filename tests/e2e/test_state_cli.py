"""`import`, `state list|show|rm|mv` and `output`: round trips through the lockfile."""

from __future__ import annotations

import json
import tomllib

from tests.conftest import make_wav
from tests.e2e import gitops_env

project = gitops_env.project
three = gitops_env.three


def plan_actions(p) -> dict[str, str]:
    code, out, err = p.cli("plan", "--json")
    assert code == 0, err
    return {c["address"]: c["action"] for c in json.loads(out)["changes"]}


def test_state_list_and_show(three):
    code, out, _ = three.cli("state list")
    assert code == 0
    assert out.splitlines() == ["ivr.goodbye", "ivr.hold", "ivr.welcome"]
    code, out, _ = three.cli("state show", "ivr.hold")
    assert code == 0
    entry = tomllib.loads(out)["assets"]["ivr.hold"]
    assert entry["remote_id"] == "hold-music.wav" and entry["name"] == "hold-music"
    assert entry == three.lockfile()["assets"]["ivr.hold"]


def test_state_show_unknown(three):
    code, _, err = three.cli("state show", "ivr.welcom")
    assert code == 1
    assert "Error: ivr.welcom is not in the lockfile (did you mean 'ivr.welcome'?)" in err


def test_state_rm_forgets_without_deleting(three):
    serial = three.lockfile()["serial"]
    code, out, _ = three.cli("state rm", "ivr.welcome")
    assert code == 0
    assert "Removed ivr.welcome from the lockfile (remote id welcome.wav left in place)." in out
    assert "ivr.welcome" not in three.lockfile()["assets"]
    assert three.lockfile()["serial"] == serial + 1
    assert "welcome.wav" in three.remote_files()
    # still declared, same content under the same name: the next plan adopts it
    assert plan_actions(three)["ivr.welcome"] == "adopt"


def test_state_rm_pattern_is_one_write(three):
    serial = three.lockfile()["serial"]
    code, out, _ = three.cli("state rm", "ivr.*")
    assert code == 0 and out.count("Removed") == 3
    assert three.lockfile().get("assets", {}) == {}
    assert three.lockfile()["serial"] == serial + 1
    assert len(three.remote_files()) == 3


def test_state_rm_unknown_changes_nothing(three):
    before = three.snapshot()
    code, _, err = three.cli("state rm", "ivr.welcome", "ivr.nope")
    assert code == 1 and "ivr.nope is not in the lockfile" in err
    assert three.snapshot() == before


def test_state_mv_keeps_the_remote_asset(three):
    # the key is renamed in the config; the remote name stays
    three.assets["greeting"] = {**three.assets.pop("welcome"), "name": "welcome"}
    three.write()
    assert plan_actions(three).get("ivr.welcome") == "delete"
    code, out, _ = three.cli("state mv", "ivr.welcome", "ivr.greeting")
    assert code == 0
    assert "Moved ivr.welcome to ivr.greeting (remote id welcome.wav)." in out
    assert set(plan_actions(three).values()) == {"noop"}
    code, out, _ = three.cli("plan", "--detailed-exitcode")
    assert code == 0, out


def test_state_mv_refusals(three):
    code, _, err = three.cli("state mv", "ivr.welcome", "ivr.hold")
    assert code == 1 and "ivr.hold is already in the lockfile" in err
    code, _, err = three.cli("state mv", "ivr.welcome", "other.welcome")
    assert code == 1 and "lives on instance 'ivr'" in err
    code, _, err = three.cli("state mv", "ivr.nope", "ivr.new")
    assert code == 1 and "ivr.nope is not in the lockfile" in err
    code, _, err = three.cli("state mv", "ivr.welcome", "not an address")
    assert code == 1 and "is not an address" in err


def test_output(three):
    code, out, _ = three.cli("output")
    assert code == 0
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["ivr.goodbye", "goodbye.wav"], ["ivr.hold", "hold-music.wav"], ["ivr.welcome", "welcome.wav"],
    ]
    code, out, _ = three.cli("output", "--json")
    data = json.loads(out)
    assert data["ivr.hold"] == {"remote_id": "hold-music.wav", "name": "hold-music", "instance": "ivr", "type": "directory"}
    lock = three.lockfile()["assets"]
    assert {a: v["remote_id"] for a, v in data.items()} == {a: e["remote_id"] for a, e in lock.items()}


def test_output_before_apply_is_empty(project):
    project.add("welcome", seed=1)
    project.write()
    code, out, _ = project.cli("output", "--json")
    assert code == 0 and json.loads(out) == {}


def test_state_commands_work_with_a_missing_audio_file(three):
    (three.root / "audio" / "goodbye.wav").unlink()
    assert three.cli("plan")[0] == 1
    assert three.cli("state list")[0] == 0
    assert three.cli("state rm", "ivr.goodbye")[0] == 0


# --- import ------------------------------------------------------------------


def imported(p, address: str, remote_id: str) -> str:
    code, out, err = p.cli("import", address, remote_id)
    assert code == 0, out + err
    return out + err


def test_import_same_content(project):
    project.add("welcome", seed=1, description="Main greeting")
    project.write()
    project.remote.mkdir()
    (project.remote / "legacy-welcome.wav").write_bytes((project.root / "audio" / "welcome.wav").read_bytes())
    out = imported(project, "ivr.welcome", "legacy-welcome.wav")
    assert "Imported ivr.welcome (remote id legacy-welcome.wav, name 'legacy-welcome'): content matches" in out
    entry = project.lockfile()["assets"]["ivr.welcome"]
    assert entry["remote_id"] == "legacy-welcome.wav"
    # recorded as it is: the next plan renames it to the declared name and sets the description
    assert plan_actions(project) == {"ivr.welcome": "update"}
    project.apply()
    assert project.remote_files() == ["welcome.wav"]
    assert plan_actions(project) == {"ivr.welcome": "noop"}


def test_import_different_content_is_replaced_next(project):
    project.add("welcome", seed=1)
    project.write()
    project.remote.mkdir()
    (project.remote / "welcome.wav").write_bytes(make_wav(0.05, seed=99))
    code, _, err = project.cli("plan")
    assert code == 1 and f"`reconciler -c {project.config} import ivr.welcome welcome.wav`" in err  # the way out it names
    out = imported(project, "ivr.welcome", "welcome.wav")
    assert "content differs from the local file" in out
    assert "Warning: the remote content differs from the local file: the next plan will replace it" in out
    assert plan_actions(project) == {"ivr.welcome": "replace"}
    project.apply()
    assert (project.remote / "welcome.wav").read_bytes() == (project.root / "audio" / "welcome.wav").read_bytes()


def test_import_refusals(three):
    before = three.snapshot()
    code, _, err = three.cli("import", "ivr.welcom", "x.wav")
    assert code == 1 and "ivr.welcom is not declared (did you mean 'ivr.welcome'?)" in err
    code, _, err = three.cli("import", "ivr.welcome", "hold-music.wav")
    assert code == 1 and "ivr.welcome is already managed (remote id welcome.wav)" in err
    three.add("news", seed=7)
    three.write()
    before = three.snapshot()
    code, _, err = three.cli("import", "ivr.news", "missing.wav")
    assert code == 1 and "instance 'ivr' has no asset with remote id missing.wav" in err
    code, _, err = three.cli("import", "ivr.news", "hold-music.wav")
    assert code == 1 and "already recorded as ivr.hold" in err
    assert three.snapshot() == before
