"""wolkvox's wire: its limits and endpoints, and the reading of its loosely
specified answers (audio_list's unpublished keys, upload_audio's list of
stored files). Pure functions; the client is `providers.wolkvox`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.model import RemoteAsset

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


class Unreadable(ValueError):
    """An answer in a shape this module does not understand (the message says what)."""


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


def list_items(body: Any) -> list[Mapping[str, Any]]:
    """The audio entries of an audio_list answer, in whichever container it puts them."""
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
        raise Unreadable(f"audio_list did not return a list of audios ({str(body)[:200]})")
    return data


def list_item(item: Mapping[str, Any]) -> RemoteAsset:
    _, name = _pick(item, NAME_KEYS)
    if not isinstance(name, str) or not name.strip():
        # without the names, a declared name would look free and be uploaded over a file we do not own
        raise Unreadable(
            f"an audio_list entry has no recognisable name (keys: {', '.join(sorted(map(str, item)))})"
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


def confirmed_files(body: Mapping[str, Any]) -> dict[str, str] | None:
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


def count_in(msg: Any) -> int | None:
    """3 from "3 audio file(s) uploaded successfully"."""
    match = re.match(r"\s*(\d+)\b", msg) if isinstance(msg, str) else None
    return int(match.group(1)) if match else None
