"""`exolve`: the Exolve Media API — the audio library of one Exolve application.

    POST {base_url}/media/v1/{Upload|GetList|GetInfo|Download|Update|Delete}
    Authorization: Bearer <application API key>     (EXOLVE_API_KEY)

Every method takes and returns JSON. uint64 fields (`resource_id`, `file_id`,
`size`, `offset`) come back as JSON strings; we send ids as strings too and
accept either. The remote id is `resource_id`. Names are unique per
application, so a replace goes through a temporary name (the planner picks
that from `unique_names` + `can_rename`). Upload has no idempotency key: a
lost answer is settled by looking the name up (GetList's `name` filter) and
comparing the bytes (Download), never by uploading twice.

Errors are `{"error": "..."}`:

    401 malformed token, 403 invalid token,
    400 failed to parse token                      → AuthError
    400 error Save media service: fileName is exist → RemoteConflictError
    400 other validation messages                   → BadRequestError
    500 Application [ID] does not own resource [N]  → NotFoundError (not in this application)
    404 (a wrong URL, never a missing file)          → BadRequestError naming base_url
    429, other 5xx                                   → RateLimitError, ServerError (retried)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import httpx
from pydantic import Field

from reconciler.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    ProviderError,
    RemoteConflictError,
    ServerError,
)
from reconciler.model import DesiredAsset, RemoteAsset
from reconciler.payload import Payload, StreamedBody, as_payload, json_with_base64
from reconciler.providers.base import Capabilities
from reconciler.providers.http import HttpProvider, HttpProviderSettings
from reconciler.providers.settings import AssetSpec

log = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024  # the seed's "5MB", read as MiB
FULL_NAME_MAX = 128  # runes of `full_name` = name + "." + extension
NAME_MAX = FULL_NAME_MAX - len(".wav")  # both extensions are three letters
FILE_TYPES = {"ivr": "FILE_TYPE_IVR", "premedia": "FILE_TYPE_PREMEDIA"}
FILE_TYPE_NUMBERS = {200: "ivr", 201: "premedia", "FILE_TYPE_IVR": "ivr", "FILE_TYPE_PREMEDIA": "premedia"}
# GetList ordered by upload date, oldest first: new uploads land on the last page,
# so paging by offset does not skip records while someone uploads
ORDER_BY_DATE = {"order_field": "ORDER_FIELD_DATE", "order_direction": "ORDER_DIRECTION_ASC"}


class ExolveAsset(AssetSpec):
    """`[providers.<instance>.assets.<key>]` for exolve."""

    file_type: Literal["ivr", "premedia"] = Field(
        default="ivr",
        description="FILE_TYPE_IVR (menu prompts) or FILE_TYPE_PREMEDIA (played before the "
        "operator answers). Set at upload; the API cannot change it afterwards.",
    )


class ExolveSettings(HttpProviderSettings):
    """`[providers.<instance>]` with `type = "exolve"`."""

    type: Literal["exolve"]
    page_size: int = Field(
        default=100, ge=1, le=10_000,
        description="`limit` asked of each GetList page (the service may answer fewer).",
    )
    assets: dict[str, ExolveAsset] = Field(default_factory=dict)


def _uint(value: Any) -> int | None:
    """A uint64 the API sent as a string (or, tolerated, a number)."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ExolveProvider(HttpProvider):
    type_name = "exolve"
    settings_model = ExolveSettings
    default_token_env = "EXOLVE_API_KEY"
    default_base_url = "https://api.exolve.ru"
    summary = "Exolve Media API: the IVR / premedia audio library of one Exolve application."
    capabilities = Capabilities(
        can_list=True,
        can_download=True,
        can_rename=True,
        can_describe=True,
        can_delete=True,
        can_overwrite=False,
        unique_names=True,
        lists_sha256=False,
        lists_size=True,
        lists_description=True,
        # whole seconds only: kept in `extra`, not compared
        lists_duration=False,
        max_batch=1,
        max_concurrency=4,
        max_bytes=MAX_BYTES,
        formats=frozenset({"mp3", "wav"}),
        name_max_length=NAME_MAX,
        description_max_length=512,
        notes=(
            "remote id = resource_id (a uint64, as a string)",
            "names are unique per application: replace uploads under a temporary name, "
            "deletes the old file, then renames",
            "content is compared by size when listing, by sha256 (Download) on adopt and "
            "with --verify-content",
            "file_type is fixed at upload",
        ),
    )

    settings: ExolveSettings

    # --- offline checks -------------------------------------------------------------
    def check_asset(self, asset: DesiredAsset) -> list[str]:
        ext = asset.audio.extension if asset.audio else "wav"
        why = f" (Exolve allows {FULL_NAME_MAX} characters for the file name, name + '.{ext}')"
        return [p + why if p.startswith("name is ") else p for p in super().check_asset(asset)]

    # --- errors -----------------------------------------------------------------------
    def map_error(self, response: httpx.Response, *, operation: str, address: str | None) -> ProviderError | None:
        status = response.status_code
        if status < 400:
            return None
        message = self.provider_message(response)
        common: dict[str, Any] = {"provider": self.label, "operation": operation, "address": address, "status": status}
        lowered = message.lower()
        if status in (401, 403) or (status == 400 and "parse token" in lowered):
            return AuthError(
                message,
                hint=f"Check the API key in {self.token_env} for instance '{self.instance}': it must be "
                "the key of the Exolve application that holds the audio.",
                **common,
            )
        if "filename is exist" in lowered:
            return RemoteConflictError(
                message,
                hint="Names are unique per Exolve application and another file already has this "
                "name (perhaps uploaded in the console): rename or delete that file, or give the "
                "asset another `name`. Then run `reconciler plan` again.",
                **common,
            )
        if "does not own resource" in lowered:
            return NotFoundError(
                message,
                hint="The file is not in this application: it was deleted, or it belongs to another "
                f"application's key. `reconciler plan` shows what is left under {self.token_env}.",
                **common,
            )
        if status == 404:
            return BadRequestError(
                message,
                hint=f"The Media API has no such URL: check `base_url` under "
                f"[providers.{self.instance}] (default {self.default_base_url}).",
                **common,
            )
        return self.error_for_status(status, message, response, operation=operation, address=address)

    # --- wire format ----------------------------------------------------------------------
    async def call(self, method: str, body: Mapping[str, Any] | StreamedBody, *, operation: str,
                   address: str | None = None, idempotent: bool) -> dict[str, Any]:
        """POST one Media API method; the decoded JSON object it answers."""
        content = {"body": body} if isinstance(body, StreamedBody) else {"json": dict(body)}
        response = await self.request(
            "POST", f"media/v1/{method}", operation=operation, address=address,
            idempotent=idempotent, **content,
        )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ServerError(
                f"{method} answered {response.status_code} with a body that is not a JSON object",
                provider=self.label, operation=operation, address=address, status=response.status_code,
            )
        return data

    def _remote(self, record: Mapping[str, Any]) -> RemoteAsset:
        file_type = record.get("file_type")
        extra: dict[str, Any] = {"file_type": FILE_TYPE_NUMBERS.get(file_type, str(file_type))}
        for key in ("file_id", "duration", "date_upload"):
            if record.get(key) is not None:
                extra[key] = record[key]
        extension = str(record.get("extension") or "").lower() or None
        return RemoteAsset(
            remote_id=str(record["resource_id"]),
            name=str(record.get("name") or ""),
            description=str(record.get("description") or ""),
            size=_uint(record.get("size")),
            format=extension,
            extra=extra,
        )

    def _records(self, data: Mapping[str, Any], operation: str) -> list[RemoteAsset]:
        # protojson may omit an empty repeated field: a missing list is an empty one
        records = data.get("media_records") or []
        if not isinstance(records, list):
            raise ServerError(
                "media_records is not a list", provider=self.label, operation=operation,
            )
        return [self._remote(r) for r in records if isinstance(r, dict) and r.get("resource_id") is not None]

    # --- operations ---------------------------------------------------------------------------
    async def list(self) -> list[RemoteAsset]:
        return await self._list_pages({})

    async def _list_pages(self, filters: Mapping[str, Any], *, address: str | None = None) -> list[RemoteAsset]:
        """GetList page by page until a short page.

        The service's own cap on `limit` is undocumented, so a page shorter than
        asked is only taken as the last when it is also shorter than a page the
        service has already proved it serves; otherwise one more page is asked
        (it comes back empty at the end).
        """
        limit = self.settings.page_size
        offset = 0
        served = 0  # the largest page seen: the service's page size, as far as we know
        seen: dict[str, RemoteAsset] = {}
        while True:
            body = {**filters, "order_list": ORDER_BY_DATE, "limit": limit, "offset": str(offset)}
            data = await self.call("GetList", body, operation="list", address=address, idempotent=True)
            page = self._records(data, "list")
            for remote in page:
                seen.setdefault(remote.remote_id, remote)
            if not page or (len(page) < limit and len(page) < served):
                return list(seen.values())
            offset += len(page)
            # a full page, or a short one that may be the service's cap: ask once more
            served = max(served, len(page))

    async def get_info(self, remote_ids: Iterable[str], *, address: str | None = None) -> list[RemoteAsset]:
        """GetInfo: the records of these ids that the application holds."""
        ids = [str(i) for i in remote_ids]
        if not ids:
            return []
        data = await self.call("GetInfo", {"resource_ids": ids}, operation="read", address=address, idempotent=True)
        return self._records(data, "read")

    def _full_name(self, asset: DesiredAsset, name: str) -> str:
        return f"{name}.{asset.audio.extension if asset.audio else 'wav'}"

    async def create(self, asset: DesiredAsset, data: bytes | Payload, *, name: str | None = None) -> RemoteAsset:
        target = name or asset.name
        spec = asset.spec if isinstance(asset.spec, ExolveAsset) else None
        file_type = FILE_TYPES[spec.file_type if spec else "ivr"]
        # the base64 is encoded chunk by chunk as the request goes out, never held whole
        body = json_with_base64(
            {"file": "", "full_name": self._full_name(asset, target), "file_type": file_type}, "file", as_payload(data)
        )
        try:
            record = await self.call("Upload", body, operation="create", address=asset.address, idempotent=False)
        except RemoteConflictError:
            # the name is taken: by these very bytes (an upload of ours whose answer or
            # record was lost) it is ours to take; by anything else it is a conflict
            found = await self.find_created(asset, name=target)
            if found is None:
                raise
            log.info("%s: %s is already uploaded as %s; taking it", self.label, asset.address, found.remote_id)
            return found
        remote = self._remote(record)
        if asset.description:
            # Upload takes no description: set it at once (Update is idempotent), so what
            # the lockfile records is what the application holds, even under a temporary
            # name. Should this fail, the upload is not recorded; the next plan adopts it
            # by sha256 (or, under a temporary name, create takes it back below).
            await self.update(remote.remote_id, name=remote.name or target, description=asset.description,
                              address=asset.address)
            remote = remote.model_copy(update={"description": asset.description})
        return remote

    async def find_created(self, asset: DesiredAsset, *, name: str) -> RemoteAsset | None:
        """The file named `name` holding exactly these bytes (size, then sha256 by Download)."""
        for remote in await self._list_pages({"name": name}, address=asset.address):
            if remote.name != name or (remote.size is not None and remote.size != asset.size):
                continue
            data = await self.download(remote.remote_id, address=asset.address)
            if hashlib.sha256(data).hexdigest() == asset.sha256:
                if asset.description and remote.description != asset.description:
                    await self.update(remote.remote_id, name=name, description=asset.description,
                                      address=asset.address)
                    remote = remote.model_copy(update={"description": asset.description})
                return remote
        return None

    async def update(self, remote_id: str, *, name: str, description: str,
                     address: str | None = None) -> RemoteAsset:
        body = {"resource_id": str(remote_id), "name": name, "description": description}
        await self.call("Update", body, operation="update", address=address, idempotent=True)
        return RemoteAsset(remote_id=str(remote_id), name=name, description=description)

    async def delete(self, remote_id: str) -> None:
        try:
            await self.call("Delete", {"resource_ids": [str(remote_id)]}, operation="delete", idempotent=True)
        except NotFoundError:
            pass  # already gone: the goal is reached

    async def download(self, remote_id: str, *, address: str | None = None) -> bytes:
        data = await self.call("Download", {"resource_id": str(remote_id)}, operation="download",
                               address=address, idempotent=True)
        try:
            return base64.b64decode(data.get("file") or "", validate=False)
        except (binascii.Error, ValueError):
            raise ServerError(
                f"Download of {remote_id} answered a file that is not base64", provider=self.label,
                operation="download", address=address,
            ) from None
