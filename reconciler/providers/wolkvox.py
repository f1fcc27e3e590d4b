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

import json
import logging
import re
from collections.abc import Iterable, Mapping
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
from reconciler.providers.base import Capabilities
from reconciler.providers.http import HttpProvider, HttpProviderSettings, parse_retry_after
from reconciler.providers.settings import AssetSpec

log = logging.getLogger(__name__)

MAX_FILES_PER_REQUEST = 50
MAX_FILE_BYTES = 5_000_000  # "5MB"; the decimal reading is the safe one
MAX_LIST_RECORDS = 60_000  # "Maximum records that can be downloaded per request"
# a 403 for simultaneous use carries no Retry-After: wait this long before the retry
CONCURRENCY_PAUSE = 1.0
AUDIO_EXTENSIONS = ("wav", "mp3")

UPLOAD = ("configuration.php", {"api": "upload_audio"})
AUDIO_LIST = ("information.php", {"api": "audio_list"})

# the listing's keys are not published: accept the plausible spellings
# (compared after lower-casing and dropping '_', '-' and spaces)
NAME_KEYS = ("name", "audioname", "filename", "file", "audio", "nombre", "nombreaudio", "audiofile", "archivo")
DURATION_KEYS = ("duration", "audioduration", "duracion", "length", "time", "seconds", "durationseconds", "durationsec")
CREATED_KEYS = (
    "creationdate", "createdat", "datecreation", "createdate", "created", "date", "fechacreacion",
    "fecha", "uploaddate", "dateupload", "creation",
)
EXTENSION_KEYS = ("extension", "ext", "format", "type")
LIST_CONTAINER_KEYS = ("data", "audios", "audio_list", "list", "items", "records", "result")


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


def _norm(key: str) -> str:
    return re.sub(r"[\s_\-]", "", str(key)).lower()


def _pick(item: Mapping[str, Any], keys: Iterable[str]) -> tuple[str | None, Any]:
    """(original key, value) of the first plausible key present with a value."""
    by_norm = {_norm(k): k for k in item}
    for key in keys:
        original = by_norm.get(key)
        if original is not None and item[original] not in (None, ""):
            return original, item[original]
    return None, None


def parse_duration(value: Any) -> float | None:
    """Seconds from a number, "3.2", "3.2 s", "00:00:03" or "01:05.5"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower().removesuffix("seconds").removesuffix("sec").removesuffix("s").strip()
    text = text.replace(",", ".")
    try:
        if ":" in text:
            seconds = 0.0
            for part in text.split(":"):
                seconds = seconds * 60 + float(part)
            return seconds
        return float(text)
    except ValueError:
        return None


def duration_precision(value: Any) -> float | None:
    """The step a listed duration is stated in, read from how it is written:
    1.0 for "3", 3 or "00:00:03", 0.01 for "3.20". The listing's format is not
    published (whole seconds? rounded how? milliseconds?), so content is
    compared at the precision each value shows (compare.durations_match)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    text = repr(value) if isinstance(value, float) else str(value)
    if re.search(r"\de[-+]?\d", text.lower()):
        return None  # 1e-07: no step to read
    numbers = re.findall(r"\d+(?:[.,]\d+)?", text)
    if not numbers:
        return None
    _, dot, decimals = numbers[-1].replace(",", ".").partition(".")
    return 10.0 ** -len(decimals) if dot else 1.0


def response_code(body: Any) -> int | None:
    """The body's `code` (a string or a number), or None."""
    if not isinstance(body, Mapping):
        return None
    code = body.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code.strip())
    return None


