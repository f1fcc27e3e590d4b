"""A stateful emulator of wolkvox Manager's audio API (API v2), after seed 000
and wolkvox's public pages "23. Upload audio" and "16. List audios".

    POST /api/v2/configuration.php?api=upload_audio   multipart, 1..50 files, each <= 5 MB
    GET  /api/v2/information.php?api=audio_list       every audio: name, duration, creation date

(also served without the /api/v2 prefix, so `base_url = server.url` works).

Every request needs the header `wolkvox-token`; the checks run in the
documented order of the response-code table:

    401 PLEASE ENTER THE WOLKVOX-TOKEN                        no header
    403 PLEASE VALIDATE TOKEN                                 unknown token
    403 EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)   a third request in flight
    403 TOKEN LIMIT EXCEEDED                                  the daily quota is spent
    400 THE API YOU WANT TO CONSULT DOES NOT EXIST            unknown ?api=
    400 SOME PARAMETERS ARE REQUIRED                          no file

Bodies are `{code, error, msg, data}`; an upload answers `code` as a string
("201", as in the seed), the listing as a number (both happen, per client
code). Files of a request that break a per-file rule (over 5 MB, or marked
with `reject()`) are left out of `data` and named in `error`; the rest are
stored. More than 50 files: the whole request is refused.

Knobs for tests: `work_seconds` (each request holds its slot this long),
`hold_slots()` (another program using the token), `daily_quota`,
`reject()`, `list_keys` / `list_duration_style` (the listing's unpublished
key names), `max_records` (the 60,000-records cap), and console actions:
`console_upload`, `console_delete`, `console_rename`, `console_replace`.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.harness import Emulator

MAX_FILES = 50
MAX_FILE_BYTES = 5_000_000
MAX_CONCURRENT = 2
MAX_RECORDS = 60_000

NO_TOKEN = "PLEASE ENTER THE WOLKVOX-TOKEN"
BAD_TOKEN = "PLEASE VALIDATE TOKEN"
SIMULTANEOUS = "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)"
QUOTA = "TOKEN LIMIT EXCEEDED"
NO_API = "THE API YOU WANT TO CONSULT DOES NOT EXIST"
PARAMS = "SOME PARAMETERS ARE REQUIRED"


def error_body(status: int, message: str) -> dict:
    return {"code": str(status), "error": message, "msg": None, "data": None}


def duration_of(data: bytes) -> float:
    """Seconds of audio, as the console shows it (0 when it cannot tell)."""
    from mutagen import MutagenError
    from mutagen.mp3 import MP3
    from mutagen.wave import WAVE

    for parser in (WAVE, MP3):
        try:
            return float(parser(io.BytesIO(data)).info.length)
        except (MutagenError, ValueError, EOFError, IndexError, AssertionError):
            continue
    return 0.0


@dataclass
class Audio:
    filename: str
    data: bytes
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


class WolkvoxEmulator(Emulator):
    token = "wolkvox-emulator-secret-7f3a9c2e51"

    def __init__(self) -> None:
        super().__init__()
        self.audios: dict[str, Audio] = {}
        self.uploads: list[list[str]] = []  # filenames sent, per accepted upload request
        self.work_seconds = 0.0
        self.daily_quota: int | None = None  # requests left today; None: unlimited
        self.max_records = MAX_RECORDS
        self.rejections: dict[str, str] = {}
        self.list_keys = {"name": "name", "duration": "duration", "created": "creation_date"}
        # seconds | hms | number | floor | round | ceil | ms | hms-whole
        self.list_duration_style = "seconds"
        self.token_in_flight = 0
        self.max_token_in_flight = 0
        self.foreign_slots = 0  # requests another program has in flight on the token
        self._release_after: int | None = None
        self.simultaneous_refusals = 0
        self.app = _ConcurrencyGuard(self, Starlette(routes=[
            Route(path, self.upload_audio, methods=["POST", "GET"])
            for path in ("/configuration.php", "/api/v2/configuration.php")
        ] + [
            Route(path, self.information, methods=["GET", "POST"])
            for path in ("/information.php", "/api/v2/information.php")
        ]))

    def fault_body(self, status: int):
        return error_body(status, f"INJECTED FAULT {status}")

    # --- what a person or another program does -------------------------------------
    def console_upload(self, filename: str, data: bytes) -> str:
        """Upload in wolkvox Manager (a name without extension gets .wav)."""
        if "." not in filename:
            filename += ".mp3" if data[:3] == b"ID3" or data[:1] == b"\xff" else ".wav"
        with self.lock:
            self.audios[filename] = Audio(filename, data)
        return filename

    def console_delete(self, filename: str) -> None:
        with self.lock:
            del self.audios[filename]

    def console_rename(self, old: str, new: str) -> None:
        with self.lock:
            audio = self.audios.pop(old)
            audio.filename = new
            self.audios[new] = audio

    def console_replace(self, filename: str, data: bytes) -> None:
        with self.lock:
            self.audios[filename] = Audio(filename, data)

    def reject(self, filename: str, reason: str = "THE FILE COULD NOT BE PROCESSED") -> None:
        """Refuse this file whenever it is uploaded (the rest of its request is stored)."""
        self.rejections[filename] = reason

    def hold_slots(self, n: int, *, release_after_refusals: int | None = None) -> None:
        """Another program has `n` requests in flight on the token; they end once
        `release_after_refusals` of ours have been refused (never, if None)."""
        with self.lock:
            self.foreign_slots = n
            self._release_after = release_after_refusals

    def set_page_size(self, n: int) -> None:
        """wolkvox does not paginate: at most this many records per listing."""
        self.max_records = n

    def names(self) -> list[str]:
        return sorted(self.audios)

    # --- the API ------------------------------------------------------------------------
    async def upload_audio(self, request: Request) -> JSONResponse:
        if request.method != "POST" or request.query_params.get("api") != "upload_audio":
            return JSONResponse(error_body(400, NO_API), status_code=400)
        form = await request.form(max_files=1000, max_fields=1000)
        files = [v for k, v in form.multi_items() if k.startswith("file") and hasattr(v, "filename")]
        if not files:
            return JSONResponse(error_body(400, PARAMS), status_code=400)
        if len(files) > MAX_FILES:
            return JSONResponse(
                error_body(400, f"THE MAXIMUM NUMBER OF FILES PER REQUEST IS {MAX_FILES}"), status_code=400
            )
        stored, refused = [], []
        for upload in files:
            data = await upload.read()
            name = upload.filename or ""
            if not name:
                refused.append(f"(no name): {PARAMS}")
            elif len(data) > MAX_FILE_BYTES:
                refused.append(f"{name}: THE FILE EXCEEDS THE MAXIMUM SIZE OF 5MB")
            elif name in self.rejections:
                refused.append(f"{name}: {self.rejections[name]}")
            else:
                stored.append((name, data))
        with self.lock:
            self.uploads.append([f.filename or "" for f in files])
            for name, data in stored:
                self.audios[name] = Audio(name, data)  # the same name again overwrites
        if not stored:
            return JSONResponse(error_body(400, "; ".join(refused)), status_code=400)
        return JSONResponse(
            {
                "code": "201",
                "error": "; ".join(refused) or None,
                "msg": f"{len(stored)} audio file(s) uploaded successfully",
                "data": [{"filename": name} for name, _ in stored],
            },
            status_code=201,
        )

    async def information(self, request: Request) -> JSONResponse:
        if request.method != "GET" or request.query_params.get("api") != "audio_list":
            return JSONResponse(error_body(400, NO_API), status_code=400)
        with self.lock:
            audios = sorted(self.audios.values(), key=lambda a: a.created)[: self.max_records]
        keys = self.list_keys
        data = []
        for audio in audios:
            item = {}
            if keys.get("name"):
                item[keys["name"]] = audio.filename
            if keys.get("duration"):
                item[keys["duration"]] = self._show_duration(duration_of(audio.data))
            if keys.get("created"):
                item[keys["created"]] = audio.created.strftime("%Y-%m-%d %H:%M:%S")
            data.append(item)
        return JSONResponse({"code": 200, "error": None, "msg": f"{len(data)} audio(s)", "data": data})

    def _show_duration(self, seconds: float):
        if self.list_duration_style == "hms":
            whole = int(seconds)
            return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{int(seconds % 1 * 100):02d}"
        if self.list_duration_style == "number":
            return round(seconds, 2)
        # the documentation is silent on precision: whole seconds (any rounding),
        # or an integer of milliseconds, are as plausible as hundredths
        if self.list_duration_style in ("floor", "ceil"):
            return int(getattr(math, self.list_duration_style)(seconds))
        if self.list_duration_style == "round":
            return str(round(seconds))
        if self.list_duration_style == "ms":
            return round(seconds * 1000)
        if self.list_duration_style == "hms-whole":
            whole = int(seconds)
            return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
        return f"{seconds:.2f}"


class _ConcurrencyGuard:
    """ASGI: token checks, the 2-requests-in-flight rule and the daily quota,
    around the whole life of each request (the slot is held while it works)."""

    def __init__(self, emulator: WolkvoxEmulator, app) -> None:
        self.emulator = emulator
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        em = self.emulator
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        token = headers.get("wolkvox-token", "").strip()
        if not token:
            return await self.refuse(401, NO_TOKEN, receive, send)
        if token != em.token:
            return await self.refuse(403, BAD_TOKEN, receive, send)
        with em.lock:
            busy = em.token_in_flight + em.foreign_slots
            if busy >= MAX_CONCURRENT:
                em.simultaneous_refusals += 1
                if em._release_after is not None and em.simultaneous_refusals >= em._release_after:
                    em.foreign_slots = 0
                refused = True
            else:
                refused = False
                em.token_in_flight += 1
                em.max_token_in_flight = max(em.max_token_in_flight, busy + 1)
        if refused:
            return await self.refuse(403, SIMULTANEOUS, receive, send)
        try:
            with em.lock:
                spent = em.daily_quota is not None and em.daily_quota <= 0
                if em.daily_quota is not None and not spent:
                    em.daily_quota -= 1
            if spent:
                return await self.refuse(403, QUOTA, receive, send)
            if em.work_seconds:
                await asyncio.sleep(em.work_seconds)
            await self.app(scope, receive, send)
        finally:
            with em.lock:
                em.token_in_flight -= 1

    @staticmethod
    async def refuse(status: int, message: str, receive, send) -> None:
        while True:  # read the body first, as a server does, so the client sees the answer
            message_in = await receive()
            if message_in["type"] != "http.request" or not message_in.get("more_body"):
                break
        raw = json.dumps(error_body(status, message)).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})
