"""How a replace is carried out on a provider (overwrite, create before
destroy, temporary name...) and what it does to the remote id; the replace
change itself, with the conflicts a new name or id can run into."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.audio import EXTENSIONS
from reconciler.compare import remote_state
from reconciler.lockfile import LockEntry
from reconciler.plan import Action, AssetState, ReplaceStrategy
from reconciler.planning.instance import InstancePlanner
from reconciler.planning.landed import landed_upload
from reconciler.providers.base import Capabilities


def replace_strategy(caps: Capabilities, *, renaming: bool = False) -> ReplaceStrategy:
    # an overwrite keeps the id only under the same name; a new name leaves
    # the old file behind, which only a provider that can delete cleans up
    if caps.can_overwrite and (not renaming or caps.can_delete):
        return ReplaceStrategy.OVERWRITE
    if not caps.can_delete:
        return ReplaceStrategy.CREATE_THEN_MANUAL
    if not caps.unique_names:
        return ReplaceStrategy.CREATE_BEFORE_DESTROY
    if caps.can_rename:
        return ReplaceStrategy.TEMP_NAME
    return ReplaceStrategy.DESTROY_BEFORE_CREATE


STRATEGY_NOTES = {
    ReplaceStrategy.OVERWRITE: "the new bytes are written over the old under the same remote id",
    ReplaceStrategy.CREATE_BEFORE_DESTROY: "the new asset is created first, then the old one deleted",
    ReplaceStrategy.TEMP_NAME: "names are unique here: the new asset is uploaded under a temporary "
    "name, the old one deleted, then the new one renamed",
    ReplaceStrategy.DESTROY_BEFORE_CREATE: "the old asset is deleted first (the name is unique and "
    "cannot be changed), so it is briefly absent",
    ReplaceStrategy.CREATE_THEN_MANUAL: "the new asset is uploaded; the provider cannot delete, so "
    "the old one must be removed by hand",
}


def filename_id(caps: Capabilities, name: str, fmt: str | None) -> str | None:
    """The remote id a provider whose ids are file names gives `name` in `fmt`
    (None where ids are assigned by the provider, or the format is unknown)."""
    if not caps.id_is_filename or fmt is None:
        return None
    return f"{name}.{EXTENSIONS.get(fmt, fmt)}"


def plan_replace(
    p: InstancePlanner, address: str, entry: LockEntry, before: AssetState, after: AssetState,
    reason: str, drift: list[str], protect: bool, extra_notes: Sequence[str] = (),
) -> None:
    renaming = before.name != after.name
    asset = p.assets[address]
    landed = landed_upload(p, asset, entry)
    if landed is not None:
        p.claimed.add(landed.remote_id)
    taken = [r.remote_id for r in p.by_name.get(after.name, []) if r.remote_id not in p.recorded_ids]
    taken = [t for t in taken if landed is None or t != landed.remote_id]
    if renaming and taken and p.caps.unique_names:
        # the new name belongs to a file we do not own: an upload there could overwrite it
        p.claimed.update(taken)
        p.conflicts.append(
            f"{address}: the new name '{after.name}' on instance '{p.instance}' is taken by an "
            f"unmanaged remote asset (id {', '.join(taken)}). reconciler never overwrites what it "
            "does not own. Way out: choose another `name`, or delete or rename the remote one."
        )
        return
    new_id = filename_id(p.caps, after.name, after.format)
    # a file-name id moves with the name or the format (goodbye.wav -> goodbye.au)
    id_moves = new_id is not None and new_id != entry.remote_id
    squatter = p.by_id.get(new_id) if id_moves and not renaming and new_id else None
    # the same bytes there already: our own upload, landed before a crash
    if squatter is not None and new_id not in p.recorded_ids and squatter.sha256 != after.sha256:
        p.claimed.add(new_id)
        p.conflicts.append(
            f"{address}: the new audio format gives it the remote id '{new_id}' on instance "
            f"'{p.instance}', which an unmanaged remote asset already has. reconciler never "
            "overwrites what it does not own. Way out: choose another `name`, or delete or rename "
            "the remote one."
        )
        return
    strategy = replace_strategy(p.caps, renaming=renaming or id_moves)
    changes_id = strategy is not ReplaceStrategy.OVERWRITE or id_moves
    notes = [*extra_notes]
    if strategy is ReplaceStrategy.OVERWRITE and id_moves:
        notes.append(f"the new bytes are written as {new_id} and {entry.remote_id} is deleted")
    else:
        notes.append(STRATEGY_NOTES[strategy])
    if changes_id:
        to = f" to {new_id}" if new_id else ""
        notes.append(f"the remote id {entry.remote_id} will change{to}: update call flows that reference it")
    if strategy is ReplaceStrategy.CREATE_THEN_MANUAL:
        notes.append(
            f"then remove '{entry.remote_id}' by hand in {p.caps.console}; until then "
            "the plan lists it as a manual step"
        )
    if landed is not None:
        notes.insert(0, (
            f"the new content is already uploaded (id {landed.remote_id}, '{landed.name}'): an "
            "interrupted apply left it unrecorded; it is taken over, not uploaded again"
        ))
    if protect:
        p.unsafe.append(f"{address} is protected and would be replaced ({reason})")
    p.change(
        address, Action.REPLACE, reason, remote_id=entry.remote_id, before=before, after=after,
        strategy=strategy, drift=drift, notes=notes, protect=protect,
        remote_id_changes=changes_id, new_remote_id=new_id if changes_id else None,
        landed_id=landed.remote_id if landed else None,
        landed=remote_state(landed) if landed else None,
    )
