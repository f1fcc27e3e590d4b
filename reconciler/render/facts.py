"""Formatting of asset facts and attribute diffs shared by the renderers."""

from __future__ import annotations

from typing import Any

from deepdiff import DeepDiff

from reconciler.model import is_content_hash
from reconciler.plan import AssetState

FIELDS = ("name", "description", "sha256", "size", "duration", "format", "sample_rate")


def show(field: str, value: Any) -> str:
    if value is None:
        return "(unknown)"
    if field == "sha256":
        # a file-less asset's identity (`standard:<id>`) is shown whole: it is the id
        return f'"{value[:12]}"' if is_content_hash(value) else f'"{value}"'
    if field == "size":
        return human_size(value)
    if field == "duration":
        return f"{value:.2f} s"
    if field == "sample_rate":
        return f"{value} Hz"
    return f'"{value}"'


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 / 1024:.2f} MiB"


def attribute_diff(before: AssetState | None, after: AssetState | None) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for each field that differs, in display order.

    deepdiff does the comparison; a field unknown on one side (None) is not
    reported as a change, because the provider simply does not show it.
    """
    old = before.model_dump() if before else {}
    new = after.model_dump() if after else {}
    diff = DeepDiff(old, new, ignore_order=True, significant_digits=2, ignore_numeric_type_changes=True)
    changed: set[str] = set()
    for kind in ("values_changed", "type_changes"):
        for path in diff.get(kind, {}):
            changed.add(path.split("'")[1])
    out = []
    for field in FIELDS:
        if field in changed and old.get(field) is not None and new.get(field) is not None:
            out.append((field, old[field], new[field]))
    return out


def present(state: AssetState | None) -> list[tuple[str, Any]]:
    if state is None:
        return []
    data = state.model_dump()
    if data.get("sha256") and not is_content_hash(data["sha256"]):
        data["size"] = None  # no local bytes: a size of 0 would mislead
    return [(f, data[f]) for f in FIELDS if data.get(f) not in (None, "")]
