"""Emulator of the Exolve Media API (seed 001), served on loopback by the harness.

Follows the seed document to the letter where it speaks:

- `POST /media/v1/{Upload,GetList,GetInfo,Download,Update,Delete}`, JSON bodies,
  `Authorization: Bearer <key>`; any other path or method → 404.
- uint64 fields (`file_id`, `resource_id`, `size`, `offset`, `resource_ids[]`)
  are accepted as JSON strings or numbers and always answered as strings;
  `duration` (uint32) and `file_type` (200 | 201) are numbers.
- Upload takes `file` (base64), `full_name` (1–128 runes, `.mp3` / `.wav`) and
  `file_type` (`FILE_TYPE_IVR` | `FILE_TYPE_PREMEDIA`, or 200 | 201); names are
  unique per application (`error Save media service: fileName is exist`).
- Update sets `name` (≤128 runes) and `description` (≤512 runes) and answers `{}`;
  Delete takes `resource_ids[]` and answers `{}`.
- Errors are `{"error": "<message>"}` with the seed's messages and statuses:
  401 `malformed token` (no Bearer key), 400 `failed to parse token` (not a
  key at all), 403 `invalid token` (a key, but not this application's), the
  400 validation messages, 500 `Application [ID] does not own resource [N]`.

Where the seed is silent the emulator makes a choice and says so ([inferred]):
the text of the 5 MB and file-extension errors (protoc-gen-validate style, as
the documented ones are), the default and cap of GetList's `limit` (`page_cap`),
exact match for GetList's `name` filter, uniqueness also enforced by Update,
an empty Update `name` keeping the old one (proto3 cannot tell it from absent),
Delete/Update/Download of an id the application does not hold → the 500
"does not own" error, GetInfo skipping such ids, and an unspecified order being
upload order.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.harness import Emulator

MAX_FILE_BYTES = 5 * 1024 * 1024  # "5MB" [inferred: read as MiB]
FILE_TYPES = {"FILE_TYPE_IVR": 200, "FILE_TYPE_PREMEDIA": 201}
ORDER_FIELDS = {"ORDER_FIELD_UNSPECIFIED": 0, "ORDER_FIELD_DATE": 1, "ORDER_FIELD_SIZE": 2, "ORDER_FIELD_DURATION": 3}
ORDER_DIRECTIONS = {"ORDER_DIRECTION_UNSPECIFIED": 0, "ORDER_DIRECTION_ASC": 1, "ORDER_DIRECTION_DESC": 2}
UINT64_MAX = 2**64 - 1
APPLICATION_UUID = "178ec145-6898-4b06-a92a-75f63cb57046"
APPLICATION_NAME = "Test"
APPLICATION_ID = 4711
# a syntactically valid key (JWT-shaped: three dot-separated parts)
DEFAULT_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJhcHAiOiJlbXVsYXRvciJ9.ZW11bGF0b3Itc2lnbmF0dXJlLTAxMjM0NTY3"


class _Records(dict):
    """resource_id -> MediaRecord, with an index by name kept up to date: the
    uniqueness check of every upload was a scan of all records, which made
    an apply of 10,000 creates quadratic in the emulator, not in the client."""

    def __init__(self) -> None:
        super().__init__()
        self._by_name: dict[str, set[int]] = {}

    def ids_named(self, name: str) -> set[int]:
        return self._by_name.get(name, set())

    def __setitem__(self, rid: int, record: MediaRecord) -> None:
        if rid in self:
            self._unindex(rid)
        super().__setitem__(rid, record)
        self._by_name.setdefault(record.name, set()).add(rid)

    def __delitem__(self, rid: int) -> None:
        self._unindex(rid)
        super().__delitem__(rid)

    def _unindex(self, rid: int) -> None:
        ids = self._by_name.get(self[rid].name)
        if ids is not None:
            ids.discard(rid)
            if not ids:
                del self._by_name[self[rid].name]

    def pop(self, *args):  # noqa: D102 - only through __delitem__'s bookkeeping
        raise NotImplementedError("delete with `del records[rid]`")

    def clear(self) -> None:
        super().clear()
        self._by_name.clear()


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


@dataclass(frozen=True)
class MediaRecord:
    file_id: int
    resource_id: int
    data: bytes
    name: str
    extension: str
    description: str
    file_type: int
    uploaded_ns: int
    duration: int = 0  # whole seconds, computed from the bytes on upload

    def date(self, *, nanos: bool) -> str:
        seconds, ns = divmod(self.uploaded_ns, 1_000_000_000)
        stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        frac = f"{ns:09d}" if nanos else f"{ns // 1000:06d}"
        return f"{stamp}.{frac}Z"

    def as_json(self, *, with_app_name: bool, nanos: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file_id": str(self.file_id),
            "resource_id": str(self.resource_id),
            "size": str(len(self.data)),
            "duration": self.duration,
            "name": self.name,
            "extension": self.extension,
            "description": self.description,
            "application_uuid": APPLICATION_UUID,
        }
        if with_app_name:
            out["application_name"] = APPLICATION_NAME
        out["file_type"] = self.file_type
        out["date_upload"] = self.date(nanos=nanos)
        return out


def audio_seconds(data: bytes) -> int:
    """Whole seconds, as the service reports them (0 when it cannot tell)."""
    from reconciler.audio import NotAudioError, inspect_bytes

    try:
        info = inspect_bytes(data)
    except NotAudioError:
        return 0
    return round(info.duration or 0)


# --- protojson-like decoding -------------------------------------------------------
def _uint64(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ApiError(400, f"proto: invalid value for uint64 type: {json.dumps(value)}")
    if isinstance(value, int) and 0 <= value <= UINT64_MAX:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) <= UINT64_MAX:
        return int(value)
    raise ApiError(400, f"proto: invalid value for uint64 type: {json.dumps(value)}")


def _string(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"invalid value for string type: {json.dumps(value)}")
    return value


def _enum(value: Any, names: dict[str, int]) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, int) and not isinstance(value, bool) and value in names.values():
        return value
    raise ApiError(400, f"invalid value for enum type: {json.dumps(value)}")


def _date(value: Any, field: str) -> int | None:
    text = _string(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"invalid GetListRequest.{field}: value must be a RFC-3339 date") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1_000_000_000)


class ExolveEmulator(Emulator):
    """A stateful Exolve application: its media library behind the Media API.

    `page_cap`: the most records one GetList answers (also its default limit);
    `slow`: per-method latency (to expose races between concurrent calls).
    The `console_*` methods edit the library as someone in the web console would.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, *, page_cap: int = 1000) -> None:
        super().__init__()
        self.token = token
        self.page_cap = page_cap
        # seconds one API method waits before it is handled, e.g. {"Delete": 0.3}
        self.slow: dict[str, float] = {}
        self.records: dict[int, MediaRecord] = _Records()
        self._resource_ids = itertools.count(152817)
        self._file_ids = itertools.count(1931072746905665536, 7919)
        self._last_ns = 0
        self._state_lock = threading.RLock()
        handlers = {
            "Upload": self.upload,
            "GetList": self.get_list,
            "GetInfo": self.get_info,
            "Download": self.download,
            "Update": self.update,
            "Delete": self.delete,
        }

        async def endpoint(request: Request) -> JSONResponse:
            path = request.url.path
            prefix = "/media/v1/"
            handler = handlers.get(path[len(prefix):]) if path.startswith(prefix) else None
            if request.method != "POST" or handler is None:
                return self._error(404, "Not Found")
            if self.slow.get(path[len(prefix):]):
                await asyncio.sleep(self.slow[path[len(prefix):]])
            try:
                self._check_auth(request.headers.get("authorization"))
                body = self._decode(await request.body())
                with self._state_lock:
                    return JSONResponse(handler(body))
            except ApiError as exc:
                return self._error(exc.status, exc.message)

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        self.app = Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])

    # --- plumbing -----------------------------------------------------------------
    def fault_body(self, status: int) -> Any:
        return {"error": {429: "too many requests", 500: "internal error", 503: "service unavailable"}.get(
            status, f"error {status}")}

    @staticmethod
    def _error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def _check_auth(self, header: str | None) -> None:
        if not header or not header.startswith("Bearer ") or not header[len("Bearer "):].strip():
            raise ApiError(401, "malformed token")
        key = header[len("Bearer "):].strip()
        if len(key.split(".")) != 3 or not all(key.split(".")):
            raise ApiError(400, "failed to parse token")
        if key != self.token:
            raise ApiError(403, "invalid token")

    @staticmethod
    def _decode(raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            return {}  # grpc-gateway reads an empty body as an empty message
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"proto: syntax error (line {exc.lineno}:{exc.colno}): {exc.msg}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "unexpected token")
        return body

    def _next_ns(self) -> int:
        self._last_ns = max(time.time_ns(), self._last_ns + 1000)
        return self._last_ns

    def _owned(self, resource_id: int) -> MediaRecord:
        record = self.records.get(resource_id)
        if record is None:
            raise ApiError(500, f"Application [{APPLICATION_ID}] does not own resource [{resource_id}]")
        return record

    def _name_taken(self, name: str, *, other_than: int | None = None) -> bool:
        assert isinstance(self.records, _Records)
        return any(rid != other_than for rid in self.records.ids_named(name))

    # --- the API --------------------------------------------------------------------
    def upload(self, body: dict[str, Any]) -> dict[str, Any]:
        raw_file = body.get("file")
        full_name = body.get("full_name")
        file_type = body.get("file_type")
        if raw_file is None or file_type is None:
            raise ApiError(400, "unexpected token")
        try:
            data = base64.b64decode(_string(raw_file), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "proto: invalid value for bytes type") from None
        full_name = _string(full_name)
        kind = _enum(file_type, FILE_TYPES)
        if len(data) < 1:
            raise ApiError(400, "invalid UploadRequest.File: value length must be at least 1 bytes")
        if len(data) > MAX_FILE_BYTES:
            raise ApiError(400, f"invalid UploadRequest.File: value length must be at most {MAX_FILE_BYTES} bytes")
        if not 1 <= len(full_name) <= 128:
            raise ApiError(400, "invalid UploadRequest.FullName: value length must be between 1 and 128 runes, inclusive")
        name, dot, extension = full_name.rpartition(".")
        if not dot or not name or extension.lower() not in ("mp3", "wav"):
            raise ApiError(400, 'invalid UploadRequest.FullName: value does not match regex pattern "^.+\\\\.(?i:mp3|wav)$"')
        if self._name_taken(name):
            raise ApiError(400, "error Save media service: fileName is exist")
        record = MediaRecord(
            file_id=next(self._file_ids), resource_id=next(self._resource_ids), data=data, name=name,
            extension=extension.lower(), description="", file_type=kind, uploaded_ns=self._next_ns(),
            duration=audio_seconds(data),
        )
        self.records[record.resource_id] = record
        return record.as_json(with_app_name=False, nanos=True)

    def get_list(self, body: dict[str, Any]) -> dict[str, Any]:
        records = list(self.records.values())
        if body.get("resource_id") not in (None, "", 0, "0"):
            rid = _uint64(body["resource_id"], "resource_id")
            records = [r for r in records if r.resource_id == rid]
        name = _string(body.get("name"))
        if name:
            records = [r for r in records if r.name == name]
        app = _string(body.get("application_uuid"))
        if app and app != APPLICATION_UUID:
            records = []
        date_from, date_to = _date(body.get("date_from"), "DateFrom"), _date(body.get("date_to"), "DateTo")
        if date_from is not None:
            records = [r for r in records if r.uploaded_ns >= date_from]
        if date_to is not None:
            records = [r for r in records if r.uploaded_ns <= date_to]
        order = body.get("order_list") or {}
        if not isinstance(order, dict):
            raise ApiError(400, "unexpected token")
        field = _enum(order.get("order_field", 0), ORDER_FIELDS)
        direction = _enum(order.get("order_direction", 0), ORDER_DIRECTIONS)
        key = {
            0: lambda r: r.resource_id,
            1: lambda r: (r.uploaded_ns, r.resource_id),
            2: lambda r: (len(r.data), r.resource_id),
            3: lambda r: (r.duration, r.resource_id),
        }[field]
        records.sort(key=key, reverse=direction == 2)
        limit = body.get("limit")
        limit = _uint64(limit, "limit") if limit not in (None, "") else 0
        limit = min(limit or self.page_cap, self.page_cap)
        offset = body.get("offset")
        offset = _uint64(offset, "offset") if offset not in (None, "") else 0
        page = records[offset : offset + limit]
        return {"media_records": [r.as_json(with_app_name=True) for r in page]}

    def get_info(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("resource_ids") or []
        if not isinstance(ids, list):
            raise ApiError(400, "unexpected token")
        wanted = [_uint64(i, "resource_ids") for i in ids]
        return {"media_records": [self.records[i].as_json(with_app_name=True) for i in wanted if i in self.records]}

    def download(self, body: dict[str, Any]) -> dict[str, Any]:
        record = self._owned(_uint64(body.get("resource_id", 0), "resource_id"))
        return {
            "file": base64.b64encode(record.data).decode(),
            "full_name": f"{record.name}.{record.extension}",
            "resource_id": str(record.resource_id),
            "file_type": record.file_type,
        }

    def update(self, body: dict[str, Any]) -> dict[str, Any]:
        rid = _uint64(body.get("resource_id", 0), "resource_id")
        name = _string(body.get("name"))
        description = _string(body.get("description"))
        if len(name) > 128:
            raise ApiError(400, "invalid UpdateRequest.Name: value length must be at most 128 runes")
        if len(description) > 512:
            raise ApiError(400, "invalid UpdateRequest.Description: value length must be at most 512 runes")
        record = self._owned(rid)
        new_name = name or record.name
        if self._name_taken(new_name, other_than=rid):
            raise ApiError(400, "error Save media service: fileName is exist")
        self.records[rid] = replace(record, name=new_name, description=description)
        return {}

    def delete(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("resource_ids") or []
        if not isinstance(ids, list):
            raise ApiError(400, "unexpected token")
        wanted = [_uint64(i, "resource_ids") for i in ids]
        for rid in wanted:
            self._owned(rid)  # all or nothing
        for rid in wanted:
            del self.records[rid]
        return {}

    # --- the web console ------------------------------------------------------------------
    def console_upload(self, name: str, data: bytes, *, description: str = "", file_type: int = 200,
                       extension: str | None = None) -> str:
        """Upload as someone in the console would; returns the resource id."""
        from reconciler.audio import sniff_format

        with self._state_lock:
            if self._name_taken(name):
                raise ValueError(f"name {name!r} is taken")
            record = MediaRecord(
                file_id=next(self._file_ids), resource_id=next(self._resource_ids), data=data, name=name,
                extension=extension or sniff_format(data[:16]) or "wav", description=description,
                file_type=file_type, uploaded_ns=self._next_ns(), duration=audio_seconds(data),
            )
            self.records[record.resource_id] = record
            return str(record.resource_id)

    def console_rename(self, resource_id: str, name: str) -> None:
        with self._state_lock:
            rid = int(resource_id)
            self.records[rid] = replace(self.records[rid], name=name)

    def console_describe(self, resource_id: str, description: str) -> None:
        with self._state_lock:
            rid = int(resource_id)
            self.records[rid] = replace(self.records[rid], description=description)

    def console_replace_bytes(self, resource_id: str, data: bytes) -> None:
        with self._state_lock:
            rid = int(resource_id)
            self.records[rid] = replace(self.records[rid], data=data, duration=audio_seconds(data))

    def console_delete(self, resource_id: str) -> None:
        with self._state_lock:
            del self.records[int(resource_id)]

    # --- views for assertions ---------------------------------------------------------------
    def by_name(self, name: str) -> MediaRecord | None:
        with self._state_lock:
            return next((r for r in self.records.values() if r.name == name), None)

    def names(self) -> list[str]:
        with self._state_lock:
            return sorted(r.name for r in self.records.values())

    def endpoint_counts(self) -> dict[str, int]:
        """Requests per API method, e.g. {"GetList": 3}."""
        counts: dict[str, int] = {}
        for entry in self.requests:
            method = entry.path.rsplit("/", 1)[-1]
            counts[method] = counts.get(method, 0) + 1
        return counts


__all__ = ["DEFAULT_TOKEN", "MAX_FILE_BYTES", "ExolveEmulator", "MediaRecord"]
