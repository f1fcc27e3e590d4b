"""A declared address with no record (or whose recorded remote is gone):
create it, adopt an unmanaged remote that already holds its content, or
refuse because its name belongs to content reconciler does not own."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.compare import compare_content, desired_state, remote_state
from reconciler.model import DesiredAsset, RemoteAsset
from reconciler.plan import Action, AssetState
from reconciler.planning.instance import InstancePlanner


def plan_new(
    p: InstancePlanner,
    asset: DesiredAsset,
    *,
    reason: str,
    orphan_names: Mapping[str, str],
    drift: list[str] | None = None,
    before: AssetState | None = None,
) -> None:
    after = desired_state(asset)
    common = {"after": after, "before": before, "protect": asset.protect, "drift": drift or []}
    candidates = [
        r for r in p.by_name.get(asset.name, [])
        if r.remote_id not in p.recorded_ids and r.remote_id not in p.claimed
    ]
    if not p.listed:
        p.change(
            asset.address, Action.CREATE, reason,
            notes=[f"{p.type} cannot list: whether the name is free was not checked"], **common,
        )
        return
    if not candidates:
        depends = [orphan_names[asset.name]] if asset.name in orphan_names and p.caps.unique_names else []
        p.change(asset.address, Action.CREATE, reason, depends_on=depends, **common)
        return
    if p.caps.marks_owner:
        plan_new_marked(p, asset, reason, candidates, common)
        return
    # where names may repeat, any one of them may be ours (an upload an
    # interrupted apply never recorded): the first with the same content
    compared = [(r, *compare_content(asset, r)) for r in candidates]
    remote, same, how = next((c for c in compared if c[1]), compared[0])
    p.claimed.add(remote.remote_id)
    if same:
        notes = [f"an unmanaged remote asset with this name and the same content (checked by {how}) is adopted: no upload"]
        if how != "sha256":
            notes.append(f"content verified by {how} only: {p.type} offers nothing better")
        p.change(
            asset.address, Action.ADOPT, reason, remote_id=remote.remote_id,
            notes=notes, **{**common, "before": remote_state(remote)},
        )
        return
    why = (
        f"different content (checked by {how})" if same is False
        else f"content that cannot be compared ({how} is reported by {p.type})"
    )
    p.conflicts.append(
        f"{asset.address}: the name '{asset.name}' on instance '{p.instance}' is taken by an "
        f"unmanaged remote asset (id {remote.remote_id}) with {why}. reconciler never overwrites "
        f"what it does not own. Way out: give the asset another `name`, delete or rename the remote "
        f"one, or take it over with `reconciler import {asset.address} {remote.remote_id}`."
    )


def plan_new_marked(
    p: InstancePlanner, asset: DesiredAsset, reason: str, candidates: list[RemoteAsset], common: dict
) -> None:
    """Where uploads carry reconciler's marker, only a remote marked for this
    address and this content is adopted (a lockfile write lost to a crash):
    a person's upload under the same name is never taken for ours, even at
    the same size."""
    mine = [
        r for r in candidates
        if r.owner_marker is not None and r.owner_marker.matches(asset) and r.size in (None, asset.size)
    ]
    if mine:
        remote = mine[0]
        p.claimed.add(remote.remote_id)
        p.change(
            asset.address, Action.ADOPT, reason, remote_id=remote.remote_id,
            notes=["carries reconciler's upload marker for this address and content (sha256 prefix"
                   f"{' and size' if remote.size is not None else ''}): adopted, no upload"],
            **{**common, "before": remote_state(remote)},
        )
        return
    ids = ", ".join(r.remote_id for r in candidates)
    if p.caps.unique_names:
        p.claimed.add(candidates[0].remote_id)
        p.conflicts.append(
            f"{asset.address}: the name '{asset.name}' on instance '{p.instance}' is taken by a "
            f"remote asset (id {ids}) without reconciler's marker for this address and content. "
            "reconciler never overwrites what it does not own. Way out: give the asset another "
            "`name`, or delete or rename the remote one."
        )
        return
    p.change(
        asset.address, Action.CREATE, reason,
        notes=[f"'{asset.name}' already exists remotely (id {ids}) without reconciler's marker for "
               f"this address and content, so it is not adopted; names may repeat on {p.type}: "
               "a new file is uploaded and that one is left untouched"],
        **common,
    )
