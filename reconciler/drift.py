"""`reconciler drift`: what changed remotely outside reconciler.

Read-only. Compares the lockfile (what was last applied) with what the
providers list now — not with the config, so a pending local edit is not
drift. Kinds: renamed, description_edited, deleted, content_changed
(size_changed where only sizes are listed), unmanaged.

`detect` is pure; `check_drift` observes and calls it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field, computed_field

from reconciler import engine
from reconciler.compare import entry_drift
from reconciler.config import load_config
from reconciler.lockfile import Lockfile, read_lockfile
from reconciler.model import ObservedInstance
from reconciler.plan import DriftItem
from reconciler.planner import matches_target

DRIFT_FORMAT_VERSION = 1
KINDS = ("renamed", "description_edited", "deleted", "content_changed", "size_changed", "unmanaged")


class DriftReport(BaseModel):
    """The result of `reconciler drift`, also its JSON output."""

    format_version: int = DRIFT_FORMAT_VERSION
    drift: list[DriftItem] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    checked: dict[str, int] = Field(
        default_factory=dict, description="Instance -> recorded assets compared with the listing."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(d.kind for d in self.drift)
        return {k: counts[k] for k in KINDS}

    @property
    def has_drift(self) -> bool:
        return bool(self.drift)


def _instance_drift(instance: str, lock: Lockfile, observed: ObservedInstance) -> list[DriftItem]:
    assert observed.assets is not None
    entries = lock.for_instance(instance)
    by_id = {r.remote_id: r for r in observed.assets}
    items = []
    for address, entry in sorted(entries.items()):
        remote = by_id.get(entry.remote_id)
        if remote is None:
            detail = f"remote asset {entry.remote_id} ('{entry.name}') is gone"
            items.append(DriftItem(address=address, instance=instance, kind="deleted", detail=detail))
            continue
        for kind, detail in entry_drift(entry, remote):
            items.append(DriftItem(address=address, instance=instance, kind=kind, detail=detail))
    known = {e.remote_id for e in entries.values()} | {s for e in entries.values() for s in e.superseded}
    for remote in observed.assets:
        if remote.remote_id not in known:
            items.append(
                DriftItem(
                    address=f"{instance}:{remote.remote_id}",
                    instance=instance,
                    kind="unmanaged",
                    detail=f"'{remote.name}' (id {remote.remote_id}) is not managed by reconciler",
                )
            )
    return items


def _targeted(item: DriftItem, targets: Sequence[str]) -> bool:
    if item.kind == "unmanaged":  # no address of its own: `instance.*` takes it in
        return not targets or f"{item.instance}.*" in targets or matches_target(item.address, targets)
    return matches_target(item.address, targets)


def detect(
    lock: Lockfile,
    observed: Mapping[str, ObservedInstance],
    *,
    targets: Sequence[str] = (),
) -> DriftReport:
    """Pure: the drift between `lock` and `observed`, per instance observed."""
    report = DriftReport()
    for instance in sorted({e.instance for e in lock.assets.values()} - set(observed)):
        report.warnings.append(
            f"instance '{instance}' is recorded in the lockfile but not configured; not checked"
        )
    for instance, obs in sorted(observed.items()):
        report.warnings.extend(obs.warnings)
        if obs.assets is None:
            report.warnings.append(f"instance '{instance}' cannot list its assets; drift was not checked")
            continue
        items = _instance_drift(instance, lock, obs)
        report.drift += [d for d in items if _targeted(d, targets)]
        report.checked[instance] = sum(
            1 for a in lock.for_instance(instance) if matches_target(a, targets)
        )
    if targets:
        report.warnings.append("targeted check (--target): only matching addresses were compared")
    return report


async def check_drift(config_path: Path, *, targets: Sequence[str] = (), verify_content: bool = False) -> DriftReport:
    """Load the config (for the provider settings), read the lockfile, list
    every instance and compare. Writes nothing."""
    desired = load_config(config_path)
    lock = read_lockfile(desired.lockfile_path)
    observed = await engine.observe_only(desired, lock, verify_content=verify_content)
    return detect(lock, observed, targets=targets)
