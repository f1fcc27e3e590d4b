"""Uploads stream from their files (reconciler.payload): the wire
bytes are exactly what httpx would send for the whole file, a retry sends the
whole body again, memory holds chunks rather than files, and a file that
changed since the plan is never stored under the planned digest."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
import wave
from pathlib import Path

import httpx
import pytest

from reconciler.audio import inspect_bytes
from reconciler.errors import SourceChangedError
from reconciler.model import DesiredAsset
from reconciler.payload import (
    CHUNK,
    INLINE_MAX,
    FormFile,
    Payload,
    PayloadChanged,
    json_with_base64,
    multipart,
)
from reconciler.providers.exolve import ExolveProvider, ExolveSettings
from reconciler.providers.wolkvox import WolkvoxProvider, WolkvoxSettings
from tests.emulators.exolve import DEFAULT_TOKEN, ExolveEmulator
from tests.emulators.harness import EmulatorServer
from tests.emulators.plusofon import PlusofonEmulator
from tests.emulators.soniox import SonioxEmulator
from tests.emulators.wolkvox import WolkvoxEmulator

REPO = Path(__file__).resolve().parents[2]


def noisy_wav(n_bytes: int, seed: int = 0) -> bytes:
    """A valid 8 kHz 8-bit mono WAV of about `n_bytes`, its samples random
    (so that no chunk looks like another)."""
    frames = hashlib.shake_256(seed.to_bytes(4, "big")).digest(n_bytes - 44)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(frames)
    return buf.getvalue()


def file_payload(path: Path, data: bytes) -> Payload:
    path.write_bytes(data)
    return Payload.of_file(path, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def desired(key: str, data: bytes, instance: str) -> DesiredAsset:
    return DesiredAsset(
        address=f"{instance}.{key}", instance=instance, key=key, name=key,
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), audio=inspect_bytes(data),
    )


# --- byte for byte what httpx sends for the whole file -------------------------------------------


@pytest.mark.parametrize("extra", [0, 1, 2])
def test_json_body_is_byte_identical_to_httpx(tmp_path, extra):
    data = os.urandom(2 * CHUNK + 3 * 1000 + extra)  # several chunks, every base64 padding
    payload = file_payload(tmp_path / "a.wav", data)
    fields = {"file": "", "full_name": "приветствие \"1\".wav", "file_type": "FILE_TYPE_IVR"}
    body = json_with_base64(fields, "file", payload)
    whole = {**fields, "file": base64.b64encode(data).decode()}
    streamed = b"".join(body.iter_bytes())
    # httpx >= 0.28's json= encoding (compact, UTF-8), which the bodies used before
    assert streamed == json.dumps(whole, ensure_ascii=False, separators=(",", ":")).encode()
    expected = httpx.Request("POST", "http://x/", json=whole)
    assert json.loads(streamed) == json.loads(expected.read())
    assert body.headers()["Content-Length"] == str(len(streamed))
    assert body.headers()["Content-Type"] == expected.headers["Content-Type"]


def test_multipart_body_is_byte_identical_to_httpx(tmp_path):
    one, two = os.urandom(CHUNK + 17), os.urandom(3)
    boundary = b"0123456789abcdef0123456789abcdef"
    body = multipart(
        [("client_reference_id", "x:y\"z")],
        [FormFile("file1", 'we"ird\\name.wav', "audio/wav", file_payload(tmp_path / "1", one)),
         FormFile("file2", "b.mp3", "audio/mpeg", Payload.of_bytes(two))],
        boundary=boundary,
    )
    expected = httpx.Request(
        "POST", "http://x/", data={"client_reference_id": "x:y\"z"},
        files=[("file1", ('we"ird\\name.wav', one, "audio/wav")), ("file2", ("b.mp3", two, "audio/mpeg"))],
        headers={"Content-Type": body.content_type},
    )
    streamed = b"".join(body.iter_bytes())
    assert streamed == expected.read()
    assert body.length == len(streamed) == int(expected.headers["Content-Length"])


def test_a_body_streams_in_chunks_not_whole_files(tmp_path):
    """40 MB through the base64 JSON body and the multipart body: what is
    allocated at the peak is a few chunks, not the file (nor its base64)."""
    data = os.urandom(40_000_000)
    payload = file_payload(tmp_path / "big.wav", data)
    del data
    for body in (json_with_base64({"file": "", "name": "big"}, "file", payload),
                 multipart([], [FormFile("file1", "big.wav", "audio/wav", payload)])):
        digest = hashlib.sha256()
        tracemalloc.start()
        try:
            for chunk in body.iter_bytes():
                digest.update(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 8 * CHUNK, f"peak {peak:,} bytes while streaming a 40 MB file"


# --- through the real client to the emulators -------------------------------------------------------


def exolve_provider(url: str) -> ExolveProvider:
    settings = ExolveSettings.model_validate(
        {"type": "exolve", "base_url": url, "max_retry_wait": 0.05, "timeout": 10}
    )
    return ExolveProvider("ex", settings, base_dir=Path("."))


def wolkvox_provider(url: str) -> WolkvoxProvider:
    settings = WolkvoxSettings.model_validate(
        {"type": "wolkvox", "base_url": url, "max_retry_wait": 0.05, "timeout": 10}
    )
    return WolkvoxProvider("wv", settings, base_dir=Path("."))


def run(provider, fn):
    async def go():
        async with provider:
            return await fn(provider)

    return asyncio.run(go())


@pytest.fixture
def exolve(monkeypatch):
    emulator = ExolveEmulator()
    monkeypatch.setenv("EXOLVE_API_KEY", DEFAULT_TOKEN)
    with EmulatorServer(emulator) as server:
        yield emulator, server


@pytest.fixture
def wolkvox(monkeypatch):
    emulator = WolkvoxEmulator()
    monkeypatch.setenv("WOLKVOX_TOKEN", emulator.token)
    with EmulatorServer(emulator) as server:
        yield emulator, server


def is_upload(method: str, path: str) -> bool:
    return path.endswith("/Upload")


@pytest.mark.parametrize("fault", ["none", "drop", "lose"])
def test_exolve_receives_the_file_byte_for_byte_after_a_lost_request(tmp_path, exolve, fault):
    """An Upload whose connection drops (before or after the service applied it)
    is settled and, where it did not land, sent again from its first byte."""
    emulator, server = exolve
    data = noisy_wav(3 * CHUNK + 1)
    if fault == "drop":
        emulator.faults.drop_next(1, match=is_upload)
    elif fault == "lose":
        emulator.faults.lose_next_response(1, match=is_upload)
    asset = desired("big", data, "ex")
    payload = file_payload(tmp_path / "big.wav", data)
    remote = run(exolve_provider(server.url), lambda p: p.create_resolving(asset, payload))
    [record] = emulator.records.values()
    assert str(record.resource_id) == remote.remote_id
    assert record.data == data


@pytest.mark.parametrize("fault", ["503", "drop"])
def test_a_retried_multipart_request_sends_every_file_again_whole(tmp_path, wolkvox, fault):
    emulator, server = wolkvox
    files = {f"f{i}": noisy_wav(CHUNK + 1000 * i, seed=i) for i in range(3)}
    if fault == "503":
        emulator.faults.fail_next(1, 503, match=lambda m, p: m == "POST")
    else:
        emulator.faults.drop_next(1, match=lambda m, p: m == "POST")
    items = [(f"{k}.wav", desired(k, d, "wv"), file_payload(tmp_path / f"{k}.wav", d)) for k, d in files.items()]
    results = run(wolkvox_provider(server.url), lambda p: p.overwrite_batch(items))
    assert [r.remote_id for r in results] == [f"{k}.wav" for k in files]
    assert {name: audio.data for name, audio in emulator.audios.items()} == {f"{k}.wav": d for k, d in files.items()}
    assert len(emulator.uploads) == 1  # the failed attempt stored nothing; the retry stored all


@pytest.mark.parametrize("where", ["start", "end"])
@pytest.mark.parametrize("size", [2 * CHUNK + 5, INLINE_MAX])
def test_a_file_changed_since_the_plan_is_not_stored(tmp_path, exolve, where, size):
    """Same size, other bytes: found before the body is complete (a body sent
    whole, before any of it; a streamed one, before its last chunk), so the
    service never gets a whole request."""
    emulator, server = exolve
    data = noisy_wav(size)
    asset = desired("changed", data, "ex")
    payload = file_payload(tmp_path / "changed.wav", data)
    edited = bytearray(data)
    edited[100 if where == "start" else -1] ^= 0xFF
    payload.path.write_bytes(bytes(edited))
    with pytest.raises(SourceChangedError, match="changed after it was planned") as caught:
        run(exolve_provider(server.url), lambda p: p.create_resolving(asset, payload))
    assert "Nothing was uploaded" in caught.value.render()
    assert emulator.records == {}
    uploads = [r for r in emulator.requests if r.path.endswith("/Upload")]
    assert len(uploads) <= 1  # never retried
    if 4 * -(-size // 3) < INLINE_MAX:  # a body sent whole is verified before any of it goes out
        assert uploads == []


def test_a_file_grown_or_gone_since_the_plan_fails_before_sending(tmp_path, wolkvox):
    emulator, server = wolkvox
    data = noisy_wav(1000)
    asset = desired("grown", data, "wv")
    payload = file_payload(tmp_path / "grown.wav", data)
    payload.path.write_bytes(data + b"more")
    [result] = run(wolkvox_provider(server.url), lambda p: p.create_batch([(asset, payload)]))
    assert isinstance(result, SourceChangedError) and "changed after it was planned" in str(result)
    payload.path.unlink()
    with pytest.raises(PayloadChanged, match="does not exist"):
        payload.check()
    assert emulator.uploads == [] and emulator.audios == {}


# --- peak RSS of a real upload, in a child process ------------------------------------------------

CHILD = textwrap.dedent("""
    import asyncio, hashlib, json, resource, sys
    from pathlib import Path
    from reconciler.audio import inspect_bytes
    from reconciler.model import DesiredAsset
    from reconciler.providers import provider_class
    from reconciler.payload import Payload

    kind, url, small, big, settings = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), json.loads(sys.argv[5])
    cls = provider_class(kind)
    provider = cls("inst", cls.settings_model.model_validate({"type": kind, "base_url": url, **settings}), base_dir=Path("."))

    def asset(path):
        with open(path, "rb") as fh:
            head = fh.read(4096)
        size = path.stat().st_size
        digest = hashlib.file_digest(open(path, "rb"), "sha256").hexdigest()
        info = inspect_bytes(head + bytes(size - len(head)))
        return DesiredAsset(address="inst." + path.stem, instance="inst", key=path.stem, name=path.stem,
                            sha256=digest, size=size, audio=info), Payload.of_file(path, size=size, sha256=digest)

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    async def main():
        async with provider:
            a, p = asset(small)
            await provider.create(a, p)
            before = peak()
            a, p = asset(big)
            await provider.create(a, p)
            print(json.dumps({"before": before, "after": peak()}))

    asyncio.run(main())
