"""`reconciler compare A B`: where two instances differ — offline, from the
config and the lockfile, for any two provider types.

What is compared is what each instance last applied (its lockfile records),
key by key (`A.welcome` with `B.welcome`): content (sha256 of the bytes
uploaded), name and description, and keys recorded on one side only. The
config then says which of those differences are *by configuration*: each side
applied exactly what its config declares, and the configs declare different
values (a per-instance override, a prompt one instance's `use` leaves out).
Those are listed but do not make the instances out of step; anything else —
typically one side has applied a change the other has not — does.

`compare` is pure; `compare_config` reads the files and calls it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from reconciler.audio import file_digest
from reconciler.config import did_you_mean, load_config
from reconciler.errors import ReconcilerError
from reconciler.inputs import InputError, real_path
from reconciler.lockfile import LockEntry, check_entry_types, read_lockfile
from reconciler.model import Desired

COMPARE_FORMAT_VERSION = 1
Kind = Literal["content", "name", "description", "only_in_a", "only_in_b"]
KINDS: tuple[str, ...] = ("content", "name", "description", "only_in_a", "only_in_b")


class Declared(BaseModel):
    """What an instance's config declares for one key. None: unknown — the
    local file could not be read (`sha256`), or a glob that may declare the
    key matched no file in a check that reads no audio (every field)."""

    model_config = ConfigDict(frozen=True)

    name: str | None
    description: str | None
    sha256: str | None
    # fields the instance's `ignore_changes` keeps as they were applied
    ignored: frozenset[str] = frozenset()


class Difference(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    kind: Kind
    a: str | None = Field(description="The value on instance A (content: sha256), or null.")
    b: str | None = Field(description="The value on instance B (content: sha256), or null.")
    by_config: bool = Field(
        description="Each side applied what its config declares, and the configs differ: "
        "intended, not counted as out of step."
    )
    detail: str


class Comparison(BaseModel):
    """The result of `reconciler compare`, also its JSON output."""

    format_version: int = COMPARE_FORMAT_VERSION
    a: str
    b: str
    a_type: str
    b_type: str
    same: list[str] = Field(default_factory=list, description="Keys recorded alike on both sides.")
    differences: list[Difference] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(d.kind for d in self.differences if not d.by_config)
        return {k: counts[k] for k in KINDS}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def in_step(self) -> bool:
        return not self.out_of_step

    @property
    def out_of_step(self) -> list[Difference]:
        return [d for d in self.differences if not d.by_config]

    @property
    def out_of_step_keys(self) -> list[str]:
        return sorted({d.key for d in self.out_of_step})


def _short(kind: str, value: str | None) -> str:
    if value is None:
        return "-"
    return value[:12] if kind == "content" and ":" not in value else repr(value)


def _pending(side: str, record: LockEntry | None, declared: Declared | None, field: str) -> str | None:
    """Why `side` does not show what its config declares for `field`, if it does not."""
    if declared is None:
        return f"{side} no longer declares it" if record is not None else None
    if record is None:
        return f"{side} declares it but has not applied it"
    if field in declared.ignored:  # it never applies changes to this field: as it is, by configuration
        return None
    wanted = declared.sha256 if field == "content" else getattr(declared, field)
    have = record.sha256 if field == "content" else getattr(record, field)
    if wanted is None:
        return f"{side}'s local file is not available, so its config could not be checked"
    return f"{side} has not applied its config yet" if wanted != have else None


Side = tuple[str, LockEntry | None, Declared | None]


def _one_sided(key: str, side_a: Side, side_b: Side) -> Difference:
    """A key recorded on one instance only. By configuration when the other
    does not declare it and this one is as its config declares."""
    here, there = (side_a, side_b) if side_a[1] is not None else (side_b, side_a)
    reasons = [r for r in (_pending(*here, "content"), _pending(*there, "content")) if r]
    return Difference(
        key=key, kind="only_in_a" if here is side_a else "only_in_b",
        a="recorded" if side_a[1] else None, b="recorded" if side_b[1] else None, by_config=not reasons,
        detail=f"only on {here[0]} (" + ("; ".join(reasons) if reasons else f"{there[0]} does not carry it") + ")",
    )


def compare(
    a: str,
    b: str,
    records: tuple[Mapping[str, LockEntry], Mapping[str, LockEntry]],
    declared: tuple[Mapping[str, Declared], Mapping[str, Declared]],
    *,
    types: tuple[str, str] = ("", ""),
) -> Comparison:
    """Pure: compare instance `a` with `b`, both keyed by asset key."""
    (ra, rb), (da, db) = records, declared
    result = Comparison(a=a, b=b, a_type=types[0], b_type=types[1])
    for key in sorted(set(ra) | set(rb) | set(da) | set(db)):
        ea, eb = ra.get(key), rb.get(key)
        if ea is None and eb is None:
            sides = [s for s, d in ((a, da), (b, db)) if key in d]
            result.warnings.append(f"{key}: declared on {' and '.join(sides)} but applied on neither")
            continue
        if ea is None or eb is None:
            result.differences.append(_one_sided(key, (a, ea, da.get(key)), (b, eb, db.get(key))))
            continue
        differs = False
        for field in ("content", "name", "description"):
            va = ea.sha256 if field == "content" else getattr(ea, field)
            vb = eb.sha256 if field == "content" else getattr(eb, field)
            if va == vb:
                continue
            differs = True
            reasons = [r for r in (_pending(a, ea, da.get(key), field), _pending(b, eb, db.get(key), field)) if r]
            ignoring = [s for s, d in ((a, da.get(key)), (b, db.get(key))) if d is not None and field in d.ignored]
            intended = f"{' and '.join(ignoring)} ignore_changes {field}" if ignoring else "each as its config declares"
            result.differences.append(Difference(
                key=key, kind=field, a=va, b=vb, by_config=not reasons,  # type: ignore[arg-type]
                detail=f"{field} differs: {_short(field, va)} on {a}, {_short(field, vb)} on {b} ("
                + ("; ".join(reasons) if reasons else intended) + ")",
            ))
        if not differs:
            result.same.append(key)
    return result


def _local_sha(path: Path, hashes: dict[Path, str | None]) -> str | None:
    """sha256 of a local file, read once per comparison; None when it cannot be read."""
    if path not in hashes:
        try:
            hashes[path] = file_digest(path)[0]
        except (OSError, InputError):
            hashes[path] = None
    return hashes[path]


def _declared(
    desired: Desired, instance: str, base: Path, warnings: list[str], hashes: dict[Path, str | None]
) -> dict[str, Declared]:
    """key -> what the config declares; content hashed from the local file where
    it can be read (each file once), else unknown with a warning naming it."""
    out: dict[str, Declared] = {}
    for asset in desired.instances[instance].assets.values():
        sha: str | None = asset.sha256 if asset.content_known else None
        if sha is None and asset.file is not None:
            sha = _local_sha(asset.file, hashes)
            if sha is None:
                warnings.append(
                    f"{asset.address}: local file {os.path.relpath(asset.file, base)} is not available; "
                    "its content was compared between the lockfile records only"
                )
        out[asset.key] = Declared(
            name=asset.name, description=asset.description, sha256=sha, ignored=frozenset(asset.ignore_changes)
        )
    return out


def compare_config(config_path: Path, a: str, b: str) -> Comparison:
    """Read the config (no audio needed) and the lockfile; compare `a` with `b`."""
    desired = load_config(config_path, read_audio=False)
    for name in (a, b):
        if name not in desired.instances:
            raise ReconcilerError(
                f"instance '{name}' is not configured in {config_path}"
                f"{did_you_mean(name, set(desired.instances))}",
                hint=f"Configured instances: {', '.join(sorted(desired.instances)) or 'none'}.",
            )
    if a == b:
        raise ReconcilerError(f"compare needs two different instances, got '{a}' twice")
    lock = read_lockfile(desired.lockfile_path)
    check_entry_types(lock, desired.instance_types(), lockfile=str(desired.lockfile_path))
    base = real_path(desired.config_path).parent
    warnings: list[str] = []
    records = tuple(
        {address.split(".", 1)[1]: e for address, e in lock.for_instance(n).items()} for n in (a, b)
    )
    hashes: dict[Path, str | None] = {}
    declared = tuple(_declared(desired, n, base, warnings, hashes) for n in (a, b))
    if desired.unread_globs:  # a recorded key may be one such glob declares: unknown, not undeclared
        unknown = Declared(name=None, description=None, sha256=None)
        declared = tuple({**{k: unknown for k in r if k not in d}, **d} for r, d in zip(records, declared, strict=True))
    types = (desired.instances[a].type, desired.instances[b].type)
    result = compare(a, b, records, declared, types=types)  # type: ignore[arg-type]
    unread = [
        f"{g} (audio not checked out?): the prompts it declares could not be checked against the config, "
        "so their differences are counted" for g in desired.unread_globs
    ]
    if not desired.lockfile_path.exists():  # else "in step" would be a false green for CI
        unread.insert(0, f"the lockfile {os.path.relpath(desired.lockfile_path, base)} does not exist: neither "
                      "instance has applied anything yet (or settings.lockfile names another file)")
    result.warnings = unread + warnings + result.warnings
    return result
