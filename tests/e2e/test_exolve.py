"""The Exolve provider end to end: the CLI as a user types it, against the
Exolve emulator on a real loopback server. Assertions are on what the
emulator holds, on the lockfile, and on the request log."""

from __future__ import annotations

import io
import json
import tomllib
import wave

import pytest

from tests.conftest import make_mp3_frame_stream, make_wav
from tests.emulators.exolve import DEFAULT_TOKEN, MAX_FILE_BYTES, ExolveEmulator

ENV = "EXOLVE_API_KEY"


@pytest.fixture
def exolve(serve, monkeypatch):
    """An emulator on loopback, with the key exported."""
    emulator = ExolveEmulator()
    server = serve(emulator)
    monkeypatch.setenv(ENV, emulator.token)
    monkeypatch.setenv("NO_COLOR", "1")
    emulator.url = server.url
    return emulator


def config(url: str, assets: dict[str, dict], *, extra: str = "", instance: str = "prod") -> str:
    lines = [
        f"[providers.{instance}]",
        'type = "exolve"',
        f'base_url = "{url}"',
        "max_retry_wait = 0.05",
        "timeout = 5",
        extra,
    ]
    for key, fields in assets.items():
        lines.append(f"[providers.{instance}.assets.{key}]")
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


def lock(workspace) -> dict:
    return tomllib.loads(workspace.lock.read_text())["assets"]


def declare(workspace, exolve, n: int, *, extra: str = "") -> dict[str, bytes]:
    """n distinct prompts p000.. declared on instance prod."""
    audio = {f"p{i:03d}": make_wav(0.05, seed=i) for i in range(n)}
    for key, data in audio.items():
        workspace.audio(f"{key}.wav", data)
    workspace.write(config(exolve.url, {k: {"file": f"audio/{k}.wav"} for k in audio}, extra=extra))
    return audio


def assert_no_changes(run_cli, workspace) -> None:
    code, out, err = run_cli("plan", "-c", str(workspace.config), "--detailed-exitcode")
    assert code == 0, out + err
    assert "No changes. Remote state matches the configuration." in out


