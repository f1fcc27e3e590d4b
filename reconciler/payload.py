"""Upload bodies streamed from their files, so an apply holds a few chunks
per request in flight rather than whole files (and their base64).

A `Payload` is the bytes of one upload: a file read chunk by chunk each time
a request sends it, or bytes already in memory (a caller that has them). A
`StreamedBody` is a request body of literal bytes and payloads — a multipart
form, or JSON with a payload's base64 inside — with an exact Content-Length
computed before anything is read. `HttpProvider.request(body=...)` builds a
fresh one for every attempt (`StreamedBody.attempt`), so a retried request
sends the whole body again from the first byte.

A body of at most INLINE_MAX bytes is read whole and sent as one bytes
object: a small upload (the usual prompt) then costs one open per file and
two socket writes (headers, body) instead of a write per piece — at 1,000
creates the pieces were most of our CPU per request. Larger bodies stream, so
memory holds a few chunks per request in flight rather than whole files (the
peak RSS of an apply does not grow with the bytes uploaded).

The bytes sent are the bytes planned: a file payload hashes what it reads
and compares the digest (and the size) with the plan's — a body read whole,
before anything is sent; a streamed one, before its last chunk leaves. A
file changed since it was planned raises `PayloadChanged` before the body is
complete, so the server never receives a whole request (its Content-Length
is not reached) and nothing is recorded under the planned digest.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.inputs import MAX_AUDIO_BYTES, InputError, open_regular, stat_regular

# 192 KiB: a multiple of 3, so the base64 of each chunk concatenates into the
# base64 of the whole file (no padding mid-stream)
CHUNK = 3 * 64 * 1024
# bodies up to this many bytes are read whole and sent in one write; larger
# ones stream. A few of these per request in flight is what memory holds.
INLINE_MAX = 1024 * 1024

PLAN_AGAIN = "Run `reconciler plan` again and review the new plan."


class PayloadChanged(Exception):
    """The file of an upload is not what was planned (changed, gone, swapped).
    `HttpProvider.request` turns it into a `SourceChangedError` naming the call."""


@dataclass(frozen=True)
class Payload:
    """The bytes of one upload. `of_file` reads them afresh for every send
    and checks them against the plan; `of_bytes` wraps bytes in memory."""

    size: int
    path: Path | None = None
    sha256: str | None = None
    data: bytes | None = field(default=None, repr=False)

    @classmethod
    def of_file(cls, path: Path, *, size: int, sha256: str) -> Payload:
        return cls(size=size, path=path if isinstance(path, Path) else Path(path), sha256=sha256)

    @classmethod
    def of_bytes(cls, data: bytes) -> Payload:
        return cls(size=len(data), data=bytes(data))

    def check(self) -> None:
        """Cheap, before anything is sent: the file is still a regular file of
        the planned size (one stat; the digest is checked when it is read)."""
        if self.path is None:
            return
        try:
            info = stat_regular(self.path, limit=MAX_AUDIO_BYTES)
        except InputError as exc:
            raise PayloadChanged(f"audio file {self.path} {exc.reason}") from None
        if info.st_size != self.size:
            raise PayloadChanged(f"{self.path} changed after it was planned")

    def _open(self) -> int:
        """The file open for reading, still a regular file of the planned size."""
        try:
            fd, info = open_regular(self.path, limit=MAX_AUDIO_BYTES)  # type: ignore[arg-type]
        except InputError as exc:
            raise PayloadChanged(f"audio file {self.path} {exc.reason}") from None
        if info.st_size != self.size:
            os.close(fd)
            raise PayloadChanged(f"{self.path} changed after it was planned")
        return fd

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        """The bytes in chunks of `size` (the last may be shorter). A file is
        opened here, read once, and verified before its last chunk is given."""
        if self.data is not None:
            view = memoryview(self.data)
            for start in range(0, len(view), size):
                yield bytes(view[start:start + size])
            return
        fd = self._open()
        try:
            yield from self._chunks_of(fd, size)
        finally:
            os.close(fd)

    def _chunks_of(self, fd: int, size: int = CHUNK) -> Iterator[bytes]:
        """The file's bytes from the open `fd` (from its first byte), verified
        before the last chunk is given."""
        digest = hashlib.sha256()
        total = 0
        try:
            with os.fdopen(fd, "rb", closefd=False) as fh:
                fh.seek(0)
                chunk = fh.read(size)
                while chunk:
                    digest.update(chunk)
                    total += len(chunk)
                    if total > self.size:
                        raise PayloadChanged(f"{self.path} changed after it was planned")
                    # one chunk read ahead: the check runs before the last one goes out
                    following = fh.read(size)
                    if not following:
                        self._verify(total, digest.hexdigest())
                    yield chunk
                    chunk = following
                if total == 0:
                    self._verify(0, digest.hexdigest())
        except OSError as exc:
            raise PayloadChanged(f"audio file {self.path} could not be read ({exc.strerror or exc})") from None

    def _whole_of(self, fd: int) -> bytes:
        """The file's bytes from the open `fd`, read at once and verified."""
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            parts: list[bytes] = []
            total = 0
            while total <= self.size:  # one byte past the plan's size tells a grown file
                part = os.read(fd, self.size + 1 - total)
                if not part:
                    break
                parts.append(part)
                total += len(part)
        except OSError as exc:
            raise PayloadChanged(f"audio file {self.path} could not be read ({exc.strerror or exc})") from None
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self._verify(len(data), hashlib.sha256(data).hexdigest())
        return data

    def _verify(self, total: int, sha256: str) -> None:
        if total != self.size or sha256 != self.sha256:
            raise PayloadChanged(f"{self.path} changed after it was planned")

    def digest(self) -> str:
        """The sha256 the bytes have (a file's is checked as it is read)."""
        return self.sha256 or hashlib.sha256(self.data or b"").hexdigest()

    def read(self) -> bytes:
        """All the bytes at once (verified), for a caller that needs them whole:
        one open and one read of the planned size (and a byte more, to tell a
        grown file), not a read per chunk."""
        if self.data is not None:
            return self.data
        fd = self._open()
        try:
            return self._whole_of(fd)
        finally:
            os.close(fd)


