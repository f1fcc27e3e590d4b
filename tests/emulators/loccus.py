"""A stateful emulator of the Loccus.ai (Hiya Audio Intelligence) audios API of
seed 002, as PROVIDERS.md sums it up:

    POST   /spaces/{owner}/{space}/audios                {file: base64, alias?, handle?, identity?} -> 201 audio
    GET    /spaces/{owner}/{space}/audios?page=&page-size=1..50&search=&sort=
                                                          -> 200 [audio, ...]; headers Page-Total, Item-Total
    GET    /spaces/{owner}/{space}/audios/{audio}         -> 200 audio ({audio} is the handle)
    GET    /spaces/{owner}/{space}/audios/{audio}/file    -> 200 audio/wav (a converted copy)
    PATCH  /spaces/{owner}/{space}/audios/{audio}         {alias} -> 200 audio
    DELETE /spaces/{owner}/{space}/audios/{audio}         -> 204

An audio is `{id (uuid), handle, alias, state, duration ("PT3.500S"),
voiceDuration, sampleRate, identity, voiceprints, verifications, createdAt,
uploadedAt}`. Handles are 1–50 characters, lowercase alphanumeric groups
joined by hyphens, unique in the space (409 otherwise); a handle left out
defaults to the id. Aliases are 1–100 characters or null.

Authentication is `Authorization: Bearer <key>` (401 otherwise); a space of
another owner is 403, an unknown space of the owner 404. Errors use Hiya's
documented body `{"error": {"id", "code", "errors": [{"message"}]}}`.

Processing (`state`): with the default knobs an upload is `available` at
once. `processing(reads=K)` keeps new uploads `avaitingFile` (sic) for K reads
of `GET …/audios/{audio}`, then `available`; `processing(reads=K,
outcome="notAvailable")` ends them rejected; `processing(reads=None)` leaves
them waiting forever. Listing does not advance the state.

The stored file is the upload converted to 16-bit mono PCM WAV at the same
sample rate (silence of the same length for formats the emulator cannot
decode), so downloads never hash like the upload: only duration and sample
rate survive.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import struct
import uuid
import wave
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.emulators.harness import Emulator

HANDLE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PAGE_SIZE_MAX = 50
MESSAGES = {
    400: "Invalid request",
    401: "Invalid or missing API key",
    403: "You do not have access to this space",
    404: "Not found",
    409: "Resource already exists",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


def error_body(status: int, *messages: str) -> dict[str, Any]:
    """Hiya's documented error object."""
    return {
        "error": {
            "id": uuid.uuid4().hex,
            "code": status,
            "errors": [{"message": m} for m in (messages or (MESSAGES.get(status, "Error"),))],
        }
    }


