"""The CLI as a user types it, against the Plusofon emulator on a real loopback
server: create (with and without an id in the answer), adopt, rename in
place, replace, delete, prune, drift from the web console, standard media,
pagination, the cost of a no-op plan, every documented error, and the token
never leaking.

Assertions are on what the emulator holds and logged, what the lockfile
records, and what the next plan says.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from tests.conftest import make_mp3_frame_stream, make_wav
from tests.emulators.plusofon import STANDARD_MEDIA, PlusofonEmulator

WELCOME, HOLD = make_wav(0.3, seed=1), make_wav(0.4, seed=2)
MP3 = make_mp3_frame_stream(10)
GREETING = STANDARD_MEDIA[1]["id"]  # "Приветствие"
SECRETARY = STANDARD_MEDIA[0]["id"]  # "Секретарь"


def make_flac(rate: int = 8000, samples: int = 8000) -> bytes:
    """A FLAC header (STREAMINFO only): recognised and parsed, mono 16-bit."""
    packed = (rate << 44) | (0 << 41) | (15 << 36) | samples
    info = (4096).to_bytes(2, "big") * 2 + b"\x00" * 6 + packed.to_bytes(8, "big") + b"\x00" * 16
    return b"fLaC" + bytes([0x80, 0, 0, len(info)]) + info


FLAC = make_flac()
EXAMPLES = Path(__file__).parents[2] / "examples"


def is_list(r) -> bool:
    return r.method == "GET" and r.path == "/api/v1/media"


def is_create(method: str, path: str) -> bool:
    return method == "POST" and path == "/api/v1/media"


def toml(url: str, assets: dict[str, dict] | None = None, *, glob: str | None = None,
         instance: str = "main", extra: str = "") -> str:
    lines = [
        f"[providers.{instance}]", 'type = "plusofon"', f'base_url = "{url}"',
        "max_retry_wait = 0.05", "timeout = 5", extra,
    ]
    if glob:
        lines += [f"[[providers.{instance}.glob]]", f'pattern = "{glob}"']
    for key, fields in (assets or {}).items():
        lines.append(f"[providers.{instance}.assets.{key}]")
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


TWO = {"welcome": {"file": "audio/welcome.wav"}, "hold": {"file": "audio/hold.mp3", "name": "hold-music"}}


@pytest.fixture
def emulator(monkeypatch):
    em = PlusofonEmulator()
    monkeypatch.setenv("PLUSOFON_TOKEN", em.token)
    return em


@pytest.fixture
def server(emulator, serve):
    return serve(emulator)


@pytest.fixture
def ws(workspace):
    workspace.audio("welcome.wav", WELCOME)
    workspace.audio("hold.mp3", MP3)
    return workspace


def lock_of(ws) -> dict:
    return tomllib.loads(ws.lock.read_text())["assets"]


def plan(run_cli, ws, *args):
    return run_cli("plan", "-c", str(ws.config), *args)


def apply(run_cli, ws, *args):
    return run_cli("apply", "-c", str(ws.config), "--auto-approve", *args)


def assert_no_changes(run_cli, ws, *args) -> None:
    code, out, err = plan(run_cli, ws, "--detailed-exitcode", *args)
    assert code == 0, out + err
    assert "No changes. Remote state matches the configuration." in out


def converge(run_cli, ws) -> None:
    code, out, err = apply(run_cli, ws)
    assert code == 0, out + err
    assert_no_changes(run_cli, ws)


# --- create ------------------------------------------------------------------
@pytest.mark.parametrize("create_response", ["seed", "id", "data"])
def test_create_then_no_changes(ws, emulator, server, run_cli, create_response):
    emulator.create_response = create_response
    emulator.console_upload("someone-elses", make_wav(seed=9))  # must not be taken for ours
    ws.write(toml(server.url, TWO))

    code, out, _ = plan(run_cli, ws, "--detailed-exitcode")
    assert code == 2
    assert "+ main.welcome" in out and "+ main.hold" in out
    assert "Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy." in out

    code, out, err = apply(run_cli, ws)
    assert code == 0, out + err
    assert "Apply complete: 2 added, 0 changed, 0 replaced, 0 destroyed." in out
    [welcome], [hold] = emulator.by_name("welcome"), emulator.by_name("hold-music")
    assert (welcome.data, welcome.mime) == (WELCOME, "wav")
    assert (hold.data, hold.mime) == (MP3, "mp3")
    locked = lock_of(ws)
    assert locked["main.welcome"]["remote_id"] == str(welcome.id)
    assert locked["main.hold"]["remote_id"] == str(hold.id)
    assert locked["main.welcome"]["type"] == "plusofon"
    # the wire format: base64 JSON with the short mime names, and the documented headers
    posts = [b for b in emulator.bodies if "file_mime_type" in b]
    assert sorted(b["file_mime_type"] for b in posts) == ["mp3", "wav"]
    post = next(r for r in emulator.requests if is_create(r.method, r.path))
    assert post.headers["authorization"] == f"Bearer {emulator.token}"
    assert post.headers["client"] == "10553"
    assert post.headers["accept"] == "application/json"
    assert post.headers["content-type"] == "application/json"
    assert emulator.count("POST") == 2

    assert_no_changes(run_cli, ws)
    code, out, _ = apply(run_cli, ws)
    assert code == 0 and "No changes." in out
    assert emulator.count("POST") == 2 and len(emulator.media) == 3


@pytest.mark.parametrize("newest_first, pages_read", [(False, 2), (True, 1)], ids=["oldest-first", "newest-first"])
def test_create_without_id_reads_few_pages(ws, emulator, server, run_cli, newest_first, pages_read):
    """The documented answer carries no id: the new media is found on the first
    or the last page, not by reading the whole account again."""
    emulator.newest_first = newest_first
    for i in range(40):  # 3 pages of 15
        emulator.console_upload(f"console-{i}", make_wav(0.05, seed=100 + i))
    ws.write(toml(server.url, TWO))
    code, out, err = apply(run_cli, ws)
    assert code == 0, out + err
    lists = [r for r in emulator.requests if is_list(r)]
    # the plan's listing, then one lookup for both creates (both uploads were
    # in flight together, so their ids are looked up in one round)
    assert len(lists) == 3 + pages_read
    for name, key in (("welcome", "main.welcome"), ("hold-music", "main.hold")):
        [media] = emulator.by_name(name)
        assert lock_of(ws)[key]["remote_id"] == str(media.id)
    assert_no_changes(run_cli, ws)


def test_custom_client_header(ws, emulator, server, run_cli):
    emulator.client = "777"
    ws.write(toml(server.url, TWO, extra="client = 777"))  # an integer in TOML is fine
    converge(run_cli, ws)
    assert {r.headers["client"] for r in emulator.requests} == {"777"}


def test_lost_create_answer_makes_no_duplicate(ws, emulator, server, run_cli):
    ws.write(toml(server.url, {"welcome": TWO["welcome"]}))
    emulator.faults.lose_next_response(1, match=is_create)
    converge(run_cli, ws)
    assert [m.name for m in emulator.media.values()] == ["welcome"]
    assert emulator.count("POST") == 1


# --- adopt -------------------------------------------------------------------
def test_adopt_same_name_same_bytes(ws, emulator, server, run_cli):
    rid = emulator.console_upload("welcome", WELCOME)
    ws.write(toml(server.url, {"welcome": TWO["welcome"]}))
    code, out, _ = plan(run_cli, ws)
    assert "= main.welcome" in out and "checked by sha256" in out
    assert emulator.count("GET", f"/api/v1/media/{rid}/file") == 1  # the candidate was downloaded
    converge(run_cli, ws)
    assert emulator.count("POST") == 0
    assert lock_of(ws)["main.welcome"]["remote_id"] == rid


def test_same_name_other_bytes_is_a_conflict(ws, emulator, server, run_cli):
    rid = emulator.console_upload("welcome", HOLD)
    ws.write(toml(server.url, {"welcome": TWO["welcome"]}))
    code, _, err = plan(run_cli, ws)
    assert code == 1
    assert "Error:" in err and "different content (checked by sha256)" in err
    assert f"`reconciler -c {ws.config} import main.welcome {rid}`" in err
    assert "Traceback" not in err


def test_import_takes_over_a_console_media(ws, emulator, server, run_cli):
    rid = emulator.console_upload("welcome", HOLD)  # other bytes: a conflict, import is the way out
    ws.write(toml(server.url, {"welcome": TWO["welcome"]}))
    code, out, err = run_cli("import", "-c", str(ws.config), "main.welcome", rid)
    assert code == 0, out + err
    assert "content differs from the local file (sha256)" in out + err
    assert emulator.count("GET", f"/api/v1/media/{rid}/file") == 1
    code, out, _ = plan(run_cli, ws)
    assert "-/+ main.welcome" in out  # the local file wins on the next apply
    converge(run_cli, ws)
    [media] = emulator.by_name("welcome")
    assert media.data == WELCOME


def test_import_a_standard_media_asset(ws, emulator, server, run_cli):
    rid = emulator.console_upload("greeting", make_wav(seed=7))  # made from the prompt in the console
    ws.write(toml(server.url, {"greeting": {"standard_id": GREETING}}))
    code, _, err = plan(run_cli, ws)
    assert code == 1 and "content that cannot be compared" in err
    assert f"`reconciler -c {ws.config} import main.greeting {rid}`" in err
    code, out, err = run_cli("import", "-c", str(ws.config), "main.greeting", rid)
    assert code == 0, out + err
    assert "not verified (the asset has no local file to compare)" in out + err
    assert emulator.count("GET", f"/api/v1/media/{rid}/file") == 0  # nothing to compare it with
    assert lock_of(ws)["main.greeting"]["sha256"] == f"standard:{GREETING}"
    assert_no_changes(run_cli, ws)


# --- update, replace, delete, prune -----------------------------------------------
def test_rename_in_place(ws, emulator, server, run_cli):
    ws.write(toml(server.url, TWO))
    converge(run_cli, ws)
    rid = lock_of(ws)["main.hold"]["remote_id"]
    ws.write(toml(server.url, {**TWO, "hold": {"file": "audio/hold.mp3", "name": "music-on-hold"}}))
    code, out, _ = plan(run_cli, ws)
    assert "~ main.hold" in out and '"hold-music" -> "music-on-hold"' in out
    emulator.reset_log()
    converge(run_cli, ws)
    assert emulator.count("PATCH", f"/api/v1/media/{rid}") == 1
    assert emulator.count("POST") == emulator.count("DELETE") == 0
    assert emulator.media[int(rid)].name == "music-on-hold"
    assert lock_of(ws)["main.hold"] | {"remote_id": rid, "name": "music-on-hold"} == lock_of(ws)["main.hold"]


def test_replace_on_content_change(ws, emulator, server, run_cli):
    ws.write(toml(server.url, TWO))
    converge(run_cli, ws)
    old = lock_of(ws)["main.welcome"]["remote_id"]
    ws.audio("welcome.wav", HOLD)
    code, out, _ = plan(run_cli, ws)
    assert "-/+ main.welcome" in out and "the audio content changed" in out
    assert f"the remote id {old} will change" in out
    emulator.reset_log()
    converge(run_cli, ws)
    [new] = emulator.by_name("welcome")
    assert new.data == HOLD and str(new.id) != old
    assert int(old) not in emulator.media
    assert lock_of(ws)["main.welcome"]["remote_id"] == str(new.id)
    # create-before-destroy: names may repeat on Plusofon, so the old one goes last
    methods = [r.method for r in emulator.requests if r.method in ("POST", "DELETE")]
    assert methods == ["POST", "DELETE"]


def test_delete_when_no_longer_declared(ws, emulator, server, run_cli):
    ws.write(toml(server.url, TWO))
    converge(run_cli, ws)
    gone = lock_of(ws)["main.hold"]["remote_id"]
    ws.write(toml(server.url, {"welcome": TWO["welcome"]}))
    code, out, _ = plan(run_cli, ws)
    assert "- main.hold" in out and "Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy." in out
    converge(run_cli, ws)
    assert emulator.names() == ["welcome"]
    assert emulator.count("DELETE", f"/api/v1/media/{gone}") == 1
    assert "main.hold" not in lock_of(ws)


def test_prune_deletes_unmanaged(ws, emulator, server, run_cli):
    stray = emulator.console_upload("stray", HOLD)
    ws.write(toml(server.url, {"welcome": TWO["welcome"]}))
    code, out, _ = plan(run_cli, ws)
    assert f"main:{stray}: 'stray' (id {stray}) is not managed" in out
    converge(run_cli, ws)
    assert emulator.names() == ["stray", "welcome"]

    ws.write(toml(server.url, {"welcome": TWO["welcome"]}, extra="prune = true"))
    code, out, _ = plan(run_cli, ws)
    assert f"- main:{stray}" in out
    converge(run_cli, ws)
    assert emulator.names() == ["welcome"]


# --- drift: the web console ----------------------------------------------------
def test_drift_renamed_in_console_is_put_back(ws, emulator, server, run_cli):
    ws.write(toml(server.url, TWO))
    converge(run_cli, ws)
    rid = lock_of(ws)["main.welcome"]["remote_id"]
    emulator.console_rename(rid, "Welcome (edited)")
    code, out, _ = plan(run_cli, ws, "--detailed-exitcode")
    assert code == 2
    assert "Objects have changed outside of reconciler" in out
    assert "main.welcome: renamed: 'welcome' → 'Welcome (edited)'" in out
    assert "~ main.welcome" in out
    converge(run_cli, ws)
    assert emulator.media[int(rid)].name == "welcome"


def test_drift_deleted_in_console_is_created_again(ws, emulator, server, run_cli):
    ws.write(toml(server.url, TWO))
    converge(run_cli, ws)
    rid = lock_of(ws)["main.welcome"]["remote_id"]
    emulator.console_delete(rid)
    code, out, _ = plan(run_cli, ws)
    assert f"main.welcome: deleted: remote asset {rid} ('welcome') is gone" in out
    assert "+ main.welcome" in out and "it was deleted outside reconciler" in out
    converge(run_cli, ws)
    [again] = emulator.by_name("welcome")
    assert again.data == WELCOME and lock_of(ws)["main.welcome"]["remote_id"] == str(again.id)


def test_drift_content_changed_needs_verify_content(ws, emulator, server, run_cli):
    ws.write(toml(server.url, TWO))
    converge(run_cli, ws)
    rid = lock_of(ws)["main.welcome"]["remote_id"]
    emulator.console_replace_bytes(rid, HOLD)
    emulator.reset_log()
    # the listing shows only id and name: a plain plan cannot see it, and downloads nothing
    assert_no_changes(run_cli, ws)
    assert emulator.count("GET", "/api/v1/media/") == 0

    code, out, _ = plan(run_cli, ws, "--verify-content", "--detailed-exitcode")
    assert code == 2
    assert "main.welcome: content changed: sha256" in out
    assert "-/+ main.welcome" in out and "the remote content changed outside reconciler" in out
    assert emulator.count("GET", "/api/v1/media/") == 2  # one download per recorded asset

    code, out, err = apply(run_cli, ws, "--verify-content")
    assert code == 0, out + err
    [fixed] = emulator.by_name("welcome")
    assert fixed.data == WELCOME and str(fixed.id) != rid
    assert_no_changes(run_cli, ws, "--verify-content")


# --- standard media -------------------------------------------------------------
def test_standard_media_asset(ws, emulator, server, run_cli):
    ws.write(toml(server.url, {"greeting": {"standard_id": GREETING, "name": "Приветствие"}, **TWO}))
    code, out, _ = plan(run_cli, ws)
    assert "+ main.greeting" in out and f'"standard:{GREETING}"' in out
    converge(run_cli, ws)
    [greeting] = emulator.by_name("Приветствие")
    assert greeting.standard_id == GREETING
    assert {"name": "Приветствие", "standard_id": GREETING} in emulator.bodies
    locked = lock_of(ws)["main.greeting"]
    assert locked["remote_id"] == str(greeting.id) and locked["sha256"] == f"standard:{GREETING}"

    # no local bytes to compare: --verify-content says so and downloads only the files
    emulator.reset_log()
    code, out, _ = plan(run_cli, ws, "--verify-content", "--detailed-exitcode")
    assert code == 0, out
    assert "cannot check 1 asset(s) with no local file (main.greeting)" in out
    assert emulator.count("GET", f"/api/v1/media/{greeting.id}/file") == 0
    assert emulator.count("GET", "/api/v1/standard-media") == 1


def test_standard_media_change_is_a_replace(ws, emulator, server, run_cli):
    ws.write(toml(server.url, {"greeting": {"standard_id": GREETING}}))
    converge(run_cli, ws)
    old = lock_of(ws)["main.greeting"]["remote_id"]
    ws.write(toml(server.url, {"greeting": {"standard_id": SECRETARY}}))
    code, out, _ = plan(run_cli, ws)
    assert "-/+ main.greeting" in out
    assert f'"standard:{GREETING}" -> "standard:{SECRETARY}"' in out
    converge(run_cli, ws)
    [new] = emulator.by_name("greeting")
    assert new.standard_id == SECRETARY and str(new.id) != old


def test_standard_media_unknown_id_fails_at_plan_time(ws, emulator, server, run_cli):
    ws.write(toml(server.url, {"greeting": {"standard_id": "0000dead"}, **TWO}))
    for command in (plan, apply):
        code, out, err = command(run_cli, ws)
        assert code == 1
        assert "providers.main.assets.greeting.standard_id: '0000dead' is not a preinstalled prompt" in err
        assert f"{GREETING} (Приветствие)" in err  # the way out: the ids that exist
        assert "Traceback" not in err
    assert emulator.count("POST") == 0 and not ws.lock.exists()


def test_standard_media_alone_costs_one_request_at_plan_time(ws, emulator, server, run_cli):
    ws.write(toml(server.url, TWO))
    converge(run_cli, ws)
    emulator.reset_log()
    assert_no_changes(run_cli, ws)
    assert emulator.count("GET", "/api/v1/standard-media") == 0  # none declared: never asked


# --- config errors, before any request -------------------------------------------
@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"file": "audio/welcome.wav", "description": "Main greeting"},
         "providers.main.assets.welcome.description: plusofon media have no description field"),
        ({"file": "audio/welcome.wav", "standard_id": GREETING},
         "set exactly one of `file` (an audio file) or `standard_id`"),
        ({"name": "welcome"}, "set exactly one of `file` (an audio file) or `standard_id`"),
        ({"file": "audio/welcome.wav", "stadard_id": GREETING}, "unknown key (did you mean 'standard_id'?)"),
        ({"file": "audio/tune.flac"}, "format FLAC is not accepted by plusofon (accepted: AIFF, AU, MP3, OGG, WAV)"),
    ],
    ids=["description", "file-and-standard", "neither", "typo", "flac"],
)
def test_config_errors_before_any_request(ws, emulator, server, run_cli, fields, reason):
    ws.audio("tune.flac", FLAC)
    ws.write(toml(server.url, {"welcome": fields}))
    code, _, err = plan(run_cli, ws)
    assert code == 1
    assert err.startswith("Error: ") and reason in err, err
    assert "Traceback" not in err
    assert emulator.requests == []


def test_glob_description_is_a_config_error(ws, emulator, server, run_cli):
    ws.write(toml(server.url) + '[[providers.main.glob]]\npattern = "audio/*.wav"\ndescription = "x"\n')
    code, _, err = plan(run_cli, ws)
    assert code == 1 and "providers.main.glob[0].description: plusofon media have no description" in err
    assert emulator.requests == []


def test_missing_token_variable(ws, emulator, server, run_cli, monkeypatch):
    monkeypatch.delenv("PLUSOFON_TOKEN")
    ws.write(toml(server.url, TWO))
    code, _, err = plan(run_cli, ws)
    assert code == 1 and "the environment variable PLUSOFON_TOKEN is not set" in err
    assert emulator.requests == []


# --- pagination and cost ------------------------------------------------------------
def test_pagination_over_several_pages(ws, emulator, server, run_cli):
    emulator.set_page_size(4)
    for i in range(6):
        emulator.console_upload(f"console-{i}", make_wav(seed=50 + i))
    for i in range(5):
        ws.audio(f"p{i}.wav", make_wav(seed=i))
    ws.write(toml(server.url, glob="audio/p*.wav"))
    converge(run_cli, ws)
    assert len(emulator.media) == 11
    emulator.reset_log()
    code, out, _ = plan(run_cli, ws)
    # every page was read: the unmanaged ones on the last page too
    assert all(f"'console-{i}'" in out for i in range(6))
    assert [r.query for r in emulator.requests] == ["", "page=2", "page=3"]


def test_noop_plan_of_100_assets_costs_only_the_list_pages(ws, emulator, server, run_cli):
    emulator.create_response = "id"  # a faster setup; the plan below does not create
    for i in range(100):
        ws.audio(f"prompt-{i:03}.wav", make_wav(0.05, seed=i))
    ws.write(toml(server.url, glob="audio/prompt-*.wav"))
    code, out, err = apply(run_cli, ws)
    assert code == 0, out + err
    assert len(emulator.media) == 100
    emulator.reset_log()
    assert_no_changes(run_cli, ws)
    # 100 media at the default 15 per page: 7 pages, and nothing else
    assert [(r.method, r.path, r.query) for r in emulator.requests] == [
        ("GET", "/api/v1/media", "")] + [("GET", "/api/v1/media", f"page={n}") for n in range(2, 8)]


# --- errors ------------------------------------------------------------------------------
def applied(ws, emulator, server, run_cli) -> bytes:
    """A converged workspace; returns the lockfile's bytes, to prove it untouched."""
    ws.write(toml(server.url, TWO))
    converge(run_cli, ws)
    emulator.reset_log()
    return ws.lock.read_bytes()


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (500, {"message": "User not found", "code": 500},
         "Error: plusofon main: list failed (HTTP 500): User not found"),
        (400, {"message": "The media id must be int.", "code": 400},
         "Error: plusofon main: list failed (HTTP 400): The media id must be int."),
        (200, {"success": False, "message": "Доступ запрещён"},
         "Error: plusofon main: list failed (HTTP 200): Доступ запрещён (success: false)"),
        (401, {"message": "Unauthenticated."}, "Error: plusofon main: list failed (HTTP 401): Unauthenticated."),
    ],
    ids=["user-not-found", "bad-media-id", "success-false", "unauthenticated"],
)
def test_documented_error_on_plan(ws, emulator, server, run_cli, status, body, expected):
    before = applied(ws, emulator, server, run_cli)
    emulator.faults.fail_next(10, status, body=body, match=lambda m, p: p == "/api/v1/media")
    for command in (plan, apply):
        code, out, err = command(run_cli, ws)
        assert code == 1
        assert err.startswith(expected), err
        assert "Traceback" not in err
    assert ws.lock.read_bytes() == before
    assert emulator.count("GET") == 2  # one per command: none of these is retried


