"""What the contract suite does not reach in the soniox provider: the owner
marker's format, which `limit_exceeded` is a quota, reading one file, and the
offline checks."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from reconciler.audio import inspect_bytes
from reconciler.errors import NotFoundError
from reconciler.model import DesiredAsset, OwnerMarker
from reconciler.providers.soniox import (
    CLIENT_REFERENCE_MAX,
    SonioxProvider,
    SonioxSettings,
    owner_marker,
    parse_marker,
    which_quota,
)
from tests.conftest import make_wav
from tests.emulators.harness import EmulatorServer
from tests.emulators.soniox import MESSAGES, SonioxEmulator

DATA = make_wav(seed=1)
SHA = hashlib.sha256(DATA).hexdigest()


def asset(address: str = "stt.welcome", description: str = "") -> DesiredAsset:
    instance, key = address.split(".", 1)
    return DesiredAsset(
        address=address, instance=instance, key=key, name=key, description=description,
        sha256=SHA, size=len(DATA), audio=inspect_bytes(DATA),
    )


def provider(url: str = "http://127.0.0.1:9") -> SonioxProvider:
    settings = SonioxSettings.model_validate({"type": "soniox", "base_url": url, "max_retry_wait": 0.05})
    return SonioxProvider("stt", settings, base_dir=Path("."))


def test_marker_round_trip_and_strangers():
    value = owner_marker("stt.welcome", SHA)
    assert value == f"reconciler:stt.welcome:{SHA[:32]}"
    assert parse_marker(value) == OwnerMarker(address="stt.welcome", sha256_prefix=SHA[:32])
    assert parse_marker(value).matches(asset())
    assert not parse_marker(value).matches(asset("stt.other"))
    for stranger in (None, "", 42, "some_internal_id", "reconciler:", "reconciler:stt.x:abc",
                     f"reconciler::{SHA[:32]}", f"reconciler:stt.x:{'Z' * 32}"):
        assert parse_marker(stranger) is None, stranger


@pytest.mark.parametrize(
    ("message", "cap"),
    [
        (MESSAGES["file_count"], "total file count"),
        (MESSAGES["file_size"], "total file size"),
        ("This upload would exceed the storage limit of your project.", "total file size"),
        (MESSAGES["rate"], None),
        ("Something else entirely.", None),
    ],
)
def test_which_limit_a_limit_exceeded_names(message, cap):
    assert which_quota(message) == cap


def test_offline_checks():
    p = provider()
    assert p.check_asset(asset()) == []
    problems = p.check_asset(asset(description="Main greeting"))
    assert len(problems) == 1 and "`description` cannot be kept" in problems[0]
    long_key = "k" * CLIENT_REFERENCE_MAX
    problems = p.check_asset(asset(f"stt.{long_key}"))
    assert len(problems) == 1 and "client_reference_id" in problems[0]


def test_read_one_file(monkeypatch):
    emulator = SonioxEmulator()
    monkeypatch.setenv("SONIOX_API_KEY", emulator.token)
    file_id = emulator.console_upload("welcome.wav", DATA, owner_marker("stt.welcome", SHA))

    async def go(p: SonioxProvider):
        async with p:
            found = await p.read(file_id)
            emulator.console_delete(file_id)
            with pytest.raises(NotFoundError) as info:
                await p.read(file_id)
            return found, info.value

    with EmulatorServer(emulator) as server:
        found, missing = asyncio.run(go(provider(server.url)))
    assert (found.remote_id, found.name, found.size) == (file_id, "welcome.wav", len(DATA))
    assert found.owner_marker == OwnerMarker(address="stt.welcome", sha256_prefix=SHA[:32])
    assert "No file with this ID exists" in missing.render() and "request_id" in missing.render()
