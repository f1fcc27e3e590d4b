"""A stateful emulator of the Plusofon media API (seed 003, PROVIDERS.md).

Seed, to the letter:
- headers `Authorization: Bearer {token}`, `Client: 10553`, `Accept:
  application/json`;
- `GET api/v1/media` (no parameters documented) → a Laravel paginator
  `{current_page, data: [{id, name}], first_page_url, from, last_page,
  last_page_url, next_page_url, path, per_page (15), prev_page_url, to,
  total}` whose URLs name `http://localhost` (as in the documentation);
- `GET api/v1/media/{media_id}` → `{id, name}`; `GET …/{media_id}/file` →
  the bytes; `POST api/v1/media` `{name, file (base64), file_mime_type: mp3 |
  wav | au | aiff | gsm | ogg | raw}` or `{name, standard_id}` →
  `{"success": true}`; `PATCH …/{media_id}` `{name}` and `DELETE
  …/{media_id}` → `{"success": true}`; `GET api/v1/standard-media` →
  `{"standard_media": [{id, name}]}` (the seed's four prompts);
- errors `{"message": ..., "code": N}` sent with that status: "User not
  found" (500; a trailing dot on some endpoints, as documented), "The media
  id must be int." (400; no dot on DELETE, as documented); ids are JSON
  integers.

Inferred (no document shows them), kept in the same `{message, code}` shape:
a missing bearer token → 401 `Unauthenticated.` (Laravel's default); a
wrong token or `Client` → the documented 500 `User not found`; an unknown
media id → 404 `Media not found.`; a body failing validation → 422 Laravel
`{message, errors: {field: [...]}}`; bytes that do not match
`file_mime_type` → 200 `{"success": false, "message": ...}` (PROVIDERS.md:
a 200 with `success: false` is possible); `?page=N` picks a page.

Knobs: `page_size` (15), `create_response` — "seed" (`{"success": true}`,
no id: the documented answer), "id" (`{"success": true, "id": N}`) or
"data" (`{"success": true, "data": {"id": N, "name": ...}}`) — `client`
(the accepted `Client` header), `newest_first` (the listing's order; the
documentation shows ascending ids); console methods play a person in the
Plusofon web console.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import wave
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.audio import sniff_format
from tests.emulators.harness import Emulator

MIME_TYPES = ("mp3", "wav", "au", "aiff", "gsm", "ogg", "raw")
CONTENT_TYPES = {
    "mp3": "audio/mpeg", "wav": "audio/wav", "au": "audio/basic", "aiff": "audio/aiff",
    "gsm": "audio/gsm", "ogg": "audio/ogg", "raw": "application/octet-stream",
}
# the seed's example, verbatim
STANDARD_MEDIA = [
    {"id": "f6965c7eadb44c1a5aae6b99df4da814", "name": "Секретарь"},
    {"id": "63f9bbe47348c08087534432f998cd5a", "name": "Приветствие"},
    {"id": "d05eb4c20c64e057db5b677391dfac59", "name": "Голосовая почта"},
    {"id": "774e60095c71fbc4553e5029ad113658", "name": "Тех-поддержка"},
]
PAGINATOR_HOST = "http://localhost"  # what the documented paginator URLs name


def _tone(seed: int) -> bytes:
    """A short WAV standing in for a preinstalled prompt's audio."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(int(128 + 50 * math.sin(2 * math.pi * (300 + 40 * seed) * i / 8000)) for i in range(800)))
    return buf.getvalue()


def error(message: str, code: int) -> JSONResponse:
    """The documented error body, sent with its code as the status."""
    return JSONResponse({"message": message, "code": code}, status_code=code)


def validation_error(field: str, reason: str) -> JSONResponse:
    return JSONResponse({"message": reason, "errors": {field: [reason]}}, status_code=422)


@dataclass
class Media:
    id: int
    name: str
    data: bytes
    mime: str
    standard_id: str | None = None