def test_wrong_token_or_client_is_user_not_found(ws, emulator, server, run_cli, monkeypatch):
    before = applied(ws, emulator, server, run_cli)
    monkeypatch.setenv("PLUSOFON_TOKEN", "not-the-token")
    code, _, err = plan(run_cli, ws)
    assert code == 1 and "User not found" in err
    assert "Check the token in PLUSOFON_TOKEN and `client` (10553) under [providers.main]" in err
    monkeypatch.setenv("PLUSOFON_TOKEN", emulator.token)
    ws.write(toml(server.url, TWO, extra='client = "10554"'))
    code, _, err = plan(run_cli, ws)
    assert code == 1 and "User not found" in err and "`client` (10554)" in err
    assert ws.lock.read_bytes() == before


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (200, {"success": False, "message": "The file is not a valid wav file."},
         "main.welcome: plusofon main: create main.welcome failed (HTTP 200): "
         "The file is not a valid wav file. (success: false)"),
        (422, {"message": "The name field is required.", "errors": {"name": ["The name field is required."]}},
         "name: The name field is required."),
        (500, {"message": "User not found.", "code": 500}, "create main.welcome failed (HTTP 500): User not found."),
    ],
    ids=["success-false", "validation", "user-not-found"],
)
def test_error_on_create_keeps_the_lockfile(ws, emulator, server, run_cli, status, body, expected):
    before = applied(ws, emulator, server, run_cli)
    ws.audio("welcome.wav", HOLD)  # a replace: the create comes first
    emulator.faults.fail_next(1, status, body=body, match=is_create)
    code, out, err = apply(run_cli, ws)
    assert code == 1
    assert expected in err, err
    assert "Apply failed: 0 added, 0 changed, 0 replaced, 0 destroyed." in err
    assert "Traceback" not in err
    assert ws.lock.read_bytes() == before
    assert emulator.count("POST") == 1 and emulator.count("DELETE") == 0  # the old one stays
    converge(run_cli, ws)  # and the next apply finishes the job