# --- plan / apply ---------------------------------------------------------------------------
def test_plan_apply_then_apply_again_is_a_noop(exolve, workspace, run_cli):
    welcome, hold, jingle = make_wav(0.2, seed=1), make_wav(0.3, seed=2), make_mp3_frame_stream(30)
    workspace.audio("welcome.wav", welcome)
    workspace.audio("hold.wav", hold)
    workspace.audio("jingle.mp3", jingle)
    workspace.write(config(exolve.url, {
        "welcome": {"file": "audio/welcome.wav", "description": "Главное приветствие"},
        "hold": {"file": "audio/hold.wav", "name": "hold-music", "file_type": "premedia"},
        "jingle": {"file": "audio/jingle.mp3"},
    }))
    cfg = str(workspace.config)

    code, out, _ = run_cli("plan", "-c", cfg, "--detailed-exitcode")
    assert code == 2
    assert "+ prod.welcome" in out and "Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy." in out
    assert exolve.records == {}

    code, out, err = run_cli("apply", "-c", cfg, "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 3 added, 0 changed, 0 replaced, 0 destroyed." in out

    w, h, j = exolve.by_name("welcome"), exolve.by_name("hold-music"), exolve.by_name("jingle")
    assert (w.data, w.extension, w.description, w.file_type) == (welcome, "wav", "Главное приветствие", 200)
    assert (h.data, h.extension, h.file_type) == (hold, "wav", 201)
    assert (j.data, j.extension, j.file_type) == (jingle, "mp3", 200)
    recorded = lock(workspace)
    assert {a: e["remote_id"] for a, e in recorded.items()} == {
        "prod.welcome": str(w.resource_id), "prod.hold": str(h.resource_id), "prod.jingle": str(j.resource_id),
    }
    assert all(isinstance(e["remote_id"], str) for e in recorded.values())

    serial = tomllib.loads(workspace.lock.read_text())["serial"]
    exolve.reset_log()
    code, out, _ = run_cli("apply", "-c", cfg, "--auto-approve")
    assert code == 0 and "No changes." in out
    assert exolve.endpoint_counts() == {"GetList": 2}  # 3 records: a short page, then an empty one
    assert tomllib.loads(workspace.lock.read_text())["serial"] == serial
    assert_no_changes(run_cli, workspace)


@pytest.mark.parametrize(("assets", "page_cap", "pages"), [(60, 25, 3), (50, 25, 3), (10, 25, 2), (0, 25, 1)])
def test_noop_plan_costs_only_the_list_pages(exolve, workspace, run_cli, assets, page_cap, pages):
    exolve.page_cap = page_cap
    declare(workspace, exolve, assets)
    if assets:
        code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
        assert code == 0, out + err
    assert len(exolve.records) == assets

    exolve.reset_log()
    assert_no_changes(run_cli, workspace)
    # no GetInfo, no Download, nothing per asset: ceil-ish(N / page) GetList pages
    assert exolve.endpoint_counts() == {"GetList": pages}


def test_noop_plan_with_page_size_setting(exolve, workspace, run_cli):
    """The client's `limit` below the service's cap: full pages, then a short one."""
    declare(workspace, exolve, 45, extra="page_size = 20")
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    assert code == 0, out + err
    exolve.reset_log()
    assert_no_changes(run_cli, workspace)
    assert exolve.endpoint_counts() == {"GetList": 3}  # 20 + 20 + 5


def test_console_edits_are_detected_and_put_back(exolve, workspace, run_cli):
    audio = declare(workspace, exolve, 4)
    cfg = str(workspace.config)
    assert run_cli("apply", "-c", cfg, "--auto-approve")[0] == 0
    ids = {a.split(".")[1]: e["remote_id"] for a, e in lock(workspace).items()}

    exolve.console_rename(ids["p000"], "renamed-in-console")
    exolve.console_describe(ids["p001"], "edited in console")
    exolve.console_delete(ids["p002"])
    exolve.console_replace_bytes(ids["p003"], make_wav(0.5, seed=99))  # size changed

    code, out, _ = run_cli("plan", "-c", cfg, "--detailed-exitcode")
    assert code == 2, out
    assert "Objects have changed outside of reconciler" in out
    assert "prod.p000: renamed: 'p000' → 'renamed-in-console'" in out
    assert "prod.p001: description edited" in out
    assert "prod.p002: deleted" in out
    assert "prod.p003: size changed" in out
    assert "~ prod.p000" in out and "~ prod.p001" in out
    assert "+ prod.p002" in out and "-/+ prod.p003" in out
    assert "Plan: 1 to add, 2 to change, 1 to replace, 0 to destroy." in out

    code, out, err = run_cli("apply", "-c", cfg, "--auto-approve")
    assert code == 0, out + err
    assert exolve.names() == ["p000", "p001", "p002", "p003"]
    assert exolve.by_name("p000").resource_id == int(ids["p000"])  # renamed back in place
    assert exolve.by_name("p001").description == ""
    assert exolve.by_name("p002").data == audio["p002"]
    assert exolve.by_name("p003").data == audio["p003"]
    assert exolve.by_name("p003").resource_id != int(ids["p003"])
    assert_no_changes(run_cli, workspace)


# --- replace under unique names -------------------------------------------------------------
def _replace_setup(exolve, workspace, run_cli, extra: str = ""):
    old = make_wav(0.2, seed=1)
    workspace.audio("welcome.wav", old)
    workspace.audio("other.wav", make_wav(0.2, seed=2))
    workspace.write(config(exolve.url, {
        "welcome": {"file": "audio/welcome.wav", "description": "Greeting"},
        "other": {"file": "audio/other.wav"},
    }, extra=extra))
    assert run_cli("apply", "-c", str(workspace.config), "--auto-approve")[0] == 0
    old_id = lock(workspace)["prod.welcome"]["remote_id"]
    new = make_wav(0.3, seed=7)
    workspace.audio("welcome.wav", new)
    return old_id, new


def test_replace_goes_through_a_temporary_name(exolve, workspace, run_cli):
    old_id, new = _replace_setup(exolve, workspace, run_cli)
    cfg = str(workspace.config)

    code, out, _ = run_cli("plan", "-c", cfg)
    assert "-/+ prod.welcome" in out and "temporary" in out
    assert f"the remote id {old_id} will change" in out

    exolve.reset_log()
    code, out, err = run_cli("apply", "-c", cfg, "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 0 added, 0 changed, 1 replaced, 0 destroyed." in out
    record = exolve.by_name("welcome")
    assert record.data == new and record.description == "Greeting"
    assert str(record.resource_id) != old_id and int(old_id) not in exolve.records
    assert exolve.names() == ["other", "welcome"]
    entry = lock(workspace)["prod.welcome"]
    assert entry["remote_id"] == str(record.resource_id) and entry["name"] == "welcome"
    assert "superseded" not in entry
    # the order that never collides: upload under a temporary name, delete, rename
    calls = [r.path.rsplit("/", 1)[1] for r in exolve.requests if not r.path.endswith("GetList")]
    assert calls.index("Upload") < calls.index("Delete") < len(calls) - 1 - calls[::-1].index("Update")
    assert all(r.status < 400 for r in exolve.requests)
    assert_no_changes(run_cli, workspace)


@pytest.mark.parametrize("step", ["Delete", "Update"])
def test_replace_interrupted_midway_converges_next_apply(exolve, workspace, run_cli, step):
    old_id, new = _replace_setup(exolve, workspace, run_cli, extra="max_retries = 1")
    cfg = str(workspace.config)
    # the step fails past the retry budget: the apply stops half-way. (The first
    # Update sets the description of the upload; the second is the rename.)
    seen = {"Update": 0}

    def aimed(method: str, path: str) -> bool:
        if path != f"/media/v1/{step}":
            return False
        seen[step] = seen.get(step, 0) + 1
        return step == "Delete" or seen[step] > 1

    exolve.faults.fail_next(2, 500, match=aimed)

    code, out, err = run_cli("apply", "-c", cfg, "--auto-approve")
    assert code == 1
    assert f"{step.lower()} failed (HTTP 500)" in err and "Traceback" not in err
    entry = lock(workspace)["prod.welcome"]
    temp = entry["name"]
    assert temp.startswith("welcome~") and exolve.by_name(temp).data == new
    if step == "Delete":
        assert entry["superseded"] == [old_id] and int(old_id) in exolve.records
    else:
        assert "superseded" not in entry and int(old_id) not in exolve.records

    code, out, _ = run_cli("plan", "-c", cfg)
    assert "~ prod.welcome" in out
    # a slow Delete: the rename must still wait for the old file to be gone
    exolve.slow["Delete"] = 0.3
    exolve.reset_log()
    code, out, err = run_cli("apply", "-c", cfg, "--auto-approve")
    assert code == 0, out + err
    assert all(r.status == 200 for r in exolve.requests)
    record = exolve.by_name("welcome")
    assert record.data == new and record.description == "Greeting"
    assert exolve.names() == ["other", "welcome"]  # no duplicate, nothing temporary left
    entry = lock(workspace)["prod.welcome"]
    assert entry["remote_id"] == str(record.resource_id) and "superseded" not in entry
    assert_no_changes(run_cli, workspace)


def test_lost_upload_answer_is_resolved_without_a_duplicate(exolve, workspace, run_cli):
    declare(workspace, exolve, 3)
    exolve.faults.lose_next_response(2, match=lambda m, p: p == "/media/v1/Upload")
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    assert code == 0, out + err
    assert exolve.names() == ["p000", "p001", "p002"]
    assert exolve.endpoint_counts()["Upload"] == 3  # each landed once, none twice
    assert sorted(e["remote_id"] for e in lock(workspace).values()) == sorted(str(i) for i in exolve.records)
    assert_no_changes(run_cli, workspace)


@pytest.mark.parametrize("same_bytes", [True, False])
def test_upload_that_landed_but_was_never_recorded(exolve, workspace, run_cli, same_bytes):
    """A replace killed after its Upload, before the lockfile record: the next
    plan finds the temporary name taken. By these very bytes (checked by
    Download + sha256) the replace takes that file without uploading again; by
    other bytes the upload is refused (the name is taken) and nothing moves."""
    from reconciler.applier import temporary_name
    from reconciler.audio import sha256_bytes
    from reconciler.providers.exolve import NAME_MAX

    old_id, new = _replace_setup(exolve, workspace, run_cli)
    temp = temporary_name("welcome", sha256_bytes(new), NAME_MAX)
    stray = exolve.console_upload(temp, new if same_bytes else make_wav(0.3, seed=8))
    exolve.reset_log()
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    if not same_bytes:
        assert code == 1 and "fileName is exist" in err and "Traceback" not in err
        assert exolve.names() == sorted(["other", "welcome", temp])
        assert lock(workspace)["prod.welcome"]["remote_id"] == old_id
        return
    assert code == 0, out + err
    assert exolve.names() == ["other", "welcome"]  # no duplicate, nothing temporary left
    assert exolve.by_name("welcome").resource_id == int(stray) and exolve.by_name("welcome").data == new
    assert exolve.endpoint_counts().get("Upload", 0) == 0  # recognised at plan time: no upload
    assert exolve.endpoint_counts()["Download"] == 1  # the sha256 that proved it ours
    assert_no_changes(run_cli, workspace)


def test_orphan_is_deleted(exolve, workspace, run_cli):
    declare(workspace, exolve, 2)
    assert run_cli("apply", "-c", str(workspace.config), "--auto-approve")[0] == 0
    workspace.write(config(exolve.url, {"p000": {"file": "audio/p000.wav"}}))
    code, out, _ = run_cli("plan", "-c", str(workspace.config))
    assert "- prod.p001" in out and "Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy." in out
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    assert code == 0, out + err
    assert exolve.names() == ["p000"] and list(lock(workspace)) == ["prod.p000"]


# --- adopt and verify by content -------------------------------------------------------------------
def test_console_upload_with_same_content_is_adopted_by_sha256(exolve, workspace, run_cli):
    audio = declare(workspace, exolve, 2)
    rid = exolve.console_upload("p000", audio["p000"], description="from the console")
    other = exolve.console_upload("not-ours", make_wav(0.1, seed=50))
    code, out, _ = run_cli("plan", "-c", str(workspace.config))
    assert "= prod.p000" in out and "checked by sha256" in out
    assert f"prod:{other}" in out  # unmanaged, listed, untouched
    exolve.reset_log()
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    assert code == 0, out + err
    assert exolve.endpoint_counts()["Upload"] == 1  # p001 only
    assert lock(workspace)["prod.p000"]["remote_id"] == rid
    assert exolve.by_name("p000").description == ""  # the declared description
    assert exolve.by_name("not-ours") is not None
    assert_no_changes(run_cli, workspace)


def test_console_upload_with_other_content_is_a_conflict(exolve, workspace, run_cli):
    declare(workspace, exolve, 1)
    exolve.console_upload("p000", make_wav(0.05, seed=77))
    code, out, err = run_cli("plan", "-c", str(workspace.config))
    assert code == 1 and "Error:" in err and "taken by an unmanaged remote asset" in err
    assert "checked by sha256" in err and "Traceback" not in err


def test_verify_content_downloads_and_finds_same_size_edits(exolve, workspace, run_cli):
    declare(workspace, exolve, 3)
    cfg = str(workspace.config)
    assert run_cli("apply", "-c", cfg, "--auto-approve")[0] == 0
    rid = lock(workspace)["prod.p001"]["remote_id"]
    same_size = make_wav(0.05, seed=123)
    assert len(same_size) == len(exolve.records[int(rid)].data)
    exolve.console_replace_bytes(rid, same_size)

    assert_no_changes(run_cli, workspace)  # sizes match: a listing cannot tell
    exolve.reset_log()
    code, out, _ = run_cli("plan", "-c", cfg, "--verify-content", "--detailed-exitcode")
    assert code == 2 and "-/+ prod.p001" in out
    assert exolve.endpoint_counts() == {"GetList": 2, "Download": 3}


# --- limits, checked before any request -------------------------------------------------------------
def _big_wav(size: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * (size - 44))
    return buf.getvalue()


def _au(seconds: float = 0.1) -> bytes:
    import struct

    payload = b"\x80" * int(8000 * seconds)
    return b".snd" + struct.pack(">IIIII", 24, len(payload), 2, 8000, 1) + payload


@pytest.mark.parametrize(("fields", "data", "problem"), [
    ({}, _big_wav(MAX_FILE_BYTES + 1), "over the exolve limit of 5,242,880 bytes"),
    ({}, _au(), "format AU is not accepted by exolve (accepted: MP3, WAV)"),
    ({"name": "x" * 125}, make_wav(0.05), "name is 125 characters, over the 124 allowed"),
    ({"description": "д" * 513}, make_wav(0.05), "description is 513 characters, over the 512 allowed"),
])
def test_limits_are_checked_before_any_request(exolve, workspace, run_cli, fields, data, problem):
    workspace.audio("a.bin", data)
    workspace.write(config(exolve.url, {"a": {"file": "audio/a.bin", **fields}}))
    for command in ("validate", "plan", "apply"):
        code, out, err = run_cli(command, "-c", str(workspace.config), "--auto-approve"
                                 if command == "apply" else "--no-color")
        assert code == 1, (command, out)
        assert "not acceptable to exolve" in err and problem in err, err
        assert "Traceback" not in err
    assert exolve.requests == []


def test_limits_count_runes_not_bytes(exolve, workspace, run_cli):
    """124 Cyrillic letters are 248 bytes but 124 runes: accepted by both sides."""
    name = "я" * 124
    workspace.audio("a.wav", make_wav(0.05))
    workspace.write(config(exolve.url, {"a": {"file": "audio/a.wav", "name": name, "description": "ж" * 512}}))
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    assert code == 0, out + err
    assert exolve.names() == [name] and exolve.by_name(name).description == "ж" * 512
    assert_no_changes(run_cli, workspace)


# --- errors ---------------------------------------------------------------------------------------------
def test_missing_key_is_a_config_error_before_any_request(exolve, workspace, run_cli, monkeypatch):
    declare(workspace, exolve, 1)
    monkeypatch.delenv(ENV)
    code, out, err = run_cli("plan", "-c", str(workspace.config))
    assert code == 1
    assert "Error: instance 'prod' (exolve): the environment variable EXOLVE_API_KEY is not set" in err
    assert exolve.requests == []


@pytest.mark.parametrize(("key", "status", "message"), [
    ("not-a-key", 400, "failed to parse token"),
    ("eyJhbGciOiJSUzI1NiJ9.eyJhcHAiOiJvdGhlciJ9.b3RoZXI", 403, "invalid token"),
])
def test_a_wrong_key_is_an_auth_error(exolve, workspace, run_cli, monkeypatch, key, status, message):
    declare(workspace, exolve, 1)
    monkeypatch.setenv(ENV, key)
    code, out, err = run_cli("plan", "-c", str(workspace.config))
    assert code == 1
    assert err.startswith(f"Error: exolve prod: list failed (HTTP {status}): {message}")
    assert "Check the API key in EXOLVE_API_KEY for instance 'prod'" in err
    assert key not in out + err and "Traceback" not in err


DOCUMENTED = [
    (401, "malformed token"),
    (403, "invalid token"),
    (400, "failed to parse token"),
    (400, "error Save media service: fileName is exist"),
    (400, "invalid value for enum type: \"FILE_TYPE_X\""),
    (400, "unexpected token"),
    (400, "invalid UploadRequest.File: value length must be at least 1 bytes"),
    (400, "invalid UploadRequest.FullName: value length must be between 1 and 128 runes, inclusive"),
    (400, "invalid value for string type: 5"),
    (400, "proto: syntax error (line 3:9): invalid character '\\r' in string"),
    (500, "Application [4711] does not own resource [661352]"),
    (404, "Not Found"),
]


@pytest.mark.parametrize(("status", "message"), DOCUMENTED)
def test_documented_errors_on_plan_exit_1_with_a_clear_message(exolve, workspace, run_cli, status, message):
    declare(workspace, exolve, 2, extra="max_retries = 1")
    cfg = str(workspace.config)
    assert run_cli("apply", "-c", cfg, "--auto-approve")[0] == 0
    before = workspace.lock.read_bytes()
    exolve.faults.fail_next(10, status, body={"error": message})
    code, out, err = run_cli("plan", "-c", cfg)
    assert code == 1
    assert err.startswith(f"Error: exolve prod: list failed (HTTP {status}): {message}"), err
    assert "Traceback" not in err and exolve.token not in out + err
    assert workspace.lock.read_bytes() == before


@pytest.mark.parametrize(("status", "message"), DOCUMENTED)
def test_documented_errors_on_apply_exit_1_and_keep_the_lockfile(exolve, workspace, run_cli, status, message):
    declare(workspace, exolve, 2, extra="max_retries = 1")
    cfg = str(workspace.config)
    assert run_cli("apply", "-c", cfg, "--auto-approve")[0] == 0
    workspace.audio("p002.wav", make_wav(0.05, seed=2))
    workspace.write(workspace.config.read_text() + '[providers.prod.assets.p002]\nfile = "audio/p002.wav"\n')
    before = lock(workspace)
    exolve.faults.fail_next(10, status, body={"error": message}, match=lambda m, p: p == "/media/v1/Upload")
    code, out, err = run_cli("apply", "-c", cfg, "--auto-approve")
    assert code == 1
    assert f"Error: prod.p002: exolve prod: create prod.p002 failed (HTTP {status}): {message}" in err, err
    assert "Apply failed: 0 added" in err and "Traceback" not in err
    assert lock(workspace) == before
    assert exolve.names() == ["p000", "p001"]


def test_wrong_base_url_names_the_setting(exolve, workspace, run_cli):
    declare(workspace, exolve, 1)
    workspace.write(workspace.config.read_text().replace(exolve.url, exolve.url + "/api"))
    code, out, err = run_cli("plan", "-c", str(workspace.config))
    assert code == 1 and "(HTTP 404)" in err and "check `base_url` under [providers.prod]" in err


def test_unreachable_service_is_a_clear_error(workspace, run_cli, monkeypatch):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    monkeypatch.setenv(ENV, DEFAULT_TOKEN)
    workspace.audio("a.wav", make_wav(0.05))
    workspace.write(config(f"http://127.0.0.1:{port}", {"a": {"file": "audio/a.wav"}}, extra="max_retries = 1"))
    code, out, err = run_cli("plan", "-c", str(workspace.config))
    assert code == 1 and err.startswith("Error: exolve prod: list failed: cannot reach")
    assert "Traceback" not in err


# --- faults ---------------------------------------------------------------------------------------------
def test_apply_of_50_converges_in_one_run_with_20_percent_faults(exolve, workspace, run_cli):
    exolve.page_cap = 25
    declare(workspace, exolve, 50)
    exolve.faults.fail_ratio(0.2, (500, 429), body=exolve.fault_body)
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 50 added" in out
    statuses = [r.status for r in exolve.requests]
    assert statuses.count(500) > 0 and statuses.count(429) > 0  # faults did happen
    assert exolve.names() == [f"p{i:03d}" for i in range(50)]  # no duplicate, none missing
    recorded = lock(workspace)
    assert sorted(e["remote_id"] for e in recorded.values()) == sorted(str(i) for i in exolve.records)
    exolve.faults.clear()
    assert_no_changes(run_cli, workspace)


# --- secrets ----------------------------------------------------------------------------------------------
CANARY = "eyJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOiJ5ZXMifQ.Q0FOQVJZLXRva2VuLWRvLW5vdC1sZWFr"


def _supports(run_cli, command: str, flag: str) -> bool:
    return flag in run_cli(command, "--help")[1]


def test_canary_token_never_leaks(serve, workspace, run_cli, monkeypatch):
    emulator = ExolveEmulator(token=CANARY)
    url = serve(emulator).url
    monkeypatch.setenv(ENV, CANARY)
    audio = {f"c{i}": make_wav(0.05, seed=i) for i in range(3)}
    for key, data in audio.items():
        workspace.audio(f"{key}.wav", data)
    workspace.write(config(url, {k: {"file": f"audio/{k}.wav", "description": k} for k in audio},
                           extra="max_retries = 3"))
    cfg = str(workspace.config)
    seen: list[str] = []

    def run(*args: str) -> int:
        code, out, err = run_cli(*args)
        seen.extend([out, err])
        return code

    assert run("plan", "-c", cfg, "-vv") == 0
    # some failures on the way, so retries and error paths are logged too
    emulator.faults.fail_next(2, 500)
    emulator.faults.fail_next(1, 429, retry_after=0)
    assert run("apply", "-c", cfg, "--auto-approve", "-vv") == 0, seen[-2:]
    workspace.audio("c0.wav", make_wav(0.07, seed=9))
    assert run("apply", "-c", cfg, "--auto-approve", "-v") == 0  # a replace: upload, delete, rename
    workspace.audio("c1.wav", make_wav(0.07, seed=10))
    if _supports(run_cli, "plan", "--json"):
        assert run("plan", "-c", cfg, "--json", "-v") == 0
        assert json.loads(seen[-2])["changes"]  # it is the plan JSON, with a change in it
    saved = workspace.root / "saved.plan"
    if _supports(run_cli, "plan", "--out"):
        assert run("plan", "-c", cfg, "--out", str(saved), "-v") == 0
        assert CANARY not in saved.read_text()
    # an error body that echoes the key is redacted
    emulator.faults.fail_next(5, 400, body={"error": f"failed to parse token {CANARY}"})
    assert run("plan", "-c", cfg, "-v") == 1
    assert "failed to parse token ***" in seen[-1]

    logs = "\n".join(seen)
    assert "POST /media/v1/GetList -> 200" in logs and "POST /media/v1/Upload -> 200" in logs
    assert "retrying POST media/v1/GetList" in logs
    assert CANARY not in logs
    for part in CANARY.split("."):
        assert part not in logs
    assert CANARY not in workspace.lock.read_text()
    # the emulator did see the key: the check above is not vacuous
    assert all(r.headers.get("authorization") == f"Bearer {CANARY}" for r in emulator.requests)


# --- the example config ----------------------------------------------------------------------------
def test_example_config_plans_and_applies(tmp_path, run_cli, exolve):
    import shutil
    from pathlib import Path

    examples = Path(__file__).parents[2] / "examples"
    shutil.copytree(examples / "quickstart" / "audio", tmp_path / "quickstart" / "audio")
    (tmp_path / "exolve").mkdir()
    text = (examples / "exolve" / "reconciler.toml").read_text()
    text = text.replace('type = "exolve"\n', f'type = "exolve"\nbase_url = "{exolve.url}"\nmax_retry_wait = 0.05\n', 1)
    cfg = tmp_path / "exolve" / "reconciler.toml"
    cfg.write_text(text)

    assert run_cli("validate", "-c", str(cfg))[0] == 0
    code, out, err = run_cli("apply", "-c", str(cfg), "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 3 added" in out
    assert exolve.names() == ["goodbye", "hold-music", "welcome"]
    hold = exolve.by_name("hold-music")
    assert (hold.file_type, hold.description) == (201, "Played before the operator answers")
    assert exolve.by_name("welcome").description == "Main greeting"
    code, out, _ = run_cli("plan", "-c", str(cfg), "--detailed-exitcode")
    assert code == 0 and "No changes." in out
