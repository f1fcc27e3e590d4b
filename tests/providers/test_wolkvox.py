"""wolkvox beyond the shared contract: the emulator enforces the documented
limits on the wire, and the provider reads wolkvox's loosely specified answers."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import pytest

from reconciler.audio import inspect_bytes
from reconciler.errors import AuthError, BadRequestError
from reconciler.model import DesiredAsset
from reconciler.providers.wolkvox import WolkvoxProvider, WolkvoxSettings, parse_duration
from tests.conftest import make_mp3_frame_stream, make_wav
from tests.emulators import wolkvox as wv
from tests.emulators.harness import EmulatorServer

UPLOAD = "/api/v2/configuration.php?api=upload_audio"


@pytest.fixture
def served(monkeypatch):
    emulator = wv.WolkvoxEmulator()
    monkeypatch.setenv("WOLKVOX_TOKEN", emulator.token)
    with EmulatorServer(emulator) as server:
        yield emulator, server


def provider(url: str, **settings) -> WolkvoxProvider:
    model = WolkvoxSettings.model_validate(
        {"type": "wolkvox", "base_url": url, "max_retry_wait": 0.05, "timeout": 5, **settings}
    )
    return WolkvoxProvider("wv", model, base_dir=Path("."))


def asset(key: str, data: bytes) -> DesiredAsset:
    return DesiredAsset(
        address=f"wv.{key}", instance="wv", key=key, name=key, sha256=hashlib.sha256(data).hexdigest(),
        size=len(data), audio=inspect_bytes(data),
    )


def run(p: WolkvoxProvider, fn):
    async def go():
        async with p:
            return await fn(p)

    return asyncio.run(go())


# --- the emulator holds the documented line ---------------------------------------------------


def files(n: int, size: int = 100) -> list:
    return [(f"file{i}", (f"f{i}.wav", b"x" * size, "audio/wav")) for i in range(1, n + 1)]


def test_emulator_refuses_51_files_and_stores_none(served):
    emulator, server = served
    with httpx.Client(base_url=server.url, headers={"wolkvox-token": emulator.token}) as client:
        assert client.post(UPLOAD, files=files(51)).status_code == 400
        assert emulator.audios == {}
        answer = client.post(UPLOAD, files=files(50))
    assert answer.status_code == 201
    assert answer.json()["code"] == "201" and len(answer.json()["data"]) == 50
    assert answer.json()["msg"] == "50 audio file(s) uploaded successfully"


def test_emulator_refuses_a_file_over_5_mb_and_keeps_the_rest(served):
    emulator, server = served
    form = [("file1", ("big.wav", b"x" * (wv.MAX_FILE_BYTES + 1), "audio/wav")),
            ("file[]", ("ok.wav", b"x" * wv.MAX_FILE_BYTES, "audio/wav"))]
    with httpx.Client(base_url=server.url, headers={"wolkvox-token": emulator.token}) as client:
        answer = client.post(UPLOAD, files=form)
    assert answer.status_code == 201
    assert answer.json()["data"] == [{"filename": "ok.wav"}]
    assert "big.wav" in answer.json()["error"]
    assert emulator.names() == ["ok.wav"]


def test_emulator_answers_a_third_concurrent_request_with_the_documented_403(served):
    emulator, server = served
    emulator.work_seconds = 0.4

    async def go():
        async with httpx.AsyncClient(base_url=server.url, headers={"wolkvox-token": emulator.token}) as client:
            return await asyncio.gather(*(
                client.get("/api/v2/information.php", params={"api": "audio_list"}) for _ in range(3)
            ))

    answers = asyncio.run(go())
    assert sorted(a.status_code for a in answers) == [200, 200, 403]
    refused = next(a for a in answers if a.status_code == 403)
    assert refused.json()["error"] == "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)"


@pytest.mark.parametrize(("headers", "path", "status", "error"), [
    ({}, "/api/v2/information.php?api=audio_list", 401, wv.NO_TOKEN),
    ({"wolkvox-token": "nope"}, "/api/v2/information.php?api=audio_list", 403, wv.BAD_TOKEN),
    (None, "/api/v2/information.php?api=agents", 400, wv.NO_API),
    (None, UPLOAD, 400, wv.PARAMS),
])
def test_emulator_documented_answers(served, headers, path, status, error):
    emulator, server = served
    headers = {"wolkvox-token": emulator.token} if headers is None else headers
    method = "POST" if "upload" in path else "GET"
    answer = httpx.request(method, server.url + path, headers=headers, data={"x": "1"} if method == "POST" else None)
    assert answer.status_code == status
    assert answer.json() == {"code": str(status), "error": error, "msg": None, "data": None}


def test_emulator_counts_the_daily_quota(served):
    emulator, server = served
    emulator.daily_quota = 2
    headers = {"wolkvox-token": emulator.token}
    url = server.url + "/api/v2/information.php?api=audio_list"
    statuses = [httpx.get(url, headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 403]
    assert httpx.get(url, headers=headers).json()["error"] == wv.QUOTA


# --- the provider ------------------------------------------------------------------------------


def test_batches_split_to_stay_under_batch_max_bytes(served):
    emulator, server = served
    items = [(asset(f"a{i}", d), d) for i, d in enumerate(make_wav(0.1, seed=i) for i in range(5))]
    limit = items[0][1].__len__() * 2 + 10  # two files per request
    results = run(provider(server.url, batch_max_bytes=limit), lambda p: p.create_batch(items))
    assert [r.remote_id for r in results] == [f"a{i}.wav" for i in range(5)]
    assert [len(u) for u in emulator.uploads] == [2, 2, 1]


def test_upload_answer_without_data_is_read_from_msg(served):
    emulator, server = served
    data = make_wav(seed=1)
    emulator.faults.fail_next(1, 200, body={"code": 201, "error": None, "msg": "1 audio file(s) uploaded successfully"},
                              match=lambda m, p: m == "POST")
    created = run(provider(server.url), lambda p: p.create(asset("hello", data), data))
    assert created.remote_id == "hello.wav"


def test_error_told_only_in_the_body(served):
    emulator, server = served
    emulator.faults.fail_next(1, 200, body={"code": "403", "error": wv.BAD_TOKEN, "msg": None, "data": []})
    with pytest.raises(AuthError) as info:
        run(provider(server.url), lambda p: p.list())
    assert info.value.status == 403 and wv.BAD_TOKEN in info.value.render()


def test_an_mp3_is_uploaded_as_mp3(served):
    emulator, server = served
    data = make_mp3_frame_stream(30)
    created = run(provider(server.url), lambda p: p.create(asset("jingle", data), data))
    assert created.remote_id == "jingle.mp3" and created.name == "jingle"
    listed = run(provider(server.url), lambda p: p.list())
    assert [(r.remote_id, r.name, r.format) for r in listed] == [("jingle.mp3", "jingle", "mp3")]
    assert listed[0].duration == pytest.approx(inspect_bytes(data).duration, abs=0.05)


def test_list_accepts_names_without_extension_and_odd_shapes(served):
    emulator, server = served
    body = {"code": "200", "error": None, "msg": "ok", "data": {"audios": [
        {"Audio_Name": "welcome", "Extension": "wav", "Duracion": "00:00:03.5", "Fecha": "2025-01-02"},
    ]}}
    emulator.faults.fail_next(1, 200, body=body)
    p = provider(server.url)
    [remote] = run(p, lambda p: p.list())
    assert (remote.remote_id, remote.name, remote.duration) == ("welcome.wav", "welcome", 3.5)
    assert remote.extra == {"created": "2025-01-02"} and p.warnings == []


def test_list_that_is_not_a_list_is_an_error(served):
    emulator, server = served
    emulator.faults.fail_next(1, 200, body={"code": 200, "data": "<html>maintenance</html>"})
    with pytest.raises(BadRequestError, match="did not return a list"):
        run(provider(server.url), lambda p: p.list())


@pytest.mark.parametrize(("value", "seconds"), [
    (3, 3.0), (2.5, 2.5), ("4.25", 4.25), ("4,25", 4.25), ("3 s", 3.0), ("00:01:05", 65.0),
    ("01:05.5", 65.5), ("", None), ("soon", None), (None, None), (True, None),
])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


def test_lost_answer_of_a_partly_stored_batch_sends_only_what_is_missing(served):
    emulator, server = served
    datas = [make_wav(0.1, seed=i) for i in range(3)]
    items = [(asset(k, d), d) for k, d in zip(("a", "b", "c"), datas, strict=True)]
    emulator.reject("b.wav", "THE AUDIO FILE COULD NOT BE PROCESSED")
    emulator.faults.lose_next_response(1, match=lambda m, p: m == "POST")
    results = run(provider(server.url), lambda p: p.create_batch(items))
    assert [getattr(r, "remote_id", None) for r in results] == ["a.wav", None, "c.wav"]
    assert "THE AUDIO FILE COULD NOT BE PROCESSED" in results[1].render()
    # the lost answer was settled by one listing; only b.wav went up again
    assert emulator.uploads == [["a.wav", "b.wav", "c.wav"], ["b.wav"]]
    assert sum(1 for r in emulator.requests if r.method == "GET") == 1


def test_a_listing_at_wolkvoxs_maximum_warns_that_it_may_be_cut_short(served):
    emulator, server = served
    body = {"code": 200, "data": [{"name": f"a{i}.wav", "duration": "1.00", "creation_date": "x"} for i in range(60_000)]}
    emulator.faults.fail_next(1, 200, body=body)
    p = provider(server.url)
    assert len(run(p, lambda p: p.list())) == 60_000
    assert len(p.warnings) == 1 and "may be cut short" in p.warnings[0]


def test_dropped_upload_that_never_landed_is_sent_again(served):
    emulator, server = served
    datas = [make_wav(0.1, seed=i) for i in range(2)]
    items = [(asset(k, d), d) for k, d in zip(("a", "b"), datas, strict=True)]
    emulator.faults.drop_next(1, match=lambda m, p: m == "POST")
    results = run(provider(server.url), lambda p: p.create_batch(items))
    assert [r.remote_id for r in results] == ["a.wav", "b.wav"]
    assert [r.method for r in emulator.requests] == ["POST", "GET", "POST"]
    assert emulator.uploads == [["a.wav", "b.wav"]]
