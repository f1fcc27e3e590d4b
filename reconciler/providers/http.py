"""The road every HTTP provider travels: settings, credentials, one
`httpx.AsyncClient` per instance, logging with secrets redacted, retries in
one place, and a per-token cap on requests in flight.

Retries use tenacity (well kept, asyncio-native, composable stop/wait
policies; stamina wraps tenacity with opinions we would have to undo to
honour `Retry-After` per error). Only idempotent requests are retried on
5xx and transport errors; any request is retried on 429 (the server refused
it, so it did not happen). A non-idempotent request whose answer is lost
raises `OutcomeUnknownError`, which `Provider.create_resolving` settles by
listing before it tries again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import posixpath
import ssl
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import Field, field_validator

from reconciler import __version__
from reconciler.errors import (
    AuthError,
    BadRequestError,
    ConfigError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderError,
    RateLimitError,
    RemoteConflictError,
    ServerError,
    SourceChangedError,
    TransportError,
)
from reconciler.payload import PLAN_AGAIN, PayloadChanged, StreamedBody
from reconciler.providers.base import Provider
from reconciler.providers.settings import ProviderSettings

if TYPE_CHECKING:  # tenacity loads with the first failure worth retrying (~6 ms a start-up)
    from tenacity import RetryCallState

log = logging.getLogger(__name__)

USER_AGENT = f"reconciler/{__version__} (+https://github.com/reconciler/reconciler)"
# requests in flight per connection pool, and pools per provider instance at most (HttpProvider._pick_client)
POOL_SHARE = 1
MAX_POOLS = 32



@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """httpx's own default context (certifi's roots, or SSL_CERT_FILE / SSL_CERT_DIR),
    built once per process: loading the CA bundle costs tens of milliseconds, and
    every AsyncClient built its own — once per provider instance."""
    return httpx.create_ssl_context()


@functools.cache
def _no_roots_ssl_context() -> ssl.SSLContext:
    """A context that verifies (certificate and host name required) but trusts
    no root: any TLS handshake through it fails. Built in ~1 ms where loading
    the CA bundle takes ~30 ms."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def ssl_context_for(base_url: str) -> ssl.SSLContext:
    """The verifying context for an https:// API. A plain http:// one (an
    emulator on loopback, a local mock) makes no TLS handshake, so it does not
    pay for the CA bundle: its client gets a context that trusts nothing, and a
    request it were ever sent to an https:// URL fails verification instead of
    going out unverified. TLS verification is never weakened."""
    if base_url.lower().startswith("http://"):
        return _no_roots_ssl_context()
    return shared_ssl_context()


