"""The mass-delete guard (octoDNS's `MAX_SAFE_DELETE_PCENT`, `TooMuchChange`).

Pure: reads a Plan and counts, raises nothing itself. The planner records
what `mass_delete_problems` returns in `Plan.refused` unless the user passed
`--force`; the CLI renders that plan (so the user sees what `--force` would
do) and then fails with `refusal_error`.

What counts: every action that destroys a remote asset — a delete of a
recorded asset, a delete of an unmanaged one by `prune = true`, and a replace
(its old asset, or its old bytes under an overwrite, are gone afterwards),
except a replace whose old asset the provider cannot delete (it stays until a
person removes it). Not counted: leftovers of an interrupted replace
(`superseded`: the replace that made them was counted when it was planned)
and records whose remote asset is already gone (`forget_only`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from reconciler.errors import UnsafePlanError
from reconciler.plan import Action, Change, Plan, ReplaceStrategy

DEFAULT_MAX_DELETE_PERCENT = 30.0
# below this many assets at stake the percentage rule does not apply (deleting
# 2 of 3 prompts is 66%, and ordinary)
MIN_MANAGED_FOR_PERCENT = 10


class DeleteLimits(BaseModel):
    """One instance's thresholds, from `max_delete_percent` / `max_deletes`."""

    model_config = ConfigDict(frozen=True)

    max_delete_percent: float = DEFAULT_MAX_DELETE_PERCENT
    max_deletes: int | None = None


def destroys(change: Change) -> str | None:
    """'deleted', 'replaced' or 'pruned' when the change destroys a remote asset, else None."""
    if change.action is Action.REPLACE:
        return None if change.strategy is ReplaceStrategy.CREATE_THEN_MANUAL else "replaced"
    if change.action is not Action.DELETE or change.forget_only or change.reason == "superseded":
        return None
    return "pruned" if change.reason == "unmanaged_prune" else "deleted"


def counts_as_delete(change: Change) -> bool:
    return destroys(change) is not None


def _percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


def _breakdown(kinds: Counter[str]) -> str:
    words = {"deleted": "deleted", "replaced": "replaced", "pruned": "deleted by prune = true"}
    parts = [f"{kinds[k]} {words[k]}" for k in ("deleted", "replaced", "pruned") if kinds[k]]
    return parts[0].split(" ", 1)[1] if len(parts) == 1 else "destroyed (" + ", ".join(parts) + ")"


def mass_delete_problems(
    plan: Plan, managed: Mapping[str, int], limits: Mapping[str, DeleteLimits]
) -> list[str]:
    """One message per instance over its threshold, naming the numbers, the
    threshold and the way past it.

    `managed`: instance -> number of addresses the lockfile records on it. The
    unmanaged assets that prune would delete are at stake too, so they join
    both the count and the total the percentage is taken of.
    """
    kinds: dict[str, Counter[str]] = {}
    for change in plan.changes:
        kind = destroys(change)
        if kind is not None:
            kinds.setdefault(change.instance, Counter())[kind] += 1
    problems = []
    for instance in sorted(kinds):
        counted = kinds[instance]
        n = sum(counted.values())
        pruned = counted["pruned"]
        total = managed.get(instance, 0) + pruned
        what = "managed assets" if not pruned else f"assets ({total - pruned} managed, {pruned} unmanaged)"
        limit = limits.get(instance, DeleteLimits())
        verb = _breakdown(counted)
        if limit.max_deletes is not None and n > limit.max_deletes:
            problems.append(
                f"instance {instance}: {n} of {total} {what} would be {verb}, "
                f"over max_deletes = {limit.max_deletes}; use --force"
            )
            continue
        if total >= MIN_MANAGED_FOR_PERCENT:
            share = 100.0 * n / total
            if share > limit.max_delete_percent:
                problems.append(
                    f"instance {instance}: {n} of {total} {what} ({_percent(share)}) would be {verb}, "
                    f"over max_delete_percent = {_percent(limit.max_delete_percent)}; use --force"
                )
    return problems


def refusal_error(plan: Plan) -> UnsafePlanError:
    """The error for a plan the guard refused (`plan.refused` is not empty)."""
    if len(plan.refused) == 1:
        return UnsafePlanError(
            f"{plan.refused[0]} (the plan above is what --force would do)",
        )
    return UnsafePlanError(
        "the plan would delete too much:\n" + "\n".join(f"  - {p}" for p in plan.refused),
        hint="The plan above is what --force would do; use --force if it is intended.",
    )
