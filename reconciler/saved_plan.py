"""Saved plans: `plan --out plan.json` writes one, `apply plan.json` applies
exactly it — or refuses.

The file is the JSON plan (`render.json`) plus a `checksum`: sha256 over the
canonical JSON of everything else, so a hand-edited plan is refused. (A
checksum, not a signature: it catches edits and corruption, not an attacker
who recomputes it.) Before applying, every fingerprint is recomputed
(`reconciler.fingerprint`): the config and audio files, the lockfile's
lineage and serial, then — after a fresh listing — the remote state of every
address the plan touches. Any difference makes the plan stale.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from reconciler import engine
from reconciler.applier import Applier, Listener
from reconciler.atomic import atomic_write
from reconciler.documents import parse_json
from reconciler.errors import PlanError, UnsafePlanError
from reconciler.fingerprint import (
    config_sha256,
    file_hashes,
    local_stale_reasons,
    observed_fingerprints,
    observed_stale_reasons,
)
from reconciler.inputs import MAX_PLAN_BYTES, InputError, read_file, write_failure
from reconciler.lockstore import LockfileStore
from reconciler.model import Desired
from reconciler.plan import PLAN_FORMAT_VERSION, Fingerprints, Plan
from reconciler.render.json import dumps, plan_document


class SavedPlan(Plan):
    """A plan file written by `plan --out`: the JSON plan and its checksum."""

    checksum: str | None = Field(
        default=None,
        description="'sha256:' + sha256 of the canonical JSON (sorted keys, no spaces) of every "
        "other key. Present in files written by `plan --out`; `apply` refuses a file whose "
        "checksum does not match.",
    )


def checksum(data: dict[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # surrogatepass: a hand-made file may hold a lone surrogate ("\ud800"), which
    # must give a mismatch, not a crash; every valid string encodes the same
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def write_saved_plan(path: Path, plan: Plan) -> None:
    """Write atomically, so a reader never sees half a plan."""
    if plan.fingerprints is None:
        raise PlanError("internal: a plan without fingerprints cannot be saved")
    data = plan_document(plan)
    data["checksum"] = checksum(data)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, dumps(data).encode("utf-8"))
    except OSError as exc:
        raise PlanError(
            f"cannot save the plan to {path}: {write_failure(exc, path)}",
            hint="Pass --out a path in a writable folder.",
        ) from None


def read_saved_plan(path: Path) -> Plan:
    """The plan in `path`, after checking its format and checksum."""
    try:
        data = parse_json(read_file(path, limit=MAX_PLAN_BYTES))
    except InputError as exc:
        if exc.missing:
            raise PlanError(f"plan file {path} does not exist", hint="Write one with `reconciler plan --out FILE`.") from None
        if exc.reason.startswith("is not valid JSON"):
            data = None  # not ours: said below, with the way out
        else:
            raise PlanError(
                f"cannot read plan file {path}: it {exc.reason}",
                hint="Pass the file written by `reconciler plan --out FILE`.",
            ) from None
    if not isinstance(data, dict) or "changes" not in data:
        raise PlanError(
            f"{path} is not a reconciler plan file",
            hint="Write one with `reconciler plan --out FILE`.",
        )
    if data.get("format_version") != PLAN_FORMAT_VERSION:
        raise PlanError(
            f"plan file {path} has format version {str(data.get('format_version'))[:20]}; this reconciler "
            f"applies version {PLAN_FORMAT_VERSION}",
            hint="Make the plan again with this version of reconciler.",
        )
    if "checksum" not in data:
        raise UnsafePlanError(
            f"plan file {path} has no checksum, so it was not written by `reconciler plan --out`",
            hint="Make a new plan with `reconciler plan --out FILE` and apply that.",
        )
    if data["checksum"] != checksum(data):
        raise UnsafePlanError(
            f"plan file {path} was modified after it was written (checksum mismatch): it is not the plan that was reviewed",
            hint="Plans are applied exactly as reviewed. Make a new plan with `reconciler plan --out FILE`.",
        )
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(f"plan file {path} is not valid: {str(exc).splitlines()[0]}") from None
    if plan.fingerprints is None:
        raise PlanError(f"plan file {path} has no fingerprints, so its staleness cannot be checked")
    return plan


def _stale(source: str, reasons: list[str]) -> UnsafePlanError:
    return UnsafePlanError(
        f"the saved plan {source} is stale:\n" + "\n".join(f"  - {r}" for r in reasons),
        hint=f"Make a new plan with `reconciler plan --out {shlex.quote(source)}`, review it, and apply that.",
    )


def check_local(plan: Plan, desired: Desired, store: LockfileStore, source: str) -> None:
    """Config, audio files and lockfile: checked before any network call."""
    assert plan.fingerprints is not None and store.state is not None
    saved = plan.fingerprints
    now = Fingerprints(
        config_path=str(desired.config_path),
        config_sha256=config_sha256(desired),
        files=file_hashes(desired),
        lockfile_lineage=store.state.lineage if store.state.serial else None,
        lockfile_serial=store.state.serial,
    )
    reasons = local_stale_reasons(saved, now)
    if reasons:
        raise _stale(source, reasons)


async def apply_saved_plan(
    plan: Plan,
    desired: Desired,
    store: LockfileStore,
    *,
    source: str,
    parallelism: int | None = None,
    listener: Listener | None = None,
    on_start: Callable[[Plan], None] | None = None,
) -> engine.ApplyOutcome:
    """Apply exactly `plan` under the held lockfile, or raise UnsafePlanError
    when it is stale. No confirmation: the plan file is what was reviewed."""
    assert plan.fingerprints is not None and store.state is not None
    check_local(plan, desired, store, source)
    providers = engine.build_providers(desired)
    async with engine.opened(providers):
        await engine.recover(providers)
        observed = await engine.observe(
            desired, providers, store.state, verify_content=plan.fingerprints.verify_content
        )
        reasons = observed_stale_reasons(plan.fingerprints.observed, observed_fingerprints(plan, observed))
        if reasons:
            raise _stale(source, reasons)
        if not plan.has_changes:
            return engine.ApplyOutcome(plan=plan, report=None)
        if on_start is not None:
            on_start(plan)
        applier = Applier(plan, desired, store, providers, parallelism=parallelism, listener=listener)
        return engine.ApplyOutcome(plan=plan, report=await applier.run())
