"""`reconciler drift`: what changed remotely outside reconciler.

Read-only. Compares the lockfile (what was last applied) with what the
providers list now — not with the config, so a pending local edit is not
drift. Kinds: renamed, description_edited, deleted, content_changed
(size_changed where only sizes are listed), unmanaged.

`detect` is pure; `check_drift` observes and calls it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field, computed_field

from reconciler import engine
from reconciler.audio import NotAudioError, inspect_bytes
from reconciler.compare import audio_drift, entry_drift
from reconciler.config import load_config
from reconciler.inputs import MAX_AUDIO_BYTES, InputError, read_file, real_path
from reconciler.lockfile import Lockfile, check_entry_types, read_lockfile
from reconciler.model import Desired, ObservedInstance
from reconciler.plan import DriftItem
from reconciler.planner import matches_target
from reconciler.planning.orphans import is_ignored
from reconciler.planning.recorded import IGNORED_BY
from reconciler.providers import PROVIDERS

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


class Policy(BaseModel):
    """What a team told reconciler not to care about (from the config): per
    instance, `ignore` globs on unmanaged remote names; per address (or the
    instance's default for addresses no longer declared), `ignore_changes`."""

    ignore: dict[str, list[str]] = Field(default_factory=dict)
    # instances whose --verify-content download is a converted copy: content is
    # compared by duration (lockfile) and sample rate (the local source file)
    converted: list[str] = Field(default_factory=list)
    source_rates: dict[str, int] = Field(default_factory=dict)
    ignore_changes: dict[str, list[str]] = Field(default_factory=dict)
    instance_ignore_changes: dict[str, list[str]] = Field(default_factory=dict)

    def ignored_fields(self, address: str, instance: str) -> set[str]:
        if address in self.ignore_changes:
            return set(self.ignore_changes[address])
        return set(self.instance_ignore_changes.get(instance, ()))


def policy_of(desired: Desired) -> Policy:
    return Policy(
        ignore={n: list(getattr(i.settings, "ignore", ())) for n, i in desired.instances.items()},
        ignore_changes={a.address: list(a.ignore_changes) for a in desired.all_assets()},
        instance_ignore_changes={
            n: list(getattr(i.settings, "ignore_changes", ())) for n, i in desired.instances.items()
        },
    )


def _instance_drift(instance: str, lock: Lockfile, observed: ObservedInstance, policy: Policy) -> list[DriftItem]:
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
        ignored = policy.ignored_fields(address, instance)
        found = entry_drift(entry, remote)
        if instance in policy.converted and observed.content_verified and not any(
            k in ("content_changed", "size_changed") for k, _ in found
        ):
            found += audio_drift(entry, remote, policy.source_rates.get(address))
        for kind, detail in found:
            if IGNORED_BY.get(kind) not in ignored:
                items.append(DriftItem(address=address, instance=instance, kind=kind, detail=detail))
    known = {e.remote_id for e in entries.values()} | {s for e in entries.values() for s in e.superseded}
    ignore = policy.ignore.get(instance, [])
    for remote in observed.assets:
        if remote.remote_id not in known and not is_ignored(remote.name, ignore):
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
    policy: Policy | None = None,
) -> DriftReport:
    """Pure: the drift between `lock` and `observed`, per instance observed."""
    policy = policy or Policy()
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
        items = _instance_drift(instance, lock, obs, policy)
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
    desired = load_config(config_path, read_audio=False)  # lockfile vs remote: no audio needed
    lock = read_lockfile(desired.lockfile_path)
    check_entry_types(lock, desired.instance_types(), lockfile=str(desired.lockfile_path))
    observed = await engine.observe_only(desired, lock, verify_content=verify_content)
    policy = policy_of(desired)
    warnings: list[str] = []
    if verify_content:
        policy.converted = [
            n for n, i in desired.instances.items() if not PROVIDERS[i.type].capabilities.download_is_exact
        ]
        policy.source_rates, warnings = source_rates(desired, lock, policy.converted, targets)
    report = detect(lock, observed, targets=targets, policy=policy)
    report.warnings += [
        f"{g} (audio not checked out?): drift compares the lockfile with the providers and goes on; "
        "the ignore_changes of the assets it declares fall back to their instance's" for g in desired.unread_globs
    ] + warnings
    return report


def source_rates(
    desired: Desired, lock: Lockfile, instances: Sequence[str], targets: Sequence[str]
) -> tuple[dict[str, int], list[str]]:
    """The sample rate of each recorded asset's local file, on instances whose
    download is a converted copy — the one comparison `drift` needs a local
    file for. A file that is missing or unreadable is named and skipped."""
    rates: dict[str, int] = {}
    warnings: list[str] = []
    base = real_path(desired.config_path).parent
    for instance in instances:
        for address in sorted(lock.for_instance(instance)):
            asset = desired.asset(address)
            if asset is None or asset.file is None or not matches_target(address, targets):
                continue
            rendition = lock.assets[address].rendition
            if rendition is not None and rendition.sample_rate is not None:
                rates[address] = rendition.sample_rate  # what was uploaded, not the master
                continue
            try:
                rate = inspect_bytes(read_file(asset.file, limit=MAX_AUDIO_BYTES)).sample_rate
            except (InputError, NotAudioError) as exc:
                why = "is missing" if isinstance(exc, InputError) and exc.missing else "cannot be read as audio"
                warnings.append(
                    f"{address}: sample rate not compared: it needs the local file "
                    f"{os.path.relpath(asset.file, base)}, which {why}; duration was compared"
                )
                continue
            if rate is not None:
                rates[address] = rate
    return rates, warnings
