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

The rules live in `reconciler.planning`, one module per kind of address; this
module plans each instance with them and assembles the Plan (targets, the
refusals that raise, the mass-delete guard).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

from reconciler.errors import ConflictError, PlanError, UnsafePlanError
from reconciler.lockfile import Lockfile, check_entry_types
from reconciler.model import Desired, ObservedInstance
from reconciler.plan import Plan
from reconciler.planning.instance import InstancePlanner
from reconciler.planning.orphans import plan_orphan, plan_unmanaged, wait_for_leftovers
from reconciler.planning.recorded import plan_recorded
from reconciler.planning.unrecorded import plan_new
from reconciler.providers.base import Capabilities
from reconciler.safety import DEFAULT_MAX_DELETE_PERCENT, DeleteLimits, mass_delete_problems


def matches_target(address: str, targets: Sequence[str]) -> bool:
    """Whether `--target` selects `address` (each target an address or a glob; none: all)."""
    return not targets or any(address == t or fnmatch.fnmatchcase(address, t) for t in targets)


def plan_instance(p: InstancePlanner) -> None:
    """Every address of one instance, each by the rules for its kind, then
    the remotes no address claims."""
    # names freed by orphans being deleted: a new asset taking one waits for the delete
    orphan_names = {
        e.name: addr for addr, e in p.entries.items() if addr not in p.assets
    }
    for address in sorted(set(p.assets) | set(p.entries)):
        asset, entry = p.assets.get(address), p.entries.get(address)
        if asset and not entry:
            plan_new(p, asset, reason="not_recorded", orphan_names=orphan_names)
        elif asset and entry:
            plan_recorded(p, asset, entry, orphan_names)
        elif entry:
            plan_orphan(p, address, entry)
    plan_unmanaged(p)
    wait_for_leftovers(p)


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
        planner = InstancePlanner(
            instance=name,
            provider_type=inst.type,
            assets=inst.assets,
            entries=recorded.for_instance(name),
            observed=observed.get(name),
            caps=caps,
            prune=getattr(inst.settings, "prune", False),
            ignore=getattr(inst.settings, "ignore", ()),
        )
        plan_instance(planner)
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
