"""`reconciler drift`: read-only, lockfile vs what the folder holds, one test per kind."""

from __future__ import annotations

import json

from tests.conftest import make_wav
from tests.e2e import gitops_env

project = gitops_env.project
three = gitops_env.three


def drift(p, *args: str):
    """Run drift and prove it wrote nothing."""
    before = p.snapshot()
    code, out, err = p.cli("drift", *args)
    assert p.snapshot() == before, "drift must write nothing"
    return code, out, err


def kinds(p) -> list[tuple[str, str]]:
    code, out, err = drift(p, "--json")
    assert code == 2, out + err
    return [(d["address"], d["kind"]) for d in json.loads(out)["drift"]]


def test_no_drift(three):
    code, out, _ = drift(three)
    assert code == 0
    assert "No drift. 3 recorded asset(s) match what the providers list." in out


def test_drift_deleted(three):
    (three.remote / "welcome.wav").unlink()
    assert kinds(three) == [("ivr.welcome", "deleted")]
    code, out, _ = drift(three)
    assert "ivr.welcome: deleted: remote asset welcome.wav ('welcome') is gone" in out
    assert "Drift: 1 item(s): 1 deleted." in out


def test_drift_description_edited(three):
    index = three.remote / ".reconciler-index.json"
    data = json.loads(index.read_text())
    data["welcome.wav"] = "Edited in the console"
    index.write_text(json.dumps(data))
    assert kinds(three) == [("ivr.welcome", "description_edited")]


def test_drift_content_changed(three):
    (three.remote / "hold-music.wav").write_bytes(make_wav(0.05, seed=50))
    assert kinds(three) == [("ivr.hold", "content_changed")]


def test_drift_renamed(three):
    """The directory's remote id is the file name, so a rename in place is seen
    when the lockfile recorded another name under the same id (as it would after
    a console rename on an id-keyed provider)."""
    data = three.lockfile()
    data["assets"]["ivr.goodbye"]["name"] = "farewell"
    three.write_lockfile(data)
    assert kinds(three) == [("ivr.goodbye", "renamed")]
    _, out, _ = drift(three)
    assert "ivr.goodbye: renamed: 'farewell' → 'goodbye'" in out


def test_drift_unmanaged(three):
    (three.remote / "stray.wav").write_bytes(make_wav(0.05, seed=60))
    assert kinds(three) == [("ivr:stray.wav", "unmanaged")]


def test_drift_ignores_pending_config_changes(three):
    """A local edit not yet applied is a plan, not drift."""
    three.assets["welcome"]["description"] = "Pending"
    three.add("news", seed=8)
    three.write()
    code, out, _ = drift(three)
    assert code == 0, out


def test_drift_formats(three):
    (three.remote / "welcome.wav").unlink()
    (three.remote / "stray.wav").write_bytes(make_wav(0.05, seed=61))
    code, out, _ = drift(three, "--format", "markdown")
    assert code == 2
    assert out.startswith("### reconciler drift")
    assert "| deleted | 1 |" in out and "| unmanaged | 1 |" in out
    assert "| `ivr.welcome` | deleted |" in out
    code, out, _ = drift(three, "--format", "json")
    data = json.loads(out)
    assert data["summary"]["deleted"] == 1 and data["summary"]["unmanaged"] == 1
    assert data["checked"] == {"ivr": 3}


def test_drift_target(three):
    (three.remote / "welcome.wav").unlink()
    (three.remote / "stray.wav").write_bytes(make_wav(0.05, seed=61))
    code, out, _ = drift(three, "--target", "ivr.hold")
    assert code == 0, out
    assert kinds_with(three, "--target", "ivr.*") == [("ivr.welcome", "deleted"), ("ivr:stray.wav", "unmanaged")]


def kinds_with(p, *args: str) -> list[tuple[str, str]]:
    code, out, _ = drift(p, "--json", *args)
    return [(d["address"], d["kind"]) for d in json.loads(out)["drift"]]


def test_drift_error_exits_1(three):
    three.config.write_text("[providers.ivr\n")
    code, _, err = drift(three)
    assert code == 1
    assert err.startswith("Error: ") and "malformed TOML" in err


def test_drift_before_any_apply(project):
    project.add("welcome", seed=1)
    project.write()
    code, out, _ = drift(project)
    assert code == 0 and "No drift. 0 recorded" in out
    assert not project.lock.exists()
