"""The planner: a pure function (Desired, Recorded, Observed, Capabilities) → Plan.

No I/O. Rules (DESIGN.md, "Planning rules"):

- desired, not recorded, name free remotely            → create
- desired, not recorded, name taken by the same content → adopt (say how verified)
- desired, not recorded, name taken by other content    → ConflictError
- recorded, remote gone                                 → create again (drift)
- content changed (locally, or remotely where visible)  → replace
- name/description differ from desired                  → update, or replace where the
                                                          provider cannot update in place
- recorded, not desired                                 → delete (manual where the API cannot)
- remote, neither recorded nor desired                  → untouched, or delete with prune
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Mapping, Sequence

from reconciler.audio import EXTENSIONS
from reconciler.compare import (
    audio_drift,
    compare_content,
    content_change,
    desired_state,
    entry_drift,
    recorded_state,
    remote_state,
)
from reconciler.errors import ConflictError, PlanError, UnsafePlanError
from reconciler.lockfile import LockEntry, Lockfile, check_entry_types
from reconciler.model import Desired, DesiredAsset, ObservedInstance, RemoteAsset, is_content_hash
from reconciler.plan import Action, AssetState, Change, DriftItem, Plan, ReplaceStrategy
from reconciler.providers.base import Capabilities
from reconciler.safety import DEFAULT_MAX_DELETE_PERCENT, DeleteLimits, mass_delete_problems


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


# the drift kind that each `ignore_changes` field silences
IGNORED_BY = {"renamed": "name", "description_edited": "description"}


def is_ignored(name: str, patterns: Sequence[str]) -> bool:
    """An unmanaged remote asset whose name matches an instance's `ignore` globs."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)

def temporary_name(name: str, sha256: str, max_length: int | None) -> str:
    """The name a TEMP_NAME replace uploads under until the old asset is gone:
    the name and a prefix of the new content's sha256, so that a leftover of
    an interrupted replace is recognisable (`landed_upload`)."""
    suffix = f"~{sha256[:8]}"
    if max_length is not None and len(name) + len(suffix) > max_length:
        name = name[: max_length - len(suffix)]
    return name + suffix


def matches_target(address: str, targets: Sequence[str]) -> bool:
    return not targets or any(address == t or fnmatch.fnmatchcase(address, t) for t in targets)


