"""A declared address with a record: in sync, an attribute update (or only
the record catching up), drift put back, or a content change that replaces."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.compare import (
    audio_drift,
    content_change,
    desired_state,
    entry_drift,
    recorded_state,
)
from reconciler.lockfile import LockEntry
from reconciler.model import DesiredAsset, RemoteAsset
from reconciler.plan import Action
from reconciler.planning.instance import InstancePlanner
from reconciler.planning.orphans import plan_superseded
from reconciler.planning.replace import plan_replace
from reconciler.planning.unrecorded import plan_new

# the drift kind that each `ignore_changes` field silences
IGNORED_BY = {"renamed": "name", "description_edited": "description"}


def plan_recorded(p: InstancePlanner, asset: DesiredAsset, entry: LockEntry, orphan_names: Mapping[str, str]) -> None:
    address = asset.address
    p.claimed.add(entry.remote_id)
    plan_superseded(p, address, entry)
    remote = p.by_id.get(entry.remote_id)
    if p.listed and remote is None:
        kind = p.note_drift(
            address, "deleted", f"remote asset {entry.remote_id} ('{entry.name}') is gone"
        )
        plan_new(
            p, asset, reason="remote_missing", orphan_names=orphan_names, drift=[kind],
            before=None,
        )
        return
    ignored = set(asset.ignore_changes)
    drift = detect_drift(p, address, entry, remote, ignored)
    before = recorded_state(entry, remote)
    after = desired_state(asset)
    # the config decides for a declared asset; the record only guards orphans
    protect = asset.protect
    content_drift = any(k in drift for k in ("content_changed", "size_changed"))
    # decided on (master sha256, recipe key): a re-render that shifts bytes is no change
    local = content_change(asset, entry)
    if local is not None or content_drift:
        reason, notes = local if local is not None else ("remote_content_changed", [])
        plan_replace(p, address, entry, before, after, reason, drift, protect, extra_notes=notes)
        return
    # ignore_changes: what is there now stands for an ignored field (no update,
    # no replace, no record change); only a replace uploads the config's values
    after = after.model_copy(update={f: getattr(before, f) for f in ignored})
    rename = before.name != after.name
    redescribe = before.description != after.description
    stale = [
        f"{f}: {getattr(entry, f)!r} -> {getattr(asset, f)!r}"
        for f in ("name", "description", "protect")
        if f not in ignored and getattr(entry, f) != getattr(asset, f)
    ]
    if not rename and not redescribe and stale:
        # the remote already matches (a protect edit, or an apply killed between an
        # update and its record): no provider call, but the lockfile must learn it,
        # since it alone guards an orphan and is the baseline for drift
        p.change(
            address, Action.UPDATE,
            "protect_changed" if stale[0].startswith("protect") else "record_outdated",
            remote_id=entry.remote_id, before=before, after=after, drift=drift, protect=protect,
            notes=[f"{s} (only the lockfile record changes; no provider call)" for s in stale],
        )
        return
    if not rename and not redescribe:
        p.change(address, Action.NOOP, "in_sync", remote_id=entry.remote_id, before=before, after=after, drift=drift, protect=protect)
        return
    if (rename and not p.caps.can_rename) or (redescribe and not p.caps.can_describe):
        what = "rename" if rename and not p.caps.can_rename else "change a description"
        plan_replace(
            p, address, entry, before, after, "cannot_update_in_place", drift, protect,
            extra_notes=[f"{p.type} cannot {what} in place"],
        )
        return
    notes = ["put back: edited outside reconciler"] if drift else []
    # a rename keeps the extension of the file it renames
    ext = entry.remote_id.rsplit(".", 1)[1] if "." in entry.remote_id else None
    new_id = f"{asset.name}.{ext}" if p.caps.id_is_filename and rename and ext else None
    if new_id is not None and new_id != entry.remote_id:
        notes.append(f"the remote id {entry.remote_id} will change to {new_id}: update call flows that reference it")
    else:
        new_id = None
    p.change(
        address, Action.UPDATE, "attributes_changed", remote_id=entry.remote_id,
        before=before, after=after, drift=drift, protect=protect, notes=notes,
        remote_id_changes=new_id is not None, new_remote_id=new_id,
    )


def detect_drift(
    p: InstancePlanner, address: str, entry: LockEntry, remote: RemoteAsset | None, ignored: set[str]
) -> list[str]:
    if remote is None:
        return []
    found = [(k, d) for k, d in entry_drift(entry, remote) if IGNORED_BY.get(k) not in ignored]
    if p.compare_audio and not any(k in ("content_changed", "size_changed") for k, _ in found):
        asset = p.assets.get(address)
        found += audio_drift(entry, remote, asset.audio.sample_rate if asset and asset.audio else None)
    return [p.note_drift(address, kind, detail) for kind, detail in found]