def iso_duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S" if seconds else "PT0S"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def analyse(data: bytes) -> tuple[float, int, bytes] | None:
    """(duration, sample rate, converted WAV) of uploaded media, or None if not audio."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate, width, channels, n = w.getframerate(), w.getsampwidth(), w.getnchannels(), w.getnframes()
            frames = w.readframes(n)
        samples = _to_mono16(frames, width, channels)
        return n / rate, rate, _wav16(samples, rate)
    except (wave.Error, EOFError, struct.error, ZeroDivisionError):
        pass
    import mutagen

    try:
        parsed = mutagen.File(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - any parse failure means "not audio we take"
        parsed = None
    if parsed is None or not getattr(parsed.info, "length", None):
        return None
    rate = int(getattr(parsed.info, "sample_rate", 0) or 8000)
    duration = float(parsed.info.length)
    return duration, rate, _wav16([0] * int(duration * rate), rate)


def _to_mono16(frames: bytes, width: int, channels: int) -> list[int]:
    step = width * channels
    out = []
    for i in range(0, len(frames) - step + 1, step):
        chunk = frames[i : i + width]
        if width == 1:
            out.append((chunk[0] - 128) << 8)
        elif width == 2:
            out.append(struct.unpack("<h", chunk)[0])
        else:
            out.append(int.from_bytes(chunk, "little", signed=True) >> (8 * (width - 2)))
    return out


def _wav16(samples: list[int], rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buf.getvalue()


@dataclass
class Audio:
    id: str
    handle: str
    alias: str | None
    source: bytes | None
    stored: bytes | None
    duration: float
    sample_rate: int
    state: str
    created_at: str
    uploaded_at: str | None
    reads_left: int | None = 0  # reads of GET …/audios/{audio} before `outcome`; None: never
    outcome: str = "available"
    extra: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        ready = self.state == "available"
        return {
            "id": self.id,
            "handle": self.handle,
            "alias": self.alias,
            "state": self.state,
            "duration": iso_duration(self.duration if ready else 0.0),
            "voiceDuration": iso_duration(self.duration if ready else 0.0),
            "sampleRate": self.sample_rate if ready else 0,
            "identity": None,
            "voiceprints": 0,
            "verifications": 0,
            "createdAt": self.created_at,
            "uploadedAt": self.uploaded_at,
        }


class LoccusEmulator(Emulator):
    token = "loccus-emulator-key-3f9a7c1e5b"

    def __init__(self, owner: str = "acme", space: str = "ivr-prompts") -> None:
        super().__init__()
        self.owner = owner
        self.space = space
        self.audios: dict[str, Audio] = {}  # by id, in creation order
        self.page_size_cap: int | None = None  # serve at most this many per page (test knob)
        self._reads: int | None = 0
        self._outcome = "available"
        base = "/spaces/{owner}/{space}/audios"
        self.app = Starlette(routes=[
            Route(base, self.list_audios, methods=["GET"]),
            Route(base, self.create_audio, methods=["POST"]),
            Route(base + "/{audio}", self.get_audio, methods=["GET"]),
            Route(base + "/{audio}", self.update_audio, methods=["PATCH"]),
            Route(base + "/{audio}", self.delete_audio, methods=["DELETE"]),
            Route(base + "/{audio}/file", self.get_file, methods=["GET"]),
        ])

    # --- knobs and the web console ------------------------------------------------
    def fault_body(self, status: int) -> Any:
        return error_body(status)

    def set_page_size(self, n: int) -> None:
        self.page_size_cap = n

    def processing(self, reads: int | None = 0, outcome: str = "available") -> None:
        """How new uploads go: `reads` GETs of the audio in `avaitingFile`, then `outcome`."""
        self._reads, self._outcome = reads, outcome

    def by_handle(self, handle: str) -> Audio | None:
        with self.lock:
            return next((a for a in self.audios.values() if a.handle == handle), None)

    def console_upload(self, handle: str, data: bytes, alias: str | None = None) -> str:
        facts = analyse(data)
        assert facts is not None, "console_upload needs audio"
        duration, rate, stored = facts
        with self.lock:
            audio = Audio(str(uuid.uuid4()), handle, alias, data, stored, duration, rate, "available", now(), now())
            self.audios[audio.id] = audio
            return audio.id

    def console_rename(self, handle: str, new_handle: str) -> None:
        audio = self.by_handle(handle)
        assert audio is not None
        audio.handle = new_handle

    def console_set_alias(self, handle: str, alias: str | None) -> None:
        audio = self.by_handle(handle)
        assert audio is not None
        audio.alias = alias

    def console_delete(self, handle: str) -> None:
        audio = self.by_handle(handle)
        assert audio is not None
        with self.lock:
            del self.audios[audio.id]

    def console_replace_file(self, handle: str, data: bytes) -> None:
        """Not an API operation: plays a back-office change of the stored audio."""
        audio = self.by_handle(handle)
        facts = analyse(data)
        assert audio is not None and facts is not None
        audio.duration, audio.sample_rate, audio.stored = facts
        audio.source = data

    def handles(self) -> list[str]:
        with self.lock:
            return sorted(a.handle for a in self.audios.values())

    # --- request plumbing -------------------------------------------------------
    def _check(self, request: Request) -> JSONResponse | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(error_body(401), status_code=401)
        owner, space = request.path_params["owner"], request.path_params["space"]
        if owner != self.owner:
            return JSONResponse(error_body(403, f"You do not have access to the spaces of '{owner}'"), status_code=403)
        if space != self.space:
            return JSONResponse(error_body(404, f"Space '{owner}/{space}' not found"), status_code=404)
        return None

    def _audio(self, request: Request) -> Audio | JSONResponse:
        denied = self._check(request)
        if denied is not None:
            return denied
        handle = request.path_params["audio"]
        audio = self.by_handle(handle)
        if audio is None:
            return JSONResponse(error_body(404, f"Audio '{handle}' not found"), status_code=404)
        return audio

    @staticmethod
    def _bad(*messages: str) -> JSONResponse:
        return JSONResponse(error_body(400, *messages), status_code=400)

    # --- endpoints -----------------------------------------------------------------
    async def list_audios(self, request: Request) -> Response:
        denied = self._check(request)
        if denied is not None:
            return denied
        q = request.query_params
        try:
            page = int(q.get("page", "1"))
            size = int(q.get("page-size", "20"))
        except ValueError:
            return self._bad("page and page-size must be integers")
        if page < 1:
            return self._bad("page must be at least 1")
        if not 1 <= size <= PAGE_SIZE_MAX:
            return self._bad(f"page-size must be between 1 and {PAGE_SIZE_MAX}")
        sort = q.get("sort", "createdAt")
        if sort not in ("handle", "createdAt", "uploadedAt"):
            return self._bad("sort must be one of handle, createdAt, uploadedAt")
        if self.page_size_cap:
            size = min(size, self.page_size_cap)
        with self.lock:
            items = list(self.audios.values())
        search = q.get("search")
        if search:
            items = [a for a in items if search in a.handle or search in (a.alias or "")]
        if sort == "handle":
            items.sort(key=lambda a: a.handle)
        chunk = items[(page - 1) * size : page * size]
        headers = {"Page-Total": str(math.ceil(len(items) / size)), "Item-Total": str(len(items))}
        return JSONResponse([a.json() for a in chunk], headers=headers)

    async def create_audio(self, request: Request) -> Response:
        denied = self._check(request)
        if denied is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            return self._bad("The body must be JSON")
        if not isinstance(body, dict):
            return self._bad("The body must be a JSON object")
        unknown = sorted(set(body) - {"file", "alias", "handle", "identity"})
        if unknown:
            return self._bad(f"Unknown field(s): {', '.join(unknown)}")
        alias, handle = body.get("alias"), body.get("handle")
        if alias is not None and (not isinstance(alias, str) or not 1 <= len(alias) <= 100):
            return self._bad("alias must be between 1 and 100 characters")
        if handle is not None and (not isinstance(handle, str) or len(handle) > 50 or not HANDLE.match(handle)):
            return self._bad("handle must be 1 to 50 lowercase alphanumeric characters separated by hyphens")
        data = None
        facts: tuple[float, int, bytes] | None = (0.0, 0, b"")
        if body.get("file") is not None:
            try:
                data = base64.b64decode(str(body["file"]), validate=True)
            except (binascii.Error, ValueError):
                return self._bad("file must be a Base64-encoded string")
            facts = analyse(data)
            if facts is None:
                return JSONResponse(error_body(415, "The media file is not supported"), status_code=415)
        with self.lock:
            if handle is not None and self.by_handle(handle) is not None:
                return JSONResponse(error_body(409, f"An audio with handle '{handle}' already exists"), status_code=409)
            audio_id = str(uuid.uuid4())
            duration, rate, stored = facts
            if data is None:
                state, reads = "avaitingFile", None
            elif self._reads == 0:
                state, reads = self._outcome, 0
            else:
                state, reads = "avaitingFile", self._reads
            audio = Audio(
                audio_id, handle or audio_id, alias, data, stored if data is not None else None, duration, rate,
                state, now(), now() if data is not None else None, reads_left=reads, outcome=self._outcome,
            )
            self.audios[audio_id] = audio
            return JSONResponse(audio.json(), status_code=201)

    async def get_audio(self, request: Request) -> Response:
        audio = self._audio(request)
        if isinstance(audio, Response):
            return audio
        with self.lock:
            if audio.state == "avaitingFile" and audio.reads_left is not None and audio.source is not None:
                audio.reads_left -= 1
                if audio.reads_left <= 0:
                    audio.state = audio.outcome
            return JSONResponse(audio.json())

    async def get_file(self, request: Request) -> Response:
        audio = self._audio(request)
        if isinstance(audio, Response):
            return audio
        if audio.state != "available" or audio.stored is None:
            return JSONResponse(error_body(404, f"Audio '{audio.handle}' has no available file"), status_code=404)
        return Response(audio.stored, media_type="audio/wav")

    async def update_audio(self, request: Request) -> Response:
        audio = self._audio(request)
        if isinstance(audio, Response):
            return audio
        try:
            body = await request.json()
        except ValueError:
            return self._bad("The body must be JSON")
        if not isinstance(body, dict):
            return self._bad("The body must be a JSON object")
        unknown = sorted(set(body) - {"alias"})
        if unknown:
            return self._bad(f"Unknown field(s): {', '.join(unknown)}")
        alias = body.get("alias")
        if alias is not None and (not isinstance(alias, str) or not 1 <= len(alias) <= 100):
            return self._bad("alias must be between 1 and 100 characters")
        if "alias" in body:
            audio.alias = alias
        return JSONResponse(audio.json())

    async def delete_audio(self, request: Request) -> Response:
        audio = self._audio(request)
        if isinstance(audio, Response):
            return audio
        with self.lock:
            self.audios.pop(audio.id, None)
        return Response(status_code=204)
