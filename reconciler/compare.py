"""Comparisons between what is declared, recorded and observed: the facts a
plan shows (AssetState), whether remote content matches local content, and
what changed remotely since the last apply (drift). Pure, no I/O."""

from __future__ import annotations

from reconciler.lockfile import LockEntry
from reconciler.model import DesiredAsset, RemoteAsset
from reconciler.plan import AssetState

DURATION_TOLERANCE = 0.25  # seconds; providers round durations


def desired_state(asset: DesiredAsset) -> AssetState:
    audio = asset.audio
    return AssetState(
        name=asset.name,
        description=asset.description,
        sha256=asset.sha256,
        size=asset.size,
        duration=audio.duration if audio else None,
        format=audio.format if audio else None,
        sample_rate=audio.sample_rate if audio else None,
    )


def recorded_state(entry: LockEntry, remote: RemoteAsset | None = None) -> AssetState:
    """What is there now: the remote's visible fields, else what we recorded."""
    if remote is None:
        return AssetState(
            name=entry.name,
            description=entry.description,
            sha256=entry.sha256,
            size=entry.size,
            duration=entry.duration,
            format=entry.format,
        )
    return AssetState(
        name=remote.name,
        description=remote.description if remote.description is not None else entry.description,
        sha256=remote.sha256 or entry.sha256,
        size=remote.size if remote.size is not None else entry.size,
        duration=remote.duration if remote.duration is not None else entry.duration,
        format=remote.format or entry.format,
        sample_rate=remote.sample_rate,
    )


def remote_state(remote: RemoteAsset) -> AssetState:
    return AssetState(
        name=remote.name,
        description=remote.description,
        sha256=remote.sha256,
        size=remote.size,
        duration=remote.duration,
        format=remote.format,
        sample_rate=remote.sample_rate,
    )


def compare_content(asset: DesiredAsset, remote: RemoteAsset) -> tuple[bool | None, str]:
    """(same?, how it was checked). None when nothing comparable is known."""
    if remote.sha256 is not None:
        return remote.sha256 == asset.sha256, "sha256"
    if remote.size is not None:
        return remote.size == asset.size, "size"
    duration = asset.audio.duration if asset.audio else None
    if remote.duration is not None and duration is not None:
        same = abs(remote.duration - duration) <= DURATION_TOLERANCE
        rate = asset.audio.sample_rate if asset.audio else None
        if remote.sample_rate is not None and rate is not None:
            return same and remote.sample_rate == rate, "duration and sample rate"
        return same, "duration"
    return None, "nothing comparable"


def audio_drift(entry: LockEntry, remote: RemoteAsset, source_rate: int | None) -> list[tuple[str, str]]:
    """Content drift where the provider stores a converted copy (no sha256 or size
    to compare): the downloaded audio's duration against the recorded one, and its
    sample rate against the source file's (`source_rate`; None: not compared)."""
    changed = []
    if remote.duration is not None and entry.duration is not None and abs(remote.duration - entry.duration) > DURATION_TOLERANCE:
        changed.append(f"duration {entry.duration:.2f} s → {remote.duration:.2f} s")
    rate = source_rate
    if remote.sample_rate is not None and rate is not None and remote.sample_rate != rate:
        changed.append(f"sample rate {rate} Hz → {remote.sample_rate} Hz")
    if not changed:
        return []
    return [("content_changed", ", ".join(changed) + " (compared by duration and sample rate: the provider "
             f"stores a converted copy, ±{DURATION_TOLERANCE:g} s)")]


def entry_drift(entry: LockEntry, remote: RemoteAsset) -> list[tuple[str, str]]:
    """(kind, detail) for each way the remote differs from what was last applied.
    Shared with `reconciler drift`, so both name drift alike."""
    kinds = []
    if remote.name != entry.name:
        kinds.append(("renamed", f"'{entry.name}' → '{remote.name}'"))
    if remote.description is not None and remote.description != entry.description:
        kinds.append(("description_edited", f"'{entry.description}' → '{remote.description}'"))
    if remote.sha256 is not None and remote.sha256 != entry.sha256:
        kinds.append(("content_changed", f"sha256 {entry.sha256[:12]} → {remote.sha256[:12]}"))
    elif remote.size is not None and remote.size != entry.size:
        kinds.append(("size_changed", f"{entry.size} → {remote.size} bytes (content compared by size: no sha256 is listed)"))
    return kinds
