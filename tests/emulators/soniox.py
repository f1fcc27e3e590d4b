"""A stateful emulator of the Soniox Files API (seed 004, PROVIDERS.md).

Seed, to the letter: `POST /v1/files` multipart (`file`, optional
`client_reference_id` ≤ 256 characters) → 201 `{id, filename, size,
created_at, client_reference_id}`; `Authorization: Bearer <key>`; the error
body `{status_code, error_type, message, validation_errors[], request_id,
more_info}` with 400 `invalid_request` (missing file, filename or
client_reference_id too long, malformed multipart body, file over the
per-file limit), 401 `unauthenticated`, 429 `limit_exceeded` (per-minute
rate, total file count, total file size) and 500 `internal_error`.

Public docs: `GET /v1/files?limit=1..1000 (default 1000)&cursor=` →
`{files, next_page_cursor}` (null on the last page) and 400 `invalid_cursor`;
`GET /v1/files/{id}`; `DELETE /v1/files/{id}` → 204, 404 `file_not_found`;
`GET /v1/files/count`. Organisation caps: 10 GB and 1,000 files; per file
1 GiB.

Inferred (no document shows them): the validation entries for a file over
the per-file limit and for a too-long filename or client_reference_id
(pydantic-style, like the seed's `missing` / `Field required`), the message
of the total-size cap, and the filename length limit (255 here).

Knobs: `max_files`, `max_total_bytes`, `max_file_bytes`,
`max_filename_length`, `page_size` (the most a page holds, whatever `limit`
asks), `reject_cursors(n)`; and console methods to play a person in the
Soniox Console.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.emulators.harness import Emulator

DOCS = "https://soniox.com/docs/api-reference/errors#"

MESSAGES = {
    "invalid_request": "Your request did not pass validation. One or more fields in the request body are "
    "missing or have invalid values. See `validation_errors` for the specific field and retry with "
    "corrected values.",
    "unauthenticated": "Incorrect API key provided. You can get an API key at https://console.soniox.com",
    "rate": "Requests per minute limit for file management has been exceeded for your organization.",
    "file_count": "Total file count limit has been exceeded for your organization. Please delete some.",
    "file_size": "Total file size limit has been exceeded for your organization. Please delete some.",
    "internal_error": "The server encountered an error. Please try again. If the issue persists contact "
    "support@soniox.com.",
    "file_not_found": "No file with this ID exists in your project. The file may have been deleted, the ID "
    "may be incorrect, or the file may belong to a different project. Verify the ID by listing files "
    "with GET /files.",
    "invalid_cursor": "Invalid cursor parameter.",
}


def error_body(status: int, error_type: str, message: str | None = None,
               validation_errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The documented error body."""
    return {
        "status_code": status,
        "error_type": error_type,
        "message": message or MESSAGES[error_type],
        "validation_errors": validation_errors or [],
        "request_id": str(uuid.uuid4()),
        "more_info": DOCS + error_type.replace("_", "-"),
    }


def error(status: int, error_type: str, message: str | None = None,
          validation_errors: list[dict[str, str]] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, error_type, message, validation_errors), status_code=status)


@dataclass
class StoredFile:
    id: str
    filename: str
    data: bytes
    created_at: str
    client_reference_id: str | None
    seq: int

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "size": len(self.data),
            "created_at": self.created_at,
            "client_reference_id": self.client_reference_id,
        }


