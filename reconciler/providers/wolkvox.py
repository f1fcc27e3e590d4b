"""`wolkvox`: the audio library of wolkvox Manager, through its API v2.

    POST https://wv{server}.wolkvox.com/api/v2/configuration.php?api=upload_audio
         multipart form-data, header `wolkvox-token`, 1..50 files, each <= 5 MB
         -> {"code": "201", "error": null, "msg": "...", "data": [{"filename": ...}]}
    GET  https://wv{server}.wolkvox.com/api/v2/information.php?api=audio_list
         -> name, duration and creation date of each audio (keys not published)

What the API cannot do, and what that means here:

- no delete, no rename: an orphan, a renamed asset or `prune` becomes a
  `! manual` step in the plan (remove the file in wolkvox Manager);
- the remote id is the file name and an upload under an existing name
  overwrites it, so a content change is an in-place re-upload;
- the listing reports no size and no hash: adoption compares durations,
  and a file re-uploaded in the console under the same name is not seen;
- a token serves at most 2 requests at once (403 "EXCEEDS THE LIMIT OF
  SIMULTANEOUS REQUESTS PER TOKEN (2)", retried after a pause) and
  licences x 1,000 requests a day (403 "TOKEN LIMIT EXCEEDED": QuotaError).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from reconciler.errors import (
    AuthError,
    BadRequestError,
    OutcomeUnknownError,
    ProviderError,
    QuotaError,
    RateLimitError,
)
from reconciler.model import DesiredAsset, RemoteAsset
from reconciler.payload import FormFile, Payload, as_payload, multipart, size_of
from reconciler.providers.base import Capabilities
from reconciler.providers.http import HttpProvider, HttpProviderSettings, parse_retry_after
from reconciler.providers.settings import AssetSpec

# the wire (limits, endpoints, reading the answers) lives in wolkvox_wire; re-exported here
from reconciler.providers.wolkvox_wire import (  # noqa: F401
    AUDIO_EXTENSIONS,
    AUDIO_LIST,
    CONCURRENCY_PAUSE,
    MAX_FILE_BYTES,
    MAX_FILES_PER_REQUEST,
    MAX_LIST_RECORDS,
    UPLOAD,
    Unreadable,
    confirmed_files,
    count_in,
    duration_precision,
    list_item,
    list_items,
    parse_duration,
    response_code,
    split_name,
)

log = logging.getLogger(__name__)


class WolkvoxSettings(HttpProviderSettings):
    """`[providers.<instance>]` with `type = "wolkvox"`."""

    type: Literal["wolkvox"]
    server: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9-]+$",
        description="Your operation's server nomenclature: the {server} in "
        "https://wv{server}.wolkvox.com/api/v2/ (e.g. \"0102\"). Required unless base_url is set.",
    )
    timeout: float = Field(
        default=60.0, gt=0, description="Seconds to wait for an answer (wolkvox stops a call after 60 s)."
    )
    batch_max_bytes: int = Field(
        default=50_000_000, gt=0,
        description="Largest upload request in bytes: a batch of up to 50 files is split to stay under "
        "it, so each request finishes within wolkvox's 60 s.",
    )
    assets: dict[str, AssetSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs_an_endpoint(self) -> WolkvoxSettings:
        if not self.server and not self.base_url:
            raise ValueError(
                "set `server` (the {server} of https://wv{server}.wolkvox.com/api/v2/, shown in "
                "wolkvox Manager) or `base_url`"
            )
        return self


class WolkvoxProvider(HttpProvider):
    """wolkvox Manager audios: batch upload (overwrites by file name), list; no delete, no rename."""

    type_name = "wolkvox"
    settings_model = WolkvoxSettings
    default_token_env = "WOLKVOX_TOKEN"
    default_base_url = "https://wv{server}.wolkvox.com/api/v2/"
    summary = "wolkvox Manager audios (API v2): batch upload of up to 50 files; no delete or rename."
    capabilities = Capabilities(
        can_list=True,
        can_download=False,
        can_rename=False,
        can_describe=False,
        can_delete=False,
        can_overwrite=True,
        id_is_filename=True,
        unique_names=True,
        lists_sha256=False,
        lists_size=False,
        lists_description=False,
        lists_duration=True,
        max_batch=MAX_FILES_PER_REQUEST,
        max_concurrency=2,
        hard_concurrency_limit=True,
        max_bytes=MAX_FILE_BYTES,
        formats=frozenset(AUDIO_EXTENSIONS),
        console="wolkvox Manager",
        notes=(
            "remote id = file name (<name>.<ext>); uploading it again overwrites it",
            "no delete or rename API: orphans and renames leave a file to remove in wolkvox Manager",
            "at most 2 requests in flight per token; licences x 1,000 requests per token per day",
        ),
    )

    settings: WolkvoxSettings

    @property
    def base_url(self) -> str:
        if self.settings.base_url:
            return self.settings.base_url.rstrip("/") + "/"
        return f"https://wv{self.settings.server}.wolkvox.com/api/v2/"

    def auth_headers(self) -> dict[str, str]:
        return {"wolkvox-token": self.token}

    def extra_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    # --- offline checks -------------------------------------------------------
    def check_asset(self, asset: DesiredAsset) -> list[str]:
        problems = super().check_asset(asset)
        if asset.description:
            problems.append(
                "wolkvox keeps no description for an audio: remove `description` "
                "(keep the note as a TOML comment instead)"
            )
        if not asset.name.strip() or any(c in asset.name for c in '/\\:*?"<>|') or asset.name.startswith("."):
            problems.append(
                "the name becomes the wolkvox file name: it must not be empty, start with '.' or "
                'contain / \\ : * ? " < > |'
            )
        return problems

    def filename(self, asset: DesiredAsset, name: str | None = None) -> str:
        ext = asset.audio.extension if asset.audio else "wav"
        return f"{name or asset.name}.{ext}"

    # --- error bodies -------------------------------------------------------------
    @staticmethod
    def _body(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def provider_message(self, response: httpx.Response) -> str:
        body = self._body(response)
        if isinstance(body, Mapping):
            for key in ("error", "msg", "message"):
                value = body.get(key)
                if isinstance(value, str) and value.strip():
                    return self.redact(value.strip())
        return super().provider_message(response)

    def map_error(self, response: httpx.Response, *, operation: str, address: str | None) -> ProviderError | None:
        """wolkvox's documented answers; `code` in the body counts as much as the HTTP status."""
        code = response_code(self._body(response))
        status = response.status_code
        if status < 400 and (code is None or code < 400):
            return None
        status = status if status >= 400 else code  # an error told only in the body
        message = self.provider_message(response)
        upper = message.upper()
        common = {"provider": self.label, "operation": operation, "address": address, "status": status}
        where = f"[providers.{self.instance}]"
        if "SIMULTANEOUS" in upper:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return RateLimitError(
                message, retry_after=CONCURRENCY_PAUSE if retry_after is None else retry_after,
                hint="Another program is using the same wolkvox token (at most 2 requests at once); "
                "reconciler waited and retried. Give that program its own token, or run it later.",
                **common,
            )
        if "TOKEN LIMIT EXCEEDED" in upper:
            return QuotaError(
                message,
                hint="The token's daily quota is spent (licences x 1,000 requests a day). Apply again "
                f"tomorrow, or create another token in wolkvox Manager and point `token_env` under {where} at it.",
                **common,
            )
        if status == 401 or "ENTER THE WOLKVOX-TOKEN" in upper:
            return AuthError(
                message, hint=f"The wolkvox-token header was empty: check {self.token_env}.", **common
            )
        if "VALIDATE TOKEN" in upper:
            return AuthError(
                message,
                hint=f"wolkvox refused the token in {self.token_env}: copy it again from wolkvox Manager "
                f"(Configuration > Integrations > Tokens) and check `server` under {where}.",
                **common,
            )
        if "DOES NOT EXIST" in upper:
            return BadRequestError(
                message,
                hint=f"The endpoint does not offer this API: check `server` / `base_url` under {where}.",
                **common,
            )
        if "PARAMETERS ARE REQUIRED" in upper:
            return BadRequestError(message, hint="wolkvox found the request incomplete.", **common)
        return self.error_for_status(status, message, response, operation=operation, address=address)

    def _unreadable(self, operation: str, what: str, address: str | None = None) -> ProviderError:
        return BadRequestError(
            f"unexpected answer: {what}", provider=self.label, operation=operation, address=address,
            hint="wolkvox answered in a shape reconciler does not understand; run with -v and report it.",
        )

    # --- list -------------------------------------------------------------------------
    async def list(self) -> list[RemoteAsset]:
        """Every audio in one request (wolkvox does not paginate; it returns up to 60,000)."""
        self.warnings = []
        path, params = AUDIO_LIST
        response = await self.request("GET", path, params=params, operation="list", idempotent=True)
        try:
            items = list_items(self._body(response))
        except Unreadable as exc:
            raise self._unreadable("list", str(exc)) from None
        assets: list[RemoteAsset] = []
        no_duration: list[str] = []
        no_date: list[str] = []
        for item in items:
            try:
                asset = list_item(item)
            except Unreadable as exc:
                # without the names, a declared name would look free and be uploaded over a file we do not own
                raise self._unreadable("list", str(exc)) from None
            if asset.duration is None:
                no_duration.append(asset.remote_id)
            if "created" not in asset.extra:
                no_date.append(asset.remote_id)
            assets.append(asset)
        self._warn_missing(no_duration, len(assets), "duration", items,
                           "an existing file of a declared name cannot be compared, so it is not adopted")
        self._warn_missing(no_date, len(assets), "creation date", items, "it is kept for information only")
        if len(assets) >= MAX_LIST_RECORDS:
            self.warnings.append(
                f"instance '{self.instance}': wolkvox returned {len(assets):,} audios, its per-request "
                "maximum: the listing may be cut short, and a declared name missing from it would be "
                "uploaded over an existing file"
            )
        return assets

    def _warn_missing(self, ids: list[str], total: int, field: str, items: list[Mapping[str, Any]], why: str) -> None:
        if not ids:
            return
        keys = sorted({str(k) for i in items for k in i})
        self.warnings.append(
            f"instance '{self.instance}': wolkvox audio_list gave no recognisable {field} for "
            f"{len(ids)} of {total} audio(s) (e.g. {ids[0]}; keys seen: {', '.join(keys)}); {why}"
        )

    # --- upload ---------------------------------------------------------------------------
    async def create(self, asset: DesiredAsset, data: bytes | Payload, *, name: str | None = None) -> RemoteAsset:
        filename = self.filename(asset, name)
        [result] = await self._upload([(asset, data, filename)], operation="create", idempotent=False)
        if isinstance(result, ProviderError):
            raise result
        return result

    async def overwrite(self, remote_id: str, asset: DesiredAsset, data: bytes | Payload) -> RemoteAsset:
        """Upload again under the same file name: wolkvox replaces the bytes and the id stays."""
        [result] = await self.overwrite_batch([(remote_id, asset, data)])
        if isinstance(result, ProviderError):
            raise result
        return result

    async def overwrite_batch(
        self, items: list[tuple[str, DesiredAsset, bytes | Payload]]
    ) -> list[RemoteAsset | ProviderError]:
        """Re-upload up to 50 files per request under their file names. Repeating
        an overwrite is harmless, so a lost answer is simply retried."""
        for remote_id, asset, _ in items:
            filename = self.filename(asset)
            if filename != remote_id:
                log.warning(
                    "%s: %s is now %s: uploaded as %s; %s stays in wolkvox Manager until removed there",
                    self.label, asset.address, filename.rsplit(".", 1)[-1].upper(), filename, remote_id,
                )
        results: list[RemoteAsset | ProviderError] = []
        for chunk in self._chunks([(asset, data) for _, asset, data in items]):
            try:
                results += await self._upload(
                    [(a, d, self.filename(a)) for a, d in chunk], operation="overwrite", idempotent=True
                )
            except ProviderError as exc:
                results += [exc] * len(chunk)
        return results

    async def create_batch(self, items: list[tuple[DesiredAsset, bytes | Payload]]) -> list[RemoteAsset | ProviderError]:
        """Upload up to 50 files per request (fewer when `batch_max_bytes` would be passed);
        one result per item, in order. A file the answer does not confirm is an error of its own."""
        results: list[RemoteAsset | ProviderError] = []
        for chunk in self._chunks(items):
            try:
                results += await self._upload_resolving([(a, d, self.filename(a)) for a, d in chunk])
            except ProviderError as exc:  # the whole request failed: every file of it did
                results += [exc] * len(chunk)
        return results

    def batch_byte_budget(self) -> int | None:
        return self.settings.batch_max_bytes

    def _chunks(self, items: list[tuple[DesiredAsset, bytes | Payload]]) -> list[list[tuple[DesiredAsset, bytes | Payload]]]:
        chunks: list[list[tuple[DesiredAsset, bytes | Payload]]] = []
        size = 0
        for item in items:
            if not chunks or len(chunks[-1]) >= MAX_FILES_PER_REQUEST or size + size_of(item[1]) > self.settings.batch_max_bytes:
                chunks.append([])
                size = 0
            chunks[-1].append(item)
            size += size_of(item[1])
        return chunks

    async def _upload_resolving(
        self, files: list[tuple[DesiredAsset, bytes | Payload, str]], attempts: int | None = None
    ) -> list[RemoteAsset | ProviderError]:
        """Upload; when the answer is lost, list to see which files landed and send only the rest."""
        if attempts is None:  # as many as an idempotent request gets
            attempts = self.settings.max_retries + 1
        results: dict[str, RemoteAsset | ProviderError] = {}
        pending = files
        for attempt in range(attempts):
            try:
                answered = await self._upload(pending, operation="create", idempotent=False)
                results.update(zip((f for _, _, f in pending), answered, strict=True))
                break
            except OutcomeUnknownError as exc:
                failure: ProviderError = exc
                try:
                    listed = {r.remote_id for r in await self.list()}
                except ProviderError as list_exc:
                    failure, listed = list_exc, None
            except ProviderError as exc:
                failure, listed = exc, None
            for asset, _, filename in pending:
                if listed is not None and filename in listed:
                    results[filename] = self._created(asset, filename)  # it had landed
            if listed is None or attempt == attempts - 1:
                if not results:
                    raise failure  # nothing settled: the whole request failed
                results.update({f: failure for _, _, f in pending if f not in results})
            pending = [p for p in pending if p[2] not in results]
            if not pending:
                break
            log.info("%s: upload answer lost; %d file(s) to send again", self.label, len(pending))
        return [results[f] for _, _, f in files]

    def _created(self, asset: DesiredAsset, filename: str) -> RemoteAsset:
        stem, ext = split_name(filename)
        return RemoteAsset(
            remote_id=filename,
            name=stem,
            size=asset.size,
            sha256=asset.sha256,
            duration=asset.audio.duration if asset.audio else None,
            format=ext,
        )

    async def _upload(
        self, files: list[tuple[DesiredAsset, bytes | Payload, str]], *, operation: str, idempotent: bool
    ) -> list[RemoteAsset | ProviderError]:
        """One POST with every file under its own key (file1, file2, ...)."""
        assert 0 < len(files) <= MAX_FILES_PER_REQUEST
        address = files[0][0].address if len(files) == 1 else None
        # streamed from the files as it is sent: a request holds a chunk, not 50 files
        body = multipart([], [
            FormFile(f"file{i}", filename, asset.audio.mime_type if asset.audio else "application/octet-stream",
                     as_payload(data))
            for i, (asset, data, filename) in enumerate(files, start=1)
        ])
        path, params = UPLOAD
        response = await self.request(
            "POST", path, params=params, body=body, operation=operation, address=address, idempotent=idempotent
        )
        body = self._body(response)
        if not isinstance(body, Mapping):
            raise self._unreadable(operation, f"upload_audio answered {response.text[:200]!r}", address)
        confirmed = confirmed_files(body)
        if confirmed is None:
            # success without the list of files: only "all of them" can be read from it
            if count_in(body.get("msg")) == len(files):
                confirmed = {f.lower(): f for _, _, f in files}
            else:
                raise OutcomeUnknownError(
                    f"upload_audio did not say which files it stored ({body.get('msg')!r})",
                    provider=self.label, operation=operation, address=address,
                )
        results: list[RemoteAsset | ProviderError] = []
        reason = self.provider_message(response) if body.get("error") else None
        for asset, _, filename in files:
            stored = confirmed.get(filename.lower())
            if stored is not None:
                results.append(self._created(asset, stored))
                continue
            results.append(BadRequestError(
                f"wolkvox did not store {filename}" + (f": {reason}" if reason else " (not in its list of uploaded files)"),
                provider=self.label, operation=operation, address=asset.address, status=response.status_code,
                hint="The other files of the request were stored. Check the file in wolkvox Manager, then apply again.",
            ))
        return results

    async def find_created(self, asset: DesiredAsset, *, name: str) -> RemoteAsset | None:
        """The file name is the identity: after a lost answer, look for it."""
        filename = self.filename(asset, name)
        for remote in await self.list():
            if remote.remote_id == filename:
                return self._created(asset, filename)
        return None
