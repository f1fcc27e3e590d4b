"""`plusofon`: the Plusofon media API (seed 003) — the audio files that call
scenarios play, on `https://restapi.plusofon.ru`.

    GET    api/v1/media              Laravel paginator of {id, name}, 15 per page
    GET    api/v1/media/{id}         {id, name}
    GET    api/v1/media/{id}/file    the audio bytes
    POST   api/v1/media              {name, file (base64), file_mime_type} or {name, standard_id}
    PATCH  api/v1/media/{id}         {name}
    DELETE api/v1/media/{id}
    GET    api/v1/standard-media     {"standard_media": [{id, name}]}: preinstalled prompts

Headers: `Authorization: Bearer <token>`, `Client: <client id>`, `Accept:
application/json`. Ids are JSON integers; we keep them as strings.

What the documentation leaves open, and how this client copes:
- whether create returns the new id: it reads one when present (`id`,
  `data.id`, `media_id`), else finds the asset by listing — by name, among
  the ids it had not seen before the upload;
- the paginator's URLs name the server's own host (`http://localhost/...`
  in the documentation), so only their `page` number is followed;
- errors come as `{"message", "code"}`, and a 200 may carry `success: false`:
  both are errors. "User not found" means the token and `Client` do not
  name an account: an auth error, never retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from reconciler.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderError,
    RateLimitError,
)
from reconciler.model import DesiredAsset, RemoteAsset
from reconciler.payload import Payload, as_payload, json_with_base64
from reconciler.providers.base import Capabilities
from reconciler.providers.http import HttpProvider, parse_retry_after
from reconciler.providers.plusofon_wire import (  # noqa: F401  (re-exported)
    MAX_PAGES,
    MEDIA,
    MIME_BY_FORMAT,
    STANDARD_MEDIA,
    STANDARD_PREFIX,
    PlusofonAsset,
    PlusofonSettings,
    int_or_none,
    message_of,
    next_page,
    returned_id,
)

log = logging.getLogger(__name__)


class PlusofonProvider(HttpProvider):
    type_name = "plusofon"
    settings_model = PlusofonSettings
    default_token_env = "PLUSOFON_TOKEN"
    default_base_url = "https://restapi.plusofon.ru"
    summary = "Plusofon media files for call scenarios (restapi.plusofon.ru)."
    capabilities = Capabilities(
        can_list=True,
        can_download=True,
        can_rename=True,
        can_describe=False,
        can_delete=True,
        can_overwrite=False,
        # nothing says names are unique; a replace uploads first, then deletes
        unique_names=False,
        lists_sha256=False,
        lists_size=False,
        lists_description=False,
        lists_duration=False,
        max_batch=1,
        max_concurrency=4,
        formats=frozenset(MIME_BY_FORMAT),
        notes=(
            "listing shows id and name only: content is compared by downloading it",
            "no description field",
            "standard_id assets: preinstalled prompts, created by reference",
        ),
    )

    settings: PlusofonSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # ids seen by `list()` or claimed by our creates: a create whose answer
        # carries no id made the one asset with its name that is not in here
        self._known_ids: set[str] | None = None
        self._standard: dict[str, str] | None = None
        # creates answered without an id wait here, by name, and are looked up
        # together once no upload is in flight: one listing for all of them
        self._posting = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._pending: dict[str, asyncio.Future[RemoteAsset | None]] = {}
        self._resolver: asyncio.Task[None] | None = None

    # --- headers and errors -------------------------------------------------
    def extra_headers(self) -> dict[str, str]:
        return {"Client": self.settings.client, "Accept": "application/json"}

    def map_error(self, response: httpx.Response, *, operation: str, address: str | None) -> ProviderError | None:
        status = response.status_code
        body = self._json(response)
        message = self._message(body) if body is not None else None
        if status < 400:
            if not isinstance(body, Mapping):
                return None
            code = int_or_none(body.get("code"))
            if body.get("success") is False or (code is not None and code >= 400):
                text = message or "the request was refused"
                return self._error(code if code and code >= 400 else status, f"{text} (success: false)",
                                   response, operation=operation, address=address)
            return None
        if message is None:
            message = self.provider_message(response)
        return self._error(status, message, response, operation=operation, address=address)

    def _json(self, response: httpx.Response) -> Any:
        if "json" not in response.headers.get("content-type", "") and not response.content.startswith(b"{"):
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def _message(self, body: Any) -> str | None:
        text = message_of(body)
        return self.redact(text) if text else None

    def _error(
        self, status: int, message: str, response: httpx.Response, *, operation: str, address: str | None
    ) -> ProviderError:
        common = {"provider": self.label, "operation": operation, "address": address, "status": status}
        lowered = message.lower()
        if "user not found" in lowered:
            # the documented answer when the token and Client name no account (sent as a 500)
            return AuthError(
                message,
                hint=f"Check the token in {self.token_env} and `client` ({self.settings.client}) "
                f"under [providers.{self.instance}]: together they must name a Plusofon account.",
                **common,
            )
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return RateLimitError(message, retry_after=retry_after,
                                  hint="Plusofon is rate limiting; try again later.", **common)
        if status == 404 or (status < 500 and "not found" in lowered):
            return NotFoundError(message, **common)
        if status in (400, 422) or status < 400:
            return BadRequestError(message, **common)
        return self.error_for_status(status, message, response, operation=operation, address=address)

    # --- plan time ----------------------------------------------------------------
    async def check_remote(self, assets: Sequence[DesiredAsset]) -> list[str]:
        """Every `standard_id` must name one of the account's preinstalled prompts."""
        wanted = [a for a in assets if getattr(a.spec, "standard_id", None) is not None]
        if not wanted:
            return []
        standard = await self.standard_media()
        problems = []
        for asset in wanted:
            sid = asset.spec.standard_id
            if sid not in standard:
                known = ", ".join(f"{k} ({v})" for k, v in sorted(standard.items())) or "none"
                problems.append(
                    f"providers.{asset.instance}.assets.{asset.key}.standard_id: '{sid}' is not a "
                    f"preinstalled prompt of this account (known: {known})"
                )
        return problems

    async def standard_media(self) -> dict[str, str]:
        """id -> name of the preinstalled prompts (fetched once)."""
        if self._standard is None:
            response = await self.request("GET", STANDARD_MEDIA, operation="list standard media", idempotent=True)
            body = self._json(response)
            items = body.get("standard_media", body.get("data")) if isinstance(body, Mapping) else None
            if not isinstance(items, list):
                raise self._unexpected("list standard media", None, "no `standard_media` array")
            self._standard = {
                str(i["id"]): str(i.get("name", "")) for i in items if isinstance(i, Mapping) and "id" in i
            }
        return self._standard

    # --- operations -----------------------------------------------------------------
    async def list(self) -> list[RemoteAsset]:
        remotes = await self._list_all()
        self._known_ids = (self._known_ids or set()) | {r.remote_id for r in remotes}
        return remotes

    async def _list_all(self) -> list[RemoteAsset]:
        """Every page of the paginator, following its page numbers to the end."""
        out: dict[str, RemoteAsset] = {}
        page: int | None = 1
        visited: set[int] = set()
        while page is not None and page not in visited and len(visited) < MAX_PAGES:
            visited.add(page)
            items, body = await self._page(page)
            out.update((r.remote_id, r) for r in items)
            page = next_page(body, page)
        return list(out.values())

    async def _page(self, page: int) -> tuple[list[RemoteAsset], Mapping[str, Any]]:
        """One page of the paginator: its media and the paginator body."""
        response = await self.request(
            "GET", MEDIA, params={"page": page} if page > 1 else None, operation="list", idempotent=True
        )
        body = self._json(response)
        if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
            raise self._unexpected("list", None, "no paginator `data` array")
        items = [
            RemoteAsset(remote_id=str(item["id"]), name=str(item.get("name") or ""))
            for item in body["data"]
            if isinstance(item, Mapping) and item.get("id") is not None
        ]
        return items, body

    async def create(self, asset: DesiredAsset, data: bytes | Payload, *, name: str | None = None) -> RemoteAsset:
        target = name or asset.name
        payload: dict[str, Any] = {"name": target}
        standard_id = getattr(asset.spec, "standard_id", None)
        if standard_id is not None:
            payload["standard_id"] = standard_id
        else:
            fmt = asset.audio.format if asset.audio else None
            if fmt not in MIME_BY_FORMAT:
                raise BadRequestError(
                    f"format {str(fmt).upper()} cannot be uploaded (accepted: "
                    f"{', '.join(sorted(MIME_BY_FORMAT))})",
                    provider=self.label, operation="create", address=asset.address,
                )
            payload["file"] = ""  # streamed as base64 (json_with_base64 below)
            payload["file_mime_type"] = MIME_BY_FORMAT[fmt]
        if self._known_ids is None:
            await self.list()  # what exists before the upload, to tell the new one apart
        self._posting += 1
        self._idle.clear()
        try:
            content: dict[str, Any] = (
                {"body": json_with_base64(payload, "file", as_payload(data))} if "file" in payload else {"json": payload}
            )
            response = await self.request(
                "POST", MEDIA, operation="create", address=asset.address, idempotent=False, **content
            )
        finally:
            self._posting -= 1
            if not self._posting:
                self._idle.set()
        body = self._json(response)
        rid = returned_id(body)
        if rid is not None:
            return self._claim(RemoteAsset(remote_id=rid, name=target))
        try:
            found = await self._found_later(target)
        except (AuthError, BadRequestError):
            raise
        except ProviderError as exc:
            # accepted, but the listing that would name it failed (after its own
            # retries): the outcome is known, the id is not. create_resolving
            # lists again until it finds it, and never sends it twice.
            unknown = OutcomeUnknownError(
                f"the upload was accepted, but listing to find its id failed: {exc.provider_message}",
                provider=self.label, operation="create", address=asset.address, status=exc.status,
            )
            unknown.landed = True
            raise unknown from None
        if found is None:
            raise self._unexpected(
                "create", asset.address,
                f"Plusofon accepted the upload but no new media named '{target}' is listed",
            )
        return found

    def _claim(self, remote: RemoteAsset) -> RemoteAsset:
        if self._known_ids is None:
            self._known_ids = set()
        self._known_ids.add(remote.remote_id)
        return remote

    async def _found_later(self, name: str) -> RemoteAsset | None:
        """The new media named `name`, looked up with every other create that
        is waiting for its id: the lookup starts once no upload is in flight
        (the applier's slots are held by creates waiting here, so that comes
        soon), and one round of page reads serves them all."""
        future: asyncio.Future[RemoteAsset | None] = asyncio.get_running_loop().create_future()
        self._pending[name] = future
        if self._resolver is None or self._resolver.done():
            self._resolver = asyncio.create_task(self._resolve_pending())
        return await future

    async def _resolve_pending(self) -> None:
        while self._pending:
            await self._idle.wait()
            batch, self._pending = self._pending, {}
            try:
                found = await self._find_new(set(batch))
            except BaseException as exc:  # every waiter sees the lookup's error
                for future in batch.values():
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for name, future in batch.items():
                if not future.done():
                    future.set_result(found.get(name))

    async def _find_new(self, names: set[str]) -> dict[str, RemoteAsset]:
        """name -> the newest media of that name not among the known ids. Ids
        grow, so new media sit on the first page (newest first) or the last
        ones (oldest first): page 1, then back from the last page while pages
        still hold unknown ids, and every page only when that leaves a name
        unfound."""
        known = self._known_ids or set()
        fresh: dict[str, list[RemoteAsset]] = {}

        def take(items: list[RemoteAsset]) -> bool:
            """Note the fresh ones; True when the page holds any unknown id."""
            unknown = [r for r in items if r.remote_id not in known]
            for r in unknown:
                if r.name in names:
                    fresh.setdefault(r.name, []).append(r)
            return bool(unknown)

        first, body = await self._page(1)
        take(first)
        last = int_or_none(body.get("last_page"))
        page = last
        while set(fresh) != names and page is not None and 1 < page <= MAX_PAGES:
            if not take((await self._page(page))[0]):
                break  # only known ids from here back: nothing new on earlier pages
            page -= 1
        if set(fresh) != names and (last is None or page is None or page > 1):
            take(await self._list_all())
        out = {}
        for name, found in fresh.items():
            if len(found) > 1:
                log.warning("%s: %d new media named '%s'; taking the newest", self.label, len(found), name)
            out[name] = self._claim(max(found, key=lambda r: int_or_none(r.remote_id) or 0))
        return out

    async def find_created(self, asset: DesiredAsset, *, name: str) -> RemoteAsset | None:
        """The media named `name` that was not there before (not among the known
        ids). Ids grow, so a new media sits on the first page (newest first) or
        the last (oldest first): those are read first, and every page only when
        neither holds it. Several new ones (a console upload raced us): the newest."""
        known = self._known_ids or set()

        def fresh(items: list[RemoteAsset]) -> list[RemoteAsset]:
            return [r for r in items if r.name == name and r.remote_id not in known]

        first, body = await self._page(1)
        found = fresh(first)
        last = int_or_none(body.get("last_page"))
        if not found and last is not None and 1 < last <= MAX_PAGES:
            found = fresh((await self._page(last))[0])
        if not found and (last is None or last > 2):
            found = fresh(await self._list_all())
        if not found:
            return None
        if len(found) > 1:
            log.warning("%s: %d new media named '%s'; taking the newest", self.label, len(found), name)
        return self._claim(max(found, key=lambda r: int_or_none(r.remote_id) or 0))

    async def update(self, remote_id: str, *, name: str, description: str) -> RemoteAsset:
        # no description field: the config refuses one, so only the name is sent
        await self.request(
            "PATCH", f"{MEDIA}/{remote_id}", json={"name": name}, operation="rename", idempotent=True
        )
        return RemoteAsset(remote_id=remote_id, name=name)

    async def delete(self, remote_id: str) -> None:
        try:
            await self.request("DELETE", f"{MEDIA}/{remote_id}", operation="delete", idempotent=True)
        except NotFoundError:
            pass  # already gone: the goal is reached

    async def download(self, remote_id: str) -> bytes:
        response = await self.request("GET", f"{MEDIA}/{remote_id}/file", operation="download", idempotent=True)
        if self._json(response) is not None:
            raise self._unexpected("download", None, f"media {remote_id}: a JSON answer instead of audio bytes")
        return response.content

    async def get(self, remote_id: str) -> RemoteAsset:
        """One media's {id, name}."""
        response = await self.request("GET", f"{MEDIA}/{remote_id}", operation="read", idempotent=True)
        body = self._json(response)
        if not isinstance(body, Mapping) or "id" not in body:
            raise self._unexpected("read", None, f"media {remote_id}: no `id` in the answer")
        return RemoteAsset(remote_id=str(body["id"]), name=str(body.get("name") or ""))

    def _unexpected(self, operation: str, address: str | None, what: str) -> ProviderError:
        return ProviderError(
            f"unexpected answer: {what}", provider=self.label, operation=operation, address=address,
            hint="The Plusofon API may have changed; run with -v to see the calls.",
        )


__all__ = ["PlusofonAsset", "PlusofonProvider", "PlusofonSettings"]