class SonioxEmulator(Emulator):
    token = "soniox-emulator-key-7d1f0c2e9b8a4c6d"

    def __init__(
        self,
        *,
        max_files: int = 1000,
        max_total_bytes: int = 10 * 1000**3,
        max_file_bytes: int = 1 << 30,
        max_filename_length: int = 255,
        page_size: int = 1000,
    ) -> None:
        super().__init__()
        self.max_files = max_files
        self.max_total_bytes = max_total_bytes
        self.max_file_bytes = max_file_bytes
        self.max_filename_length = max_filename_length
        self.page_size = page_size
        self.files: dict[str, StoredFile] = {}
        self._seq = itertools.count(1)
        self._clock = datetime(2024, 11, 26, tzinfo=UTC)
        self._reject_cursors = 0
        self.app = Starlette(
            routes=[
                Route("/v1/files", self.upload, methods=["POST"]),
                Route("/v1/files", self.list_files, methods=["GET"]),
                Route("/v1/files/count", self.count_files, methods=["GET"]),
                Route("/v1/files/{file_id}", self.get_file, methods=["GET"]),
                Route("/v1/files/{file_id}", self.delete_file, methods=["DELETE"]),
            ]
        )

    # --- the provider's own error bodies for injected faults -------------------------
    def fault_body(self, status: int) -> Any:
        kinds = {400: "invalid_request", 401: "unauthenticated", 404: "file_not_found", 429: "rate"}
        kind = kinds.get(status, "internal_error")
        if kind == "rate":
            return error_body(429, "limit_exceeded", MESSAGES["rate"])
        return error_body(status, kind)

    # --- knobs and the console ------------------------------------------------------------
    def reject_cursors(self, n: int = 1) -> None:
        """The next n list requests that carry a cursor get 400 invalid_cursor
        (a cursor that expired while the client paged)."""
        self._reject_cursors = n

    def _stamp(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat().replace("+00:00", "Z")

    def _store(self, filename: str, data: bytes, client_reference_id: str | None) -> StoredFile:
        with self.lock:
            f = StoredFile(str(uuid.uuid4()), filename, data, self._stamp(), client_reference_id, next(self._seq))
            self.files[f.id] = f
            return f

    def console_upload(self, filename: str, data: bytes, client_reference_id: str | None = None) -> str:
        """Upload as a person would (no caps checked); returns the id."""
        return self._store(filename, data, client_reference_id).id

    def console_delete(self, file_id: str) -> None:
        with self.lock:
            del self.files[file_id]

    def console_rename(self, file_id: str, filename: str) -> None:
        with self.lock:
            self.files[file_id].filename = filename

    def console_replace_bytes(self, file_id: str, data: bytes) -> None:
        """Content swapped behind the same id (not in the API: a storage mishap)."""
        with self.lock:
            self.files[file_id].data = data

    def by_name(self, filename: str) -> list[StoredFile]:
        return [f for f in self.files.values() if f.filename == filename]

    @property
    def total_bytes(self) -> int:
        return sum(len(f.data) for f in self.files.values())

    # --- the API ----------------------------------------------------------------------------
    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def upload(self, request: Request) -> Response:
        if not self._authorised(request):
            return error(401, "unauthenticated")
        try:
            form = await request.form()
        except Exception:  # malformed multipart body
            return error(400, "invalid_request", validation_errors=[
                {"error_type": "value_error", "location": "file", "message": "Malformed multipart body"}
            ])
        try:
            upload = form.get("file")
            reference = form.get("client_reference_id")
            problems = []
            if upload is None or isinstance(upload, str):
                problems.append({"error_type": "missing", "location": "file.file", "message": "Field required"})
            if reference is not None and not isinstance(reference, str):
                problems.append({"error_type": "string_type", "location": "file.client_reference_id",
                                 "message": "Input should be a valid string"})
            elif isinstance(reference, str) and len(reference) > 256:
                problems.append({"error_type": "string_too_long", "location": "file.client_reference_id",
                                 "message": "String should have at most 256 characters"})
            if problems:
                return error(400, "invalid_request", validation_errors=problems)
            filename = upload.filename or "file"
            data = await upload.read()
        finally:
            await form.close()
        if len(filename) > self.max_filename_length:
            return error(400, "invalid_request", validation_errors=[
                {"error_type": "string_too_long", "location": "file.file",
                 "message": f"Filename should have at most {self.max_filename_length} characters"}
            ])
        if len(data) > self.max_file_bytes:
            return error(400, "invalid_request", validation_errors=[
                {"error_type": "file_too_large", "location": "file.file",
                 "message": f"File size {len(data)} bytes exceeds the per-file upload limit of "
                 f"{self.max_file_bytes} bytes"}
            ])
        with self.lock:
            if len(self.files) >= self.max_files:
                return error(429, "limit_exceeded", MESSAGES["file_count"])
            if self.total_bytes + len(data) > self.max_total_bytes:
                return error(429, "limit_exceeded", MESSAGES["file_size"])
            stored = self._store(filename, data, reference)
        return JSONResponse(stored.json(), status_code=201)

    async def list_files(self, request: Request) -> Response:
        if not self._authorised(request):
            return error(401, "unauthenticated")
        raw_limit = request.query_params.get("limit", "1000")
        try:
            limit = int(raw_limit)
        except ValueError:
            return error(400, "invalid_request", validation_errors=[
                {"error_type": "int_parsing", "location": "query.limit",
                 "message": "Input should be a valid integer, unable to parse string as an integer"}
            ])
        if not 1 <= limit <= 1000:
            bound = "greater than or equal to 1" if limit < 1 else "less than or equal to 1000"
            return error(400, "invalid_request", validation_errors=[
                {"error_type": "greater_than_equal" if limit < 1 else "less_than_equal",
                 "location": "query.limit", "message": f"Input should be {bound}"}
            ])
        cursor = request.query_params.get("cursor")
        after = 0
        if cursor:
            with self.lock:
                rejected = self._reject_cursors > 0
                if rejected:
                    self._reject_cursors -= 1
            after = _decode_cursor(cursor)
            if rejected or after is None:
                return error(400, "invalid_cursor")
        with self.lock:
            rest = sorted((f for f in self.files.values() if f.seq > after), key=lambda f: f.seq)
        page = rest[: min(limit, self.page_size)]
        more = len(rest) > len(page)
        return JSONResponse({
            "files": [f.json() for f in page],
            "next_page_cursor": _encode_cursor(page[-1].seq) if more and page else None,
        })

    async def count_files(self, request: Request) -> Response:
        if not self._authorised(request):
            return error(401, "unauthenticated")
        n = len(self.files)
        return JSONResponse({"playground": 0, "public_api": n, "total": n})

    def _find(self, request: Request) -> StoredFile | Response:
        file_id = request.path_params["file_id"]
        try:
            uuid.UUID(file_id)
        except ValueError:
            return error(400, "invalid_request", validation_errors=[
                {"error_type": "uuid_parsing", "location": "path.file_id",
                 "message": "Input should be a valid UUID"}
            ])
        stored = self.files.get(file_id)
        return stored if stored is not None else error(404, "file_not_found")

    async def get_file(self, request: Request) -> Response:
        if not self._authorised(request):
            return error(401, "unauthenticated")
        found = self._find(request)
        return found if isinstance(found, Response) else JSONResponse(found.json())

    async def delete_file(self, request: Request) -> Response:
        if not self._authorised(request):
            return error(401, "unauthenticated")
        found = self._find(request)
        if isinstance(found, Response):
            return found
        with self.lock:
            self.files.pop(found.id, None)
        return Response(status_code=204)


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": seq}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    after = data.get("after") if isinstance(data, dict) else None
    return after if isinstance(after, int) and after >= 0 else None
