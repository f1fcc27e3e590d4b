"""HttpProvider spreads requests in flight over small connection pools
(`_pick_client`): httpcore checks every idle connection of a pool with
syscalls twice per request, so one pool of many connections cost more CPU
than the requests. The pools grow with the requests in flight, are reused
once idle, and are all closed with the provider."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from reconciler.errors import ProviderError
from reconciler.providers.exolve import ExolveProvider, ExolveSettings
from reconciler.providers.http import POOL_SHARE
from reconciler.providers.wolkvox import WolkvoxProvider, WolkvoxSettings
from tests.emulators.exolve import DEFAULT_TOKEN, ExolveEmulator
from tests.emulators.harness import EmulatorServer
from tests.emulators.wolkvox import WolkvoxEmulator


def test_requests_in_flight_get_pools_of_their_own_reused_and_closed(monkeypatch):
    monkeypatch.setenv("EXOLVE_API_KEY", DEFAULT_TOKEN)
    emulator = ExolveEmulator()
    with EmulatorServer(emulator) as server:
        emulator.faults.latency(0.05)
        settings = ExolveSettings.model_validate({"type": "exolve", "base_url": server.url, "timeout": 10})
        provider = ExolveProvider("ex", settings, base_dir=Path("."))

        async def go():
            async with provider:
                await provider.list()
                assert len(provider._clients) == 1
                await asyncio.gather(*(provider.list() for _ in range(6)))
                grown = list(provider._clients)
                await asyncio.gather(*(provider.list() for _ in range(6)))
                await provider.list()
                assert provider._clients == grown  # idle pools are reused, none added
                assert provider._busy == [0] * len(grown)
            return grown

        clients = asyncio.run(go())
    assert emulator.max_in_flight == 6  # none waited for another
    assert len(clients) == math.ceil(6 / POOL_SHARE)
    assert all(client.is_closed for client in clients)
    assert provider._clients == [] and provider.client is None


def test_a_request_still_in_flight_when_the_provider_closes_fails_as_a_request(monkeypatch):
    """gather() raises at the first failure while other requests run on; the
    provider may then close under them. They end with the request's own
    error, not an error of the pools' bookkeeping."""
    monkeypatch.setenv("EXOLVE_API_KEY", DEFAULT_TOKEN)
    emulator = ExolveEmulator()
    with EmulatorServer(emulator) as server:
        emulator.faults.latency(0.3)
        settings = ExolveSettings.model_validate({"type": "exolve", "base_url": server.url, "timeout": 10,
                                                  "max_retries": 0})
        provider = ExolveProvider("ex", settings, base_dir=Path("."))

        async def go():
            async with provider:
                slow = asyncio.ensure_future(provider.list())
                await asyncio.sleep(0.1)  # in flight
            return await asyncio.gather(slow, return_exceptions=True)

        [outcome] = asyncio.run(go())
    assert isinstance(outcome, ProviderError), repr(outcome)


def test_requests_waiting_or_retrying_when_the_provider_closes_fail_as_requests(monkeypatch):
    """A request waiting for one of wolkvox's two slots per token, or about
    to retry, when the provider closes (gather raised at another's failure)
    ends with a provider error too: not a ValueError from picking a pool among
    none, nor an AssertionError of a closed client."""
    emulator = WolkvoxEmulator()
    monkeypatch.setenv("WOLKVOX_TOKEN", emulator.token)
    with EmulatorServer(emulator) as server:
        emulator.faults.latency(0.3)
        settings = WolkvoxSettings.model_validate({"type": "wolkvox", "base_url": server.url, "timeout": 10,
                                                   "max_retry_wait": 0.01})
        provider = WolkvoxProvider("wv", settings, base_dir=Path("."))

        async def go():
            async with provider:
                # two in flight (then retried: a list is idempotent), the third waits for a slot
                tasks = [asyncio.ensure_future(provider.list()) for _ in range(3)]
                await asyncio.sleep(0.1)
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            emulator.faults.latency(0)
            async with provider:  # opened again, it sends as before
                assert await provider.list() == []
            return outcomes

        outcomes = asyncio.run(go())
    assert all(isinstance(outcome, ProviderError) for outcome in outcomes), outcomes
    assert emulator.max_token_in_flight <= 2
