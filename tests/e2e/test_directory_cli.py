"""The CLI as a user types it, on the `directory` provider, in temp folders.

The "remote" is a real folder; assertions are on what it holds, what the
lockfile records, and what a second plan says.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import filelock
import pytest

from tests.conftest import make_mp3_frame_stream, make_wav

WELCOME, HOLD, GOODBYE = make_wav(seed=1), make_wav(0.3, seed=2), make_wav(0.4, seed=3)


def toml(assets: dict[str, dict], *, prune: bool = False, extra: str = "") -> str:
    lines = ["[providers.local]", 'type = "directory"', 'path = "remote"']
    if prune:
        lines.append("prune = true")
    lines.append(extra)
    for key, fields in assets.items():
        lines.append(f"[providers.local.assets.{key}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


THREE = {
    "welcome": {"file": "audio/welcome.wav", "description": "Main greeting"},
    "hold": {"file": "audio/hold.wav", "name": "hold-music"},
    "goodbye": {"file": "audio/goodbye.wav"},
}


@pytest.fixture
def ws(workspace):
    workspace.audio("welcome.wav", WELCOME)
    workspace.audio("hold.wav", HOLD)
    workspace.audio("goodbye.wav", GOODBYE)
    workspace.write(toml(THREE))
    return workspace


@pytest.fixture
def applied(ws, cli):
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    return ws


def remote_files(ws) -> list[str]:
    return sorted(p.name for p in ws.target.iterdir() if not p.name.startswith("."))


def lock_data(ws) -> dict:
    import tomllib

    return tomllib.loads(ws.lock.read_text())


def index(ws) -> dict:
    return json.loads((ws.target / ".reconciler-index.json").read_text())


def assert_no_changes(cli) -> None:
    code, out, err = cli("plan", "--detailed-exitcode")
    assert (code, err) == (0, ""), out + err
    assert "No changes. Remote state matches the configuration." in out


# --- the happy paths --------------------------------------------------------------

def test_create(ws, cli):
    code, out, _ = cli("plan")
    assert code == 0
    for line in ("+ local.welcome", "+ local.hold", "+ local.goodbye", 'name        = "hold-music"',
                 'description = "Main greeting"', "Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy."):
        assert line in out
    assert not ws.target.exists() and not ws.lock.exists()  # plan changes nothing

    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0
    assert "Apply complete: 3 added, 0 changed, 0 replaced, 0 destroyed." in out
    assert remote_files(ws) == ["goodbye.wav", "hold-music.wav", "welcome.wav"]
    assert (ws.target / "welcome.wav").read_bytes() == WELCOME
    assert index(ws) == {"welcome.wav": "Main greeting"}
    assets = lock_data(ws)["assets"]
    assert sorted(assets) == ["local.goodbye", "local.hold", "local.welcome"]
    assert assets["local.hold"]["remote_id"] == "hold-music.wav"
    assert assets["local.hold"]["name"] == "hold-music"
    assert lock_data(ws)["serial"] == 3  # one checkpoint per action
    assert_no_changes(cli)


def test_adopt_existing_identical_file(ws, cli):
    ws.target.mkdir()
    (ws.target / "welcome.wav").write_bytes(WELCOME)
    inode = (ws.target / "welcome.wav").stat().st_ino

    code, out, _ = cli("plan")
    assert "= local.welcome" in out and "checked by sha256" in out
    assert "Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy, 1 to adopt." in out

    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0
    assert "Apply complete: 2 added, 0 changed, 0 replaced, 0 destroyed, 1 adopted." in out
    assert (ws.target / "welcome.wav").stat().st_ino == inode  # no upload
    assert lock_data(ws)["assets"]["local.welcome"]["remote_id"] == "welcome.wav"
    assert index(ws)["welcome.wav"] == "Main greeting"  # the description was set on adoption
    assert_no_changes(cli)


def test_update_description(applied, cli):
    three = {**THREE, "welcome": {**THREE["welcome"], "description": "Hello and welcome"}}
    applied.write(toml(three))
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "~ local.welcome" in out
    assert '~ description = "Main greeting" -> "Hello and welcome"' in out
    assert "Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy." in out

    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0 and "Apply complete: 0 added, 1 changed, 0 replaced, 0 destroyed." in out
    assert index(applied)["welcome.wav"] == "Hello and welcome"
    assert lock_data(applied)["assets"]["local.welcome"]["description"] == "Hello and welcome"
    assert_no_changes(cli)


def test_rename_is_an_update_that_moves_the_file(applied, cli):
    three = {**THREE, "goodbye": {**THREE["goodbye"], "name": "farewell"}}
    applied.write(toml(three))
    code, out, _ = cli("plan")
    assert "~ local.goodbye" in out and '~ name        = "goodbye" -> "farewell"' in out
    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0
    assert remote_files(applied) == ["farewell.wav", "hold-music.wav", "welcome.wav"]
    assert lock_data(applied)["assets"]["local.goodbye"]["remote_id"] == "farewell.wav"
    assert_no_changes(cli)


def test_replace_on_content_change(applied, cli):
    new = make_wav(0.7, seed=9)
    applied.audio("welcome.wav", new)
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "-/+ local.welcome" in out and "(the audio content changed)" in out
    assert "~ sha256" in out and "~ duration    = 0.20 s -> 0.70 s" in out
    assert "Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy." in out

    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0 and "Apply complete: 0 added, 0 changed, 1 replaced, 0 destroyed." in out
    assert (applied.target / "welcome.wav").read_bytes() == new
    assert remote_files(applied) == ["goodbye.wav", "hold-music.wav", "welcome.wav"]
    entry = lock_data(applied)["assets"]["local.welcome"]
    assert entry["size"] == len(new) and "superseded" not in entry
    assert_no_changes(cli)


def test_replace_with_a_new_format_changes_the_file_name(applied, cli):
    applied.audio("welcome.mp3", make_mp3_frame_stream())
    three = {**THREE, "welcome": {**THREE["welcome"], "file": "audio/welcome.mp3"}}
    applied.write(toml(three))
    code, out, _ = cli("plan")
    assert "-/+ local.welcome" in out and '~ format      = "wav" -> "mp3"' in out
    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0
    assert remote_files(applied) == ["goodbye.wav", "hold-music.wav", "welcome.mp3"]
    assert_no_changes(cli)


def test_delete_when_removed_from_the_config(applied, cli):
    applied.write(toml({k: v for k, v in THREE.items() if k != "goodbye"}))
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "- local.goodbye" in out and "[id=goodbye.wav]" in out and "(it is no longer declared)" in out
    assert "Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy." in out

    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0 and "Apply complete: 0 added, 0 changed, 0 replaced, 1 destroyed." in out
    assert remote_files(applied) == ["hold-music.wav", "welcome.wav"]
    assert "local.goodbye" not in lock_data(applied)["assets"]
    assert_no_changes(cli)


def test_key_renamed_deletes_then_creates_under_the_same_name(applied, cli):
    three = dict(THREE)
    three["farewell"] = {**three.pop("goodbye"), "name": "goodbye"}
    applied.write(toml(three))
    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0, out
    assert "1 added, 0 changed, 0 replaced, 1 destroyed" in out
    assert remote_files(applied) == ["goodbye.wav", "hold-music.wav", "welcome.wav"]
    assert sorted(lock_data(applied)["assets"]) == ["local.farewell", "local.hold", "local.welcome"]
    assert_no_changes(cli)


def test_unmanaged_is_listed_not_touched_then_pruned(applied, cli):
    (applied.target / "stray.wav").write_bytes(make_wav(seed=42))
    (applied.target / "README.txt").write_text("not audio: never ours")
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 0
    assert "No changes." in out and "Unmanaged remote assets" in out and "stray.wav" in out
    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0 and (applied.target / "stray.wav").exists()

    applied.write(toml(THREE, prune=True))
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "- local:stray.wav" in out and "unmanaged, and prune = true" in out
    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0 and "0 added, 0 changed, 0 replaced, 1 destroyed" in out
    assert remote_files(applied) == ["README.txt", "goodbye.wav", "hold-music.wav", "welcome.wav"]
    assert_no_changes(cli)


def test_protect_blocks_replace_and_delete(applied, cli):
    three = {**THREE, "welcome": {**THREE["welcome"], "protect": True}}
    applied.write(toml(three))
    code, out, _ = cli("apply", "--auto-approve")  # records protect = true
    assert code == 0 and "1 changed" in out
    assert lock_data(applied)["assets"]["local.welcome"]["protect"] is True
    before = applied.lock.read_bytes()

    applied.audio("welcome.wav", make_wav(seed=77))
    for command in ("plan", "apply"):
        code, out, err = cli(command, "--auto-approve") if command == "apply" else cli(command)
        assert code == 1
        assert_one_error(err, "local.welcome is protected and would be replaced")
    applied.audio("welcome.wav", WELCOME)

    applied.write(toml({k: v for k, v in THREE.items() if k != "welcome"}))
    code, out, err = cli("apply", "--auto-approve")
    assert code == 1
    assert_one_error(err, "local.welcome is protected and would be deleted")
    assert (applied.target / "welcome.wav").read_bytes() == WELCOME
    assert applied.lock.read_bytes() == before

    # the way out the message names: protect = false, apply, then remove it
    applied.write(toml(THREE))
    assert cli("apply", "--auto-approve")[0] == 0
    assert lock_data(applied)["assets"]["local.welcome"]["protect"] is False
    applied.write(toml({k: v for k, v in THREE.items() if k != "welcome"}))
    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0 and "1 destroyed" in out
    assert "welcome.wav" not in remote_files(applied)


# --- drift: the folder edited by hand ------------------------------------------------------

def test_drift_file_deleted_by_hand_is_put_back(applied, cli):
    (applied.target / "welcome.wav").unlink()
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "Objects have changed outside of reconciler" in out
    assert "local.welcome: deleted" in out
    assert "+ local.welcome" in out and "(it was deleted outside reconciler)" in out
    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0 and "1 added" in out
    assert (applied.target / "welcome.wav").read_bytes() == WELCOME
    assert_no_changes(cli)


def test_drift_file_renamed_by_hand_is_put_back(applied, cli):
    (applied.target / "welcome.wav").rename(applied.target / "hello.wav")
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "local.welcome: deleted" in out and "+ local.welcome" in out
    assert "hello.wav" in out  # the renamed copy is shown as unmanaged, not silently adopted
    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0
    assert (applied.target / "welcome.wav").read_bytes() == WELCOME
    assert_no_changes(cli)


def test_drift_content_overwritten_by_hand_is_replaced(applied, cli):
    (applied.target / "goodbye.wav").write_bytes(make_wav(seed=55))
    code, out, _ = cli("plan")
    assert "local.goodbye: content changed" in out
    assert "-/+ local.goodbye" in out and "(the remote content changed outside reconciler)" in out
    assert cli("apply", "--auto-approve")[0] == 0
    assert (applied.target / "goodbye.wav").read_bytes() == GOODBYE
    assert_no_changes(cli)


def test_drift_description_edited_by_hand_is_put_back(applied, cli):
    idx = index(applied)
    idx["welcome.wav"] = "edited by hand"
    (applied.target / ".reconciler-index.json").write_text(json.dumps(idx))
    code, out, _ = cli("plan")
    assert "local.welcome: description edited" in out and "~ local.welcome" in out
    assert cli("apply", "--auto-approve")[0] == 0
    assert index(applied)["welcome.wav"] == "Main greeting"
    assert_no_changes(cli)


# --- plan / apply mechanics ------------------------------------------------------------------------

def test_second_apply_does_nothing(applied, cli):
    before = applied.lock.read_bytes()
    stamps = {p.name: p.stat().st_mtime_ns for p in applied.target.iterdir()}
    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0
    assert "No changes. Remote state matches the configuration." in out
    assert "Apply complete" not in out
    assert applied.lock.read_bytes() == before
    assert {p.name: p.stat().st_mtime_ns for p in applied.target.iterdir()} == stamps


def test_detailed_exitcode(ws, cli):
    assert cli("plan")[0] == 0  # changes, but no --detailed-exitcode
    assert cli("plan", "--detailed-exitcode")[0] == 2
    assert cli("apply", "--auto-approve")[0] == 0
    assert cli("plan", "--detailed-exitcode")[0] == 0


def test_target(ws, cli):
    code, out, _ = cli("plan", "--target", "local.hold")
    assert "+ local.hold" in out and "local.welcome" not in out
    assert "Plan: 1 to add" in out and "--target" in out
    code, out, _ = cli("apply", "--auto-approve", "--target", "local.hold", "--target", "local.goodbye")
    assert code == 0 and "2 added" in out
    assert remote_files(ws) == ["goodbye.wav", "hold-music.wav"]
    code, out, _ = cli("plan", "--detailed-exitcode", "--target", "local.hold")
    assert code == 0
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2 and "Plan: 1 to add" in out


def test_apply_without_auto_approve_refuses_when_stdin_is_not_a_terminal(ws, cli):
    code, out, err = cli("apply", input="yes\n")
    assert code == 1
    assert "+ local.welcome" in out  # the plan is shown first
    assert_one_error(err, "refusing to apply: stdin is not a terminal")
    assert "--auto-approve" in err
    assert not ws.target.exists() and not ws.lock.exists()


def test_no_colour_when_not_a_terminal(ws, cli):
    _, out, _ = cli("plan")
    assert "\x1b[" not in out


def test_python_dash_m_is_the_same_cli(ws):
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-c", str(ws.config)],
                          capture_output=True, text=True, check=False, cwd=ws.root, env=env)
    assert proc.returncode == 0 and "Plan: 3 to add" in proc.stdout


# --- validate / init / providers ------------------------------------------------------------

def test_validate(ws, cli):
    code, out, err = cli("validate")
    assert code == 0 and err == ""
    assert "valid" in out and "3 asset(s) on 1 instance(s)" in out
    assert not ws.target.exists()  # offline


def test_validate_rejects_text_named_mp3(ws, cli):
    ws.audio("fake.mp3", b"this is not audio at all, just text\n" * 5)
    ws.write(toml({**THREE, "fake": {"file": "audio/fake.mp3"}}))
    code, out, err = cli("validate")
    assert code == 1
    assert_one_error(err, "providers.local.assets.fake", str(ws.config), "is not audio")


def test_init_writes_a_starter_and_refuses_to_overwrite(tmp_path, run_cli):
    cfg = tmp_path / "reconciler.toml"
    code, out, err = run_cli("init", "-c", str(cfg))
    assert code == 0 and cfg.exists() and f"`reconciler -c {cfg} plan`" in out
    starter = cfg.read_text()
    assert starter.lstrip().startswith("#")
    code, out, err = run_cli("validate", "-c", str(cfg))
    assert code == 0, err  # the starter is a valid config as written

    cfg.write_text(starter + "# my edits\n")
    code, out, err = run_cli("init", "-c", str(cfg))
    assert code == 1
    assert_one_error(err, str(cfg), "already exists")
    assert cfg.read_text() == starter + "# my edits\n"


def test_providers_lists_capabilities(run_cli):
    code, out, err = run_cli("providers")
    assert code == 0 and err == ""
    row = next(line for line in out.splitlines() if "directory" in line)
    assert "yes" in row


# --- every bad input: exit 1, one `Error: ...` paragraph, no traceback, lockfile intact --------

def assert_one_error(err: str, *needles: str) -> None:
    assert err.startswith("Error: "), err
    assert "Traceback" not in err
    assert "\n\n" not in err.strip(), err  # one paragraph
    assert err.count("Error:") == 1, err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.fixture
def broken(applied, cli):
    """Run failing commands against an applied workspace, once broken: each
    must fail cleanly and leave the lockfile and the remote folder as they were."""

    def check(*needles: str, commands=("plan", "apply", "validate")) -> str:
        before = applied.lock.read_bytes()
        files = remote_files(applied)
        errs = []
        for command in commands:
            args = ("--auto-approve",) if command == "apply" else ()
            code, out, err = cli(command, *args)
            assert code == 1, (command, out, err)
            assert_one_error(err, *needles)
            assert applied.lock.read_bytes() == before, command
            assert remote_files(applied) == files, command
            errs.append(err)
        return errs[0]

    return check


def test_error_malformed_toml(applied, broken):
    applied.config.write_text(applied.config.read_text() + "\n[providers.local.assets.x\nfile = 1\n")
    err = broken(str(applied.config), "malformed TOML")
    assert re.search(r"line \d+, column \d+", err)


def test_error_unknown_provider_type(applied, broken):
    applied.config.write_text(applied.config.read_text().replace('"directory"', '"dirctory"'))
    broken(str(applied.config), "providers.local.type", "unknown provider type 'dirctory'",
           "did you mean 'directory'?")


def test_error_unknown_key(applied, broken):
    applied.write(toml({**THREE, "hold": {**THREE["hold"], "descripton": "x"}}))
    broken(str(applied.config), "providers.local.assets.hold.descripton", "did you mean 'description'?")


def test_error_missing_audio_file(applied, broken):
    (applied.root / "audio" / "hold.wav").unlink()
    broken(str(applied.config), "providers.local.assets.hold", "hold.wav does not exist")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads a chmod 000 file; the folder variant below covers the path")
def test_error_unreadable_audio_file(applied, broken):
    path = applied.root / "audio" / "hold.wav"
    path.chmod(0)
    try:
        broken(str(applied.config), "providers.local.assets.hold", "not readable")
    finally:
        path.chmod(0o644)


def test_error_audio_path_is_not_a_readable_file(applied, broken):
    path = applied.root / "audio" / "hold.wav"
    path.unlink()
    path.mkdir()
    broken(str(applied.config), "providers.local.assets.hold", "is a folder, not an audio file")


def test_error_file_not_audio(applied, broken):
    applied.audio("hold.wav", b"RIFF? no: a text file with a .wav name\n")
    broken(str(applied.config), "providers.local.assets.hold", "is not audio")


def test_error_duplicate_remote_names(applied, broken):
    applied.write(toml({**THREE, "goodbye": {**THREE["goodbye"], "name": "welcome"}}))
    broken(str(applied.config), "remote name 'welcome'", "local.welcome")


def test_error_name_taken_by_unmanaged_content(applied, broken):
    applied.audio("extra.wav", make_wav(seed=10))
    (applied.target / "extra.wav").write_bytes(make_wav(seed=11))  # someone else's file
    applied.write(toml({**THREE, "extra": {"file": "audio/extra.wav"}}))
    broken("local.extra", "name 'extra'", "extra.wav", f"`reconciler -c {applied.config} import local.extra extra.wav`", commands=("plan", "apply"))
    assert (applied.target / "extra.wav").read_bytes() == make_wav(seed=11)


def test_error_lockfile_corrupt(applied, broken):
    applied.lock.write_bytes(applied.lock.read_bytes()[:-40] + b"\n[[[ broken\n")
    broken(str(applied.lock), "corrupt", "has not been modified", commands=("plan", "apply"))


def test_error_lockfile_held_by_another_apply(applied, cli, broken):
    held = filelock.FileLock(str(applied.lock) + ".lck")
    with held.acquire(timeout=0):
        broken(str(applied.lock), "held by another reconciler process", "--lock-timeout", commands=("apply",))
        assert cli("plan")[0] == 0  # plan only reads: it is not kept out
    assert cli("apply", "--auto-approve")[0] == 0  # released: apply runs again


def test_error_lockfile_records_an_instance_the_config_dropped(applied, broken):
    applied.config.write_text(applied.config.read_text().replace("providers.local", "providers.other"))
    broken("instance(s) local", "local.welcome", "[providers.<instance>]", commands=("plan", "apply"))


def test_error_protected_asset_scheduled_for_delete(applied, cli, broken):
    applied.write(toml({**THREE, "hold": {**THREE["hold"], "protect": True}}))
    assert cli("apply", "--auto-approve")[0] == 0
    applied.write(toml({k: v for k, v in THREE.items() if k != "hold"}))
    before = applied.lock.read_bytes()
    code, _, err = cli("apply", "--auto-approve")
    assert code == 1
    assert_one_error(err, "local.hold is protected and would be deleted")
    assert applied.lock.read_bytes() == before
    assert "hold-music.wav" in remote_files(applied)


def test_error_protected_asset_scheduled_for_replace(applied, cli):
    applied.write(toml({**THREE, "hold": {**THREE["hold"], "protect": True}}))
    assert cli("apply", "--auto-approve")[0] == 0
    applied.audio("hold.wav", make_wav(seed=99))
    before = applied.lock.read_bytes()
    code, _, err = cli("apply", "--auto-approve")
    assert code == 1
    assert_one_error(err, "local.hold is protected and would be replaced")
    assert applied.lock.read_bytes() == before
    assert (applied.target / "hold-music.wav").read_bytes() == HOLD


def test_debug_shows_the_traceback(applied, run_cli):
    applied.config.write_text("[broken\n")
    with pytest.raises(Exception, match="malformed TOML"):
        run_cli("plan", "-c", str(applied.config), "--debug")


def test_config_not_found(tmp_path, run_cli):
    code, _, err = run_cli("plan", "-c", str(tmp_path / "missing.toml"))
    assert code == 1
    assert_one_error(err, "missing.toml", "not found", f"`reconciler -c {tmp_path / 'missing.toml'} init`")


def test_target_folder_is_a_file(ws, cli):
    ws.target.write_text("oops")
    code, _, err = cli("plan")
    assert code == 1
    assert_one_error(err, str(ws.target), "not a folder")


def test_path_of_lockfile(tmp_path: Path, run_cli):
    """`lockfile = ...` under [settings] moves the lockfile."""
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "a.wav").write_bytes(WELCOME)
    cfg = tmp_path / "reconciler.toml"
    cfg.write_text('[settings]\nlockfile = "state/prod.lock"\n' + toml({"a": {"file": "audio/a.wav"}}))
    assert run_cli("apply", "-c", str(cfg), "--auto-approve")[0] == 0
    assert (tmp_path / "state" / "prod.lock").exists() and not (tmp_path / "reconciler.lock").exists()


def test_target_brings_the_delete_that_frees_the_name(applied, cli):
    three = dict(THREE)
    three["farewell"] = {**three.pop("goodbye"), "name": "goodbye"}
    applied.write(toml(three))
    code, out, err = cli("apply", "--auto-approve", "--target", "local.farewell")
    assert code == 0, out + err
    assert "1 added, 0 changed, 0 replaced, 1 destroyed" in out
    assert sorted(lock_data(applied)["assets"]) == ["local.farewell", "local.hold", "local.welcome"]
    assert_no_changes(cli)


def make_au(seconds: float = 0.3, rate: int = 8000) -> bytes:
    """A Sun .au file made with soundfile (libsndfile), from a real tone."""
    import io

    import numpy as np
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    buf = io.BytesIO()
    soundfile.write(buf, 0.3 * np.sin(2 * np.pi * 330 * t), rate, format="AU", subtype="PCM_16")
    return buf.getvalue()


def test_format_change_is_announced_as_a_remote_id_change(applied, cli):
    """goodbye.wav becomes AU audio: the file becomes goodbye.au, and every
    format says the remote id changes (never "same remote id")."""
    applied.audio("goodbye.wav", make_au())
    code, out, err = cli("plan")
    assert code == 0, err
    assert "-/+ local.goodbye" in out
    assert "same remote id" not in out
    assert "! the remote id goodbye.wav will change to goodbye.au" in out
    change = next(c for c in json.loads(cli("plan", "--json")[1])["changes"] if c["address"] == "local.goodbye")
    assert change["remote_id"] == "goodbye.wav" and change["remote_id_changes"] is True
    assert change["new_remote_id"] == "goodbye.au"
    md = cli("plan", "--format", "markdown")[1]
    assert "> [!CAUTION]" in md and "`local.goodbye` (replace): id `goodbye.wav` → `goodbye.au`" in md
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "goodbye.au" in remote_files(applied) and "goodbye.wav" not in remote_files(applied)
    assert lock_data(applied)["assets"]["local.goodbye"]["remote_id"] == "goodbye.au"
    assert cli("plan", "--detailed-exitcode")[0] == 0


def test_rename_is_announced_as_a_remote_id_change(applied, cli):
    applied.write(toml({**THREE, "goodbye": {"file": "audio/goodbye.wav", "name": "farewell"}}))
    code, out, err = cli("plan")
    assert "~ local.goodbye" in out and "the remote id goodbye.wav will change to farewell.wav" in out
    md = cli("plan", "--format", "markdown")[1]
    assert "`local.goodbye` (update): id `goodbye.wav` → `farewell.wav`" in md


def test_descriptions_of_many_concurrent_changes_all_land_in_the_index(workspace, cli):
    """Creates, renames, description changes and deletes running 8 at once
    share one in-memory index, written with the folder syncs: every change
    must be in the file, none lost to a concurrent one."""
    many = {f"p{i:02d}": {"file": f"audio/p{i:02d}.wav", "description": f"prompt {i}"} for i in range(30)}
    for i in range(30):
        workspace.audio(f"p{i:02d}.wav", make_wav(0.05, seed=100 + i))
    workspace.write(toml(many))
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert index(workspace) == {f"p{i:02d}.wav": f"prompt {i}" for i in range(30)}

    changed = {key: dict(fields) for key, fields in many.items() if key not in ("p00", "p01")}  # two deleted
    for i in range(2, 12):
        changed[f"p{i:02d}"]["description"] = f"new {i}"  # ten described anew
    for i in range(12, 16):
        changed[f"p{i:02d}"]["name"] = f"q{i:02d}"  # four renamed
    for i in range(16, 20):
        changed[f"p{i:02d}"]["description"] = ""  # four descriptions removed
    workspace.write(toml(changed))
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    expected = {f"p{i:02d}.wav": f"new {i}" for i in range(2, 12)}
    expected |= {f"q{i:02d}.wav": f"prompt {i}" for i in range(12, 16)}
    expected |= {f"p{i:02d}.wav": f"prompt {i}" for i in range(20, 30)}
    assert index(workspace) == expected
    assert len(remote_files(workspace)) == 28
    assert_no_changes(cli)
