"""`StreamedBody.attempt`: what one attempt of an upload sends. A body of at
most INLINE_MAX bytes is read whole (one write on the wire), verified
against the plan before anything is sent; a larger one streams in chunks;
each file is opened once per attempt and closed whatever happens."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest

from reconciler.payload import (
    CHUNK,
    INLINE_MAX,
    FormFile,
    Payload,
    PayloadChanged,
    StreamedBody,
    json_with_base64,
    multipart,
)


def file_payload(path: Path, data: bytes) -> Payload:
    path.write_bytes(data)
    return Payload.of_file(path, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def drain(content) -> bytes:
    if isinstance(content, bytes):
        return content
    return b"".join([chunk async for chunk in content])


def sent(body: StreamedBody) -> tuple[type, bytes]:
    async def go():
        with body.attempt() as content:
            return type(content), await drain(content)

    return asyncio.run(go())


def bodies(tmp_path: Path, data: bytes) -> list[StreamedBody]:
    payload = file_payload(tmp_path / "a.wav", data)
    return [json_with_base64({"file": "", "name": "a"}, "file", payload),
            multipart([("k", "v")], [FormFile("file1", "a.wav", "audio/wav", payload),
                                     FormFile("file2", "b.wav", "audio/wav", Payload.of_bytes(b"in memory"))])]


@pytest.mark.parametrize("size", [0, 1, 1000, 3 * CHUNK + 2])
def test_a_small_body_is_one_bytes_object_equal_to_the_stream(tmp_path, size):
    for body in bodies(tmp_path, os.urandom(size)):
        kind, data = sent(body)
        assert kind is bytes
        assert data == b"".join(body.iter_bytes()) and len(data) == body.length


def test_a_large_body_streams_in_chunks_and_is_byte_identical(tmp_path):
    data = os.urandom(INLINE_MAX)  # its base64 is over INLINE_MAX: streamed
    for body in bodies(tmp_path, data):
        assert body.length > INLINE_MAX

        async def go(body: StreamedBody = body):
            with body.attempt() as content:
                assert not isinstance(content, bytes)
                digest, biggest = hashlib.sha256(), 0
                async for chunk in content:
                    digest.update(chunk)
                    biggest = max(biggest, len(chunk))
                return digest.hexdigest(), biggest

        digest, biggest = asyncio.run(go())
        assert digest == hashlib.sha256(b"".join(body.iter_bytes())).hexdigest()
        assert biggest <= 4 * (CHUNK + 2) // 3  # chunks, never the whole file


def test_a_large_body_holds_chunks_not_the_file(tmp_path):
    payload = file_payload(tmp_path / "big.wav", os.urandom(20_000_000))
    body = json_with_base64({"file": "", "name": "big"}, "file", payload)

    async def go():
        with body.attempt() as content:
            async for _ in content:
                pass

    tracemalloc.start()
    try:
        asyncio.run(go())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * CHUNK, f"peak {peak:,} bytes while streaming a 20 MB file"


@pytest.mark.parametrize("size", [1000, INLINE_MAX])
@pytest.mark.parametrize("where", [0, -1])
def test_a_file_changed_after_the_plan_is_refused(tmp_path, size, where):
    """Same size, one byte flipped: a small body refuses before giving any
    bytes; a streamed one before its last chunk."""
    data = os.urandom(size)
    payload = file_payload(tmp_path / "a.wav", data)
    edited = bytearray(data)
    edited[where] ^= 0xFF
    payload.path.write_bytes(bytes(edited))
    body = json_with_base64({"file": "", "name": "a"}, "file", payload)
    given: list[bytes] = []

    async def go():
        with body.attempt() as content:
            if isinstance(content, bytes):
                given.append(content)
            else:
                async for chunk in content:
                    given.append(chunk)

    with pytest.raises(PayloadChanged, match="changed after it was planned"):
        asyncio.run(go())
    assert sum(map(len, given)) < body.length  # never the whole body
    if body.length <= INLINE_MAX:
        assert given == []


def test_a_file_grown_or_gone_is_refused_before_anything_is_read(tmp_path):
    data = b"x" * 999
    payload = file_payload(tmp_path / "a.wav", data)
    body = json_with_base64({"file": ""}, "file", payload)
    payload.path.write_bytes(data + b"!")
    with pytest.raises(PayloadChanged, match="changed after it was planned"), body.attempt():
        pytest.fail("the attempt must not start")
    payload.path.unlink()
    with pytest.raises(PayloadChanged, match="does not exist"), body.attempt():
        pytest.fail("the attempt must not start")


@pytest.mark.parametrize("size", [1000, INLINE_MAX])
def test_every_file_is_closed_after_an_attempt_even_one_never_sent(tmp_path, size):
    """The files are opened when an attempt starts; one whose request fails
    before its body is read (a refused connection) must not leak them."""
    body = multipart([], [FormFile(f"file{i}", f"{i}.wav", "audio/wav", file_payload(tmp_path / f"{i}.wav",
                                                                                      os.urandom(size)))
                          for i in range(5)])
    before = open_fds()
    with body.attempt() as content:
        assert open_fds() == before + 5  # one open per file per attempt
        del content  # never read
    assert open_fds() == before
    with pytest.raises(RuntimeError), body.attempt():
        raise RuntimeError("the request failed")
    assert open_fds() == before


def test_base64_of_a_small_body_is_the_files(tmp_path):
    data = os.urandom(5000)
    payload = file_payload(tmp_path / "a.wav", data)
    kind, wire = sent(json_with_base64({"file": ""}, "file", payload))
    assert kind is bytes and wire == b'{"file":"' + base64.b64encode(data) + b'"}'
