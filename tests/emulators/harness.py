"""The emulator harness: serve a Starlette app on 127.0.0.1 (uvicorn in a
thread, as httpx's own tests do), with fault switches, a request log and
per-endpoint counters.

Faults are a pure ASGI middleware, so every emulator gets them for free:

- `fail_next(n, status, body=..., retry_after=...)`: the next n matching requests fail
- `latency(seconds)`: every request waits first (a hanging provider)
- `drop_next(n)`: read the request, then drop the connection without an answer
- `lose_next_response(n)`: let the app apply the request, then drop the answer
- `fail_ratio(r, statuses)`: fail a random share of requests (seeded); a
  status "drop" / "lose" drops the connection before / after the app ran
- `land_then(action, skip=k)`: let the app apply the (k+1)th matching request,
  run `action()` (e.g. SIGKILL the client: a crash just after a request
  landed, before its answer is read), then drop the answer
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    headers: dict[str, str]
    started: float
    ended: float = 0.0


@dataclass
class _Rule:
    remaining: int
    status: int = 500
    body: Any = None
    retry_after: float | None = None
    match: Callable[[str, str], bool] | None = None  # (method, path) -> bool
    kind: str = "fail"  # fail | drop | lose | land
    skip: int = 0  # matching requests to let through before the rule fires
    action: Callable[[], None] | None = None  # land: run once the app has applied the request


@dataclass
class Faults:
    rules: list[_Rule] = field(default_factory=list)
    delay: float = 0.0
    ratio: float = 0.0
    ratio_statuses: tuple[int | str, ...] = (500, 429)
    ratio_body: Callable[[int], Any] | None = None
    ratio_match: Callable[[str, str], bool] | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(1234))

    def fail_next(self, n: int = 1, status: int = 500, *, body: Any = None, retry_after: float | None = None,
                  match: Callable[[str, str], bool] | None = None) -> None:
        self.rules.append(_Rule(n, status, body, retry_after, match, "fail"))

    def drop_next(self, n: int = 1, *, match: Callable[[str, str], bool] | None = None) -> None:
        self.rules.append(_Rule(n, match=match, kind="drop"))

    def lose_next_response(self, n: int = 1, *, match: Callable[[str, str], bool] | None = None) -> None:
        self.rules.append(_Rule(n, match=match, kind="lose"))

    def land_then(self, action: Callable[[], None], *, skip: int = 0,
                  match: Callable[[str, str], bool] | None = None) -> None:
        self.rules.append(_Rule(1, match=match, kind="land", skip=skip, action=action))

    def latency(self, seconds: float) -> None:
        self.delay = seconds

    def fail_ratio(self, ratio: float, statuses: tuple[int | str, ...] = (500, 429), *, body: Callable[[int], Any] | None = None,
                   match: Callable[[str, str], bool] | None = None) -> None:
        self.ratio, self.ratio_statuses, self.ratio_body, self.ratio_match = ratio, statuses, body, match

    def clear(self) -> None:
        self.rules.clear()
        self.delay = 0.0
        self.ratio = 0.0

    def take(self, method: str, path: str) -> _Rule | None:
        for rule in self.rules:
            if rule.remaining > 0 and (rule.match is None or rule.match(method, path)):
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                rule.remaining -= 1
                return rule
        if self.ratio and (self.ratio_match is None or self.ratio_match(method, path)) and self.rng.random() < self.ratio:
            status = self.rng.choice(self.ratio_statuses)
            if status in ("drop", "lose"):  # a dropped connection, before or after the app ran
                return _Rule(0, kind=str(status))
            body = self.ratio_body(status) if self.ratio_body else None
            return _Rule(0, status, body, 0 if status == 429 else None)
        return None


class FaultMiddleware:
    """ASGI middleware: log, count, track concurrency, inject faults."""

    def __init__(self, app, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        em = self.emulator
        method, path = scope["method"], scope["path"]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        entry = LoggedRequest(method, path, scope.get("query_string", b"").decode(), 0, headers, time.monotonic())
        with em.lock:
            em.requests.append(entry)
            em.in_flight += 1
            em.max_in_flight = max(em.max_in_flight, em.in_flight)
        try:
            if em.faults.delay:
                await asyncio.sleep(em.faults.delay)
            with em.lock:
                rule = em.faults.take(method, path)
            if rule is not None and rule.kind == "fail":
                body = rule.body if rule.body is not None else em.fault_body(rule.status)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
                if rule.retry_after is not None:
                    hdrs.append((b"retry-after", str(int(rule.retry_after)).encode()))
                await _drain(receive)
                await send({"type": "http.response.start", "status": rule.status, "headers": hdrs})
                await send({"type": "http.response.body", "body": raw})
                entry.status = rule.status
                return
            if rule is not None and rule.kind == "drop":
                await _drain(receive)
                entry.status = -1
                await _abort(send)
                return
            if rule is not None and rule.kind in ("lose", "land"):
                status_holder: list[int] = []

                async def swallow(message):
                    if message["type"] == "http.response.start":
                        status_holder.append(message["status"])

                await self.app(scope, receive, swallow)
                entry.status = -(status_holder[0] if status_holder else 1)
                if rule.action is not None:
                    rule.action()
                await _abort(send)
                return

            async def record(message):
                if message["type"] == "http.response.start":
                    entry.status = message["status"]
                await send(message)

            await self.app(scope, receive, record)
        finally:
            entry.ended = time.monotonic()
            with em.lock:
                em.in_flight -= 1


async def _drain(receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


class _Dropped(Exception):
    """Raised after a response has started: uvicorn then closes the socket
    mid-response, which the client sees as a dropped connection."""


async def _abort(send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100000")]})
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
    raise _Dropped()


class Emulator:
    """Base of every provider emulator. Subclasses build `self.app` (a
    Starlette app) and keep their remote state; tests edit it directly to
    play someone using the provider's web console."""

    token = "emulator-secret-token-0123456789"

    def __init__(self) -> None:
        self.faults = Faults()
        self.requests: list[LoggedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.RLock()

    # the app subclasses serve; wrapped with faults by `asgi`
    app: Any

    def fault_body(self, status: int) -> Any:
        """The provider's own error body for an injected status."""
        return {"error": f"injected fault {status}"}

    @property
    def asgi(self):
        return FaultMiddleware(self.app, self)

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        return sum(
            1 for r in self.requests
            if (method is None or r.method == method) and r.path.startswith(path_prefix)
        )

    def counters(self) -> Counter:
        return Counter(f"{r.method} {r.path}" for r in self.requests)

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()
            self.max_in_flight = 0


class _QuickServer(uvicorn.Server):
    """uvicorn's server, stopped at once: its main loop polls `should_exit`
    every 0.1 s and its shutdown sleeps another 0.1 s for connections to
    finish — 0.15 s a test across the suite. Here the loop waits on an event
    that `stop()` sets from the test's thread, and shutdown closes what is
    left (an emulator holds no state worth a graceful goodbye)."""

    _stop_event: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        await self.on_tick(0)  # the default headers
        if not self.should_exit:
            await self._stop_event.wait()

    def stop(self) -> None:
        self.should_exit = True
        if self._loop is not None and self._stop_event is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)

    async def shutdown(self, sockets=None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        await asyncio.sleep(0)
        for task in list(self.server_state.tasks):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()


class EmulatorServer:
    """A real HTTP server on 127.0.0.1 and a free port, in a thread."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        # proto IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on
        # sockets that say they are TCP, and an accepted socket inherits this
        # one's proto. Without it, Nagle held back the body of every answer
        # (sent after its headers) until the client's delayed ACK, ~40 ms: an
        # emulated 20 ms request took ~65 ms, and no apply could be latency-bound.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(emulator.asgi, log_level="critical", lifespan="off", access_log=False,
                                timeout_keep_alive=30)
        self.server = _QuickServer(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> EmulatorServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("emulator did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        self.thread.join(timeout=5)
        self.sock.close()