def as_payload(data: bytes | Payload) -> Payload:
    return data if isinstance(data, Payload) else Payload.of_bytes(data)


def size_of(data: bytes | Payload) -> int:
    return data.size if isinstance(data, Payload) else len(data)


@dataclass(frozen=True)
class Base64:
    """A payload sent as its standard base64 (with padding)."""

    payload: Payload

    @property
    def size(self) -> int:
        return 4 * -(-self.payload.size // 3)

    def chunks(self, source: Iterator[bytes] | None = None) -> Iterator[bytes]:
        """The base64 of the payload's chunks (of `source`: chunks of it already open)."""
        carry = b""
        for chunk in self.payload.chunks() if source is None else source:
            chunk = carry + chunk if carry else chunk
            cut = len(chunk) - len(chunk) % 3
            carry = chunk[cut:]
            if cut:
                yield base64.b64encode(chunk[:cut])
        if carry:
            yield base64.b64encode(carry)


Part = bytes | Payload | Base64


class StreamedBody:
    """A request body of literal bytes and payloads, streamed afresh each time
    `stream()` is called; its length is known before anything is read."""

    def __init__(self, parts: Sequence[Part], content_type: str) -> None:
        self.parts = list(parts)
        self.content_type = content_type
        self.length = sum(len(p) if isinstance(p, bytes) else p.size for p in self.parts)

    @property
    def payloads(self) -> list[Payload]:
        return [p.payload if isinstance(p, Base64) else p for p in self.parts if not isinstance(p, bytes)]

    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, "Content-Length": str(self.length)}

    def check(self) -> None:
        for payload in self.payloads:
            payload.check()

    def iter_bytes(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, bytes):
                yield part
            else:
                yield from part.chunks()

    async def stream(self) -> AsyncIterator[bytes]:
        # file reads are local and short (one chunk): done inline, as httpx does for files=
        for chunk in self.iter_bytes():
            yield chunk

    @contextlib.contextmanager
    def attempt(self) -> Iterator[bytes | AsyncIterator[bytes]]:
        """The content of one attempt to send this body. Every file is opened
        once, here, and must still be a regular file of its planned size
        (`PayloadChanged` otherwise, before anything is sent). A body of at most
        INLINE_MAX bytes comes back whole, its files verified against the plan
        already; a larger one as a stream read from the open files, each
        verified before its last chunk. The files are closed on exit."""
        opened: list[int] = []
        try:
            sources: list[tuple[Part, int | None]] = []
            for part in self.parts:
                payload = part.payload if isinstance(part, Base64) else part
                fd = None
                if isinstance(payload, Payload) and payload.path is not None:
                    fd = payload._open()
                    opened.append(fd)
                sources.append((part, fd))
            if self.length <= INLINE_MAX:
                yield b"".join([self._whole(part, fd) for part, fd in sources])
            else:
                yield self._streamed(sources)
        finally:
            for fd in opened:
                os.close(fd)

    @staticmethod
    def _whole(part: Part, fd: int | None) -> bytes:
        if isinstance(part, bytes):
            return part
        payload = part.payload if isinstance(part, Base64) else part
        data = payload.data if fd is None else payload._whole_of(fd)
        data = data or b""
        return base64.b64encode(data) if isinstance(part, Base64) else data

    @staticmethod
    async def _streamed(sources: list[tuple[Part, int | None]]) -> AsyncIterator[bytes]:
        # file reads are local and short (one chunk): done inline, as httpx does for files=
        for part, fd in sources:
            if isinstance(part, bytes):
                yield part
                continue
            payload = part.payload if isinstance(part, Base64) else part
            chunks = payload.chunks() if fd is None else payload._chunks_of(fd)
            for chunk in part.chunks(chunks) if isinstance(part, Base64) else chunks:
                yield chunk


