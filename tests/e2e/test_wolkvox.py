"""The CLI as a user types it, against the wolkvox emulator on a real loopback
server: batched uploads under the 2-in-flight rule, overwrite in place, the
manual steps the API leaves to a person, and every documented error.

Assertions are on what the emulator holds and logged, what the lockfile
records, and what the next plan says.
"""

from __future__ import annotations

import json
import tomllib

import pytest

from tests.conftest import make_mp3_frame_stream, make_wav
from tests.emulators import wolkvox as wv

WELCOME, HOLD, GOODBYE = make_wav(0.5, seed=1), make_wav(0.7, seed=2), make_wav(0.9, seed=3)


def is_upload(r) -> bool:
    return r.method == "POST" and r.path.endswith("configuration.php")


def is_list(r) -> bool:
    return r.method == "GET" and r.path.endswith("information.php")


def toml(url: str, assets: dict[str, dict] | None = None, *, glob: str | None = None,
         instance: str = "wv", extra: str = "") -> str:
    lines = [
        f"[providers.{instance}]", 'type = "wolkvox"', f'base_url = "{url}/api/v2/"',
        "max_retry_wait = 0.05", "timeout = 5", extra,
    ]
    if glob:
        lines += [f"[[providers.{instance}.glob]]", f'pattern = "{glob}"']
    for key, fields in (assets or {}).items():
        lines.append(f"[providers.{instance}.assets.{key}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


THREE = {
    "welcome": {"file": "audio/welcome.wav"},
    "hold": {"file": "audio/hold.wav", "name": "hold-music"},
    "goodbye": {"file": "audio/goodbye.wav"},
}


@pytest.fixture
def emulator(monkeypatch):
    em = wv.WolkvoxEmulator()
    monkeypatch.setenv("WOLKVOX_TOKEN", em.token)
    return em


@pytest.fixture
def server(emulator, serve):
    return serve(emulator)


@pytest.fixture
def ws(workspace, server):
    workspace.audio("welcome.wav", WELCOME)
    workspace.audio("hold.wav", HOLD)
    workspace.audio("goodbye.wav", GOODBYE)
    workspace.write(toml(server.url, THREE))
    return workspace


@pytest.fixture
def applied(ws, cli, emulator):
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    emulator.reset_log()
    return ws


def lock_assets(ws) -> dict:
    return tomllib.loads(ws.lock.read_text())["assets"]


def assert_no_changes(cli, emulator) -> None:
    """A second plan is empty and costs exactly one request: the listing."""
    emulator.reset_log()
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert "No changes. Remote state matches the configuration." in out
    assert [(r.method, r.path) for r in emulator.requests] == [("GET", "/api/v2/information.php")]


# --- batches and the 2-in-flight rule ---------------------------------------------------------


def test_120_assets_in_3_batched_requests_at_most_2_in_flight(workspace, server, emulator, run_cli):
    for i in range(120):
        workspace.audio(f"p{i:03d}.wav", make_wav(0.1, seed=i))
    cfg = str(workspace.write(toml(server.url, glob="audio/*.wav")))
    emulator.work_seconds = 0.3  # each request holds its slot: batches overlap

    code, out, err = run_cli("plan", "-c", cfg, "--detailed-exitcode")
    assert code == 2 and "Plan: 120 to add, 0 to change, 0 to replace, 0 to destroy." in out
    emulator.reset_log()
    code, out, err = run_cli("apply", "-c", cfg, "--auto-approve", "--parallelism", "8")
    assert code == 0, out + err
    assert "Apply complete: 120 added, 0 changed, 0 replaced, 0 destroyed." in out

    uploads = [r for r in emulator.requests if is_upload(r)]
    assert len(uploads) == 3 and all(r.status == 201 for r in uploads)
    assert sorted(len(files) for files in emulator.uploads) == [20, 50, 50]
    # two at once, never three: --parallelism 8 cannot lift a documented hard limit
    assert emulator.max_token_in_flight == 2
    assert emulator.max_in_flight == 2
    assert emulator.simultaneous_refusals == 0
    assert not [r for r in emulator.requests if r.status == 403]

    assert emulator.names() == [f"p{i:03d}.wav" for i in range(120)]
    assets = lock_assets(workspace)
    assert len(assets) == 120
    assert assets["wv.p007"]["remote_id"] == "p007.wav" and assets["wv.p007"]["type"] == "wolkvox"
    emulator.work_seconds = 0
    assert_no_changes(lambda *a: run_cli(a[0], "-c", cfg, *a[1:]), emulator)


def test_two_instances_sharing_a_token_share_its_2_slots(workspace, server, emulator, run_cli):
    for i in range(60):
        workspace.audio(f"a/p{i:02d}.wav", make_wav(0.1, seed=i))
        workspace.audio(f"b/q{i:02d}.wav", make_wav(0.1, seed=100 + i))
    cfg = workspace.write(
        toml(server.url, glob="audio/a/*.wav", instance="main")
        + toml(server.url, glob="audio/b/*.wav", instance="backup")
    )
    emulator.work_seconds = 0.3
    code, out, err = run_cli("apply", "-c", str(cfg), "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 120 added" in out
    # 4 batches (50 + 10 per instance), each instance allowed 2: the token still sees 2
    assert len([r for r in emulator.requests if is_upload(r)]) == 4
    assert emulator.max_token_in_flight == 2
    assert emulator.simultaneous_refusals == 0


def test_concurrency_403_is_retried_after_a_pause(workspace, server, emulator, run_cli):
    """Another program holds one of the token's two slots: our second upload is
    refused with the documented 403 and retried once that slot frees up."""
    for i in range(60):
        workspace.audio(f"p{i:02d}.wav", make_wav(0.1, seed=i))
    cfg = str(workspace.write(toml(server.url, glob="audio/*.wav")))
    emulator.work_seconds = 0.3
    emulator.hold_slots(1, release_after_refusals=1)
    code, out, err = run_cli("apply", "-c", cfg, "--auto-approve", "-v")
    assert code == 0, out + err
    refused = [r for r in emulator.requests if r.status == 403]
    assert len(refused) == 1 and is_upload(refused[0])
    assert emulator.simultaneous_refusals == 1
    assert "retrying POST configuration.php after" in err and "SIMULTANEOUS" in err
    assert len(emulator.names()) == 60 and len(lock_assets(workspace)) == 60


# --- identity: the file name -----------------------------------------------------------------------


def test_content_change_is_an_in_place_reupload(applied, cli, emulator):
    new = make_wav(1.2, seed=9)
    applied.audio("welcome.wav", new)
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "-/+ wv.welcome" in out
    assert "the new bytes are written over the old under the same remote id" in out
    assert "will change" not in out  # call flows keep pointing at welcome.wav
    assert "Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy." in out

    emulator.reset_log()
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 0 added, 0 changed, 1 replaced, 0 destroyed." in out
    assert emulator.uploads[-1] == ["welcome.wav"]
    assert emulator.audios["welcome.wav"].data == new
    assert emulator.names() == ["goodbye.wav", "hold-music.wav", "welcome.wav"]
    entry = lock_assets(applied)["wv.welcome"]
    assert entry["remote_id"] == "welcome.wav" and entry["size"] == len(new)
    assert_no_changes(cli, emulator)


def test_content_changes_are_overwritten_50_per_request(workspace, server, emulator, run_cli):
    for i in range(60):
        workspace.audio(f"p{i:02d}.wav", make_wav(0.1, seed=i))
    cfg = str(workspace.write(toml(server.url, glob="audio/*.wav")))
    assert run_cli("apply", "-c", cfg, "--auto-approve")[0] == 0
    for i in range(60):
        workspace.audio(f"p{i:02d}.wav", make_wav(0.2, seed=500 + i))  # a new voice for every prompt
    emulator.reset_log()
    code, out, err = run_cli("apply", "-c", cfg, "--auto-approve")
    assert code == 1 and "use --force" in err  # the mass-replace guard counts overwrites too
    code, out, err = run_cli("apply", "-c", cfg, "--auto-approve", "--force")
    assert code == 0, out + err
    assert "Apply complete: 0 added, 0 changed, 60 replaced, 0 destroyed." in out
    assert sorted(len(u) for u in emulator.uploads[-2:]) == [10, 50]
    assert len([r for r in emulator.requests if is_upload(r)]) == 2
    assert emulator.audios["p07.wav"].data == make_wav(0.2, seed=507)
    assert len(emulator.names()) == 60


def test_orphan_is_a_manual_action_and_apply_succeeds(applied, cli, emulator, server):
    applied.write(toml(server.url, {k: v for k, v in THREE.items() if k != "goodbye"}))
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0, out  # nothing the tool will do: not a change
    assert "!" in out and "wv.goodbye" in out
    assert "needs manual action" in out
    assert "remove 'goodbye.wav' by hand in wolkvox Manager" in out
    assert f"`reconciler -c {applied.config} state rm wv.goodbye`" in out
    assert "Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy. 1 manual action(s) need a person." in out

    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "goodbye.wav" in emulator.names()
    assert "wv.goodbye" in lock_assets(applied)
    assert not [r for r in emulator.requests if is_upload(r)]

    # the person removes it in wolkvox Manager: the next apply clears the record
    emulator.console_delete("goodbye.wav")
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "wv.goodbye" not in lock_assets(applied)
    assert_no_changes(cli, emulator)


def test_orphan_kept_and_forgotten_with_state_rm(applied, cli, run_cli, server):
    applied.write(toml(server.url, {k: v for k, v in THREE.items() if k != "goodbye"}))
    code, out, err = run_cli("state", "rm", "-c", str(applied.config), "wv.goodbye")
    assert code == 0, out + err
    code, out, err = cli("plan")
    assert code == 0
    assert "needs manual action" not in out
    assert "goodbye.wav" in out and "not managed" in out  # now unmanaged, left untouched


def test_rename_uploads_the_new_name_and_leaves_the_old_to_a_person(applied, cli, emulator):
    cfg = applied.config.read_text().replace('name = "hold-music"', 'name = "hold-v2"')
    applied.config.write_text(cfg)
    code, out, err = cli("plan")
    assert "-/+ wv.hold" in out
    assert "wolkvox cannot rename in place" in out
    assert "then remove 'hold-music.wav' by hand in wolkvox Manager" in out

    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert {"hold-v2.wav", "hold-music.wav"} <= set(emulator.names())
    entry = lock_assets(applied)["wv.hold"]
    assert entry["remote_id"] == "hold-v2.wav" and entry["superseded"] == ["hold-music.wav"]

    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0
    assert "remove 'hold-music.wav' by hand in wolkvox Manager" in out
    emulator.console_delete("hold-music.wav")
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "superseded" not in lock_assets(applied)["wv.hold"]
    assert_no_changes(cli, emulator)


def test_rename_onto_a_name_someone_else_uploaded_is_a_conflict(applied, cli, emulator):
    emulator.console_upload("hold-v2.wav", make_wav(2.5, seed=40))
    applied.config.write_text(applied.config.read_text().replace('name = "hold-music"', 'name = "hold-v2"'))
    code, out, err = cli("apply", "--auto-approve")
    assert code == 1
    assert "new name 'hold-v2'" in err and "never overwrites" in err
    assert emulator.audios["hold-v2.wav"].data == make_wav(2.5, seed=40)
    assert not [r for r in emulator.requests if is_upload(r)]


# --- a batch partly rejected ---------------------------------------------------------------


def test_partly_rejected_batch_records_what_succeeded(ws, cli, emulator):
    emulator.reject("hold-music.wav", "THE AUDIO FILE COULD NOT BE PROCESSED")
    code, out, err = cli("apply", "--auto-approve")
    assert code == 1
    assert len(emulator.uploads) == 1 and len(emulator.uploads[0]) == 3  # one request
    assert emulator.names() == ["goodbye.wav", "welcome.wav"]
    assert sorted(lock_assets(ws)) == ["wv.goodbye", "wv.welcome"]
    assert "Error: wv.hold: wolkvox wv: create wv.hold failed" in err
    assert "did not store hold-music.wav: hold-music.wav: THE AUDIO FILE COULD NOT BE PROCESSED" in err
    assert "Apply failed: 2 added" in err
    assert "Traceback" not in out + err

    emulator.rejections.clear()
    emulator.reset_log()
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert emulator.uploads[-1] == ["hold-music.wav"]
    assert_no_changes(cli, emulator)


def test_lost_batch_answer_is_settled_by_listing(ws, cli, emulator):
    emulator.faults.lose_next_response(1, match=lambda m, p: m == "POST")
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert len(emulator.uploads) == 1  # it had landed: no second upload
    assert sorted(lock_assets(ws)) == ["wv.goodbye", "wv.hold", "wv.welcome"]
    assert_no_changes(cli, emulator)


# --- listing: drift, adoption, unknown keys -------------------------------------------------------------


def test_deleted_in_console_is_uploaded_again(applied, cli, emulator):
    emulator.console_delete("welcome.wav")
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "wv.welcome: deleted" in out and "+ wv.welcome" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0 and "welcome.wav" in emulator.names()
    assert_no_changes(cli, emulator)


def test_existing_file_with_same_audio_is_adopted_by_duration(ws, cli, emulator):
    emulator.console_upload("welcome.wav", WELCOME)
    code, out, err = cli("plan")
    assert "= wv.welcome" in out and "checked by duration" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert all("welcome.wav" not in files for files in emulator.uploads)
    assert lock_assets(ws)["wv.welcome"]["remote_id"] == "welcome.wav"


def test_existing_file_with_other_audio_is_a_conflict_not_an_overwrite(ws, cli, emulator):
    emulator.console_upload("welcome.wav", make_wav(3.0, seed=7))
    code, out, err = cli("apply", "--auto-approve")
    assert code == 1
    assert "Error:" in err and "welcome" in err and "never overwrites" in err
    assert emulator.uploads == []
    assert emulator.audios["welcome.wav"].data == make_wav(3.0, seed=7)


def test_import_over_a_conflict_then_the_local_audio_is_written_in_place(ws, cli, run_cli, emulator):
    """The way out of a conflict: take the file over; its duration differs, so
    the next plan overwrites it with the declared audio (same file name)."""
    emulator.console_upload("welcome.wav", make_wav(3.0, seed=7))
    code, out, err = run_cli("import", "-c", str(ws.config), "wv.welcome", "welcome.wav")
    assert code == 0, out + err
    assert "duration differs from the local file" in out + err
    code, out, err = cli("plan")
    assert "-/+ wv.welcome" in out and "written over the old under the same remote id" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert emulator.audios["welcome.wav"].data == WELCOME
    assert_no_changes(cli, emulator)


def test_format_change_is_an_id_change_and_leaves_the_old_file_as_a_manual_step(applied, cli, emulator):
    mp3 = make_mp3_frame_stream(40)
    applied.audio("welcome.wav", mp3)  # same path, now MP3 bytes
    code, out, err = cli("plan")
    assert "the remote id welcome.wav will change to welcome.mp3" in out
    assert "same remote id" not in out
    code, out, err = cli("plan", "--format", "markdown")
    assert "> [!CAUTION]" in out and "`welcome.wav` → `welcome.mp3`" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert {"welcome.mp3", "welcome.wav"} <= set(emulator.names())
    assert lock_assets(applied)["wv.welcome"]["remote_id"] == "welcome.mp3"
    assert lock_assets(applied)["wv.welcome"]["superseded"] == ["welcome.wav"]
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0  # no change reconciler can make: one manual step
    assert "remove 'welcome.wav' by hand in wolkvox Manager" in out


def test_listing_without_durations_says_so(applied, cli, emulator):
    emulator.list_keys = {"name": "audio_name", "duration": None, "created": "date"}
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert "Warning: instance 'wv': wolkvox audio_list gave no recognisable duration for 3 of 3" in out
    assert "keys seen: audio_name, date" in out


@pytest.mark.parametrize("style", ["hms", "number"])
def test_listing_key_spellings_are_tolerated(applied, cli, emulator, style):
    emulator.list_keys = {"name": "Nombre", "duration": "audio_duration", "created": "fecha_creacion"}
    emulator.list_duration_style = style
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert "Warning" not in out


def test_listing_without_names_stops_the_plan(applied, cli, emulator):
    """Unreadable names would make every declared name look free, and an upload
    under a taken name overwrites: better no plan than that."""
    emulator.list_keys = {"name": "zz_label", "duration": "duration", "created": None}
    code, out, err = cli("plan")
    assert code == 1
    assert "Error: wolkvox wv: list failed" in err and "no recognisable name" in err
    assert "Traceback" not in err


# --- errors -------------------------------------------------------------------------------------


def test_daily_quota_is_a_clear_error_not_retried(applied, cli, emulator):
    before = applied.lock.read_bytes()
    applied.audio("welcome.wav", make_wav(1.5, seed=5))
    emulator.daily_quota = 1  # the listing passes, the upload does not
    code, out, err = cli("apply", "--auto-approve")
    assert code == 1
    assert "TOKEN LIMIT EXCEEDED" in err and "licences x 1,000 requests a day" in err
    assert [r.status for r in emulator.requests] == [200, 403]  # not retried
    assert applied.lock.read_bytes() == before
    assert "Traceback" not in out + err


DOCUMENTED = [
    (401, wv.NO_TOKEN, "wolkvox-token header was empty"),
    (403, wv.BAD_TOKEN, "copy it again from wolkvox Manager"),
    (403, wv.SIMULTANEOUS, "Another program is using the same wolkvox token"),
    (403, wv.QUOTA, "daily quota is spent"),
    (400, wv.PARAMS, "wolkvox found the request incomplete"),
    (400, wv.NO_API, "check `server` / `base_url`"),
]


@pytest.mark.parametrize(("status", "message", "hint"), DOCUMENTED, ids=[m for _, m, _ in DOCUMENTED])
def test_documented_errors_exit_1_with_a_clear_message(applied, cli, emulator, status, message, hint):
    before = applied.lock.read_bytes()
    emulator.faults.fail_next(100, status, body=wv.error_body(status, message))
    for command in ("plan", "apply"):
        code, out, err = cli(command, "--auto-approve") if command == "apply" else cli(command)
        assert code == 1, (command, out, err)
        assert err.startswith("Error: wolkvox wv: list failed")
        assert message in err and hint in err
        assert "Traceback" not in out + err
    assert applied.lock.read_bytes() == before


def test_a_wrong_token_is_refused_by_the_emulator_itself(applied, cli, monkeypatch):
    monkeypatch.setenv("WOLKVOX_TOKEN", "not-the-token-4242")
    code, out, err = cli("plan")
    assert code == 1
    assert "PLEASE VALIDATE TOKEN" in err and "WOLKVOX_TOKEN" in err
    assert "not-the-token-4242" not in out + err


def test_missing_token_variable_is_a_config_error_before_any_request(ws, cli, emulator, monkeypatch):
    monkeypatch.delenv("WOLKVOX_TOKEN")
    code, out, err = cli("plan")
    assert code == 1
    assert "WOLKVOX_TOKEN is not set" in err
    assert emulator.requests == []


def test_token_never_appears_in_output_lockfile_or_logs(ws, cli, emulator):
    emulator.faults.fail_next(1, 500, match=lambda m, p: m == "GET")
    runs = [cli("plan", "-vv"), cli("apply", "--auto-approve", "-vv")]
    ws.audio("welcome.wav", make_wav(2.0, seed=8))
    emulator.faults.fail_next(1, 403, body=wv.error_body(403, wv.SIMULTANEOUS))
    runs.append(cli("apply", "--auto-approve", "-vv"))
    emulator.daily_quota = 0
    runs.append(cli("plan", "-vv"))
    assert runs[1][0] == 0 and runs[2][0] == 0 and runs[3][0] == 1
    assert "POST /api/v2/configuration.php -> 201" in runs[1][2]  # -v does log each call
    for _code, out, err in runs:
        assert emulator.token not in out and emulator.token not in err
    assert emulator.token not in ws.lock.read_text()
    assert all(r.headers.get("wolkvox-token") == emulator.token for r in emulator.requests)


# --- config -------------------------------------------------------------------------------------


def test_config_rules_are_checked_offline(workspace, run_cli, emulator):
    workspace.audio("welcome.wav", WELCOME)
    workspace.write('[providers.wv]\ntype = "wolkvox"\n[providers.wv.assets.welcome]\nfile = "audio/welcome.wav"\n')
    code, out, err = run_cli("validate", "-c", str(workspace.config))
    assert code == 1 and "set `server`" in err

    workspace.write(
        '[providers.wv]\ntype = "wolkvox"\nserver = "0102"\n'
        '[providers.wv.assets.welcome]\nfile = "audio/welcome.wav"\ndescription = "Main greeting"\n'
    )
    code, out, err = run_cli("validate", "-c", str(workspace.config))
    assert code == 1 and "wolkvox keeps no description" in err
    assert emulator.requests == []


def test_server_setting_builds_the_documented_url():
    from pathlib import Path

    from reconciler.providers.wolkvox import WolkvoxProvider, WolkvoxSettings

    settings = WolkvoxSettings.model_validate({"type": "wolkvox", "server": "0102"})
    provider = WolkvoxProvider("wv", settings, base_dir=Path("."))
    assert provider.base_url == "https://wv0102.wolkvox.com/api/v2/"
    assert provider.token_env == "WOLKVOX_TOKEN"
    assert settings.timeout == 60


def test_the_example_config_plans_and_applies(tmp_path, server, emulator, run_cli):
    from pathlib import Path

    examples = Path(__file__).parents[2] / "examples"
    text = (examples / "wolkvox" / "reconciler.toml").read_text()
    assert 'server = "0102"' in text
    cfg = tmp_path / "wolkvox" / "reconciler.toml"
    cfg.parent.mkdir()
    cfg.write_text(text.replace('server = "0102"', f'base_url = "{server.url}/api/v2/"\nmax_retry_wait = 0.05'))
    (tmp_path / "quickstart").symlink_to(examples / "quickstart")
    code, out, err = run_cli("apply", "-c", str(cfg), "--auto-approve")
    assert code == 0, out + err
    assert emulator.names() == ["goodbye.wav", "hold-music.wav", "welcome.wav"]
    code, out, err = run_cli("plan", "-c", str(cfg), "--detailed-exitcode")
    assert code == 0 and "No changes." in out


def test_providers_table_states_the_limits(run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run_cli("providers")
    assert code == 0
    row = next(line for line in out.splitlines() if "wolkvox" in line)
    cells = [c.strip() for c in row.strip("│┃ ").split("│")]
    assert cells == ["wolkvox", "yes", "no", "no", "no", "no", "50", "2 (hard)", "5 MB", "mp3,wav"]
