"""Staleness fingerprints: what a plan was computed from, in a form that can
be recomputed later and compared.

- the config file's bytes and every referenced audio file (sha256),
- the lockfile's lineage and serial,
- for each address the plan would touch, the remote state it saw (sha256 of
  the remote assets with that change's remote id or one of its names).

Only the config is read here (its bytes are not kept elsewhere); everything
else comes from values already in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping

from reconciler.errors import ConfigError
from reconciler.inputs import MAX_CONFIG_BYTES, InputError, read_file, real_path
from reconciler.lockfile import Lockfile
from reconciler.model import Desired, ObservedInstance, RemoteAsset
from reconciler.plan import Action, Change, Fingerprints, Plan

NOT_LISTED = "not-listed"  # the provider cannot list: nothing was seen, nothing to compare
OBSERVED_FIELDS = ("remote_id", "name", "description", "size", "sha256")


def config_sha256(desired: Desired) -> str:
    try:
        return hashlib.sha256(read_file(desired.config_path, limit=MAX_CONFIG_BYTES)).hexdigest()
    except InputError as exc:
        raise ConfigError(f"the config file {exc.reason}", file=str(desired.config_path)) from None


def file_hashes(desired: Desired) -> dict[str, str]:
    base = real_path(desired.config_path).parent
    out: dict[str, str] = {}
    for asset in desired.all_assets():
        if asset.master is not None:  # the file in git, not its rendition in the cache
            out[os.path.relpath(asset.master.path, base)] = asset.master.sha256
        elif asset.file is not None:
            out[os.path.relpath(asset.file, base)] = asset.sha256
    return dict(sorted(out.items()))


def affected(plan: Plan) -> list[Change]:
    """The changes whose remote state matters: everything but no-ops."""
    return [c for c in plan.changes if c.action is not Action.NOOP]


def _relevant(change: Change, remotes: Iterable[RemoteAsset]) -> list[dict]:
    names = {s.name for s in (change.before, change.after) if s is not None}
    seen = [
        {f: getattr(r, f) for f in OBSERVED_FIELDS}
        for r in remotes
        if (change.remote_id is not None and r.remote_id == change.remote_id) or r.name in names
    ]
    return sorted(seen, key=lambda d: d["remote_id"])


def observed_digest(change: Change, observed: ObservedInstance | None) -> str:
    if observed is None or observed.assets is None:
        return NOT_LISTED
    body = json.dumps(_relevant(change, observed.assets), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def observed_fingerprints(plan: Plan, observed: Mapping[str, ObservedInstance]) -> dict[str, str]:
    return {
        c.address + (f"#{c.remote_id}" if c.reason == "superseded" else ""): observed_digest(
            c, observed.get(c.instance)
        )
        for c in affected(plan)
    }


def fingerprint(
    desired: Desired,
    recorded: Lockfile,
    plan: Plan,
    observed: Mapping[str, ObservedInstance],
    *,
    verify_content: bool = False,
) -> Fingerprints:
    """All fingerprints of a plan just computed from these inputs."""
    return Fingerprints(
        config_path=str(desired.config_path),
        config_sha256=config_sha256(desired),
        files=file_hashes(desired),
        # serial 0: never written, and an unwritten lockfile gets a new random lineage per read
        lockfile_lineage=recorded.lineage if recorded.serial else None,
        lockfile_serial=recorded.serial,
        observed=observed_fingerprints(plan, observed),
        verify_content=verify_content,
    )


def _files_reasons(saved: Mapping[str, str], now: Mapping[str, str], limit: int = 10) -> list[str]:
    reasons = []
    for path in sorted(set(saved) | set(now)):
        if path not in now:
            reasons.append(f"audio file {path} is no longer referenced by the config")
        elif path not in saved:
            reasons.append(f"audio file {path} is newly referenced by the config")
        elif saved[path] != now[path]:
            reasons.append(f"audio file {path} changed (sha256 {saved[path][:12]} → {now[path][:12]})")
    if len(reasons) > limit:
        reasons = reasons[:limit] + [f"... and {len(reasons) - limit} more audio file change(s)"]
    return reasons


def local_stale_reasons(saved: Fingerprints, now: Fingerprints) -> list[str]:
    """Why the plan no longer matches the config, the audio files or the lockfile."""
    reasons = []
    if saved.config_sha256 != now.config_sha256:
        if saved.config_path != now.config_path:
            reasons.append(f"the plan was made from the config {saved.config_path}, not {now.config_path}")
        else:
            reasons.append(f"the config {now.config_path} changed since the plan was made")
    reasons += _files_reasons(saved.files, now.files)
    if saved.lockfile_lineage is None and now.lockfile_lineage is not None:
        reasons.append(
            f"the lockfile was written since the plan was made (serial 0 → {now.lockfile_serial})"
        )
    elif saved.lockfile_lineage is not None and now.lockfile_lineage is None:
        reasons.append("the lockfile the plan was made against is gone")
    elif saved.lockfile_lineage != now.lockfile_lineage:
        reasons.append(
            f"the lockfile's lineage is {now.lockfile_lineage or '(none: no lockfile)'}, the plan was "
            f"made against {saved.lockfile_lineage or '(none: no lockfile)'}: it is another state"
        )
    elif saved.lockfile_serial != now.lockfile_serial:
        reasons.append(
            f"the lockfile moved from serial {saved.lockfile_serial} to {now.lockfile_serial} "
            "(another apply or a state command wrote it)"
        )
    return reasons


def observed_stale_reasons(saved: Mapping[str, str], now: Mapping[str, str], limit: int = 10) -> list[str]:
    """Why the remote state of an affected address no longer matches the plan."""
    moved = sorted(a for a in saved if now.get(a) != saved[a])
    reasons = [f"the remote state of {a.split('#', 1)[0]} changed since the plan was made" for a in moved]
    if len(reasons) > limit:
        reasons = reasons[:limit] + [f"... and {len(reasons) - limit} more"]
    return reasons
