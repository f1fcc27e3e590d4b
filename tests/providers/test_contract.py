"""One provider contract, run against every HTTP provider's emulator on a real
loopback server: create, list, read back, update, delete, documented errors,
pagination, retries, and no duplicate after a lost create response."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from reconciler.audio import inspect_bytes
from reconciler.errors import AuthError, ProviderError
from reconciler.model import DesiredAsset
from reconciler.providers import PROVIDERS
from reconciler.providers.http import HttpProvider
from tests.emulators.harness import EmulatorServer
from tests.providers.targets import TARGETS, ContractTarget

pytestmark = pytest.mark.skipif(not TARGETS, reason="no HTTP provider registered yet")


@pytest.fixture(params=TARGETS, ids=str)
def target(request) -> ContractTarget:
    return request.param


@pytest.fixture
def served(target, monkeypatch):
    emulator = target.make_emulator()
    monkeypatch.setenv(target.token_env, emulator.token)
    with EmulatorServer(emulator) as server:
        yield emulator, server


def make_provider(target: ContractTarget, url: str, **overrides) -> HttpProvider:
    cls = PROVIDERS[target.type_name]
    settings = cls.settings_model.model_validate(
        {"type": target.type_name, "base_url": url, "max_retry_wait": 0.05, "timeout": 5,
         **target.settings, **overrides}
    )
    return cls("contract", settings, base_dir=Path("."))


def make_asset(target: ContractTarget, key: str, data: bytes, description: str = "") -> DesiredAsset:
    cls = PROVIDERS[target.type_name]
    spec_model = cls.settings_model.model_fields["assets"].annotation.__args__[1]
    spec = spec_model.model_validate({"file": f"{key}.wav", **target.asset_settings})
    return DesiredAsset(
        address=f"contract.{key}", instance="contract", key=key, name=target.name_for(key),
        description=description, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
        audio=inspect_bytes(data), spec=spec,
    )


def run(provider: HttpProvider, fn):
    async def go():
        async with provider:
            return await fn(provider)

    return asyncio.run(go())


def test_create_list_read_back(target, served):
    emulator, server = served
    data = target.make_audio(1)
    asset = make_asset(target, "welcome", data)
    provider = make_provider(target, server.url)

    async def go(p):
        created = await p.create(asset, data)
        listed = await p.list()
        return created, listed

    created, listed = run(provider, go)
    assert isinstance(created.remote_id, str) and created.remote_id
    assert [r.remote_id for r in listed] == [created.remote_id]
    assert listed[0].name == asset.name
    if PROVIDERS[target.type_name].capabilities.can_download:
        body = run(make_provider(target, server.url), lambda p: p.download(created.remote_id))
        if target.download_is_exact:
            assert body == data
        else:
            assert inspect_bytes(body).format == "wav"


def test_update_in_place(target, served):
    caps = PROVIDERS[target.type_name].capabilities
    if not caps.can_rename and not caps.can_describe:
        pytest.skip(f"{target.type_name} cannot update in place")
    emulator, server = served
    data = target.make_audio(2)
    asset = make_asset(target, "hold", data)
    # where only the description changes in place, the name stays
    new_name = target.name_for("hold-new") if caps.can_rename else asset.name

    async def go(p):
        created = await p.create(asset, data)
        await p.update(created.remote_id, name=new_name, description="On hold" if caps.can_describe else "")
        return created, await p.list()

    created, listed = run(make_provider(target, server.url), go)
    assert [(r.remote_id, r.name) for r in listed] == [(created.remote_id, new_name)]
    if caps.can_describe and caps.lists_description:
        assert listed[0].description == "On hold"


def test_delete(target, served):
    if not PROVIDERS[target.type_name].capabilities.can_delete:
        pytest.skip(f"{target.type_name} cannot delete")
    emulator, server = served
    data = target.make_audio(3)
    asset = make_asset(target, "bye", data)

    async def go(p):
        created = await p.create(asset, data)
        await p.delete(created.remote_id)
        await p.delete(created.remote_id)  # already gone: not an error
        return await p.list()

    assert run(make_provider(target, server.url), go) == []


def test_pagination_lists_every_page(target, served):
    emulator, server = served
    if target.paginated:
        target.set_page_size(emulator, 3)
    for i in range(8):
        target.console_upload(emulator, target.name_for(f"p{i}"), target.make_audio(10 + i))
    emulator.reset_log()
    listed = run(make_provider(target, server.url), lambda p: p.list())
    assert sorted(r.name for r in listed) == sorted(target.name_for(f"p{i}") for i in range(8))
    pages = sum(1 for r in emulator.requests if target.is_list(r.method, r.path))
    # an API without pages answers everything at once: one request, never more
    assert pages >= 3 if target.paginated else pages == 1


@pytest.mark.parametrize("status", [429, 500])
def test_list_retries_after_transient_errors(target, served, status):
    emulator, server = served
    target.console_upload(emulator, target.name_for("x"), target.make_audio(4))
    emulator.faults.fail_next(2, status, retry_after=0 if status == 429 else None)
    listed = run(make_provider(target, server.url), lambda p: p.list())
    assert [r.name for r in listed] == [target.name_for("x")]
    assert any(r.status == status for r in emulator.requests)


def test_retry_budget_is_bounded(target, served):
    emulator, server = served
    emulator.faults.fail_next(100, 500)
    with pytest.raises(ProviderError) as info:
        run(make_provider(target, server.url, max_retries=2), lambda p: p.list())
    assert len(emulator.requests) == 3
    assert emulator.token not in str(info.value)


@pytest.mark.parametrize("retries", [0, 1])
def test_the_first_failure_counts_against_the_retry_budget(target, served, retries):
    """The first attempt runs outside the retry loop (HttpProvider.request):
    it still counts as one of the max_retries + 1 attempts."""
    emulator, server = served
    emulator.faults.fail_next(100, 503)
    with pytest.raises(ProviderError):
        run(make_provider(target, server.url, max_retries=retries), lambda p: p.list())
    assert len(emulator.requests) == retries + 1


def test_bad_token_is_an_auth_error(target, served, monkeypatch):
    emulator, server = served
    monkeypatch.setenv(target.token_env, "wrong-token-value")
    with pytest.raises(AuthError) as info:
        run(make_provider(target, server.url), lambda p: p.list())
    assert "wrong-token-value" not in info.value.render()
    assert target.token_env in info.value.render()


def test_documented_errors_map_to_project_errors(target, served):
    emulator, server = served
    for status, body, error_cls, text in target.documented_errors:
        emulator.faults.clear()
        emulator.faults.fail_next(50, status, body=body, retry_after=0 if status == 429 else None)
        with pytest.raises(error_cls) as info:
            run(make_provider(target, server.url, max_retries=1), lambda p: p.list())
        assert text in info.value.render(), (status, body)
        assert emulator.token not in info.value.render()
    emulator.faults.clear()


def test_no_duplicate_after_lost_create_response(target, served):
    emulator, server = served
    data = target.make_audio(5)
    asset = make_asset(target, "lost", data)
    emulator.faults.lose_next_response(1, match=target.is_create)

    async def go(p):
        created = await p.create_resolving(asset, data)
        return created, await p.list()

    created, listed = run(make_provider(target, server.url), go)
    assert [r.remote_id for r in listed] == [created.remote_id]
    assert sum(1 for r in emulator.requests if target.is_create(r.method, r.path)) == 1
