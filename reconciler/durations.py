"""Durations written as Terraform writes them (`-lock-timeout=5m`): Go's
`time.ParseDuration` syntax — a sequence of decimal numbers, each with a unit
(`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), e.g. `0s`, `10s`, `1m30s`, `1.5h`;
a bare `0` is zero. Negative durations mean nothing for a timeout and are refused."""

from __future__ import annotations

import re

UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError naming the expected form otherwise."""
    value = text.strip()
    if value == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(value):
        m = _PART.match(value, pos)
        if m is None:
            break
        total += float(m.group(1)) * UNITS[m.group(2)]
        pos = m.end()
    if not value or pos != len(value):
        raise ValueError(
            f"'{text}' is not a duration: write a number with a unit, e.g. 0s, 10s, 5m, 1m30s or 1h"
        )
    return total


def format_duration(seconds: float) -> str:
    """The shortest Terraform-style spelling (90 -> 1m30s, 1.5 -> 1.5s), to
    the millisecond: a message names the wait given, not a rounded one."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms" if seconds else "0s"
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    parts = [f"{n}{u}" for n, u in ((h, "h"), (m, "m")) if n]
    if rest:
        parts.append(f"{rest / 1000:g}s")
    return "".join(parts) or "0s"