class PlusofonEmulator(Emulator):
    def __init__(self, *, page_size: int = 15, create_response: str = "seed", client: str = "10553",
                 newest_first: bool = False) -> None:
        super().__init__()
        assert create_response in ("seed", "id", "data")
        self.page_size = page_size
        self.newest_first = newest_first
        self.create_response = create_response
        self.client = client
        self.media: dict[int, Media] = {}
        self.next_id = 1
        self.standard = {s["id"]: (s["name"], _tone(i)) for i, s in enumerate(STANDARD_MEDIA)}
        self.bodies: list[dict[str, Any]] = []  # JSON bodies of POST/PATCH, base64 elided
        self.app = Starlette(routes=[
            Route("/api/v1/media", self.list_media, methods=["GET"]),
            Route("/api/v1/media", self.create_media, methods=["POST"]),
            Route("/api/v1/media/{media_id}", self.show_media, methods=["GET"]),
            Route("/api/v1/media/{media_id}", self.rename_media, methods=["PATCH"]),
            Route("/api/v1/media/{media_id}", self.delete_media, methods=["DELETE"]),
            Route("/api/v1/media/{media_id}/file", self.media_file, methods=["GET"]),
            Route("/api/v1/standard-media", self.standard_media, methods=["GET"]),
        ])

    def fault_body(self, status: int) -> Any:
        if status == 429:
            return {"message": "Too Many Attempts.", "code": 429}
        return {"message": "Server Error", "code": status}

    # --- the console: what a person does in the web UI --------------------------
    def console_upload(self, name: str, data: bytes, mime: str | None = None) -> str:
        with self.lock:
            media = Media(self.next_id, name, data, mime or sniff_format(data[:16]) or "raw")
            self.media[media.id] = media
            self.next_id += 1
            return str(media.id)

    def console_rename(self, media_id: str, name: str) -> None:
        with self.lock:
            self.media[int(media_id)].name = name

    def console_delete(self, media_id: str) -> None:
        with self.lock:
            del self.media[int(media_id)]

    def console_replace_bytes(self, media_id: str, data: bytes) -> None:
        with self.lock:
            self.media[int(media_id)].data = data

    def set_page_size(self, n: int) -> None:
        self.page_size = n

    def names(self) -> list[str]:
        with self.lock:
            return sorted(m.name for m in self.media.values())

    def by_name(self, name: str) -> list[Media]:
        with self.lock:
            return [m for m in self.media.values() if m.name == name]

    # --- the API ------------------------------------------------------------------
    def _auth(self, request: Request, user_not_found: str) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            return JSONResponse({"message": "Unauthenticated."}, status_code=401)
        if header[7:] != self.token or request.headers.get("client") != self.client:
            return error(user_not_found, 500)
        return None

    def _media_id(self, request: Request, message: str = "The media id must be int.") -> int | JSONResponse:
        raw = request.path_params["media_id"]
        if not raw.isdigit():
            return error(message, 400)
        return int(raw)

    def _find(self, media_id: int) -> Media | JSONResponse:
        media = self.media.get(media_id)
        return media if media is not None else error("Media not found.", 404)

    async def _json_body(self, request: Request) -> dict[str, Any] | JSONResponse:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"message": "Malformed JSON."}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"message": "Malformed JSON."}, status_code=400)
        self.bodies.append({k: (f"<{len(v)} base64 chars>" if k == "file" and isinstance(v, str) else v)
                            for k, v in body.items()})
        return body

    async def list_media(self, request: Request) -> Response:
        if (denied := self._auth(request, "User not found")) is not None:
            return denied
        raw_page = request.query_params.get("page", "1")
        page = int(raw_page) if raw_page.isdigit() and int(raw_page) > 0 else 1
        with self.lock:
            items = sorted(self.media.values(), key=lambda m: m.id, reverse=self.newest_first)
        size = self.page_size
        total = len(items)
        last = max(1, math.ceil(total / size))
        chunk = items[(page - 1) * size: page * size]
        path = f"{PAGINATOR_HOST}/api/v1/media"
        return JSONResponse({
            "current_page": page,
            "data": [{"id": m.id, "name": m.name} for m in chunk],
            "first_page_url": f"{path}?page=1",
            "from": (page - 1) * size + 1 if chunk else None,
            "last_page": last,
            "last_page_url": f"{path}?page={last}",
            "next_page_url": f"{path}?page={page + 1}" if page < last else None,
            "path": path,
            "per_page": size,
            "prev_page_url": f"{path}?page={page - 1}" if page > 1 else None,
            "to": (page - 1) * size + len(chunk) if chunk else None,
            "total": total,
        })

    async def show_media(self, request: Request) -> Response:
        if (denied := self._auth(request, "User not found.")) is not None:
            return denied
        media_id = self._media_id(request)
        if isinstance(media_id, Response):
            return media_id
        with self.lock:
            media = self._find(media_id)
        if isinstance(media, Response):
            return media
        return JSONResponse({"id": media.id, "name": media.name})

    async def media_file(self, request: Request) -> Response:
        if (denied := self._auth(request, "User not found.")) is not None:
            return denied
        media_id = self._media_id(request)
        if isinstance(media_id, Response):
            return media_id
        with self.lock:
            media = self._find(media_id)
        if isinstance(media, Response):
            return media
        return Response(
            media.data, media_type=CONTENT_TYPES[media.mime],
            headers={"Content-Disposition": f'attachment; filename="media-{media.id}.{media.mime}"'},
        )

    async def create_media(self, request: Request) -> Response:
        if (denied := self._auth(request, "User not found.")) is not None:
            return denied
        body = await self._json_body(request)
        if isinstance(body, Response):
            return body
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            return validation_error("name", "The name field is required.")
        standard_id = body.get("standard_id")
        if standard_id is not None:
            if "file" in body:
                return validation_error("file", "The file field prohibits standard id from being present.")
            if standard_id not in self.standard:
                return validation_error("standard_id", "The selected standard id is invalid.")
            data, mime = self.standard[standard_id][1], "wav"
        else:
            file, mime = body.get("file"), body.get("file_mime_type")
            if not isinstance(file, str) or not file:
                return validation_error("file", "The file field is required when standard id is not present.")
            if mime not in MIME_TYPES:
                return validation_error("file_mime_type", "The selected file mime type is invalid.")
            try:
                data = base64.b64decode(file, validate=True)
            except (binascii.Error, ValueError):
                return validation_error("file", "The file must be a valid base64 string.")
            sniffed = sniff_format(data[:16])
            if mime not in ("gsm", "raw") and sniffed != mime:
                return JSONResponse({"success": False, "message": f"The file is not a valid {mime} file."})
        with self.lock:
            media = Media(self.next_id, name, data, mime, standard_id)
            self.media[media.id] = media
            self.next_id += 1
        if self.create_response == "id":
            return JSONResponse({"success": True, "id": media.id})
        if self.create_response == "data":
            return JSONResponse({"success": True, "data": {"id": media.id, "name": media.name}})
        return JSONResponse({"success": True})

    async def rename_media(self, request: Request) -> Response:
        if (denied := self._auth(request, "User not found.")) is not None:
            return denied
        media_id = self._media_id(request)
        if isinstance(media_id, Response):
            return media_id
        body = await self._json_body(request)
        if isinstance(body, Response):
            return body
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            return validation_error("name", "The name field is required.")
        with self.lock:
            media = self._find(media_id)
            if isinstance(media, Response):
                return media
            media.name = name
        return JSONResponse({"success": True})

    async def delete_media(self, request: Request) -> Response:
        if (denied := self._auth(request, "User not found")) is not None:
            return denied
        media_id = self._media_id(request, "The media id must be int")
        if isinstance(media_id, Response):
            return media_id
        with self.lock:
            media = self._find(media_id)
            if isinstance(media, Response):
                return media
            del self.media[media_id]
        return JSONResponse({"success": True})

    async def standard_media(self, request: Request) -> Response:
        if (denied := self._auth(request, "User not found.")) is not None:
            return denied
        return JSONResponse({"standard_media": [{"id": k, "name": v[0]} for k, v in self.standard.items()]})
