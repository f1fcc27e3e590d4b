"""Drift a team can keep green, end to end on `directory`: `ignore` globs on
unmanaged files, `ignore_changes`, and a drift check without the audio files."""

from __future__ import annotations

import json

from tests.conftest import make_wav
from tests.e2e import gitops_env

project = gitops_env.project
three = gitops_env.three


def test_ignore_keeps_unmanaged_files_out_of_plan_drift_and_prune(three):
    (three.remote / "tmp-recording.wav").write_bytes(make_wav(0.05, seed=70))
    (three.remote / "stray.wav").write_bytes(make_wav(0.05, seed=71))
    code, out, _ = three.cli("drift", "--json")
    assert code == 2 and {d["address"] for d in json.loads(out)["drift"]} == {"ivr:tmp-recording.wav", "ivr:stray.wav"}

    three.settings = 'ignore = ["tmp-*", "stray"]\nprune = true'
    three.write()
    assert three.cli("drift")[0] == 0
    code, out, _ = three.cli("plan", "--detailed-exitcode")
    assert code == 0 and "tmp-recording" not in out and "stray" not in out
    three.apply()  # prune = true: an ignored file is never a prune candidate
    assert "tmp-recording.wav" in three.remote_files() and "stray.wav" in three.remote_files()

    three.settings = 'ignore = ["tmp-*"]\nprune = true'  # stray no longer ignored: pruned
    three.write()
    three.apply()
    assert "stray.wav" not in three.remote_files() and "tmp-recording.wav" in three.remote_files()


def test_ignore_changes_description_keeps_a_console_edit(three):
    index = three.remote / ".reconciler-index.json"
    data = json.loads(index.read_text())
    data["welcome.wav"] = "Edited in the console"
    index.write_text(json.dumps(data))
    assert three.cli("drift")[0] == 2
    three.settings = 'ignore_changes = ["description"]'
    three.write()
    assert three.cli("drift")[0] == 0
    code, out, err = three.cli("plan", "--detailed-exitcode")
    assert code == 0, out + err
    three.assets["welcome"]["description"] = "A new text in git"  # ignored locally too
    three.write()
    assert three.cli("plan", "--detailed-exitcode")[0] == 0
    three.apply()
    assert json.loads(index.read_text())["welcome.wav"] == "Edited in the console"


def test_asset_ignore_changes_overrides_the_instance(three):
    index = three.remote / ".reconciler-index.json"
    data = json.loads(index.read_text())
    data["welcome.wav"] = "Edited in the console"
    index.write_text(json.dumps(data))
    three.settings = 'ignore_changes = ["description"]'
    three.assets["welcome"]["ignore_changes"] = []
    three.write()
    code, out, _ = three.cli("drift", "--json")
    assert code == 2 and [d["kind"] for d in json.loads(out)["drift"]] == ["description_edited"]
    three.apply()
    assert json.loads(index.read_text())["welcome.wav"] == "Main greeting"


def test_drift_needs_no_audio_file(three):
    snapshot_lock = three.lock.read_bytes()
    for p in (three.root / "audio").iterdir():
        p.unlink()
    code, out, err = three.cli("drift")
    assert code == 0, out + err
    (three.remote / "welcome.wav").unlink()
    code, out, _ = three.cli("drift", "--json")
    assert code == 2 and [d["kind"] for d in json.loads(out)["drift"]] == ["deleted"]
    assert three.lock.read_bytes() == snapshot_lock
    # plan does need them, and says which
    code, _, err = three.cli("plan")
    assert code == 1 and "does not exist" in err