def split_name(filename: str) -> tuple[str, str | None]:
    """("welcome", "wav") for "welcome.wav"; the name alone when no audio extension."""
    stem, dot, ext = filename.rpartition(".")
    if dot and stem and ext.lower() in AUDIO_EXTENSIONS:
        return stem, ext.lower()
    return filename, None


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
        items = self._list_items(self._body(response))
        assets: list[RemoteAsset] = []
        no_duration: list[str] = []
        no_date: list[str] = []
        for item in items:
            asset = self._list_item(item)
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

    def _list_items(self, body: Any) -> list[Mapping[str, Any]]:
        data: Any = body
        for _ in range(3):  # {"data": [...]}, {"data": {"audios": [...]}}, or a bare list
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except ValueError:
                    break
            if isinstance(data, list):
                break
            if isinstance(data, Mapping):
                data = next((data[k] for k in LIST_CONTAINER_KEYS if k in data and data[k] is not None), None)
                if data is None:
                    return []  # {"code": 200, "data": null}: no audio
        if not isinstance(data, list) or not all(isinstance(i, Mapping) for i in data):
            raise self._unreadable("list", f"audio_list did not return a list of audios ({str(body)[:200]})")
        return data

    def _list_item(self, item: Mapping[str, Any]) -> RemoteAsset:
        _, name = _pick(item, NAME_KEYS)
        if not isinstance(name, str) or not name.strip():
            # without the names, a declared name would look free and be uploaded over a file we do not own
            raise self._unreadable(
                "list", f"an audio_list entry has no recognisable name (keys: {', '.join(sorted(map(str, item)))})"
            )
        filename = name.strip()
        stem, ext = split_name(filename)
        if ext is None:
            _, ext_value = _pick(item, EXTENSION_KEYS)
            if isinstance(ext_value, str) and ext_value.lower().lstrip(".") in AUDIO_EXTENSIONS:
                ext = ext_value.lower().lstrip(".")
                filename = f"{filename}.{ext}"
        _, duration = _pick(item, DURATION_KEYS)
        _, created = _pick(item, CREATED_KEYS)
        seconds = parse_duration(duration)
        return RemoteAsset(
            remote_id=filename,
            name=stem,
            duration=seconds,
            duration_precision=duration_precision(duration) if seconds is not None else None,
            format=ext,
            extra={"created": str(created)} if created is not None else {},
        )

    def _warn_missing(self, ids: list[str], total: int, field: str, items: list[Mapping[str, Any]], why: str) -> None:
        if not ids:
            return
        keys = sorted({str(k) for i in items for k in i})
        self.warnings.append(
            f"instance '{self.instance}': wolkvox audio_list gave no recognisable {field} for "
            f"{len(ids)} of {total} audio(s) (e.g. {ids[0]}; keys seen: {', '.join(keys)}); {why}"
        )

    # --- upload ---------------------------------------------------------------------------
    async def create(self, asset: DesiredAsset, data: bytes, *, name: str | None = None) -> RemoteAsset:
        filename = self.filename(asset, name)
        [result] = await self._upload([(asset, data, filename)], operation="create", idempotent=False)
        if isinstance(result, ProviderError):
            raise result
        return result

    async def overwrite(self, remote_id: str, asset: DesiredAsset, data: bytes) -> RemoteAsset:
        """Upload again under the same file name: wolkvox replaces the bytes and the id stays."""
        [result] = await self.overwrite_batch([(remote_id, asset, data)])
        if isinstance(result, ProviderError):
            raise result
        return result

    async def overwrite_batch(
        self, items: list[tuple[str, DesiredAsset, bytes]]
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

    async def create_batch(self, items: list[tuple[DesiredAsset, bytes]]) -> list[RemoteAsset | ProviderError]:
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

    def _chunks(self, items: list[tuple[DesiredAsset, bytes]]) -> list[list[tuple[DesiredAsset, bytes]]]:
        chunks: list[list[tuple[DesiredAsset, bytes]]] = []
        size = 0
        for item in items:
            if not chunks or len(chunks[-1]) >= MAX_FILES_PER_REQUEST or size + len(item[1]) > self.settings.batch_max_bytes:
                chunks.append([])
                size = 0
            chunks[-1].append(item)
            size += len(item[1])
        return chunks

    async def _upload_resolving(
        self, files: list[tuple[DesiredAsset, bytes, str]], attempts: int | None = None
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
        self, files: list[tuple[DesiredAsset, bytes, str]], *, operation: str, idempotent: bool
    ) -> list[RemoteAsset | ProviderError]:
        """One POST with every file under its own key (file1, file2, ...)."""
        assert 0 < len(files) <= MAX_FILES_PER_REQUEST
        address = files[0][0].address if len(files) == 1 else None
        form = [
            (f"file{i}", (filename, data, asset.audio.mime_type if asset.audio else "application/octet-stream"))
            for i, (asset, data, filename) in enumerate(files, start=1)
        ]
        path, params = UPLOAD
        response = await self.request(
            "POST", path, params=params, files=form, operation=operation, address=address, idempotent=idempotent
        )
        body = self._body(response)
        if not isinstance(body, Mapping):
            raise self._unreadable(operation, f"upload_audio answered {response.text[:200]!r}", address)
        confirmed = self._confirmed(body)
        if confirmed is None:
            # success without the list of files: only "all of them" can be read from it
            if _count_in(body.get("msg")) == len(files):
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

    @staticmethod
    def _confirmed(body: Mapping[str, Any]) -> dict[str, str] | None:
        """lower-cased filename -> filename as stored, from data[].filename."""
        data = body.get("data")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                return None
        if isinstance(data, Mapping):
            data = [data]
        if not isinstance(data, list) or not data:
            return None
        out: dict[str, str] = {}
        for entry in data:
            if isinstance(entry, Mapping):
                name = entry.get("filename") or entry.get("file_name") or entry.get("name")
            else:
                name = entry
            if isinstance(name, str) and name:
                out[name.lower()] = name
        return out or None

    async def find_created(self, asset: DesiredAsset, *, name: str) -> RemoteAsset | None:
        """The file name is the identity: after a lost answer, look for it."""
        filename = self.filename(asset, name)
        for remote in await self.list():
            if remote.remote_id == filename:
                return self._created(asset, filename)
        return None


def _count_in(msg: Any) -> int | None:
    """3 from "3 audio file(s) uploaded successfully"."""
    match = re.match(r"\s*(\d+)\b", msg) if isinstance(msg, str) else None
    return int(match.group(1)) if match else None
