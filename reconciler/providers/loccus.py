"""`loccus`: the audios of one voice-biometrics space (Loccus.ai, now Hiya
Audio Intelligence), `https://api.loccus.ai/v1/spaces/{owner}/{space}/audios`.

- The asset's `name` is the audio's `handle` (1–50 characters, lowercase
  letters and digits in hyphen-separated groups; unique in the space) and its
  `description` the `alias` (1–100 characters, or null).
- The remote id is the audio's `id` (a UUID that never changes). The API
  addresses an audio by its handle in paths, so the handle of each id is
  remembered from the listing; an id not seen yet is looked up by listing.
- Create is `POST …/audios {file: base64, handle, alias?}`. The service then
  processes the file: the audio's `state` is `avaitingFile` (sic) until it is
  `available` or `notAvailable`. `create` polls `GET …/audios/{handle}` until
  `available` (bounded by `state_timeout`) and only then returns, so nothing
  half-processed is ever recorded. On `notAvailable` or timeout the broken
  upload is deleted and the create fails with the reason.
- Only the alias can be changed (`PATCH …/audios/{handle} {alias}`); a new
  handle or new bytes are a replace.
- `GET …/audios/{handle}/file` returns a WAV the service made from the upload:
  its bytes never hash like the source, so content is compared by duration and
  sample rate (`download_is_exact = False`); the lockfile keeps the source's
  sha256.
- Errors: Hiya's documented body `{"error": {"id", "code", "errors":
  [{"message"}]}}`; other shapes (`{"message"}`, `{"error": "..."}`) are read too.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from typing import Any, Literal, NoReturn

import httpx
from pydantic import Field, field_validator

from reconciler.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    ProviderError,
    QuotaError,
)
from reconciler.model import DesiredAsset, RemoteAsset
from reconciler.payload import Payload, as_payload, json_with_base64
from reconciler.providers.base import Capabilities
from reconciler.providers.http import HttpProvider, HttpProviderSettings

log = logging.getLogger(__name__)

HANDLE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
HANDLE_MAX = 50
HANDLE_RULE = (
    "a Loccus handle is 1–50 characters: lowercase letters (a-z) and digits, in groups joined "
    "by single hyphens (e.g. 'welcome-en-1')"
)
ALIAS_MAX = 100
PAGE_SIZE_MAX = 50

AVAILABLE, AWAITING, NOT_AVAILABLE = "available", "avaitingFile", "notAvailable"

# the service's documented requirements for a voiceprint
MIN_SAMPLE_RATE = 8000
MAX_DURATION = 120.0
MIN_VOICE = 4.5

_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(value: Any) -> float | None:
    """Seconds from the API's `duration` ("PT3.500S"); plain numbers are accepted too."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    match = _ISO_DURATION.match(text)
    if match and text != "P" and not text.endswith("T"):
        parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
        return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    try:
        return float(text)
    except ValueError:
        return None


def suggest_handle(name: str) -> str:
    """The nearest valid handle, for the error message."""
    handle = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return handle[:HANDLE_MAX].rstrip("-") or "audio"


class LoccusSettings(HttpProviderSettings):
    """`[providers.<instance>]` with `type = "loccus"`."""

    type: Literal["loccus"]
    owner: str = Field(description="Handle of the user or organisation that owns the space.")
    space: str = Field(description="Handle of the space holding the audios.")
    voice_checks: Literal["warn", "error", "off"] = Field(
        default="warn",
        description="The service's voice requirements (sample rate >= 8 kHz, at most 2 minutes, "
        "at least 4.5 s): report a miss as a plan warning, a config error, or not at all.",
    )
    state_timeout: float = Field(
        default=120.0, gt=0,
        description="Seconds to wait for an upload to become `available` before failing it.",
    )
    state_poll_interval: float = Field(
        default=1.0, gt=0, description="Seconds between the first state checks (then slower, up to 5 s)."
    )
    page_size: int = Field(default=PAGE_SIZE_MAX, ge=1, le=PAGE_SIZE_MAX, description="Audios per list page (1–50).")

    @field_validator("owner", "space")
    @classmethod
    def _is_handle(cls, value: str) -> str:
        if len(value) > HANDLE_MAX or not HANDLE.match(value):
            raise ValueError(f"'{value}' is not a handle: {HANDLE_RULE}")
        return value