def test_success_false_on_rename_is_an_error(ws, emulator, server, run_cli):
    before = applied(ws, emulator, server, run_cli)
    ws.write(toml(server.url, {**TWO, "welcome": {"file": "audio/welcome.wav", "name": "hello"}}))
    emulator.faults.fail_next(1, 200, body={"success": False, "message": "Rename failed"},
                              match=lambda m, p: m == "PATCH")
    code, _, err = apply(run_cli, ws)
    assert code == 1 and "rename failed (HTTP 200): Rename failed (success: false)" in err
    assert ws.lock.read_bytes() == before
    assert emulator.names() == ["hold-music", "welcome"]


def test_rate_limit_is_retried(ws, emulator, server, run_cli):
    applied(ws, emulator, server, run_cli)
    emulator.faults.fail_next(2, 429, retry_after=0)
    assert_no_changes(run_cli, ws)
    assert [r.status for r in emulator.requests] == [429, 429, 200]


def test_server_errors_exhaust_the_retry_budget(ws, emulator, server, run_cli):
    before = applied(ws, emulator, server, run_cli)
    emulator.faults.fail_next(100, 500)
    code, _, err = plan(run_cli, ws)
    assert code == 1 and err.startswith("Error: plusofon main: list failed (HTTP 500): Server Error")
    assert emulator.count("GET") == 6  # the first try and max_retries = 5
    assert ws.lock.read_bytes() == before