# --- multipart/form-data, as httpx writes it -------------------------------------------
# httpx's HTML5 form encoding of names in Content-Disposition
_FORM_ESCAPES = {'"': "%22", "\\": "\\\\", **{chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}}


def _form_param(name: str, value: str) -> bytes:
    return f'{name}="{"".join(_FORM_ESCAPES.get(ch, ch) for ch in value)}"'.encode()


@dataclass(frozen=True)
class FormFile:
    name: str
    filename: str
    content_type: str
    payload: Payload


def multipart(
    fields: Sequence[tuple[str, str]], files: Sequence[FormFile], *, boundary: bytes | None = None
) -> StreamedBody:
    """The body httpx would send for `data=dict(fields), files=...`, byte for
    byte, with each file streamed from its payload."""
    boundary = boundary or secrets.token_hex(16).encode("ascii")
    parts: list[Part] = []
    for name, value in fields:
        parts += [b"--%s\r\n" % boundary, b"Content-Disposition: form-data; " + _form_param("name", name)
                  + b"\r\n\r\n" + value.encode(), b"\r\n"]
    for f in files:
        head = (b"Content-Disposition: form-data; " + _form_param("name", f.name) + b"; "
                + _form_param("filename", f.filename) + f"\r\nContent-Type: {f.content_type}\r\n\r\n".encode())
        parts += [b"--%s\r\n" % boundary + head, f.payload, b"\r\n"]
    parts.append(b"--%s--\r\n" % boundary)
    return StreamedBody(_joined(parts), f"multipart/form-data; boundary={boundary.decode('ascii')}")


# --- JSON with one payload as a base64 string ----------------------------------------------
def json_with_base64(body: dict[str, Any], key: str, payload: Payload) -> StreamedBody:
    """The body httpx would send for `json=body` with `body[key]` the base64
    of `payload`, byte for byte; the base64 is encoded chunk by chunk as it is sent."""
    marker = f"reconciler-payload-{secrets.token_hex(16)}"
    text = json.dumps({**body, key: marker}, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    before, found, after = text.partition(f'"{marker}"')
    assert found and marker not in after, "the marker is unique"
    parts: list[Part] = [(before + '"').encode(), Base64(payload), ('"' + after).encode()]
    return StreamedBody(parts, "application/json")


def _joined(parts: list[Part]) -> list[Part]:
    """Adjacent literal parts as one (fewer, larger writes)."""
    out: list[Part] = []
    for part in parts:
        if isinstance(part, bytes) and out and isinstance(out[-1], bytes):
            out[-1] = out[-1] + part
        else:
            out.append(part)
    return out