class LoccusProvider(HttpProvider):
    type_name = "loccus"
    settings_model = LoccusSettings
    default_token_env = "LOCCUS_API_KEY"
    default_base_url = "https://api.loccus.ai/v1"
    summary = "Loccus.ai / Hiya Audio Intelligence: the audios of one voice-biometrics space."
    capabilities = Capabilities(
        can_list=True,
        can_download=True,
        download_is_exact=False,
        can_rename=False,
        can_describe=True,
        can_delete=True,
        can_overwrite=False,
        unique_names=True,
        lists_sha256=False,
        lists_size=False,
        lists_description=True,
        lists_duration=True,
        max_batch=1,
        max_concurrency=4,
        # the seed uploads an MP3 and downloads WAV; nothing documents other formats
        formats=frozenset({"wav", "mp3"}),
        name_max_length=HANDLE_MAX,
        description_max_length=ALIAS_MAX,
        notes=(
            "name = handle (lowercase-hyphenated, unique in the space); description = alias",
            "remote id = the audio's UUID",
            "the stored file is a converted WAV: content compared by duration and sample rate",
            "a new handle or new content is a replace (delete, then upload)",
        ),
    )

    settings: LoccusSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handles: dict[str, str] = {}  # remote id (uuid) -> current handle

    @property
    def audios_path(self) -> str:
        return f"spaces/{self.settings.owner}/{self.settings.space}/audios"

    @property
    def where(self) -> str:
        return f"space '{self.settings.owner}/{self.settings.space}'"

    def account(self) -> tuple[str, str, str]:
        # one space is one set of audios: two spaces of one account never see each other's
        kind, url, token_env = super().account()
        return kind, f"{url}/{self.audios_path}", token_env

    # --- offline checks -----------------------------------------------------
    def _voice_problems(self, asset: DesiredAsset) -> list[str]:
        info = asset.audio
        if info is None:
            return []
        found = []
        if info.sample_rate is not None and info.sample_rate < MIN_SAMPLE_RATE:
            found.append(f"sample rate {info.sample_rate} Hz is below the 8 kHz Loccus needs for a voiceprint")
        if info.duration is not None and info.duration > MAX_DURATION:
            found.append(f"{info.duration:.1f} s long, over the 2 minutes Loccus accepts for a voiceprint")
        if info.duration is not None and info.duration < MIN_VOICE:
            found.append(
                f"{info.duration:.1f} s long, so it cannot hold the 4.5 s of voice Loccus needs for a voiceprint"
            )
        return found

    def check_asset(self, asset: DesiredAsset) -> list[str]:
        problems = super().check_asset(asset)
        if not HANDLE.match(asset.name):
            problems.append(
                f"name '{asset.name}' is not a valid handle: {HANDLE_RULE}; "
                f"set `name = \"{suggest_handle(asset.name)}\"` for instance"
            )
        if self.settings.voice_checks == "error":
            problems += [f"{p} (voice_checks = \"error\")" for p in self._voice_problems(asset)]
        return problems

    def asset_warnings(self, asset: DesiredAsset) -> list[str]:
        if self.settings.voice_checks != "warn":
            return []
        return [
            f"{p} (voice_checks = \"warn\"; \"error\" refuses it, \"off\" silences this)"
            for p in self._voice_problems(asset)
        ]

    # --- errors ---------------------------------------------------------------
    def provider_message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return super().provider_message(response)
        if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
            error = body["error"]
            messages = [
                str(e["message"]) for e in error.get("errors") or []
                if isinstance(e, Mapping) and e.get("message")
            ]
            if not messages and error.get("message"):
                messages = [str(error["message"])]
            if messages:
                return self.redact("; ".join(messages))
        if isinstance(body, Mapping) and isinstance(body.get("errors"), list):
            messages = [str(e.get("message")) for e in body["errors"] if isinstance(e, Mapping) and e.get("message")]
            if messages:
                return self.redact("; ".join(messages))
        return super().provider_message(response)

    def map_error(self, response: httpx.Response, *, operation: str, address: str | None) -> ProviderError | None:
        status = response.status_code
        if status < 400:
            return None
        message = self.provider_message(response)
        common = {"provider": self.label, "operation": operation, "address": address, "status": status}
        if status == 403:
            return AuthError(
                message, **common,
                hint=f"The key in {self.token_env} has no access to {self.where}: the space must belong "
                "to the key's user or to one of its organisations.",
            )
        if status == 404 and operation == "list":
            return NotFoundError(
                message, **common,
                hint=f"Check `owner` and `space` under [providers.{self.instance}]: {self.where} was not found.",
            )
        if status in (400, 415, 422):
            return BadRequestError(
                message, **common,
                hint="Loccus rejected the request; the media file must be audio it accepts "
                "(a 1–50 character handle, an alias of at most 100 characters)."
                if operation == "create" else None,
            )
        if status in (402, 413):
            return QuotaError(message, **common, hint="A Loccus plan limit was reached; retrying will not help.")
        return self.error_for_status(status, message, response, operation=operation, address=address)

    # --- reading ------------------------------------------------------------------
    def _remote(self, item: Mapping[str, Any]) -> RemoteAsset:
        remote_id = str(item["id"])
        handle = str(item.get("handle") or remote_id)
        self._handles[remote_id] = handle
        state = str(item.get("state") or "")
        ready = state == AVAILABLE
        rate = item.get("sampleRate")
        return RemoteAsset(
            remote_id=remote_id,
            name=handle,
            description=str(item.get("alias") or ""),
            # an audio still processing (or rejected) has no meaningful facts yet
            duration=parse_duration(item.get("duration")) if ready else None,
            sample_rate=int(rate) if ready and isinstance(rate, int | float) and rate > 0 else None,
            pending=state == AWAITING,
            extra={"state": state},
        )

    def _items(self, response: httpx.Response) -> list[Mapping[str, Any]]:
        body = response.json()
        if isinstance(body, Mapping):  # tolerate an envelope
            for key in ("audios", "items", "data", "results"):
                if isinstance(body.get(key), list):
                    body = body[key]
                    break
        if not isinstance(body, list):
            raise ProviderError(
                f"the audio listing of {self.where} is not a JSON array", provider=self.label, operation="list"
            )
        return [item for item in body if isinstance(item, Mapping) and "id" in item]

    async def list(self) -> list[RemoteAsset]:
        page_size = self.settings.page_size
        found: dict[str, RemoteAsset] = {}
        page = 1
        while True:
            response = await self.request(
                "GET", self.audios_path, operation="list", idempotent=True,
                params={"page": page, "page-size": page_size},
            )
            items = self._items(response)
            known = len(found)
            for item in items:
                remote = self._remote(item)
                found[remote.remote_id] = remote  # an item shifted by a concurrent create: once
            total = _int_header(response, "Page-Total")
            if not items or (total is not None and page >= total) or (total is None and len(items) < page_size):
                break
            if len(found) == known:
                break  # a page of nothing new: the service ignores `page`; never loop forever
            page += 1
        return list(found.values())

    async def _get(self, handle: str, *, operation: str, address: str | None = None) -> Mapping[str, Any]:
        response = await self.request(
            "GET", f"{self.audios_path}/{handle}", operation=operation, address=address, idempotent=True
        )
        return response.json()

    async def _handle(self, remote_id: str, *, refresh: bool = False) -> str | None:
        """The current handle of an audio id; lists when it is not known (or `refresh`)."""
        if refresh or remote_id not in self._handles:
            self._handles.clear()
            await self.list()
        return self._handles.get(remote_id)

    async def _on_audio(self, remote_id: str, call, *, operation: str):
        """Run `call(handle)`; on 404, list again in case the handle changed meanwhile."""
        handle = await self._handle(remote_id)
        if handle is not None:
            try:
                return await call(handle)
            except NotFoundError:
                handle = await self._handle(remote_id, refresh=True)
        if handle is None:
            raise NotFoundError(
                f"audio {remote_id} is not in {self.where}", provider=self.label, operation=operation, status=404
            )
        return await call(handle)

    async def download(self, remote_id: str) -> bytes:
        async def fetch(handle: str) -> bytes:
            response = await self.request(
                "GET", f"{self.audios_path}/{handle}/file", operation="download", idempotent=True
            )
            return response.content

        return await self._on_audio(remote_id, fetch, operation="download")

    # --- writing ----------------------------------------------------------------------
    async def create(self, asset: DesiredAsset, data: bytes | Payload, *, name: str | None = None) -> RemoteAsset:
        handle = name or asset.name
        fields: dict[str, Any] = {"file": "", "handle": handle}
        if asset.description:
            fields["alias"] = asset.description
        # the base64 is encoded chunk by chunk as the request goes out, never held whole
        response = await self.request(
            "POST", self.audios_path, operation="create", address=asset.address, idempotent=False,
            body=json_with_base64(fields, "file", as_payload(data)),
        )
        return await self._until_available(response.json(), asset)

    async def _until_available(self, item: Mapping[str, Any], asset: DesiredAsset) -> RemoteAsset:
        """Poll the new audio until the service has processed it; never return
        (so never let the applier record) one that is not `available`."""
        remote = await self._await_state(self._remote(item), asset.address, operation="create", address=asset.address)
        state = remote.extra.get("state")
        if state == NOT_AVAILABLE:
            await self._discard(remote, asset, "the service could not process the file (state notAvailable)")
        if state != AVAILABLE:
            await self._discard(
                remote, asset,
                f"it was still '{state}' after {self.settings.state_timeout:g} s "
                "(raise `state_timeout` if the service is just slow)",
            )
        return remote

    async def _await_state(
        self, remote: RemoteAsset, label: str, *, operation: str = "read", address: str | None = None
    ) -> RemoteAsset:
        """Poll an audio until it is `available` or `notAvailable`, up to `state_timeout`."""
        started = time.monotonic()
        interval = self.settings.state_poll_interval
        loud_at = 10.0  # each poll is logged at -v; a long wait shows without it too
        while remote.extra.get("state") not in (AVAILABLE, NOT_AVAILABLE):
            waited = time.monotonic() - started
            if waited >= self.settings.state_timeout:
                break
            level = logging.INFO
            if waited >= loud_at:
                level, loud_at = logging.WARNING, waited + 15.0
            log.log(
                level, "%s: %s: audio '%s' is '%s'; waiting for 'available' (%.0f of %g s)",
                self.label, label, remote.name, remote.extra.get("state"), waited, self.settings.state_timeout,
            )
            await asyncio.sleep(min(interval, max(0.0, self.settings.state_timeout - waited)))
            interval = min(interval * 1.5, 5.0)
            remote = self._remote(await self._get(remote.name, operation=operation, address=address))
        return remote

    async def settle(self, remote: RemoteAsset) -> RemoteAsset:
        """An audio still `avaitingFile` (an upload an apply was killed waiting
        for): wait until the service has processed it, so its duration can be
        compared and an upload of ours adopted in this run."""
        try:
            return await self._await_state(remote, f"unrecorded audio '{remote.name}'")
        except NotFoundError:
            return remote  # deleted meanwhile: the plan sees it as listed
    async def _discard(self, remote: RemoteAsset, asset: DesiredAsset, why: str) -> NoReturn:
        """Delete an upload that never became available, then fail the create."""
        try:
            await self._delete_handle(remote.name)
            outcome = "the upload was deleted and nothing was recorded"
        except ProviderError as exc:
            outcome = (
                f"deleting the upload failed too ({exc.provider_message}): delete audio "
                f"'{remote.name}' in the Loccus console before applying again"
            )
        raise ProviderError(
            f"audio '{remote.name}' (id {remote.remote_id}) did not become available: {why}; {outcome}",
            provider=self.label, operation="create", address=asset.address,
            hint="Check that the file is audio Loccus accepts (sample rate >= 8 kHz, at most 2 minutes), "
            "then apply again.",
        )

    async def find_created(self, asset: DesiredAsset, *, name: str) -> RemoteAsset | None:
        """After a lost create answer: the handle is unique in the space and was
        free when planned, so an audio with it is ours; wait until it is available."""
        for remote in await self.list():
            if remote.name == name:
                return await self._until_available({"id": remote.remote_id, "handle": remote.name,
                                                    "state": remote.extra.get("state"),
                                                    "alias": remote.description,
                                                    "duration": remote.duration,
                                                    "sampleRate": remote.sample_rate}, asset)
        return None

    async def update(self, remote_id: str, *, name: str, description: str) -> RemoteAsset:
        async def patch(handle: str) -> RemoteAsset:
            if handle != name:
                raise BadRequestError(
                    f"cannot rename audio '{handle}' to '{name}': Loccus changes only the alias in place",
                    provider=self.label, operation="update",
                )
            response = await self.request(
                "PATCH", f"{self.audios_path}/{handle}", operation="update", idempotent=True,
                json={"alias": description or None},
            )
            return self._remote(response.json())

        return await self._on_audio(remote_id, patch, operation="update")

    async def _delete_handle(self, handle: str) -> None:
        await self.request("DELETE", f"{self.audios_path}/{handle}", operation="delete", idempotent=True)

    async def delete(self, remote_id: str) -> None:
        try:
            await self._on_audio(remote_id, self._delete_handle, operation="delete")
        except NotFoundError:
            return  # already gone: the goal is reached
        self._handles.pop(remote_id, None)


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None
