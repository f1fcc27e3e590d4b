"""The CLI as a user types it, against the Loccus emulator on a real loopback
server. Assertions are on what the emulator's space holds, what the lockfile
records, the requests the emulator saw, and what a second plan says."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from tests.conftest import make_mp3_frame_stream, make_wav
from tests.emulators.loccus import LoccusEmulator, error_body

WELCOME, HOLD = make_wav(0.5, seed=1), make_wav(0.3, seed=2)
LIST_PATH = "/spaces/acme/ivr-prompts/audios"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

TWO = {
    "welcome": {"file": "audio/welcome.wav", "description": "Main greeting"},
    "hold": {"file": "audio/hold.wav", "name": "hold-music"},
}


@pytest.fixture
def em(serve, monkeypatch):
    emulator = LoccusEmulator()
    emulator.server = serve(emulator)
    monkeypatch.setenv("LOCCUS_API_KEY", emulator.token)
    return emulator


@pytest.fixture
def ws(workspace, em):
    workspace.audio("welcome.wav", WELCOME)
    workspace.audio("hold.wav", HOLD)

    def write(assets: dict[str, dict] = TWO, **settings) -> None:
        merged = {
            "type": "loccus", "owner": "acme", "space": "ivr-prompts", "base_url": em.server.url,
            "max_retry_wait": 0.05, "timeout": 5, "state_poll_interval": 0.01, "voice_checks": "off",
            **settings,
        }
        lines = ["[providers.voice]"] + [f"{k} = {json.dumps(v)}" for k, v in merged.items()]
        for key, fields in assets.items():
            lines.append(f"[providers.voice.assets.{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
        workspace.write("\n".join(lines) + "\n")

    workspace.configure = write
    write()
    return workspace


def lock_entries(ws) -> dict:
    return tomllib.loads(ws.lock.read_text())["assets"]


def calls(em) -> list[str]:
    return [f"{r.method} {r.path}" for r in em.requests]


@pytest.fixture
def applied(em, ws, cli):
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    em.reset_log()
    return lock_entries(ws)


def assert_no_changes(cli):
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert "No changes. Remote state matches the configuration." in out


# --- the life of an asset ---------------------------------------------------------


def test_create_records_uuid_and_second_plan_is_empty(em, ws, cli):
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "+ voice.welcome" in out and "+ voice.hold" in out
    assert "Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy." in out

    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 2 added, 0 changed, 0 replaced, 0 destroyed." in out
    assert em.handles() == ["hold-music", "welcome"]
    assert em.by_handle("welcome").alias == "Main greeting"
    assert em.by_handle("hold-music").alias is None  # no description: no alias sent
    entries = lock_entries(ws)
    assert entries["voice.welcome"]["remote_id"] == em.by_handle("welcome").id
    assert UUID.match(entries["voice.welcome"]["remote_id"])
    # the lockfile keeps the source's sha256, not the converted copy's
    import hashlib

    assert entries["voice.welcome"]["sha256"] == hashlib.sha256(WELCOME).hexdigest()
    assert em.by_handle("welcome").source == WELCOME and em.by_handle("welcome").stored != WELCOME
    assert_no_changes(cli)


def test_noop_plan_costs_only_the_list_pages(em, ws, cli, wav):
    assets = {f"p{i}": {"file": f"audio/p{i}.wav"} for i in range(7)}
    for i in range(7):
        ws.audio(f"p{i}.wav", wav(0.2, seed=10 + i))
    ws.configure(assets, page_size=3)
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    em.reset_log()
    assert_no_changes(cli)
    # 7 audios, 3 per page: pages 1, 2 and 3, and nothing else
    assert calls(em) == [f"GET {LIST_PATH}"] * 3
    assert [r.query for r in em.requests] == [f"page={p}&page-size=3" for p in (1, 2, 3)]
    # the default page size is the documented maximum, 50: one request
    ws.configure(assets)
    em.reset_log()
    assert_no_changes(cli)
    assert calls(em) == [f"GET {LIST_PATH}"]
    assert em.requests[0].query == "page=1&page-size=50"


def test_alias_update_in_place(em, ws, cli, applied):
    ws.configure({**TWO, "welcome": {**TWO["welcome"], "description": "New greeting"}})
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "~ voice.welcome" in out and "will be updated in place" in out
    assert '"Main greeting" -> "New greeting"' in out
    em.reset_log()
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 0 added, 1 changed, 0 replaced, 0 destroyed." in out
    assert [c for c in calls(em) if not c.startswith("GET")] == [f"PATCH {LIST_PATH}/welcome"]
    assert em.by_handle("welcome").alias == "New greeting"
    assert em.by_handle("welcome").id == applied["voice.welcome"]["remote_id"]
    assert lock_entries(ws)["voice.welcome"]["description"] == "New greeting"
    assert_no_changes(cli)

    # removing the description clears the alias (null)
    ws.configure({**TWO, "welcome": {"file": "audio/welcome.wav"}})
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert em.by_handle("welcome").alias is None
    assert_no_changes(cli)


def test_content_change_is_a_replace_with_a_new_id(em, ws, cli, applied, wav):
    ws.audio("welcome.wav", wav(0.7, seed=42))
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "-/+ voice.welcome" in out
    assert f"the remote id {applied['voice.welcome']['remote_id']} will change" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 0 added, 0 changed, 1 replaced, 0 destroyed." in out
    new = em.by_handle("welcome")
    assert new.id != applied["voice.welcome"]["remote_id"]
    assert applied["voice.welcome"]["remote_id"] not in em.audios
    assert new.alias == "Main greeting" and abs(new.duration - 0.7) < 0.01
    assert lock_entries(ws)["voice.welcome"]["remote_id"] == new.id
    assert len(em.audios) == 2
    assert_no_changes(cli)


def test_handle_change_is_a_replace(em, ws, cli, applied):
    ws.configure({**TWO, "hold": {"file": "audio/hold.wav", "name": "hold-music-v2"}})
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "-/+ voice.hold" in out and "loccus cannot rename in place" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert em.handles() == ["hold-music-v2", "welcome"]
    assert lock_entries(ws)["voice.hold"]["name"] == "hold-music-v2"
    assert_no_changes(cli)


def test_delete_when_no_longer_declared(em, ws, cli, applied):
    ws.configure({"welcome": TWO["welcome"]})
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "- voice.hold" in out and "will be destroyed" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "0 added, 0 changed, 0 replaced, 1 destroyed" in out
    assert em.handles() == ["welcome"]
    assert "voice.hold" not in lock_entries(ws)
    assert_no_changes(cli)


def test_unmanaged_audio_is_listed_then_pruned(em, ws, cli, applied, wav):
    em.console_upload("enrolment-42", wav(0.4, seed=9))
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 0
    assert "'enrolment-42'" in out and "not managed; left untouched" in out
    ws.configure(TWO, prune=True)
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2 and "unmanaged, and prune = true" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert em.handles() == ["hold-music", "welcome"]
    assert_no_changes(cli)


def test_adopts_an_existing_audio_with_the_same_duration_and_sample_rate(em, ws, cli):
    em.console_upload("welcome", WELCOME, alias="Old alias")
    code, out, _ = cli("plan")
    assert "= voice.welcome" in out
    assert "checked by duration and sample rate" in out
    assert "content verified by duration and sample rate only" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert len(em.audios) == 2 and em.by_handle("welcome").alias == "Main greeting"
    assert_no_changes(cli)


def test_same_handle_with_other_content_is_a_conflict(em, ws, cli, wav):
    em.console_upload("welcome", wav(2.0, seed=5))
    code, _, err = cli("plan")
    assert code == 1
    assert "the name 'welcome' on instance 'voice' is taken" in err
    assert "checked by duration and sample rate" in err
    assert "Traceback" not in err


def test_import_compares_duration_not_the_converted_bytes(em, ws, cli, run_cli):
    audio_id = em.console_upload("welcome", WELCOME, alias="Main greeting")
    code, out, err = cli("import", "voice.welcome", audio_id)
    assert code == 0, out + err
    assert "duration matches the local file" in out + err
    assert not any(r.path.endswith("/file") for r in em.requests)  # no download of the converted copy
    entry = lock_entries(ws)["voice.welcome"]
    import hashlib

    assert entry["remote_id"] == audio_id and entry["sha256"] == hashlib.sha256(WELCOME).hexdigest()
    ws.configure({"welcome": TWO["welcome"]})
    assert_no_changes(cli)


# --- drift -------------------------------------------------------------------------------


def test_drift_alias_edited_in_console_is_put_back(em, ws, cli, applied):
    em.console_set_alias("welcome", "Edited by hand")
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "description edited: 'Main greeting' → 'Edited by hand'" in out
    assert "~ voice.welcome" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert em.by_handle("welcome").alias == "Main greeting"
    assert_no_changes(cli)


def test_drift_deleted_in_console_is_created_again(em, ws, cli, applied):
    em.console_delete("hold-music")
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "voice.hold: deleted" in out and "+ voice.hold" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert em.handles() == ["hold-music", "welcome"]
    assert lock_entries(ws)["voice.hold"]["remote_id"] == em.by_handle("hold-music").id
    assert_no_changes(cli)


def test_drift_handle_renamed_in_console_is_replaced(em, ws, cli, applied):
    em.console_rename("welcome", "welcome-renamed")
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "renamed: 'welcome' → 'welcome-renamed'" in out and "-/+ voice.welcome" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert em.handles() == ["hold-music", "welcome"]  # the renamed one was deleted by its id
    assert_no_changes(cli)


def test_verify_content_compares_duration_and_sample_rate(em, ws, cli, applied, wav):
    em.reset_log()
    code, out, _ = cli("plan", "--verify-content", "--detailed-exitcode")
    assert code == 0, out
    assert "No changes" in out
    assert "compared the duration (within 0.25 s) and sample rate of the downloaded audio, not its sha256" in out
    assert sorted(c for c in calls(em) if c.endswith("/file")) == [
        f"GET {LIST_PATH}/hold-music/file", f"GET {LIST_PATH}/welcome/file",
    ]
    # a back-office change of the stored audio shows only to --verify-content
    em.console_replace_file("welcome", wav(3.0, rate=16000, seed=7))
    assert_no_changes(cli)
    code, out, _ = cli("plan", "--verify-content", "--detailed-exitcode")
    assert code == 2
    assert "content changed: duration 0.50 s → 3.00 s, sample rate 8000 Hz → 16000 Hz" in out
    assert "-/+ voice.welcome" in out
    code, out, err = cli("apply", "--verify-content", "--auto-approve")
    assert code == 0, out + err
    code, out, _ = cli("plan", "--verify-content", "--detailed-exitcode")
    assert code == 0, out


# --- waiting on `state` --------------------------------------------------------------------


def test_apply_waits_until_available(em, ws, cli, run_cli):
    em.processing(reads=3)
    code, out, err = run_cli("apply", "-c", str(ws.config), "--auto-approve", "-v")
    assert code == 0, out + err
    assert "Apply complete: 2 added" in out
    assert "voice.welcome: audio 'welcome' is 'avaitingFile'; waiting for 'available'" in err
    assert calls(em).count(f"GET {LIST_PATH}/welcome") == 3
    assert all(a.state == "available" for a in em.audios.values())
    assert_no_changes(cli)


def test_not_available_fails_loudly_and_leaves_nothing_recorded(em, ws, cli):
    em.processing(reads=1, outcome="notAvailable")
    code, out, err = cli("apply", "--auto-approve")
    assert code == 1
    assert "Error: voice.welcome: loccus voice: create voice.welcome failed: audio 'welcome'" in err
    assert "the service could not process the file (state notAvailable); the upload was deleted" in err
    assert "Traceback" not in err
    assert em.audios == {}  # the broken uploads were deleted
    assert not ws.lock.exists() or lock_entries(ws) == {}
    em.processing()
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2 and "Plan: 2 to add" in out


def test_state_timeout_fails_and_deletes_the_upload(em, ws, cli):
    em.processing(reads=None)  # never leaves avaitingFile
    ws.configure({"welcome": TWO["welcome"]}, state_timeout=0.3)
    code, out, err = cli("apply", "--auto-approve")
    assert code == 1
    assert "it was still 'avaitingFile' after 0.3 s" in err and "raise `state_timeout`" in err
    assert "the upload was deleted and nothing was recorded" in err
    assert em.audios == {}
    assert not ws.lock.exists() or lock_entries(ws) == {}


def test_lost_create_answer_is_resolved_without_a_duplicate(em, ws, cli):
    em.faults.lose_next_response(1, match=lambda m, p: m == "POST")
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert calls(em).count(f"POST {LIST_PATH}") == 2  # one per asset: the lost one was found by listing
    assert em.handles() == ["hold-music", "welcome"]
    assert_no_changes(cli)


# --- pre-flight --------------------------------------------------------------------------


def test_handle_rule_violation_is_a_config_error(em, ws, cli):
    ws.configure({"welcome": {"file": "audio/welcome.wav", "name": "Welcome_EN"}})
    for command in ("validate", "plan"):
        code, out, err = cli(command)
        assert code == 1
        assert "name 'Welcome_EN' is not a valid handle" in err
        assert "a Loccus handle is 1–50 characters: lowercase letters (a-z) and digits" in err
        assert 'set `name = "welcome-en"`' in err
        assert "Traceback" not in err
    ws.configure({"x": {"file": "audio/welcome.wav", "name": "a" * 51}})
    code, _, err = cli("validate")
    assert code == 1 and "over the 50 allowed" in err
    assert em.requests == []  # refused before any request


def test_voice_checks_warn_or_error(em, ws, cli, wav):
    ws.audio("low.wav", wav(5.0, rate=6000))
    assets = {"low": {"file": "audio/low.wav"}, "short": {"file": "audio/hold.wav"}}
    ws.configure(assets, voice_checks="warn")
    code, out, err = cli("validate")
    assert code == 0, err
    assert "sample rate 6000 Hz is below the 8 kHz Loccus needs for a voiceprint" in out
    assert "0.3 s long, so it cannot hold the 4.5 s of voice" in out
    code, out, _ = cli("plan")
    assert code == 0
    assert "Warning: providers.voice.assets.low (audio/low.wav): sample rate 6000 Hz" in out
    ws.configure(assets, voice_checks="error")
    code, out, err = cli("plan")
    assert code == 1
    assert "not acceptable to loccus" in err and 'voice_checks = "error"' in err
    ws.configure(assets, voice_checks="off")
    code, out, _ = cli("validate")
    assert code == 0 and "Warning" not in out


def test_mp3_upload_is_converted_and_planned_stably(em, ws, cli):
    ws.audio("jingle.mp3", make_mp3_frame_stream(60))
    ws.configure({"jingle": {"file": "audio/jingle.mp3"}})
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert em.by_handle("jingle").stored[:4] == b"RIFF"
    assert_no_changes(cli)


# --- errors ----------------------------------------------------------------------------------

ERRORS = [
    (400, "page-size must be between 1 and 50", "list failed (HTTP 400): page-size must be between 1 and 50"),
    (401, "Invalid or missing API key", "Check the credential in LOCCUS_API_KEY for instance 'voice'"),
    (403, "You do not have access to this space", "has no access to space 'acme/ivr-prompts'"),
    (404, "Space 'acme/ivr-prompts' not found", "Check `owner` and `space` under [providers.voice]"),
    (409, "Conflict", "list failed (HTTP 409): Conflict"),
    (429, "Too many requests", "list failed (HTTP 429): Too many requests"),
    (500, "Internal server error", "list failed (HTTP 500): Internal server error"),
]


@pytest.mark.parametrize(("status", "message", "expected"), ERRORS, ids=[str(e[0]) for e in ERRORS])
def test_each_documented_error_exits_1_and_keeps_the_lockfile(em, ws, cli, applied, status, message, expected):
    before = ws.lock.read_bytes()
    em.faults.fail_next(100, status, body=error_body(status, message), retry_after=0 if status == 429 else None)
    for command in ("plan", "apply"):
        code, out, err = cli(command, *(("--auto-approve",) if command == "apply" else ()))
        assert code == 1, (command, out, err)
        assert err.startswith("Error: loccus voice: list failed"), err
        assert message in err and expected in err
        assert "Traceback" not in err
    assert ws.lock.read_bytes() == before
    em.faults.clear()
    assert_no_changes(cli)


def test_real_auth_and_space_errors(em, ws, cli, monkeypatch):
    monkeypatch.setenv("LOCCUS_API_KEY", "not-the-key")
    code, _, err = cli("plan")
    assert code == 1 and "Error: loccus voice: list failed (HTTP 401): Invalid or missing API key" in err
    monkeypatch.setenv("LOCCUS_API_KEY", em.token)
    ws.configure(TWO, owner="someone-else")
    code, _, err = cli("plan")
    assert code == 1 and "(HTTP 403): You do not have access to the spaces of 'someone-else'" in err
    ws.configure(TWO, space="no-such-space")
    code, _, err = cli("plan")
    assert code == 1 and "Space 'acme/no-such-space' not found" in err and "Check `owner` and `space`" in err
    monkeypatch.delenv("LOCCUS_API_KEY")
    ws.configure(TWO)
    code, _, err = cli("plan")
    assert code == 1 and "the environment variable LOCCUS_API_KEY is not set" in err
    assert not ws.lock.exists()


def test_errors_on_create_fail_that_asset_only(em, ws, cli):
    # someone takes the handle between plan and upload: 409, with the service's message
    em.faults.fail_next(1, 409, body=error_body(409, "An audio with handle 'welcome' already exists"),
                        match=lambda m, p: m == "POST")
    code, out, err = cli("apply", "--auto-approve")
    assert code == 1
    assert "Error: voice.welcome: loccus voice: create voice.welcome failed (HTTP 409): An audio with handle " \
           "'welcome' already exists" in err or "Error: voice.hold: loccus voice: create voice.hold failed (HTTP 409)" in err
    assert "Apply failed: 1 added" in err
    assert "Traceback" not in err
    assert len(lock_entries(ws)) == 1  # the other asset was recorded
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert_no_changes(cli)


def test_unsupported_media_is_a_clear_error(em, ws, cli):
    em.faults.fail_next(1, 415, body=error_body(415, "The media file is not supported"),
                        match=lambda m, p: m == "POST")
    ws.configure({"welcome": TWO["welcome"]})
    code, _, err = cli("apply", "--auto-approve")
    assert code == 1
    assert "create voice.welcome failed (HTTP 415): The media file is not supported" in err
    assert em.audios == {}


# --- secrets -----------------------------------------------------------------------------------


def test_token_never_appears_anywhere(em, ws, cli, run_cli, wav):
    em.faults.fail_next(1, 500)  # a retried list is logged
    outputs = []
    outputs += run_cli("plan", "-c", str(ws.config), "-v")[1:]
    outputs += run_cli("apply", "-c", str(ws.config), "--auto-approve", "-vv")[1:]
    ws.audio("welcome.wav", wav(0.6, seed=77))
    em.faults.fail_next(1, 409, match=lambda m, p: m == "POST")
    outputs += run_cli("apply", "-c", str(ws.config), "--auto-approve", "-v")[1:]
    outputs += run_cli("plan", "-c", str(ws.config), "--verify-content", "-v")[1:]
    text = "\n".join(outputs)
    assert "GET " + LIST_PATH in text  # the -v logs were captured
    assert em.token not in text
    assert em.token not in ws.lock.read_text()
    assert "Bearer" not in text
    # and the token did reach the emulator, as a Bearer header
    assert {r.headers.get("authorization") for r in em.requests} == {f"Bearer {em.token}"}


# --- the example -----------------------------------------------------------------------------------


def test_the_example_config_validates_plans_and_applies(tmp_path, em, run_cli):
    from pathlib import Path

    examples = Path(__file__).parents[2] / "examples"
    text = (examples / "loccus" / "reconciler.toml").read_text()
    assert 'space = "ivr-prompts"' in text
    cfg = tmp_path / "loccus" / "reconciler.toml"
    cfg.parent.mkdir()
    cfg.write_text(text.replace(
        'space = "ivr-prompts"',
        f'space = "ivr-prompts"\nbase_url = "{em.server.url}"\nmax_retry_wait = 0.05\nstate_poll_interval = 0.01',
    ))
    (tmp_path / "quickstart").symlink_to(examples / "quickstart")
    code, out, err = run_cli("validate", "-c", str(cfg))
    assert code == 0, out + err
    assert "Warning:" in out and "4.5 s of voice" in out  # the quickstart prompts are short
    code, out, err = run_cli("apply", "-c", str(cfg), "--auto-approve")
    assert code == 0, out + err
    assert em.handles() == ["goodbye", "hold-music", "welcome"]
    assert em.by_handle("hold-music").alias == "Played while callers wait"
    assert em.by_handle("welcome").alias == "IVR prompt"
    code, out, err = run_cli("plan", "-c", str(cfg), "--detailed-exitcode")
    assert code == 0 and "No changes." in out


def test_drift_verify_content_needs_the_local_file_only_for_the_sample_rate(em, ws, cli, applied, wav):
    """`drift` reads no audio file; with --verify-content on a provider that stores a
    converted copy, the sample rate is compared with the local master where there is
    one, and a missing one is named in a warning while the rest is still checked."""
    code, out, err = cli("drift", "--verify-content")
    assert code == 0, out + err
    em.console_replace_file("welcome", wav(0.5, rate=16000, seed=7))  # same duration, another rate
    code, out, _ = cli("drift", "--verify-content", "--json")
    assert code == 2
    (item,) = json.loads(out)["drift"]
    assert item["address"] == "voice.welcome" and item["kind"] == "content_changed"
    assert "sample rate 8000 Hz → 16000 Hz" in item["detail"]

    (ws.root / "audio" / "welcome.wav").unlink()
    code, out, _ = cli("drift", "--verify-content", "--json")
    report = json.loads(out)
    assert code == 0 and report["drift"] == []
    assert ("voice.welcome: sample rate not compared: it needs the local file audio/welcome.wav, "
            "which is missing; duration was compared") in report["warnings"]
    em.console_replace_file("hold-music", wav(2.5, rate=8000, seed=8))  # the duration still counts
    code, out, _ = cli("drift", "--verify-content", "--json")
    assert code == 2 and [d["address"] for d in json.loads(out)["drift"]] == ["voice.hold"]