class _InstancePlanner:
    """Plans one instance; collects changes, drift and refusals."""

    def __init__(
        self,
        instance: str,
        provider_type: str,
        assets: Mapping[str, DesiredAsset],
        entries: Mapping[str, LockEntry],
        observed: ObservedInstance | None,
        caps: Capabilities,
        prune: bool,
        ignore: Sequence[str] = (),
    ) -> None:
        self.instance = instance
        self.type = provider_type
        self.assets = assets
        self.entries = entries
        self.caps = caps
        self.prune = prune
        self.ignore = tuple(ignore)
        self.listed = observed is not None and observed.assets is not None
        # downloaded content that cannot hash like the source: compare its audio facts
        self.compare_audio = bool(observed is not None and observed.content_verified) and not caps.download_is_exact
        remotes = observed.assets if self.listed and observed else ()
        self.by_id: dict[str, RemoteAsset] = {r.remote_id: r for r in remotes}
        self.by_name: dict[str, list[RemoteAsset]] = defaultdict(list)
        for r in remotes:
            self.by_name[r.name].append(r)
        self.recorded_ids = {e.remote_id for e in entries.values()} | {
            s for e in entries.values() for s in e.superseded
        }
        self.claimed: set[str] = set()
        self.changes: list[Change] = []
        self.drift: list[DriftItem] = []
        self.conflicts: list[str] = []
        self.unsafe: list[str] = []

    def change(self, address: str, action: Action, reason: str, **kw) -> Change:
        asset = self.assets.get(address)
        if action in (Action.CREATE, Action.REPLACE) and asset is not None and asset.rendition is not None:
            # what the render could not do (a loudness target held back by the true-peak ceiling)
            kw["notes"] = [*kw.get("notes", []), *asset.rendition.notes]
        c = Change(address=address, instance=self.instance, provider_type=self.type, action=action, reason=reason, **kw)
        self.changes.append(c)
        return c

    def note_drift(self, address: str, kind: str, detail: str) -> str:
        self.drift.append(DriftItem(address=address, instance=self.instance, kind=kind, detail=detail))
        return kind

    def run(self) -> None:
        # names freed by orphans being deleted: a new asset taking one waits for the delete
        orphan_names = {
            e.name: addr for addr, e in self.entries.items() if addr not in self.assets
        }
        for address in sorted(set(self.assets) | set(self.entries)):
            asset, entry = self.assets.get(address), self.entries.get(address)
            if asset and not entry:
                self.plan_new(asset, reason="not_recorded", orphan_names=orphan_names)
            elif asset and entry:
                self.plan_recorded(asset, entry, orphan_names)
            elif entry:
                self.plan_orphan(address, entry)
        self.plan_unmanaged()
        self.wait_for_leftovers()

    def wait_for_leftovers(self) -> None:
        """Under unique names, a leftover of an interrupted replace may still hold
        the name an address's own change renames or uploads to: that change waits
        until the leftover is deleted (and is skipped if the delete fails)."""
        if not self.caps.unique_names:
            return
        pending = {
            c.address for c in self.changes
            if c.reason == "superseded" and c.action is Action.DELETE and not c.forget_only
        }
        self.changes = [
            c.model_copy(update={"depends_on": sorted({*c.depends_on, c.address})})
            if c.address in pending and c.reason != "superseded"
            and c.action in (Action.CREATE, Action.UPDATE, Action.REPLACE) else c
            for c in self.changes
        ]

    # --- desired, not recorded (or recorded but gone) ---------------------
    def plan_new(
        self,
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
            r for r in self.by_name.get(asset.name, [])
            if r.remote_id not in self.recorded_ids and r.remote_id not in self.claimed
        ]
        if not self.listed:
            self.change(
                asset.address, Action.CREATE, reason,
                notes=[f"{self.type} cannot list: whether the name is free was not checked"], **common,
            )
            return
        if not candidates:
            depends = [orphan_names[asset.name]] if asset.name in orphan_names and self.caps.unique_names else []
            self.change(asset.address, Action.CREATE, reason, depends_on=depends, **common)
            return
        if self.caps.marks_owner:
            self.plan_new_marked(asset, reason, candidates, common)
            return
        # where names may repeat, any one of them may be ours (an upload an
        # interrupted apply never recorded): the first with the same content
        compared = [(r, *compare_content(asset, r)) for r in candidates]
        remote, same, how = next((c for c in compared if c[1]), compared[0])
        self.claimed.add(remote.remote_id)
        if same:
            notes = [f"an unmanaged remote asset with this name and the same content (checked by {how}) is adopted: no upload"]
            if how != "sha256":
                notes.append(f"content verified by {how} only: {self.type} offers nothing better")
            self.change(
                asset.address, Action.ADOPT, reason, remote_id=remote.remote_id,
                notes=notes, **{**common, "before": remote_state(remote)},
            )
            return
        why = (
            f"different content (checked by {how})" if same is False
            else f"content that cannot be compared ({how} is reported by {self.type})"
        )
        self.conflicts.append(
            f"{asset.address}: the name '{asset.name}' on instance '{self.instance}' is taken by an "
            f"unmanaged remote asset (id {remote.remote_id}) with {why}. reconciler never overwrites "
            f"what it does not own. Way out: give the asset another `name`, delete or rename the remote "
            f"one, or take it over with `reconciler import {asset.address} {remote.remote_id}`."
        )

    def plan_new_marked(
        self, asset: DesiredAsset, reason: str, candidates: list[RemoteAsset], common: dict
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
            self.claimed.add(remote.remote_id)
            self.change(
                asset.address, Action.ADOPT, reason, remote_id=remote.remote_id,
                notes=["carries reconciler's upload marker for this address and content (sha256 prefix"
                       f"{' and size' if remote.size is not None else ''}): adopted, no upload"],
                **{**common, "before": remote_state(remote)},
            )
            return
        ids = ", ".join(r.remote_id for r in candidates)
        if self.caps.unique_names:
            self.claimed.add(candidates[0].remote_id)
            self.conflicts.append(
                f"{asset.address}: the name '{asset.name}' on instance '{self.instance}' is taken by a "
                f"remote asset (id {ids}) without reconciler's marker for this address and content. "
                "reconciler never overwrites what it does not own. Way out: give the asset another "
                "`name`, or delete or rename the remote one."
            )
            return
        self.change(
            asset.address, Action.CREATE, reason,
            notes=[f"'{asset.name}' already exists remotely (id {ids}) without reconciler's marker for "
                   f"this address and content, so it is not adopted; names may repeat on {self.type}: "
                   "a new file is uploaded and that one is left untouched"],
            **common,
        )

    # --- desired and recorded ----------------------------------------------
    def plan_recorded(self, asset: DesiredAsset, entry: LockEntry, orphan_names: Mapping[str, str]) -> None:
        address = asset.address
        self.claimed.add(entry.remote_id)
        self.plan_superseded(address, entry)
        remote = self.by_id.get(entry.remote_id)
        if self.listed and remote is None:
            kind = self.note_drift(
                address, "deleted", f"remote asset {entry.remote_id} ('{entry.name}') is gone"
            )
            self.plan_new(
                asset, reason="remote_missing", orphan_names=orphan_names, drift=[kind],
                before=None,
            )
            return
        ignored = set(asset.ignore_changes)
        drift = self.detect_drift(address, entry, remote, ignored)
        before = recorded_state(entry, remote)
        after = desired_state(asset)
        # the config decides for a declared asset; the record only guards orphans
        protect = asset.protect
        content_drift = any(k in drift for k in ("content_changed", "size_changed"))
        # decided on (master sha256, recipe key): a re-render that shifts bytes is no change
        local = content_change(asset, entry)
        if local is not None or content_drift:
            reason, notes = local if local is not None else ("remote_content_changed", [])
            self.plan_replace(address, entry, before, after, reason, drift, protect, extra_notes=notes)
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
            self.change(
                address, Action.UPDATE,
                "protect_changed" if stale[0].startswith("protect") else "record_outdated",
                remote_id=entry.remote_id, before=before, after=after, drift=drift, protect=protect,
                notes=[f"{s} (only the lockfile record changes; no provider call)" for s in stale],
            )
            return
        if not rename and not redescribe:
            self.change(address, Action.NOOP, "in_sync", remote_id=entry.remote_id, before=before, after=after, drift=drift, protect=protect)
            return
        if (rename and not self.caps.can_rename) or (redescribe and not self.caps.can_describe):
            what = "rename" if rename and not self.caps.can_rename else "change a description"
            self.plan_replace(
                address, entry, before, after, "cannot_update_in_place", drift, protect,
                extra_notes=[f"{self.type} cannot {what} in place"],
            )
            return
        notes = ["put back: edited outside reconciler"] if drift else []
        # a rename keeps the extension of the file it renames
        ext = entry.remote_id.rsplit(".", 1)[1] if "." in entry.remote_id else None
        new_id = f"{asset.name}.{ext}" if self.caps.id_is_filename and rename and ext else None
        if new_id is not None and new_id != entry.remote_id:
            notes.append(f"the remote id {entry.remote_id} will change to {new_id}: update call flows that reference it")
        else:
            new_id = None
        self.change(
            address, Action.UPDATE, "attributes_changed", remote_id=entry.remote_id,
            before=before, after=after, drift=drift, protect=protect, notes=notes,
            remote_id_changes=new_id is not None, new_remote_id=new_id,
        )

    def landed_upload(self, asset: DesiredAsset, entry: LockEntry) -> RemoteAsset | None:
        """The new asset of a replace that an interrupted apply uploaded but never
        recorded (killed between the upload and its lockfile checkpoint): under
        the final name or the temporary one, not recorded, and holding this
        address's content — by reconciler's marker where the provider keeps one,
        else by the best comparison the listing allows (sha256, size, duration).
        The replace takes it instead of uploading a duplicate."""
        if not self.listed or not is_content_hash(asset.sha256):
            return None
        current = self.by_id.get(entry.remote_id)
        if current is not None and current.sha256 == asset.sha256:
            return current  # overwritten in place already: only the record is behind
        names = {asset.name, temporary_name(asset.name, asset.sha256, self.caps.name_max_length)}
        for name in sorted(names):
            for remote in self.by_name.get(name, []):
                if remote.remote_id in self.recorded_ids or remote.remote_id in self.claimed:
                    continue
                if self.caps.marks_owner:
                    ours = remote.owner_marker is not None and remote.owner_marker.matches(asset)
                    if ours and remote.size in (None, asset.size):
                        return remote
                elif compare_content(asset, remote)[0]:
                    return remote
        return None

    def plan_replace(
        self, address: str, entry: LockEntry, before: AssetState, after: AssetState,
        reason: str, drift: list[str], protect: bool, extra_notes: Sequence[str] = (),
    ) -> None:
        renaming = before.name != after.name
        asset = self.assets[address]
        landed = self.landed_upload(asset, entry)
        if landed is not None:
            self.claimed.add(landed.remote_id)
        taken = [r.remote_id for r in self.by_name.get(after.name, []) if r.remote_id not in self.recorded_ids]
        taken = [t for t in taken if landed is None or t != landed.remote_id]
        if renaming and taken and self.caps.unique_names:
            # the new name belongs to a file we do not own: an upload there could overwrite it
            self.claimed.update(taken)
            self.conflicts.append(
                f"{address}: the new name '{after.name}' on instance '{self.instance}' is taken by an "
                f"unmanaged remote asset (id {', '.join(taken)}). reconciler never overwrites what it "
                "does not own. Way out: choose another `name`, or delete or rename the remote one."
            )
            return
        new_id = filename_id(self.caps, after.name, after.format)
        # a file-name id moves with the name or the format (goodbye.wav -> goodbye.au)
        id_moves = new_id is not None and new_id != entry.remote_id
        squatter = self.by_id.get(new_id) if id_moves and not renaming and new_id else None
        # the same bytes there already: our own upload, landed before a crash
        if squatter is not None and new_id not in self.recorded_ids and squatter.sha256 != after.sha256:
            self.claimed.add(new_id)
            self.conflicts.append(
                f"{address}: the new audio format gives it the remote id '{new_id}' on instance "
                f"'{self.instance}', which an unmanaged remote asset already has. reconciler never "
                "overwrites what it does not own. Way out: choose another `name`, or delete or rename "
                "the remote one."
            )
            return
        strategy = replace_strategy(self.caps, renaming=renaming or id_moves)
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
                f"then remove '{entry.remote_id}' by hand in {self.caps.console}; until then "
                "the plan lists it as a manual step"
            )
        if landed is not None:
            notes.insert(0, (
                f"the new content is already uploaded (id {landed.remote_id}, '{landed.name}'): an "
                "interrupted apply left it unrecorded; it is taken over, not uploaded again"
            ))
        if protect:
            self.unsafe.append(f"{address} is protected and would be replaced ({reason})")
        self.change(
            address, Action.REPLACE, reason, remote_id=entry.remote_id, before=before, after=after,
            strategy=strategy, drift=drift, notes=notes, protect=protect,
            remote_id_changes=changes_id, new_remote_id=new_id if changes_id else None,
            landed_id=landed.remote_id if landed else None,
            landed=remote_state(landed) if landed else None,
        )

    def detect_drift(
        self, address: str, entry: LockEntry, remote: RemoteAsset | None, ignored: set[str]
    ) -> list[str]:
        if remote is None:
            return []
        found = [(k, d) for k, d in entry_drift(entry, remote) if IGNORED_BY.get(k) not in ignored]
        if self.compare_audio and not any(k in ("content_changed", "size_changed") for k, _ in found):
            asset = self.assets.get(address)
            found += audio_drift(entry, remote, asset.audio.sample_rate if asset and asset.audio else None)
        return [self.note_drift(address, kind, detail) for kind, detail in found]

    def plan_superseded(self, address: str, entry: LockEntry) -> None:
        """Old remote ids left by an interrupted replace."""
        for old_id in entry.superseded:
            self.claimed.add(old_id)
            if self.listed and old_id not in self.by_id:
                note = "already gone remotely; only the record is cleared"
            elif self.caps.can_delete:
                note = "left over from an interrupted replace"
            else:
                note = (
                    f"the old file of a replace: {self.type} has no delete API, so remove '{old_id}' "
                    f"by hand in {self.caps.console}; the next apply then clears it from the lockfile"
                )
            gone = self.listed and old_id not in self.by_id
            action = Action.DELETE if self.caps.can_delete or gone else Action.MANUAL
            self.change(address, action, "superseded", remote_id=old_id, notes=[note], forget_only=gone)

    # --- recorded, not desired ---------------------------------------------
    def plan_orphan(self, address: str, entry: LockEntry) -> None:
        self.claimed.add(entry.remote_id)
        self.plan_superseded(address, entry)
        before = recorded_state(entry, self.by_id.get(entry.remote_id))
        if self.listed and entry.remote_id not in self.by_id:
            self.change(
                address, Action.DELETE, "not_declared", remote_id=entry.remote_id, before=before,
                notes=["already gone remotely; only the lockfile record is removed"],
                forget_only=True,
            )
            return
        if entry.protect:
            self.unsafe.append(
                f"{address} is protected and would be deleted (no longer declared); "
                "declare it again, or set protect = false and apply before removing it"
            )
        if not self.caps.can_delete:
            self.change(
                address, Action.MANUAL, "not_declared", remote_id=entry.remote_id, before=before,
                notes=[
                    f"{self.type} has no delete API: remove '{entry.remote_id}' by hand in "
                    f"{self.caps.console}; the next apply then clears the lockfile record "
                    f"(to keep the file and stop managing it: `reconciler state rm {address}`)"
                ],
                protect=entry.protect,
            )
            return
        self.change(address, Action.DELETE, "not_declared", remote_id=entry.remote_id, before=before, protect=entry.protect)

    # --- remote, neither recorded nor desired ---------------------------------
    def plan_unmanaged(self) -> None:
        for remote in self.by_id.values():
            if remote.remote_id in self.claimed or remote.remote_id in self.recorded_ids:
                continue
            if is_ignored(remote.name, self.ignore):
                continue  # `ignore`: neither drift, nor listed, nor pruned
            address = f"{self.instance}:{remote.remote_id}"
            marker = remote.owner_marker
            if marker is not None:
                # reconciler made it, yet this lockfile does not know it: another
                # checkout's, or left by an interrupted apply. prune spares it.
                self.note_drift(
                    address, "unmanaged",
                    f"'{remote.name}' (id {remote.remote_id}) was uploaded by reconciler for "
                    f"{marker.address} but is not in this lockfile; left untouched"
                    f"{' (prune never deletes reconciler-marked files)' if self.prune else ''}: "
                    "delete it in the provider's console if it is a leftover",
                )
                continue
            if not self.prune:
                self.note_drift(address, "unmanaged", f"'{remote.name}' (id {remote.remote_id}) is not managed; left untouched")
                continue
            if not self.caps.can_delete:
                self.change(
                    address, Action.MANUAL, "unmanaged_prune", remote_id=remote.remote_id,
                    before=remote_state(remote),
                    notes=[f"prune = true, but {self.type} has no delete API: remove '{remote.remote_id}' "
                           f"by hand in {self.caps.console}"],
                )
                continue
            self.change(address, Action.DELETE, "unmanaged_prune", remote_id=remote.remote_id, before=remote_state(remote))


