"""The CLI as a user types it, against the Soniox emulator on a real loopback
server: end state asserted in the emulator and the lockfile, a second plan
empty, request counts from the emulator's log."""

from __future__ import annotations

import hashlib
import json
import tomllib

import pytest

from tests.conftest import make_wav
from tests.emulators.soniox import MESSAGES, SonioxEmulator, error_body

WELCOME, HOLD, GOODBYE = make_wav(seed=1), make_wav(0.3, seed=2), make_wav(0.4, seed=3)
TOKEN_ENV = "SONIOX_API_KEY"

TWO = {
    "welcome": {"file": "audio/welcome.wav", "name": "welcome.wav"},
    "hold": {"file": "audio/hold.wav"},
}


def marker(address: str, data: bytes) -> str:
    return f"reconciler:{address}:{hashlib.sha256(data).hexdigest()[:32]}"


def is_create(method: str, path: str) -> bool:
    return method == "POST" and path == "/v1/files"


def is_delete(method: str, path: str) -> bool:
    return method == "DELETE" and path.startswith("/v1/files/")


@pytest.fixture
def emulator() -> SonioxEmulator:
    return SonioxEmulator()


@pytest.fixture
def ws(workspace, serve, emulator, monkeypatch):
    server = serve(emulator)
    monkeypatch.setenv(TOKEN_ENV, emulator.token)
    workspace.audio("welcome.wav", WELCOME)
    workspace.audio("hold.wav", HOLD)
    workspace.audio("goodbye.wav", GOODBYE)

    def write(assets: dict[str, dict], *, prune: bool = False, extra: str = "") -> None:
        lines = [
            "[providers.stt]", 'type = "soniox"', f'base_url = "{server.url}"',
            "max_retry_wait = 0.05", "timeout = 5",
        ]
        if prune:
            lines.append("prune = true")
        if extra:
            lines.append(extra)
        for key, fields in assets.items():
            lines.append(f"[providers.stt.assets.{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
        workspace.write("\n".join(lines) + "\n")

    workspace.configure = write
    write(TWO)
    return workspace


def lock(ws) -> dict:
    return tomllib.loads(ws.lock.read_text())["assets"] if ws.lock.exists() else {}


def ids(ws) -> dict[str, str]:
    return {address: entry["remote_id"] for address, entry in lock(ws).items()}


@pytest.fixture
def applied(ws, cli, emulator):
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 2 added" in out
    emulator.reset_log()
    return ids(ws)


def assert_no_changes(cli) -> str:
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert "No changes. Remote state matches the configuration." in out
    return out


def assert_clean_error(code: int, out: str, err: str, *texts: str) -> None:
    assert code == 1, out + err
    assert "Error: " in err
    assert "soniox stt" in err
    for text in texts:
        assert text in err, (text, err)
    assert "Traceback" not in out + err


# --- create, and the cost of a no-op plan ---------------------------------------------------


def test_create_then_noop(ws, cli, emulator):
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "+ stt.welcome" in out and "+ stt.hold" in out
    assert "Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy." in out

    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 2 added, 0 changed, 0 replaced, 0 destroyed." in out

    files = {f.filename: f for f in emulator.files.values()}
    assert set(files) == {"welcome.wav", "hold"}
    assert files["welcome.wav"].data == WELCOME and files["hold"].data == HOLD
    assert files["welcome.wav"].client_reference_id == marker("stt.welcome", WELCOME)
    assert files["hold"].client_reference_id == marker("stt.hold", HOLD)
    assert ids(ws) == {"stt.welcome": files["welcome.wav"].id, "stt.hold": files["hold"].id}
    assert lock(ws)["stt.welcome"]["size"] == len(WELCOME)
    uploads = [r for r in emulator.requests if is_create(r.method, r.path)]
    assert len(uploads) == 2
    assert all(r.headers["content-type"].startswith("multipart/form-data") for r in uploads)

    emulator.reset_log()
    assert_no_changes(cli)
    assert [(r.method, r.path, r.query) for r in emulator.requests] == [("GET", "/v1/files", "limit=1000")]


def test_noop_plan_costs_only_the_list_pages(ws, cli, emulator):
    emulator.page_size = 2
    many = {f"p{i}": {"file": f"audio/p{i}.wav"} for i in range(7)}
    for i in range(7):
        ws.audio(f"p{i}.wav", make_wav(seed=20 + i))
    ws.configure(many)
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    emulator.reset_log()

    assert_no_changes(cli)
    pages = [(r.method, r.path) for r in emulator.requests]
    print(f"\nno-op plan, 7 files, 2 per page: {len(pages)} requests: {emulator.counters()}")
    assert pages == [("GET", "/v1/files")] * 4  # ceil(7 / 2), and nothing else
    assert sum("cursor=" in r.query for r in emulator.requests) == 3


# --- replace: content change, rename -------------------------------------------------------------


def order_of(emulator: SonioxEmulator, old_id: str) -> list[str]:
    return [
        f"{r.method} {r.path}" for r in emulator.requests
        if is_create(r.method, r.path) or r.path == f"/v1/files/{old_id}"
    ]


def test_content_change_is_a_replace_new_file_first(ws, cli, emulator, applied):
    old = applied["stt.welcome"]
    new_bytes = make_wav(seed=9)
    ws.audio("welcome.wav", new_bytes)

    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "-/+ stt.welcome" in out
    assert "the audio content changed" in out
    assert "the new asset is created first, then the old one deleted" in out
    assert f"the remote id {old} will change" in out
    assert "Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy." in out

    emulator.reset_log()
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert order_of(emulator, old) == ["POST /v1/files", f"DELETE /v1/files/{old}"]
    assert old not in emulator.files
    new = ids(ws)["stt.welcome"]
    assert new != old
    assert emulator.files[new].data == new_bytes
    assert emulator.files[new].client_reference_id == marker("stt.welcome", new_bytes)
    assert "superseded" not in lock(ws)["stt.welcome"]
    assert_no_changes(cli)


def test_rename_is_a_replace_because_soniox_cannot_rename(ws, cli, emulator, applied):
    old = applied["stt.hold"]
    ws.configure({**TWO, "hold": {"file": "audio/hold.wav", "name": "hold-music.wav"}})

    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "-/+ stt.hold" in out
    assert "the provider cannot update this in place" in out
    assert "soniox cannot rename in place" in out
    assert '~ name        = "hold" -> "hold-music.wav"' in out

    emulator.reset_log()
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert order_of(emulator, old) == ["POST /v1/files", f"DELETE /v1/files/{old}"]
    assert [f.filename for f in emulator.files.values()] == ["welcome.wav", "hold-music.wav"]
    assert lock(ws)["stt.hold"]["name"] == "hold-music.wav"
    assert_no_changes(cli)


# --- delete, prune ------------------------------------------------------------------------------


def test_undeclared_asset_is_deleted(ws, cli, emulator, applied):
    ws.configure({"welcome": TWO["welcome"]})
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "- stt.hold" in out and "Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy." in out

    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert applied["stt.hold"] not in emulator.files
    assert set(ids(ws)) == {"stt.welcome"}
    assert_no_changes(cli)


def test_prune_deletes_only_files_without_our_marker(ws, cli, emulator, applied):
    person = emulator.console_upload("notes.wav", GOODBYE)
    other = emulator.console_upload("other.wav", GOODBYE, client_reference_id=marker("prod.other", GOODBYE))

    out = assert_no_changes(cli)  # prune = false: both listed, untouched
    assert f"stt:{person}: 'notes.wav'" in out
    assert f"stt:{other}: 'other.wav' (id {other}) was uploaded by reconciler for prod.other" in out

    ws.configure(TWO, prune=True)
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert f"- stt:{person}" in out
    assert f"- stt:{other}" not in out
    assert "Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy." in out

    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert person not in emulator.files
    assert other in emulator.files and set(applied.values()) <= set(emulator.files)
    out = assert_no_changes(cli)
    assert "prune never deletes reconciler-marked files" in out


# --- drift ---------------------------------------------------------------------------------------


def test_drift_deleted_in_the_console_is_created_again(ws, cli, emulator, applied):
    emulator.console_delete(applied["stt.welcome"])
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "Note: Objects have changed outside of reconciler" in out
    assert f"stt.welcome: deleted: remote asset {applied['stt.welcome']}" in out
    assert "+ stt.welcome" in out and "it was deleted outside reconciler" in out

    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    new = ids(ws)["stt.welcome"]
    assert new != applied["stt.welcome"] and emulator.files[new].data == WELCOME
    assert_no_changes(cli)


def test_drift_size_changed_is_a_replace_checked_by_size(ws, cli, emulator, applied):
    old = applied["stt.hold"]
    emulator.console_replace_bytes(old, HOLD + b"\x00" * 100)
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert f"stt.hold: size changed: {len(HOLD)} → {len(HOLD) + 100} bytes (content compared by size" in out
    assert "-/+ stt.hold" in out and "the remote content changed outside reconciler" in out

    emulator.reset_log()
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert order_of(emulator, old) == ["POST /v1/files", f"DELETE /v1/files/{old}"]
    assert emulator.files[ids(ws)["stt.hold"]].data == HOLD
    assert_no_changes(cli)


def test_verify_content_says_sizes_only(ws, cli, applied):
    code, out, _ = cli("plan", "--verify-content")
    assert code == 0
    assert "soniox offers no download; --verify-content compared sizes only" in out


# --- crash recovery and ownership -----------------------------------------------------------------


def test_lost_create_response_is_found_by_marker_without_a_duplicate(ws, cli, emulator):
    emulator.faults.lose_next_response(1, match=is_create)
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert sum(is_create(r.method, r.path) for r in emulator.requests) == 2  # the lost one is not sent again
    assert any(r.status < 0 for r in emulator.requests if is_create(r.method, r.path))
    assert sorted(f.filename for f in emulator.files.values()) == ["hold", "welcome.wav"]
    assert set(ids(ws).values()) == set(emulator.files)
    assert_no_changes(cli)


def test_lost_create_response_beside_a_lookalike_finds_our_file(ws, cli, emulator):
    lookalike = make_wav(seed=7)  # same name, same size, other content, no marker
    person = emulator.console_upload("welcome.wav", lookalike)
    ws.configure({"welcome": TWO["welcome"]})
    emulator.faults.lose_next_response(1, match=is_create)
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert sum(is_create(r.method, r.path) for r in emulator.requests) == 1
    ours = ids(ws)["stt.welcome"]
    assert ours != person and emulator.files[ours].data == WELCOME
    assert len(emulator.files) == 2


def test_internal_error_on_upload_is_resolved_by_listing_then_retried_once(ws, cli, emulator):
    emulator.faults.fail_next(1, 500, match=is_create)  # refused: nothing stored
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert sum(is_create(r.method, r.path) for r in emulator.requests) == 3
    assert len(emulator.files) == 2
    assert_no_changes(cli)


def test_an_upload_answer_without_an_id_is_settled_by_listing(ws, cli, emulator):
    ws.configure({"welcome": TWO["welcome"]})
    emulator.faults.fail_next(1, 201, body=b"<html>accepted</html>", match=is_create)
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert [r.status for r in emulator.requests if is_create(r.method, r.path)] == [201, 201]
    assert list(emulator.files) == [ids(ws)["stt.welcome"]]


def test_crash_before_the_lockfile_write_is_adopted_by_marker(ws, cli, emulator, applied):
    ws.lock.unlink()  # the uploads landed; the records did not
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "= stt.welcome" in out and "= stt.hold" in out
    assert "carries reconciler's upload marker for this address and content" in out
    assert "Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy, 2 to adopt." in out

    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert not any(is_create(r.method, r.path) for r in emulator.requests)
    assert ids(ws) == applied
    assert_no_changes(cli)


def test_a_persons_file_of_the_same_name_and_size_is_never_taken_for_ours(ws, cli, emulator):
    lookalike = make_wav(seed=7)
    assert len(lookalike) == len(WELCOME) and lookalike != WELCOME
    person = emulator.console_upload("welcome.wav", lookalike)

    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "+ stt.welcome" in out
    assert f"'welcome.wav' already exists remotely (id {person}) without reconciler's marker" in out

    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    ours = ids(ws)["stt.welcome"]
    assert ours != person and emulator.files[ours].data == WELCOME
    assert emulator.files[person].data == lookalike  # untouched
    out = assert_no_changes(cli)
    assert f"stt:{person}: 'welcome.wav'" in out


# --- errors ------------------------------------------------------------------------------------------


def test_unauthenticated(ws, cli, monkeypatch, applied):
    before = ws.lock.read_bytes()
    monkeypatch.setenv(TOKEN_ENV, "wrong-key-0000")
    ws.audio("welcome.wav", make_wav(seed=9))
    for command in (("plan",), ("apply", "--auto-approve")):
        code, out, err = cli(*command)
        assert_clean_error(code, out, err, "list failed (HTTP 401): Incorrect API key provided",
                           "request_id", TOKEN_ENV)
        assert "wrong-key-0000" not in out + err
    assert ws.lock.read_bytes() == before


def test_missing_key_variable(ws, cli, emulator, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV)
    code, out, err = cli("plan")
    assert code == 1 and f"{TOKEN_ENV} is not set" in err and "Traceback" not in err
    assert emulator.requests == []


def test_description_is_a_config_error(ws, cli, emulator):
    ws.configure({**TWO, "hold": {"file": "audio/hold.wav", "description": "On hold"}})
    code, out, err = cli("plan")
    assert code == 1
    assert "providers.stt.assets.hold" in err and "`description` cannot be kept" in err
    assert "Traceback" not in err and emulator.requests == []


def test_invalid_request_names_each_field(ws, cli, emulator, applied):
    before = ws.lock.read_bytes()
    emulator.max_file_bytes = 100  # the per-file cap, made small
    ws.audio("welcome.wav", make_wav(seed=9))
    code, out, err = cli("apply", "--auto-approve")
    assert_clean_error(code, out, err, "create stt.welcome failed (HTTP 400): Your request did not pass validation",
                       "[file.file: File size", "per-file upload limit of 100 bytes", "(request_id ")
    assert ws.lock.read_bytes() == before
    assert set(emulator.files) == set(applied.values())


def test_rate_limit_is_retried_with_backoff(ws, cli, emulator):
    emulator.faults.fail_next(2, 429)  # the per-minute limit, in Soniox's own body
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 2, out + err
    assert [r.status for r in emulator.requests] == [429, 429, 200]


def test_rate_limit_that_does_not_clear_fails_after_bounded_retries(ws, cli, emulator, applied):
    before = ws.lock.read_bytes()
    emulator.faults.fail_next(100, 429)
    code, out, err = cli("apply", "--auto-approve")
    assert_clean_error(code, out, err, "list failed (HTTP 429): Requests per minute limit", "wait a minute")
    assert len(emulator.requests) == 6  # max_retries = 5
    assert ws.lock.read_bytes() == before


def test_file_count_cap_is_a_clear_error_and_not_retried(ws, cli, emulator):
    emulator.max_files = 2
    ws.configure({**TWO, "goodbye": {"file": "audio/goodbye.wav"}})
    code, out, err = cli("apply", "--auto-approve", "--parallelism", "1")
    assert_clean_error(code, out, err, "create stt.welcome failed (HTTP 429): Total file count limit has been exceeded",
                       "total file count cap", "retrying cannot help", "Delete files you no longer need")
    assert sum(is_create(r.method, r.path) for r in emulator.requests) == 3  # the refused one once
    assert len(emulator.files) == 2
    assert set(ids(ws)) == {"stt.goodbye", "stt.hold"}  # what succeeded is recorded

    emulator.max_files = 1000  # a higher limit from the Soniox Console: the next apply finishes
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0 and "Apply complete: 1 added" in out, out + err
    assert_no_changes(cli)


def test_total_size_cap_is_a_clear_error(ws, cli, emulator):
    emulator.max_total_bytes = len(WELCOME) + 10
    ws.configure({"welcome": TWO["welcome"], "hold": TWO["hold"]})
    code, out, err = cli("apply", "--auto-approve", "--parallelism", "1")
    assert_clean_error(code, out, err, "Total file size limit has been exceeded", "total file size cap")
    assert len(emulator.files) == 1 and len(ids(ws)) == 1


def test_internal_error_that_persists(ws, cli, emulator, applied):
    before = ws.lock.read_bytes()
    emulator.faults.fail_next(100, 500)
    code, out, err = cli("apply", "--auto-approve")
    assert_clean_error(code, out, err, "list failed (HTTP 500): The server encountered an error", "request_id")
    assert len(emulator.requests) == 6
    assert ws.lock.read_bytes() == before


def test_file_not_found_on_delete_means_already_gone(ws, cli, emulator, applied):
    ws.configure({"welcome": TWO["welcome"]})
    emulator.faults.fail_next(1, 404, match=is_delete)  # gone between plan and delete
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 0 added, 0 changed, 0 replaced, 1 destroyed." in out
    assert set(ids(ws)) == {"stt.welcome"}


def test_invalid_cursor_restarts_the_listing_once(ws, cli, emulator, applied):
    emulator.page_size = 1
    emulator.reject_cursors(1)
    out = assert_no_changes(cli)
    assert [r.status for r in emulator.requests] == [200, 400, 200, 200]
    assert "Unmanaged" not in out


def test_invalid_cursor_twice_is_an_error(ws, cli, emulator, applied):
    before = ws.lock.read_bytes()
    emulator.page_size = 1
    emulator.reject_cursors(2)
    code, out, err = cli("plan")
    assert_clean_error(code, out, err, "list failed (HTTP 400): Invalid cursor parameter", "run the command again")
    assert ws.lock.read_bytes() == before


def test_documented_error_body_of_the_seed_is_shown_with_its_request_id(ws, cli, emulator):
    body = {**error_body(429, "limit_exceeded", MESSAGES["file_count"]),
            "request_id": "3d37a3bd-5078-47ee-a369-b204e3bbedda"}
    emulator.faults.fail_next(1, 429, body=body, match=is_create)
    code, out, err = cli("apply", "--auto-approve")
    assert_clean_error(code, out, err, "(request_id 3d37a3bd-5078-47ee-a369-b204e3bbedda)")


# --- the credential never leaks --------------------------------------------------------------------


def test_token_never_appears_in_output_logs_or_lockfile(ws, cli, emulator):
    emulator.faults.lose_next_response(1, match=is_create)
    emulator.faults.fail_next(1, 429)
    seen = []
    for args in (("plan", "-v"), ("apply", "--auto-approve", "-vv"), ("plan", "-vv", "--verify-content")):
        code, out, err = cli(*args)
        assert code == 0, out + err
        seen.append(out + err)
    ws.configure({"welcome": TWO["welcome"]})
    code, out, err = cli("apply", "--auto-approve", "-v")
    seen.append(out + err)
    text = "\n".join(seen) + ws.lock.read_text()
    assert emulator.token not in text
    assert "soniox stt: POST /v1/files -> 201" in text  # -v shows each call
    assert "soniox stt: GET /v1/files -> 200" in text
    assert any(r.headers.get("authorization") == f"Bearer {emulator.token}" for r in emulator.requests)


# --- the example config --------------------------------------------------------------------------


def test_example_config_plans_and_applies(tmp_path, run_cli, serve, monkeypatch):
    import shutil
    from pathlib import Path

    examples = Path(__file__).parents[2] / "examples"
    shutil.copytree(examples / "quickstart" / "audio", tmp_path / "quickstart" / "audio")
    (tmp_path / "soniox").mkdir()
    text = (examples / "soniox" / "reconciler.toml").read_text()
    emulator = SonioxEmulator()
    server = serve(emulator)
    monkeypatch.setenv(TOKEN_ENV, emulator.token)
    text = text.replace('type = "soniox"\n', f'type = "soniox"\nbase_url = "{server.url}"\nmax_retry_wait = 0.05\n', 1)
    cfg = tmp_path / "soniox" / "reconciler.toml"
    cfg.write_text(text)

    code, out, err = run_cli("apply", "-c", str(cfg), "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 3 added" in out
    assert sorted(f.filename for f in emulator.files.values()) == ["goodbye", "hold-music.wav", "welcome"]
    code, out, _ = run_cli("plan", "-c", str(cfg), "--detailed-exitcode")
    assert code == 0 and "No changes." in out
