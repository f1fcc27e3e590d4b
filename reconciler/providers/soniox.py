"""`soniox`: the Soniox Files API — evaluation and reference audio for speech
recognition, kept beside the transcription jobs that read it.

    POST   /v1/files                multipart `file` (+ `client_reference_id`) → 201 file
    GET    /v1/files?limit=&cursor= {files: [...], next_page_cursor}
    GET    /v1/files/{id}           one file's metadata
    DELETE /v1/files/{id}           204; 404 `file_not_found` once it is gone

A file has an id (uuid), a filename, a size and a `client_reference_id`, and
nothing else: no download, no rename, no description, and filenames may
repeat. So a name change is a replace (create the new file, then delete the
old one) and content drift is seen by size only.

`client_reference_id` carries reconciler's owner marker,
`reconciler:<address>:<sha256 prefix>`. It makes the lookup after a lost
create answer exact (`find_created`), lets the planner adopt a file whose
lockfile record a crash lost, and keeps `prune` away from files reconciler
made for another lockfile. A file a person uploads has no marker and is
never taken for ours.

Errors come as `{status_code, error_type, message, validation_errors[],
request_id, more_info}`; `error_type` decides the project error class.
`limit_exceeded` covers both the per-minute request rate (retried with
backoff) and the organisation's total file count / size caps (a QuotaError,
not retried: only deleting files or a higher limit helps). The seed says
the message tells which limit was hit, so that is where we look.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

import httpx

from reconciler.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderError,
    QuotaError,
    RateLimitError,
    ServerError,
)
from reconciler.model import DesiredAsset, OwnerMarker, RemoteAsset
from reconciler.payload import FormFile, Payload, as_payload, multipart
from reconciler.providers.base import Capabilities
from reconciler.providers.http import HttpProvider, HttpProviderSettings, parse_retry_after

log = logging.getLogger(__name__)

MARKER_PREFIX = "reconciler:"
MARKER_SHA256_CHARS = 32  # 128 bits of the content hash: exact enough to adopt by
CLIENT_REFERENCE_MAX = 256  # characters, per the API
PAGE_LIMIT = 1000  # the API's maximum `limit`: a listing costs one request per 1,000 files
MAX_FILE_BYTES = 1 << 30  # per-file upload cap, 1 GiB
MAX_PAGES = 100_000  # a server that hands out cursors forever is a bug, not a listing



class InvalidCursorError(BadRequestError):
    """`invalid_cursor`: the API refused a listing's page cursor."""


class SonioxSettings(HttpProviderSettings):
    """`[providers.<instance>]` with `type = "soniox"`."""

    type: Literal["soniox"]


def owner_marker(address: str, sha256: str) -> str:
    """The `client_reference_id` reconciler uploads with."""
    return f"{MARKER_PREFIX}{address}:{sha256[:MARKER_SHA256_CHARS]}"


def parse_marker(value: Any) -> OwnerMarker | None:
    """The marker in a `client_reference_id`, or None when it is not ours."""
    if not isinstance(value, str) or not value.startswith(MARKER_PREFIX):
        return None
    address, sep, prefix = value[len(MARKER_PREFIX):].rpartition(":")
    if not sep or not address or len(prefix) != MARKER_SHA256_CHARS:
        return None
    if any(c not in "0123456789abcdef" for c in prefix):
        return None
    return OwnerMarker(address=address, sha256_prefix=prefix)


# limit_exceeded messages, by which limit they name; the rest is the request rate
QUOTA_WORDS = (
    ("file count", "total file count"),
    ("number of files", "total file count"),
    ("file size", "total file size"),
    ("storage", "total file size"),
)


def which_quota(message: str) -> str | None:
    """'total file count' / 'total file size' when a limit_exceeded message
    names an organisation cap; None for the per-minute request rate."""
    lowered = message.lower()
    if "per minute" in lowered or "rate" in lowered.split():
        return None
    for words, cap in QUOTA_WORDS:
        if words in lowered:
            return cap
    return None


