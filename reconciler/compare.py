"""Comparisons between what is declared, recorded and observed: the facts a
plan shows (AssetState), whether remote content matches local content, and
what changed remotely since the last apply (drift). Pure, no I/O."""

from __future__ import annotations

from typing import Any

from reconciler.lockfile import LockEntry
from reconciler.model import DesiredAsset, RemoteAsset, SoundFacts
from reconciler.plan import AssetState, MasterState

DURATION_TOLERANCE = 0.25  # seconds; providers round durations


def durations_match(listed: float, actual: float, precision: float | None = None) -> bool:
    """Whether a duration a provider reports is the local file's.

    Within DURATION_TOLERANCE by default. A listing that states durations
    only to a coarser `precision` (whole seconds, say; RemoteAsset.
    duration_precision) is compared at that precision, whatever its rounding
    (floor, round or ceil all land within one step); and since such a
    listing does not name its unit either, a whole number that reads as
    milliseconds is accepted too."""
    if precision is None:
        return abs(listed - actual) <= DURATION_TOLERANCE
    step = max(DURATION_TOLERANCE, precision) + 1e-9
    if abs(listed - actual) <= step:
        return True
    return precision >= 1 and abs(listed / 1000 - actual) <= max(DURATION_TOLERANCE, precision / 1000) + 1e-9


def desired_state(asset: DesiredAsset) -> AssetState:
    audio = asset.audio
    extra: dict[str, Any] = {}
    if asset.master is not None and asset.rendition is not None:
        master = asset.master
        extra = {
            "master": MasterState(file=master.file, sha256=master.sha256, size=master.size, facts=master.facts),
            "recipe": asset.rendition.recipe_key,
            "audio": asset.rendition.facts,
        }
    return AssetState(
        name=asset.name,
        description=asset.description,
        sha256=asset.sha256,
        size=asset.size,
        duration=audio.duration if audio else None,
        format=audio.format if audio else None,
        sample_rate=audio.sample_rate if audio else None,
        channels=audio.channels if audio and not extra else None,
        **extra,
    )


def _recorded_audio(entry: LockEntry) -> dict[str, Any]:
    """The master and rendition facts a lockfile entry keeps, for the plan's before side."""
    r = entry.rendition
    if r is None:
        return {}
    master = SoundFacts(
        format=entry.format, duration=entry.duration,
        sample_rate=getattr(entry, "sample_rate", None), channels=getattr(entry, "channels", None),
    )
    return {
        "master": MasterState(sha256=entry.sha256, size=entry.size, facts=master),
        "recipe": entry.recipe.key if entry.recipe is not None else None,
        "audio": SoundFacts(
            format=r.format, encoding=r.encoding, sample_rate=r.sample_rate, channels=r.channels,
            duration=r.duration, loudness=r.loudness, true_peak=r.true_peak,
        ),
    }


def recorded_state(entry: LockEntry, remote: RemoteAsset | None = None) -> AssetState:
    """What is there now: the remote's visible fields, else what we recorded
    (of the uploaded bytes: the rendition, where there is one)."""
    extra = _recorded_audio(entry)
    r = entry.rendition
    recorded_rate = r.sample_rate if r is not None else entry.sample_rate
    channels = entry.channels if r is None else None
    if remote is None:
        return AssetState(
            name=entry.name,
            description=entry.description,
            sha256=entry.uploaded_sha256,
            size=entry.uploaded_size,
            duration=entry.uploaded_duration,
            format=entry.uploaded_format,
            sample_rate=recorded_rate,
            channels=channels,
            **extra,
        )
    return AssetState(
        name=remote.name,
        description=remote.description if remote.description is not None else entry.description,
        sha256=remote.sha256 or entry.uploaded_sha256,
        size=remote.size if remote.size is not None else entry.uploaded_size,
        duration=remote.duration if remote.duration is not None else entry.uploaded_duration,
        format=remote.format or entry.uploaded_format,
        sample_rate=remote.sample_rate if remote.sample_rate is not None else recorded_rate,
        channels=channels,
        **extra,
    )


UNITS = {"loudness": " LUFS", "true_peak": " dBTP", "sample_rate": " Hz"}