def plan(
    desired: Desired,
    recorded: Lockfile,
    observed: Mapping[str, ObservedInstance],
    capabilities: Mapping[str, Capabilities],
    *,
    targets: Sequence[str] = (),
    force: bool = False,
) -> Plan:
    """Compute the plan. Raises ConflictError / UnsafePlanError (protect) / PlanError.

    The mass-delete guard (`reconciler.safety`) does not raise: it fills
    `Plan.refused`, so the refused plan can still be shown. `force` lifts
    it, never `protect`."""
    check_entry_types(recorded, desired.instance_types(), lockfile=str(desired.lockfile_path))
    unknown_instances = sorted({e.instance for e in recorded.assets.values()} - set(desired.instances))
    if unknown_instances:
        addresses = sorted(a for a, e in recorded.assets.items() if e.instance in unknown_instances)
        raise PlanError(
            f"the lockfile records {len(addresses)} asset(s) on instance(s) "
            f"{', '.join(unknown_instances)} that the config no longer declares ({', '.join(addresses[:5])}"
            f"{', ...' if len(addresses) > 5 else ''})",
            hint="Restore the [providers.<instance>] table so they can be deleted, or forget them "
            "with `reconciler state rm ADDRESS`.",
        )
    unread = [a.address for a in desired.all_assets() if not a.content_known]
    if unread:  # load_config(read_audio=False) is for read-only checks, never for a plan
        raise PlanError(f"internal: cannot plan without the content of {', '.join(unread[:3])}")
    result = Plan(targets=list(targets), warnings=list(desired.warnings))
    conflicts: list[str] = []
    unsafe: list[str] = []
    for name, inst in desired.instances.items():
        caps = capabilities[name]
        planner = _InstancePlanner(
            instance=name,
            provider_type=inst.type,
            assets=inst.assets,
            entries=recorded.for_instance(name),
            observed=observed.get(name),
            caps=caps,
            prune=getattr(inst.settings, "prune", False),
            ignore=getattr(inst.settings, "ignore", ()),
        )
        planner.run()
        result.warnings.extend(inst.warnings)
        obs = observed.get(name)
        if obs is not None:
            result.warnings.extend(obs.warnings)
        if obs is None or obs.assets is None:
            result.warnings.append(
                f"instance '{name}': {inst.type} cannot list its assets, so remote drift and "
                "unmanaged assets were not checked"
            )
        chosen = {c.address for c in planner.changes if matches_target(c.address, targets)}
        # a target brings its dependencies (the delete that frees its name), as in Terraform
        chosen |= {d for c in planner.changes if c.address in chosen for d in c.depends_on}
        result.changes.extend(c for c in planner.changes if c.address in chosen)
        result.drift.extend(d for d in planner.drift if matches_target(d.address, targets))
        conflicts += [c for c in planner.conflicts if matches_target(c.split(":", 1)[0], targets)]
        unsafe += [u for u in planner.unsafe if u.split(" ", 1)[0] in chosen
                   or matches_target(u.split(" ", 1)[0], targets)]
    if targets:
        result.warnings.append(
            "targeted plan (--target): only matching addresses were planned; the rest may differ"
        )
        known = {a.address for a in desired.all_assets()} | set(recorded.assets)
        for t in targets:
            if not any(matches_target(a, [t]) for a in known):
                result.warnings.append(f"--target {t} matches no declared or recorded address")
    if conflicts:
        raise ConflictError(
            f"{len(conflicts)} declared asset(s) collide with remote content reconciler does not own:\n"
            + "\n".join(f"  - {c}" for c in conflicts)
        )
    if unsafe:
        raise UnsafePlanError(
            "the plan would delete or replace protected assets:\n" + "\n".join(f"  - {u}" for u in unsafe),
            hint="Remove `protect = true` from those assets if this is intended.",
        )
    if not force:
        result.refused = mass_delete_refusals(result, desired, recorded)
    return result


def mass_delete_refusals(result: Plan, desired: Desired, recorded: Lockfile) -> list[str]:
    managed = {name: len(recorded.for_instance(name)) for name in desired.instances}
    limits = {
        name: DeleteLimits(
            max_delete_percent=getattr(inst.settings, "max_delete_percent", DEFAULT_MAX_DELETE_PERCENT),
            max_deletes=getattr(inst.settings, "max_deletes", None),
        )
        for name, inst in desired.instances.items()
    }
    return mass_delete_problems(result, managed, limits)