class SonioxProvider(HttpProvider):
    """The Soniox Files API (https://api.soniox.com, Bearer API key)."""

    type_name = "soniox"
    settings_model = SonioxSettings
    default_token_env = "SONIOX_API_KEY"
    default_base_url = "https://api.soniox.com"
    summary = "Soniox Files API: reference audio for speech recognition; no rename, no download."
    capabilities = Capabilities(
        can_list=True,
        can_download=False,
        can_rename=False,
        can_describe=False,
        can_delete=True,
        can_overwrite=False,
        unique_names=False,
        marks_owner=True,
        lists_sha256=False,
        lists_size=True,
        lists_description=False,
        lists_duration=False,
        max_batch=1,
        max_concurrency=4,
        max_bytes=MAX_FILE_BYTES,
        notes=(
            "no rename, no description: a name change is a replace (new file first, then the old one deleted)",
            "no download: remote content drift is detected by size",
            "client_reference_id carries reconciler's marker (address + sha256 prefix)",
        ),
    )

    settings: SonioxSettings

    # --- offline checks ---------------------------------------------------------
    def check_asset(self, asset: DesiredAsset) -> list[str]:
        problems = super().check_asset(asset)
        if asset.description:
            problems.append(
                "`description` cannot be kept: a Soniox file has only a filename and a "
                "client_reference_id (which reconciler uses for its ownership marker); remove it"
            )
        marker = owner_marker(asset.address, asset.sha256)
        if len(marker) > CLIENT_REFERENCE_MAX:
            spare = CLIENT_REFERENCE_MAX - len(marker) + len(asset.address)
            problems.append(
                f"the address '{asset.address}' is {len(asset.address)} characters; reconciler's marker "
                f"in client_reference_id (at most {CLIENT_REFERENCE_MAX}) leaves room for {spare}: "
                "use a shorter key or instance name"
            )
        return problems

    # --- wire format ----------------------------------------------------------------
    def _remote(self, item: Mapping[str, Any]) -> RemoteAsset:
        size = item.get("size")
        if isinstance(size, str) and size.isdigit():
            size = int(size)
        reference = item.get("client_reference_id")
        extra = {k: item[k] for k in ("created_at", "client_reference_id") if item.get(k) is not None}
        return RemoteAsset(
            remote_id=str(item["id"]),
            name=str(item.get("filename") or ""),
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            owner_marker=parse_marker(reference),
            extra=extra,
        )

    def _body(self, response: httpx.Response, operation: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ServerError(
                f"the answer is not JSON: {self.redact(response.text[:200])!r}",
                provider=self.label, operation=operation, status=response.status_code,
            ) from None

    # --- operations -------------------------------------------------------------------
    async def list(self) -> list[RemoteAsset]:
        """Every file, following `next_page_cursor` to the end. A cursor the API
        rejects mid-way (`invalid_cursor`: it expired while we paged) restarts
        the listing once from the top."""
        found: dict[str, RemoteAsset] = {}
        cursor: str | None = None
        seen: set[str] = set()
        restarted = False
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": PAGE_LIMIT}
            if cursor:
                params["cursor"] = cursor
            try:
                response = await self.request("GET", "v1/files", operation="list", idempotent=True, params=params)
            except InvalidCursorError:
                if cursor is None or restarted:
                    raise
                log.info("%s: the listing cursor was rejected; listing again from the start", self.label)
                restarted, cursor = True, None
                found.clear()
                seen.clear()
                continue
            body = self._body(response, "list")
            files = body.get("files") if isinstance(body, Mapping) else None
            if not isinstance(files, list):
                raise ServerError(
                    "the file listing has no `files` array", provider=self.label, operation="list",
                    status=response.status_code,
                )
            for item in files:
                if isinstance(item, Mapping) and item.get("id"):
                    remote = self._remote(item)
                    found.setdefault(remote.remote_id, remote)  # a file seen twice across pages counts once
            cursor = body.get("next_page_cursor") or None
            if cursor is None:
                return list(found.values())
            if cursor in seen:
                raise ServerError(
                    "the listing returned a cursor it had already given; stopping rather than loop",
                    provider=self.label, operation="list",
                )
            seen.add(cursor)
        raise ServerError(f"the listing did not end after {MAX_PAGES} pages", provider=self.label, operation="list")

    async def read(self, remote_id: str) -> RemoteAsset:
        """One file's metadata (GET /v1/files/{id}); NotFoundError once it is gone."""
        response = await self.request("GET", f"v1/files/{remote_id}", operation="read", idempotent=True)
        body = self._body(response, "read")
        if not isinstance(body, Mapping) or not body.get("id"):
            raise ServerError("the file has no `id`", provider=self.label, operation="read", status=response.status_code)
        return self._remote(body)

    async def create(self, asset: DesiredAsset, data: bytes | Payload, *, name: str | None = None) -> RemoteAsset:
        filename = name or asset.name
        marker = owner_marker(asset.address, asset.sha256)
        mime = asset.audio.mime_type if asset.audio else "application/octet-stream"
        payload = as_payload(data)
        # streamed from the file as it is sent
        body = multipart([("client_reference_id", marker)], [FormFile("file", filename, mime, payload)])
        response = await self.request(
            "POST", "v1/files", operation="create", address=asset.address, idempotent=False, body=body,
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping) or not body.get("id"):
            # accepted, but the answer names no file: the listing will tell (find_created)
            raise OutcomeUnknownError(
                "the upload was accepted but its answer has no file `id`", provider=self.label,
                operation="create", address=asset.address, status=response.status_code,
            )
        # the 201 body may leave client_reference_id out (the seed's example does)
        sent = {"filename": filename, "size": payload.size, "client_reference_id": marker}
        return self._remote({**sent, **{k: v for k, v in body.items() if v is not None}})

    async def delete(self, remote_id: str) -> None:
        try:
            await self.request("DELETE", f"v1/files/{remote_id}", operation="delete", idempotent=True)
        except NotFoundError:
            pass  # already gone: the goal is reached

    async def find_created(self, asset: DesiredAsset, *, name: str) -> RemoteAsset | None:
        """The file an upload with a lost answer made, if it landed: the one
        whose client_reference_id is this upload's marker, with this filename
        and size. A person's file of the same name and size has no marker."""
        marker = OwnerMarker(address=asset.address, sha256_prefix=asset.sha256[:MARKER_SHA256_CHARS])
        matches = [
            r for r in await self.list()
            if r.owner_marker == marker and r.name == name and r.size in (None, asset.size)
        ]
        if not matches:
            return None
        # two would mean an earlier lost upload landed too; both hold the same bytes
        return min(matches, key=lambda r: (str(r.extra.get("created_at", "")), r.remote_id))

    # --- errors -------------------------------------------------------------------------
    def map_error(self, response: httpx.Response, *, operation: str, address: str | None) -> ProviderError | None:
        status = response.status_code
        if status < 400:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping) or not isinstance(body.get("error_type"), str):
            return self.error_for_status(status, self.provider_message(response), response, operation=operation, address=address)
        error_type = body["error_type"]
        message = self.redact(str(body.get("message") or response.reason_phrase))
        details = [
            f"{v.get('location', '?')}: {v.get('message', '')}".strip()
            for v in body.get("validation_errors") or []
            if isinstance(v, Mapping)
        ]
        if details:
            message += " [" + "; ".join(self.redact(d) for d in details) + "]"
        if body.get("request_id"):
            message += f" (request_id {body['request_id']})"
        common = {"provider": self.label, "operation": operation, "address": address, "status": status}
        return self._error_for_type(error_type, message, response, common)

    def _error_for_type(self, error_type: str, message: str, response: httpx.Response, common: dict) -> ProviderError:
        status = common["status"]
        if error_type == "unauthenticated":
            return AuthError(
                message, hint=f"Check the API key in {self.token_env} for instance '{self.instance}' "
                "(keys are made in the Soniox Console).", **common,
            )
        if error_type == "file_not_found":
            return NotFoundError(message, **common)
        if error_type == "invalid_cursor":
            return InvalidCursorError(
                message, hint="The API rejected the listing's page cursor twice; run the command again.", **common
            )
        if error_type == "invalid_request":
            return BadRequestError(
                message, hint="Soniox rejected the request; the bracketed part names each field and why "
                "(a file over the per-file limit, a filename or client_reference_id too long).", **common,
            )
        if error_type == "limit_exceeded":
            cap = which_quota(message)
            if cap is not None:
                return QuotaError(
                    message,
                    hint=f"The organisation's {cap} cap on Soniox is reached; retrying cannot help. "
                    "Delete files you no longer need (`reconciler plan` lists the unmanaged ones; "
                    f"`prune = true` under [providers.{self.instance}] deletes those reconciler did not "
                    "upload), or request a higher limit in the Soniox Console. A replace uploads the new "
                    "file before it deletes the old one, so it needs room for one more.",
                    **common,
                )
            return RateLimitError(
                message, retry_after=parse_retry_after(response.headers.get("Retry-After")),
                hint="Soniox's per-minute request limit was hit and the retries ran out; wait a minute "
                "and run again, or lower --parallelism.", **common,
            )
        if error_type == "internal_error" or status >= 500:
            return ServerError(message, hint="Soniox failed; retrying later usually helps. Quote the "
                               "request_id to support@soniox.com if it persists.", **common)
        return self.error_for_status(status, message, response, operation=common["operation"], address=common["address"])
