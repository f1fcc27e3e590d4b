"""Formatting of asset facts and attribute diffs shared by the renderers."""

from __future__ import annotations

from typing import Any

from reconciler.model import SoundFacts, is_content_hash
from reconciler.plan import AssetState
from reconciler.render.printable import printable

FIELDS = ("name", "description", "sha256", "size", "duration", "format", "sample_rate", "channels")


def show(field: str, value: Any) -> str:
    if value is None:
        return "(unknown)"
    if field in ("name", "description"):
        return f'"{printable(str(value))}"'  # from a config, a lockfile or a listing: never raw
    if field == "sha256":
        # a file-less asset's identity (`standard:<id>`) is shown whole: it is the id
        return f'"{value[:12]}"' if is_content_hash(value) else f'"{value}"'
    if field == "size":
        return human_size(value)
    if field == "duration":
        return f"{value:.2f} s"
    if field == "sample_rate":
        return f"{value} Hz"
    if field == "channels":
        return str(value)
    return f'"{value}"'


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 / 1024:.2f} MiB"


def attribute_diff(before: AssetState | None, after: AssetState | None) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for each field that differs, in display order.

    A field unknown on one side (None) is not reported as a change, because
    the provider simply does not show it. Numbers compare at two decimals
    (a duration of 1.234 s against 1.2341 s is no change) whatever their type.
    The facts are a few flat scalars: a generic deep-diff library (and the
    numpy it imports, a third of a second of start-up) buys nothing here.
    """
    old = before.model_dump() if before else {}
    new = after.model_dump() if after else {}
    out = []
    for field in FIELDS:
        a, b = old.get(field), new.get(field)
        if a is not None and b is not None and _differs(a, b):
            out.append((field, a, b))
    return out


def _differs(a: Any, b: Any) -> bool:
    numeric = (int, float)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool) and not isinstance(b, bool):
        return f"{float(a):.2f}" != f"{float(b):.2f}"
    return a != b


def present(state: AssetState | None) -> list[tuple[str, Any]]:
    if state is None:
        return []
    data = state.model_dump()
    if data.get("sha256") and not is_content_hash(data["sha256"]):
        data["size"] = None  # no local bytes: a size of 0 would mislead
    return [(f, data[f]) for f in FIELDS if data.get(f) not in (None, "")]


# measured facts of the uploaded bytes, diffed where both sides know them
AUDIO_FIELDS = ("encoding", "channels", "loudness", "true_peak")
UNITS = {"loudness": "LUFS", "true_peak": "dBTP"}


def show_audio(field: str, value: Any) -> str:
    if value is None:
        return "(unknown)"
    if field in UNITS:
        return f"{value:.1f} {UNITS[field]}"
    return str(value)


def audio_diff(before: AssetState | None, after: AssetState | None) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for the measured audio facts that differ (loudness moves
    by 0.05 LU or more), where both sides know them."""
    old = before.audio if before is not None else None
    new = after.audio if after is not None else None
    if old is None or new is None:
        return []
    out = []
    for field in AUDIO_FIELDS:
        a, b = getattr(old, field), getattr(new, field)
        if a is None or b is None:
            continue
        if isinstance(a, float) or isinstance(b, float):
            if round(float(a), 1) == round(float(b), 1):
                continue
        elif a == b:
            continue
        out.append((field, a, b))
    return out


def describe_master(facts: SoundFacts) -> str:
    """"FLAC 48000 Hz 2 ch, 3.20 s, -23.4 LUFS" (what is known)."""
    head = " ".join(
        p for p in (
            (facts.format or "").upper(),
            f"{facts.sample_rate} Hz" if facts.sample_rate else "",
            f"{facts.channels} ch" if facts.channels else "",
        ) if p
    )
    parts = [head] if head else []
    if facts.duration is not None:
        parts.append(f"{facts.duration:.2f} s")
    if facts.loudness is not None:
        parts.append(f"{facts.loudness:.1f} LUFS")
    return ", ".join(parts) or "facts unknown"


def describe_rendition(facts: SoundFacts) -> str:
    """"wav/ulaw 8000 Hz 1 ch, 3.20 s, -16.0 LUFS, peak -1.0 dBTP"."""
    kind = "/".join(p for p in (facts.format, facts.encoding) if p)
    head = " ".join(
        p for p in (kind, f"{facts.sample_rate} Hz" if facts.sample_rate else "",
                    f"{facts.channels} ch" if facts.channels else "") if p
    )
    parts = [head] if head else []
    if facts.duration is not None:
        parts.append(f"{facts.duration:.2f} s")
    if facts.loudness is not None:
        parts.append(f"{facts.loudness:.1f} LUFS")
    if facts.true_peak is not None:
        parts.append(f"peak {facts.true_peak:.1f} dBTP")
    return ", ".join(parts) or "facts unknown"


def master_line(state: AssetState) -> str | None:
    """"masters/welcome.flac (FLAC 48000 Hz 2 ch, 3.20 s, -23.4 LUFS)", or None without a rendition."""
    if state.master is None:
        return None
    name = state.master.file or f'master sha256 "{state.master.sha256[:12]}"'
    return f"{name} ({describe_master(state.master.facts)})"


def rendition_line(state: AssetState) -> str | None:
    if state.master is None or state.audio is None:
        return None
    return f"rendition {describe_rendition(state.audio)}"
