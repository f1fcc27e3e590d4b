"""The mass-delete guard (octoDNS's `MAX_SAFE_DELETE_PCENT`, `TooMuchChange`).

Pure: reads a Plan and counts, raises nothing itself. The planner calls
`mass_delete_problems` and turns what it returns into an UnsafePlanError
unless the user passed `--force`.

What counts: deletes and replaces of *managed* assets (addresses in the
lockfile). Leftovers of an interrupted replace (`superseded`), records whose
remote asset is already gone (`forget_only`) and unmanaged assets deleted by
`prune = true` are not counted: none of them removes something reconciler
manages and a call flow may still use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from reconciler.plan import Action, Change, Plan

DEFAULT_MAX_DELETE_PERCENT = 30.0
# below this many managed assets the percentage rule does not apply (deleting
# 2 of 3 prompts is 66%, and ordinary)
MIN_MANAGED_FOR_PERCENT = 10


class DeleteLimits(BaseModel):
    """One instance's thresholds, from `max_delete_percent` / `max_deletes`."""

    model_config = ConfigDict(frozen=True)

    max_delete_percent: float = DEFAULT_MAX_DELETE_PERCENT
    max_deletes: int | None = None


def counts_as_delete(change: Change) -> bool:
    if change.action is Action.REPLACE:
        return True
    return (
        change.action is Action.DELETE
        and not change.forget_only
        and change.reason not in ("superseded", "unmanaged_prune")
    )


def _percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


def mass_delete_problems(
    plan: Plan, managed: Mapping[str, int], limits: Mapping[str, DeleteLimits]
) -> list[str]:
    """One message per instance over its threshold, naming the numbers.

    `managed`: instance -> number of addresses the lockfile records on it.
    """
    deletes: Counter[str] = Counter()
    replaces: Counter[str] = Counter()
    for change in plan.changes:
        if counts_as_delete(change):
            deletes[change.instance] += 1
            if change.action is Action.REPLACE:
                replaces[change.instance] += 1
    problems = []
    for instance in sorted(deletes):
        n, total = deletes[instance], managed.get(instance, 0)
        limit = limits.get(instance, DeleteLimits())
        verb = "deleted or replaced" if replaces[instance] else "deleted"
        if limit.max_deletes is not None and n > limit.max_deletes:
            problems.append(
                f"instance {instance}: {n} of {total} managed assets would be {verb}, "
                f"over max_deletes = {limit.max_deletes}; use --force"
            )
            continue
        if total >= MIN_MANAGED_FOR_PERCENT:
            share = 100.0 * n / total
            if share > limit.max_delete_percent:
                problems.append(
                    f"instance {instance}: {n} of {total} managed assets ({_percent(share)}) would be "
                    f"{verb}, over {_percent(limit.max_delete_percent)}; use --force"
                )
    return problems
