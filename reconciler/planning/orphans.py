"""What no declared address claims: records no longer declared (orphans),
old remote ids an interrupted replace left behind (superseded), and remote
assets neither recorded nor declared (unmanaged: left alone, or pruned)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from reconciler.compare import recorded_state, remote_state
from reconciler.lockfile import LockEntry
from reconciler.plan import Action
from reconciler.planning.instance import InstancePlanner


def is_ignored(name: str, patterns: Sequence[str]) -> bool:
    """An unmanaged remote asset whose name matches an instance's `ignore` globs."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def plan_superseded(p: InstancePlanner, address: str, entry: LockEntry) -> None:
    """Old remote ids left by an interrupted replace."""
    for old_id in entry.superseded:
        p.claimed.add(old_id)
        if p.listed and old_id not in p.by_id:
            note = "already gone remotely; only the record is cleared"
        elif p.caps.can_delete:
            note = "left over from an interrupted replace"
        else:
            note = (
                f"the old file of a replace: {p.type} has no delete API, so remove '{old_id}' "
                f"by hand in {p.caps.console}; the next apply then clears it from the lockfile"
            )
        gone = p.listed and old_id not in p.by_id
        action = Action.DELETE if p.caps.can_delete or gone else Action.MANUAL
        p.change(address, action, "superseded", remote_id=old_id, notes=[note], forget_only=gone)


def wait_for_leftovers(p: InstancePlanner) -> None:
    """Under unique names, a leftover of an interrupted replace may still hold
    the name an address's own change renames or uploads to: that change waits
    until the leftover is deleted (and is skipped if the delete fails)."""
    if not p.caps.unique_names:
        return
    pending = {
        c.address for c in p.changes
        if c.reason == "superseded" and c.action is Action.DELETE and not c.forget_only
    }
    p.changes = [
        c.model_copy(update={"depends_on": sorted({*c.depends_on, c.address})})
        if c.address in pending and c.reason != "superseded"
        and c.action in (Action.CREATE, Action.UPDATE, Action.REPLACE) else c
        for c in p.changes
    ]


def plan_orphan(p: InstancePlanner, address: str, entry: LockEntry) -> None:
    p.claimed.add(entry.remote_id)
    plan_superseded(p, address, entry)
    before = recorded_state(entry, p.by_id.get(entry.remote_id))
    if p.listed and entry.remote_id not in p.by_id:
        p.change(
            address, Action.DELETE, "not_declared", remote_id=entry.remote_id, before=before,
            notes=["already gone remotely; only the lockfile record is removed"],
            forget_only=True,
        )
        return
    if entry.protect:
        p.unsafe.append(
            f"{address} is protected and would be deleted (no longer declared); "
            "declare it again, or set protect = false and apply before removing it"
        )
    if not p.caps.can_delete:
        p.change(
            address, Action.MANUAL, "not_declared", remote_id=entry.remote_id, before=before,
            notes=[
                f"{p.type} has no delete API: remove '{entry.remote_id}' by hand in "
                f"{p.caps.console}; the next apply then clears the lockfile record "
                f"(to keep the file and stop managing it: `reconciler state rm {address}`)"
            ],
            protect=entry.protect,
        )
        return
    p.change(address, Action.DELETE, "not_declared", remote_id=entry.remote_id, before=before, protect=entry.protect)


def plan_unmanaged(p: InstancePlanner) -> None:
    for remote in p.by_id.values():
        if remote.remote_id in p.claimed or remote.remote_id in p.recorded_ids:
            continue
        if is_ignored(remote.name, p.ignore):
            continue  # `ignore`: neither drift, nor listed, nor pruned
        address = f"{p.instance}:{remote.remote_id}"
        marker = remote.owner_marker
        if marker is not None:
            # reconciler made it, yet this lockfile does not know it: another
            # checkout's, or left by an interrupted apply. prune spares it.
            p.note_drift(
                address, "unmanaged",
                f"'{remote.name}' (id {remote.remote_id}) was uploaded by reconciler for "
                f"{marker.address} but is not in this lockfile; left untouched"
                f"{' (prune never deletes reconciler-marked files)' if p.prune else ''}: "
                "delete it in the provider's console if it is a leftover",
            )
            continue
        if not p.prune:
            p.note_drift(address, "unmanaged", f"'{remote.name}' (id {remote.remote_id}) is not managed; left untouched")
            continue
        if not p.caps.can_delete:
            p.change(
                address, Action.MANUAL, "unmanaged_prune", remote_id=remote.remote_id,
                before=remote_state(remote),
                notes=[f"prune = true, but {p.type} has no delete API: remove '{remote.remote_id}' "
                       f"by hand in {p.caps.console}"],
            )
            continue
        p.change(address, Action.DELETE, "unmanaged_prune", remote_id=remote.remote_id, before=remote_state(remote))