def _recipe_value(field: str, value: Any) -> str:
    if value is None:
        return "as the master" if field in ("sample_rate", "channels") else "untouched" if field == "loudness" else "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}{UNITS.get(field, '')}"
    return f"{value}{UNITS.get(field, '')}"


RECIPE_KEY_FIELDS = ("format", "encoding", "sample_rate", "channels")


def parse_recipe_key(key: str) -> dict[str, Any] | None:
    """The fields of a recipe key ("wav/ulaw/8000/1/lufs=-16.0/tp=-1.0/trim=0";
    "keep" = the master's, "off" = untouched), to say what changed; None when
    the key is not of that shape (then the keys are shown whole). The lockfile
    keeps the key alone: one line per rendition, not one per setting."""
    parts = key.split("/")
    if len(parts) != 7:
        return None
    try:
        fields: dict[str, Any] = dict(zip(RECIPE_KEY_FIELDS, parts[:4], strict=True))
        for name in ("sample_rate", "channels"):
            fields[name] = None if fields[name] == "keep" else int(fields[name])
        named = dict(p.split("=", 1) for p in parts[4:])
        fields["loudness"] = None if named["lufs"] == "off" else float(named["lufs"])
        fields["true_peak"] = float(named["tp"])
        fields["trim_silence"] = named["trim"] == "1"
    except (ValueError, KeyError):
        return None
    return fields


def recipe_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """"loudness -19 LUFS -> -16 LUFS, sample_rate 16000 Hz -> 8000 Hz": the recipe fields that changed."""
    parts = [
        f"{field} {_recipe_value(field, old.get(field))} -> {_recipe_value(field, new.get(field))}"
        for field in dict.fromkeys([*new, *old])
        if old.get(field) != new.get(field)
    ]
    return ", ".join(parts)


def content_change(asset: DesiredAsset, entry: LockEntry) -> tuple[str, list[str]] | None:
    """Whether the content to upload changed since the last apply, decided on
    (master sha256, recipe key) — never on a rendition's bytes, so an encoder
    upgrade that shifts a few bytes is no change. (reason, notes saying what
    changed), or None."""
    recorded_key = entry.recipe.key if entry.recipe is not None else None
    desired_key = asset.rendition.recipe_key if asset.rendition is not None else None
    master_changed = asset.source_sha256 != entry.sha256
    recipe_changed = recorded_key != desired_key
    if not master_changed and not recipe_changed:
        return None
    if recorded_key is None and desired_key is None:
        return "content_changed", []  # no renditions: as before they existed
    notes = []
    if master_changed:
        notes.append(f"master changed: sha256 {entry.sha256[:12]} -> {asset.source_sha256[:12]}")
    if recipe_changed:
        if asset.rendition is None:
            notes.append("recipe removed: the file is now uploaded as it is")
        elif entry.recipe is None:
            notes.append(f"recipe added: the file was uploaded as it is, now as a rendition ({desired_key})")
        else:
            old, new = parse_recipe_key(recorded_key or ""), parse_recipe_key(desired_key or "")
            what = recipe_difference(old, new) if old is not None and new is not None else ""
            notes.append(f"recipe changed: {what or f'{recorded_key} -> {desired_key}'}")
    if master_changed and recipe_changed:
        return "master_and_recipe_changed", notes
    return ("master_changed" if master_changed else "recipe_changed"), notes


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
        same = durations_match(remote.duration, duration, remote.duration_precision)
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
    recorded = entry.uploaded_duration
    if (
        remote.duration is not None and recorded is not None
        and not durations_match(remote.duration, recorded, remote.duration_precision)
    ):
        changed.append(f"duration {recorded:.2f} s → {remote.duration:.2f} s")
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
    # against what was uploaded: the rendition, where there is one
    sha256, size = entry.uploaded_sha256, entry.uploaded_size
    if remote.sha256 is not None and remote.sha256 != sha256:
        kinds.append(("content_changed", f"sha256 {sha256[:12]} → {remote.sha256[:12]}"))
    elif remote.size is not None and remote.size != size:
        kinds.append(("size_changed", f"{size} → {remote.size} bytes (content compared by size: no sha256 is listed)"))
    return kinds
