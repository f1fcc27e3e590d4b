"""The Exolve emulator against the seed's wire format (raw HTTP), and the
provider's calls the contract suite does not reach (GetInfo, paging knobs)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx
import pytest

from reconciler.providers.exolve import ExolveProvider
from tests.conftest import make_mp3_frame_stream, make_wav
from tests.emulators.exolve import DEFAULT_TOKEN, ExolveEmulator
from tests.emulators.harness import EmulatorServer

B64 = base64.b64encode(make_wav(0.2)).decode()


@pytest.fixture
def api():
    emulator = ExolveEmulator()
    with EmulatorServer(emulator) as server:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}) as client:
            client.emulator = emulator
            client.url = server.url
            yield client


def upload(api, full_name="test.wav", file_type="FILE_TYPE_IVR", data=B64):
    return api.post("/media/v1/Upload", json={"file": data, "full_name": full_name, "file_type": file_type})


def test_upload_answers_uint64_fields_as_strings(api):
    r = upload(api, "test.mp3", "FILE_TYPE_PREMEDIA", base64.b64encode(make_mp3_frame_stream(200)).decode())
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"file_id", "resource_id", "size", "duration", "name", "extension", "description",
                         "application_uuid", "file_type", "date_upload"}
    assert isinstance(body["file_id"], str) and isinstance(body["resource_id"], str)
    assert body["size"] == str(200 * 417)
    assert body["duration"] == 5 and isinstance(body["duration"], int)
    assert (body["name"], body["extension"], body["description"]) == ("test", "mp3", "")
    assert body["file_type"] == 201
    assert body["date_upload"].endswith("Z") and len(body["date_upload"].split(".")[1]) == 10  # ns + Z


@pytest.mark.parametrize("as_number", [True, False])
def test_uint64_fields_are_accepted_as_strings_or_numbers(api, as_number):
    rid = upload(api).json()["resource_id"]
    ident = int(rid) if as_number else rid
    upload(api, "second.wav")

    listed = api.post("/media/v1/GetList", json={"limit": 1, "offset": 1 if as_number else "1"}).json()
    assert [m["name"] for m in listed["media_records"]] == ["second"]
    assert listed["media_records"][0]["application_name"] == "Test"
    info = api.post("/media/v1/GetInfo", json={"resource_ids": [ident]}).json()
    assert [m["resource_id"] for m in info["media_records"]] == [rid]
    dl = api.post("/media/v1/Download", json={"resource_id": ident}).json()
    assert dl == {"file": B64, "full_name": "test.wav", "resource_id": rid, "file_type": 200}
    assert api.post("/media/v1/Update", json={"resource_id": ident, "name": "Update Test",
                                              "description": "Тест"}).json() == {}
    assert api.post("/media/v1/GetList", json={"resource_id": ident}).json()["media_records"][0]["name"] == "Update Test"
    assert api.post("/media/v1/Delete", json={"resource_ids": [ident]}).json() == {}
    assert int(rid) not in api.emulator.records


def test_getlist_filters_and_orders(api):
    for name, seconds in (("a", 0.3), ("b", 0.1), ("c", 0.2)):
        upload(api, f"{name}.wav", data=base64.b64encode(make_wav(seconds)).decode())
    ask = lambda **body: [m["name"] for m in api.post("/media/v1/GetList", json=body).json()["media_records"]]  # noqa: E731
    assert ask() == ["a", "b", "c"]
    assert ask(name="b") == ["b"]
    assert ask(order_list={"order_field": "ORDER_FIELD_SIZE", "order_direction": 2}) == ["a", "c", "b"]
    assert ask(order_list={"order_field": 1, "order_direction": "ORDER_DIRECTION_DESC"}) == ["c", "b", "a"]
    assert ask(date_from="2000-01-01T00:00:00Z", date_to="2001-01-01T00:00:00Z") == []
    assert ask(application_uuid="00000000-0000-0000-0000-000000000000") == []
    api.emulator.page_cap = 2
    assert ask(limit=100) == ["a", "b"] and ask(offset="2") == ["c"]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"file": "", "full_name": "a.wav", "file_type": "FILE_TYPE_IVR"}, 400,
     "invalid UploadRequest.File: value length must be at least 1 bytes"),
    ({"file": B64, "full_name": "", "file_type": "FILE_TYPE_IVR"}, 400,
     "invalid UploadRequest.FullName: value length must be between 1 and 128 runes, inclusive"),
    ({"file": B64, "full_name": "я" * 125 + ".wav", "file_type": "FILE_TYPE_IVR"}, 400,
     "invalid UploadRequest.FullName: value length must be between 1 and 128 runes, inclusive"),
    ({"file": B64, "full_name": 5, "file_type": "FILE_TYPE_IVR"}, 400, "invalid value for string type: 5"),
    ({"file": B64, "full_name": "a.wav", "file_type": "FILE_TYPE_X"}, 400,
     'invalid value for enum type: "FILE_TYPE_X"'),
    ({"file": B64, "full_name": "a.wav"}, 400, "unexpected token"),
])
def test_upload_validation_messages(api, body, status, message):
    r = api.post("/media/v1/Upload", json=body)
    assert (r.status_code, r.json()) == (status, {"error": message})


def test_rune_limits_count_characters_not_bytes(api):
    assert upload(api, "я" * 124 + ".wav").status_code == 200
    rid = api.post("/media/v1/GetList", json={}).json()["media_records"][0]["resource_id"]
    r = api.post("/media/v1/Update", json={"resource_id": rid, "name": "ж" * 129})
    assert r.json() == {"error": "invalid UpdateRequest.Name: value length must be at most 128 runes"}
    r = api.post("/media/v1/Update", json={"resource_id": rid, "name": "x", "description": "ж" * 513})
    assert r.json() == {"error": "invalid UpdateRequest.Description: value length must be at most 512 runes"}
    assert api.post("/media/v1/Update", json={"resource_id": rid, "name": "ж" * 128,
                                              "description": "ж" * 512}).status_code == 200


def test_names_are_unique_per_application(api):
    assert upload(api, "dup.wav").status_code == 200
    r = upload(api, "dup.mp3")
    assert (r.status_code, r.json()) == (400, {"error": "error Save media service: fileName is exist"})
    rid = upload(api, "other.wav").json()["resource_id"]
    r = api.post("/media/v1/Update", json={"resource_id": rid, "name": "dup"})
    assert r.status_code == 400 and "fileName is exist" in r.json()["error"]


def test_foreign_or_deleted_resources(api):
    r = api.post("/media/v1/Download", json={"resource_id": "661352"})
    assert (r.status_code, r.json()) == (500, {"error": "Application [4711] does not own resource [661352]"})
    assert api.post("/media/v1/Delete", json={"resource_ids": ["661352"]}).status_code == 500
    assert api.post("/media/v1/GetInfo", json={"resource_ids": ["661352"]}).json() == {"media_records": []}


@pytest.mark.parametrize(("header", "status", "message"), [
    (None, 401, "malformed token"),
    ("Token abc", 401, "malformed token"),
    ("Bearer not-a-key", 400, "failed to parse token"),
    ("Bearer a.b.c", 403, "invalid token"),
])
def test_auth(api, header, status, message):
    headers = {"Authorization": header} if header else {}
    with httpx.Client(base_url=api.url, headers=headers) as client:
        r = client.post("/media/v1/GetList", json={})
    assert (r.status_code, r.json()) == (status, {"error": message})


def test_wrong_url_and_syntax_errors(api):
    assert api.post("/media/v2/GetList", json={}).status_code == 404
    assert api.get("/media/v1/GetList").status_code == 404
    r = api.post("/media/v1/GetList", content=b'{\n  "limit": 2,\n  "name": "a\rb"\n}')
    assert r.status_code == 400 and r.json()["error"].startswith("proto: syntax error (line 3:")


def _provider(url: str, **settings) -> ExolveProvider:
    model = ExolveProvider.settings_model.model_validate(
        {"type": "exolve", "base_url": url, "max_retry_wait": 0.05, **settings})
    return ExolveProvider("wire", model, base_dir=Path("."))


def test_provider_get_info_and_paging(api, monkeypatch):
    monkeypatch.setenv("EXOLVE_API_KEY", DEFAULT_TOKEN)
    em = api.emulator
    ids = [em.console_upload(f"n{i}", make_wav(0.05, seed=i), description=f"d{i}", file_type=200 + i % 2)
           for i in range(7)]
    em.page_cap = 3

    async def go():
        async with _provider(api.url, page_size=2) as p:
            em.reset_log()
            listed = await p.list()
            pages = em.endpoint_counts()["GetList"]
            info = await p.get_info([ids[1], "661352", ids[4]])
            return listed, pages, info

    listed, pages, info = asyncio.run(go())
    assert [r.remote_id for r in listed] == ids
    assert pages == 4  # limit 2 under a cap of 3: 2 + 2 + 2 + 1
    assert [(r.remote_id, r.name, r.description, r.extra["file_type"]) for r in info] == [
        (ids[1], "n1", "d1", "premedia"), (ids[4], "n4", "d4", "ivr")]
    assert all(r.size == len(em.records[int(r.remote_id)].data) and r.format == "wav" for r in listed)


def test_a_create_that_never_reached_the_server_is_retried(monkeypatch):
    """Connection refused: the request never happened, so even an Upload is
    tried again (a request whose answer is lost is not: see the contract suite)."""
    import hashlib
    import threading

    from reconciler.audio import inspect_bytes
    from reconciler.model import DesiredAsset

    monkeypatch.setenv("EXOLVE_API_KEY", DEFAULT_TOKEN)
    emulator = ExolveEmulator()
    server = EmulatorServer(emulator)  # the port is bound, nothing listens yet: refused
    data = make_wav(0.1)
    asset = DesiredAsset(address="wire.a", instance="wire", key="a", name="a", sha256=hashlib.sha256(data).hexdigest(),
                         size=len(data), audio=inspect_bytes(data))
    starter = threading.Timer(0.3, server.__enter__)
    starter.start()
    try:
        async def go():
            async with _provider(server.url, max_retries=60) as p:
                return await p.create(asset, data)

        created = asyncio.run(go())
    finally:
        starter.join()
        server.__exit__(None, None, None)
    assert emulator.names() == ["a"] and emulator.endpoint_counts() == {"Upload": 1}
    assert created.remote_id == str(emulator.by_name("a").resource_id)