""")


@pytest.mark.parametrize("kind", ["soniox", "plusofon"])
def test_uploading_24_mb_grows_the_peak_rss_by_chunks_not_the_file(tmp_path, kind):
    """soniox (multipart) and plusofon (base64 in JSON), through the real
    client: whole-file bodies grew the client's peak by the file and its
    base64 (24 to 90 MB); streamed, by a few chunks."""
    emulator = SonioxEmulator() if kind == "soniox" else PlusofonEmulator()
    settings = {"max_retry_wait": 0.05}
    small, big = tmp_path / "small.wav", tmp_path / "big.wav"
    small.write_bytes(noisy_wav(CHUNK * 2))
    big.write_bytes(noisy_wav(24_000_000, seed=1))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "SONIOX_API_KEY": emulator.token, "PLUSOFON_TOKEN": emulator.token}
    with EmulatorServer(emulator) as server:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, kind, server.url, str(small), str(big), json.dumps(settings)],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    rss = json.loads(done.stdout.strip().splitlines()[-1])
    grown = rss["after"] - rss["before"]
    assert grown < 12_000_000, f"peak RSS grew {grown / 1e6:.1f} MB uploading 24 MB"


def test_apply_records_nothing_for_a_file_edited_after_the_plan(tmp_path, exolve):
    """Edited (same size) while apply asks for confirmation: that change fails
    with a clear error and is not recorded; the others are applied."""
    from reconciler.config import load_config
    from reconciler.engine import plan_and_apply
    from reconciler.lockstore import LockfileStore

    emulator, server = exolve
    (tmp_path / "audio").mkdir()
    edited, kept = noisy_wav(2 * CHUNK + 1), noisy_wav(1000, seed=2)
    (tmp_path / "audio" / "edited.wav").write_bytes(edited)
    (tmp_path / "audio" / "kept.wav").write_bytes(kept)
    config = tmp_path / "reconciler.toml"
    config.write_text(
        f'[providers.ex]\ntype = "exolve"\nbase_url = "{server.url}"\nmax_retry_wait = 0.05\n'
        '[providers.ex.assets.edited]\nfile = "audio/edited.wav"\n'
        '[providers.ex.assets.kept]\nfile = "audio/kept.wav"\n'
    )
    desired_state = load_config(config)

    def confirm(plan) -> bool:
        changed = bytearray(edited)
        changed[len(changed) // 2] ^= 0xFF
        (tmp_path / "audio" / "edited.wav").write_bytes(bytes(changed))
        return True

    with LockfileStore(tmp_path / "reconciler.lock") as store:
        outcome = asyncio.run(plan_and_apply(desired_state, store, confirm=confirm))
        recorded = dict(store.state.assets)
    assert outcome.report is not None and outcome.report.added == 1
    [error] = outcome.report.errors
    assert "edited" in error and "changed after it was planned" in error and "reconciler plan" in error
    assert [a for a in recorded if "edited" in a] == [] and [a for a in recorded if "kept" in a]
    assert [r.name for r in emulator.records.values()] == ["kept"]