class HttpProviderSettings(ProviderSettings):
    """Settings every HTTP provider type takes."""

    token_env: str | None = Field(
        default=None, description="Environment variable holding the credential (default per type)."
    )
    base_url: str | None = Field(default=None, description="Override the API endpoint.")
    timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for an answer.")
    max_retries: int = Field(default=5, ge=0, description="Retries of a failed idempotent request.")
    max_retry_wait: float = Field(default=30.0, ge=0, description="Longest single wait between retries, in seconds.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """Refused at config load, naming the key, rather than by httpx at the
        first request (or by the overlap check, which compares endpoints)."""
        if value is None:
            return None
        try:
            url = httpx.URL(value.strip())
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a URL ({exc})") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. https://api.example.com")
        return value


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def normalise_url(url: str) -> str:
    """One spelling per endpoint: scheme and host lower case, default port and
    trailing slashes dropped, `.`/`..` folded (`HTTPS://Api.x.com:443/v1/`
    and `https://api.x.com/v1` are one account)."""
    parsed = httpx.URL(url.strip())
    port = parsed.port
    if (parsed.scheme, port) in (("https", 443), ("http", 80)):
        port = None
    path = posixpath.normpath(parsed.path) if parsed.path not in ("", "/") else ""
    host = parsed.host.lower().rstrip(".")
    return f"{parsed.scheme.lower()}://{host}{f':{port}' if port else ''}{path.rstrip('/')}"


def _loop_key() -> int:
    return id(asyncio.get_running_loop())


class HttpProvider(Provider):
    """Base of every HTTP provider. Subclasses set the class variables and
    implement `auth_headers` and `map_error`, plus the operations."""

    default_token_env: ClassVar[str]
    default_base_url: ClassVar[str]
    # requests in flight per credential, across instances sharing it
    _inflight: ClassVar[dict[tuple[int, str, str], asyncio.Semaphore]] = {}

    settings: HttpProviderSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client: httpx.AsyncClient | None = None  # the first of `_clients`
        self._clients: list[httpx.AsyncClient] = []
        self._busy: list[int] = []  # requests in flight per client
        self._token: str | None = None
        self._token_key: str | None = None  # the token's sha256: requests in flight are counted per credential
        self._urls: dict[str, httpx.URL] = {}
        self._closed = False

    # --- settings -------------------------------------------------------------
    @property
    def token_env(self) -> str:
        return self.settings.token_env or self.default_token_env

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or self.default_base_url).rstrip("/") + "/"

    def account(self) -> tuple[str, str, str]:
        return (self.type_name, normalise_url(self.base_url), self.token_env)

    @property
    def label(self) -> str:
        return f"{self.type_name} {self.instance}"

    def check_settings(self) -> None:
        value = os.environ.get(self.token_env)
        if not value:
            raise ConfigError(
                f"instance '{self.instance}' ({self.type_name}): the environment variable "
                f"{self.token_env} is not set; it must hold the credential",
                hint=f"Export {self.token_env}, or name another variable with `token_env` "
                f"under [providers.{self.instance}].",
            )
        if not all(" " <= ch <= "~" for ch in value):
            # an HTTP header carries printable ASCII only: httpx would fail deep in a request
            raise ConfigError(
                f"instance '{self.instance}' ({self.type_name}): the environment variable "
                f"{self.token_env} holds a character that cannot be sent in an HTTP header "
                "(a control character, a line break or non-ASCII)",
                hint=f"Check the value of {self.token_env}: copy the credential again, without "
                "quotes or line breaks.",
            )
        self._token, self._token_key = value, None

    @property
    def token(self) -> str:
        if self._token is None:
            self.check_settings()
        assert self._token is not None
        return self._token

    def auth_headers(self) -> dict[str, str]:
        """The credential headers (Bearer by default)."""
        return {"Authorization": f"Bearer {self.token}"}

    def extra_headers(self) -> dict[str, str]:
        return {}

    # --- lifecycle --------------------------------------------------------------
    async def __aenter__(self) -> HttpProvider:
        self.client = self._new_client()
        self._clients = [self.client]
        self._busy = [0]
        self._closed = False
        return self

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            verify=ssl_context_for(self.base_url),
            timeout=httpx.Timeout(self.settings.timeout, connect=min(10.0, self.settings.timeout)),
            headers={"User-Agent": USER_AGENT, **self.auth_headers(), **self.extra_headers()},
            follow_redirects=False,
        )

    async def __aexit__(self, *exc: object) -> None:
        clients, self._clients, self._busy, self.client = self._clients, [], [], None
        self._closed = True
        for client in clients:
            await client.aclose()

    def _pick_client(self) -> int:
        """The client (connection pool) for the next request: the least busy,
        or a new one when that already has POOL_SHARE requests in flight.

        httpcore looks at every idle connection of a pool twice per request (a
        poll and a getpeername syscall each, to see whether the server closed
        it): with 16 uploads in flight through one pool of 16 connections that
        cost more CPU than the requests themselves (1,000 exolve creates, the
        provider alone: 3.6 s of CPU; a pool per request in flight: 1.1 s).
        The connections in all are still as many as the requests in flight,
        and an idle pool's connection is reused by the next request."""
        busy = self._busy
        index = min(range(len(busy)), key=busy.__getitem__)
        if busy[index] >= POOL_SHARE and len(busy) < MAX_POOLS:
            self._clients.append(self._new_client())
            busy.append(0)
            index = len(busy) - 1
        return index

    def _inflight_slot(self) -> asyncio.Semaphore | None:
        caps = self.capabilities
        if not caps.hard_concurrency_limit:
            return None
        if self._token_key is None:  # once: this runs before every request
            import hashlib

            self._token_key = hashlib.sha256(self.token.encode()).hexdigest()
        key = (_loop_key(), self.type_name, self._token_key)
        if key not in self._inflight:
            self._inflight[key] = asyncio.Semaphore(caps.max_concurrency)
        return self._inflight[key]

    # --- the one way to make a request ---------------------------------------------
    def redact(self, text: str) -> str:
        token = self._token
        return text.replace(token, "***") if token else text

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        address: str | None = None,
        idempotent: bool,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one logical request: retried where safe, errors mapped.

        The first attempt goes out directly; only a failure worth retrying
        builds the retry machinery (tenacity's per-call set-up was a few
        percent of an upload's CPU), which then counts that failure as its
        first attempt: waits, stops and logs are those of a tenacity loop
        around every attempt, including the time the first one took."""
        started = time.monotonic()
        try:
            return await self._send_once(method, path, operation=operation, address=address, idempotent=idempotent, **kwargs)
        except Exception as exc:  # noqa: BLE001 - sorted just below
            if not self._retryable(exc, idempotent) or self.settings.max_retries == 0:
                raise
            failed: list[BaseException] = [exc]
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay
        from tenacity.wait import wait_random_exponential

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                return min(retry_after, self.settings.max_retry_wait)
            return wait_random_exponential(multiplier=0.2, max=self.settings.max_retry_wait)(state)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.info("%s: retrying %s %s after %s", self.label, method, path, self.redact(str(exc)).splitlines()[0])

        budget = self.settings.max_retry_wait * 4 + 60 - (time.monotonic() - started)
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: self._retryable(exc, idempotent)),
            wait=wait,
            stop=stop_after_attempt(self.settings.max_retries + 1) | stop_after_delay(max(0.0, budget)),
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if failed:
                    raise failed.pop()  # the first attempt's failure, as tenacity's attempt 1
                return await self._send_once(method, path, operation=operation, address=address, idempotent=idempotent, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _retryable(exc: BaseException, idempotent: bool) -> bool:
        if isinstance(exc, RateLimitError):
            return True
        if isinstance(exc, TransportError) and not getattr(exc, "request_sent", True):
            return True  # never reached the server: safe to retry, even a create
        return idempotent and isinstance(exc, ServerError | TransportError)

    async def _send_once(
        self, method: str, path: str, *, operation: str, address: str | None, idempotent: bool, **kwargs: Any
    ) -> httpx.Response:
        if self.client is None and self._closed:
            raise self._closed_error(operation, address)  # a retry after the provider closed
        assert self.client is not None, "use the provider as an async context manager"
        body: StreamedBody | None = kwargs.pop("body", None)
        if body is None:
            return await self._exchange(method, path, operation, address, idempotent, kwargs)
        try:
            # a fresh body per attempt: a retry re-reads every file from its first byte
            with body.attempt() as content:
                headers = {**kwargs["headers"], **body.headers()} if "headers" in kwargs else body.headers()
                return await self._exchange(
                    method, path, operation, address, idempotent, {**kwargs, "content": content, "headers": headers}
                )
        except PayloadChanged as exc:
            # raised before the body's last bytes went out: the server has no whole request
            raise self._changed(exc, operation, address) from None

    def _url(self, path: str) -> httpx.URL:
        """`path` joined to base_url as httpx joins it, once per path: httpx
        parses and merges a relative URL again on every request (~80 us of an
        upload's ~2 ms). Bounded: paths that name ids come and go."""
        url = self._urls.get(path)
        if url is None:
            assert self.client is not None
            if len(self._urls) >= 256:
                self._urls.clear()
            url = self._urls[path] = self.client.build_request("GET", path).url
        return url

    async def _send_pooled(
        self, method: str, url: httpx.URL, kwargs: dict[str, Any], operation: str, address: str | None
    ) -> httpx.Response:
        if not self._clients:  # the provider closed while this request waited for a slot
            raise self._closed_error(operation, address)
        index = self._pick_client()
        busy, client = self._busy, self._clients[index]  # as they are now: the provider may close meanwhile
        busy[index] += 1
        try:
            return await client.request(method, url, **kwargs)
        finally:
            busy[index] -= 1

    async def _exchange(
        self, method: str, path: str, operation: str, address: str | None, idempotent: bool, kwargs: dict[str, Any]
    ) -> httpx.Response:
        """One request and its answer, with transport failures and error answers mapped."""
        assert self.client is not None
        url = self._url(path)
        slot = self._inflight_slot()
        started = time.monotonic()
        try:
            if slot is not None:
                async with slot:
                    response = await self._send_pooled(method, url, kwargs, operation, address)
            else:
                response = await self._send_pooled(method, url, kwargs, operation, address)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # never reached the server: safe to retry, even a create
            raise self._transport_error(exc, operation, address, sent=False) from None
        except httpx.TransportError as exc:
            err = self._transport_error(exc, operation, address, sent=True)
            if idempotent:
                raise err from None
            raise OutcomeUnknownError(
                err.provider_message, provider=self.label, operation=operation, address=address,
                hint="The request reached the provider but its answer was lost.",
            ) from None
        if log.isEnabledFor(logging.INFO):  # the redaction is not free, and unseen by default
            ms = (time.monotonic() - started) * 1000
            log.info("%s: %s %s -> %s (%.0f ms)", self.label, method, self.redact(str(response.request.url.path)),
                     response.status_code, ms)
        error = self.map_error(response, operation=operation, address=address)
        if error is not None:
            if not idempotent and isinstance(error, ServerError):
                raise OutcomeUnknownError(
                    error.provider_message, provider=self.label, operation=operation, address=address,
                    status=error.status,
                ) from None
            raise error
        return response

    def _closed_error(self, operation: str, address: str | None) -> ProviderError:
        """A request not sent because its provider closed meanwhile (another
        request's failure ended the run): not retryable, never sent."""
        return ProviderError("not sent: the run stopped at another failure", provider=self.label,
                             operation=operation, address=address)

    def _changed(self, exc: PayloadChanged, operation: str, address: str | None) -> SourceChangedError:
        return SourceChangedError(
            str(exc), provider=self.label, operation=operation, address=address,
            hint="Nothing was uploaded. " + PLAN_AGAIN,
        )

    def _transport_error(self, exc: httpx.TransportError, operation: str, address: str | None, *, sent: bool) -> TransportError:
        if isinstance(exc, httpx.TimeoutException):
            what = f"no answer within {self.settings.timeout:g} s from {self.base_url}"
        else:
            what = f"cannot reach {self.base_url}: {type(exc).__name__}"
            detail = self.redact(str(exc))
            if detail:
                what += f" ({detail})"
        err = TransportError(
            what, provider=self.label, operation=operation, address=address,
            hint=f"Check the network and `base_url`, or raise `timeout` under [providers.{self.instance}].",
        )
        err.request_sent = sent
        return err

    # --- error mapping -------------------------------------------------------------
    def provider_message(self, response: httpx.Response) -> str:
        """The provider's own error message from a response body."""
        try:
            body = response.json()
        except ValueError:
            return self.redact(response.text[:300]) or response.reason_phrase
        if isinstance(body, Mapping):
            for key in ("message", "error", "msg", "detail"):
                if isinstance(body.get(key), str) and body[key]:
                    return self.redact(body[key])
        return self.redact(str(body)[:300])

    def map_error(self, response: httpx.Response, *, operation: str, address: str | None) -> ProviderError | None:
        """None for success; else the project's error for this response.
        Providers override to read their own error bodies."""
        status = response.status_code
        if status < 400:
            return None
        return self.error_for_status(status, self.provider_message(response), response, operation=operation, address=address)

    def error_for_status(
        self, status: int, message: str, response: httpx.Response | None, *, operation: str, address: str | None
    ) -> ProviderError:
        common = {"provider": self.label, "operation": operation, "address": address, "status": status}
        if status in (401, 403):
            return AuthError(
                message, hint=f"Check the credential in {self.token_env} for instance '{self.instance}'.", **common
            )
        if status == 404:
            return NotFoundError(message, **common)
        if status == 409:
            return RemoteConflictError(message, **common)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
            return RateLimitError(message, retry_after=retry_after, hint="The provider is rate limiting; try again later.", **common)
        if status >= 500:
            return ServerError(message, hint="The provider failed; retrying later usually helps.", **common)
        return BadRequestError(message, **common)