# --- secrets -------------------------------------------------------------------------------
def test_token_never_leaks(ws, emulator, server, run_cli):
    ws.write(toml(server.url, {"greeting": {"standard_id": GREETING}, **TWO}))
    outputs = []
    for args in (("plan", "-v", "-v"), ("apply", "--auto-approve", "-v", "-v")):
        code, out, err = run_cli(*args, "-c", str(ws.config))
        assert code == 0, out + err
        outputs += [out, err]
    assert "GET /api/v1/media -> 200" in outputs[1]  # -v shows the calls...
    # an error body that echoes the credential is redacted too
    emulator.faults.fail_next(1, 500, body={"message": f"User not found for {emulator.token}", "code": 500})
    code, out, err = plan(run_cli, ws, "-v")
    assert code == 1 and "User not found for ***" in err
    outputs += [out, err]
    for text in outputs + [ws.lock.read_text(), ws.config.read_text()]:
        assert emulator.token not in text


# --- the example ---------------------------------------------------------------------
def test_example_config_plans_and_applies(tmp_path, emulator, server, run_cli):
    shutil.copytree(EXAMPLES / "quickstart" / "audio", tmp_path / "quickstart" / "audio")
    (tmp_path / "plusofon").mkdir()
    text = (EXAMPLES / "plusofon" / "reconciler.toml").read_text()
    text = text.replace('type = "plusofon"\n', f'type = "plusofon"\nbase_url = "{server.url}"\n', 1)
    cfg = tmp_path / "plusofon" / "reconciler.toml"
    cfg.write_text(text)
    code, out, err = run_cli("validate", "-c", str(cfg))
    assert code == 0 and "4 asset(s)" in out, out + err
    code, out, err = run_cli("apply", "-c", str(cfg), "--auto-approve")
    assert code == 0 and "Apply complete: 4 added" in out, out + err
    assert emulator.names() == sorted(["goodbye", "welcome", "voicemail", "Музыка на удержании"])
    [voicemail] = emulator.by_name("voicemail")
    assert voicemail.standard_id == "d05eb4c20c64e057db5b677391dfac59"
    code, out, _ = run_cli("plan", "-c", str(cfg), "--detailed-exitcode")
    assert code == 0 and "No changes." in out
