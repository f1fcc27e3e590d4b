"""Recorded state: reconciler.lock — its records and how it is read.

TOML, deterministic (sorted keys, stable formatting) so its diff reviews well
in a pull request. Read here, with the journal of an interrupted apply
replayed in memory; written, locked and checkpointed by `reconciler.lockstore`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reconciler import lockcache, startup
from reconciler.errors import LockfileError, PlanError
from reconciler.inputs import MAX_LOCKFILE_BYTES, InputError, read_file
from reconciler.journal import read_journal

LOCKFILE_VERSION = 1

def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class RecipeRecord(BaseModel):
    """The recipe identity a rendition was made with: the normalised `audio`
    settings (`key`, what plans decide on) and the encoder versions that shaped
    its bytes (recorded for the record; a new version alone never plans a replace)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="Canonical string of the normalised audio settings, e.g. "
                     "'wav/ulaw/8000/1/lufs=-16.0/tp=-1.0/trim=0'.")
    encoders: str = Field(description="Versions of the libraries that shaped the bytes.")

    @model_validator(mode="before")
    @classmethod
    def _drop_settings(cls, data: Any) -> Any:
        # a pre-release wrote the recipe field by field under `settings`; the key says it all
        if isinstance(data, dict) and "settings" in data:
            data = {k: v for k, v in data.items() if k != "settings"}
        return data


class RenditionRecord(BaseModel):
    """The rendition that was uploaded: what the remote holds."""

    model_config = ConfigDict(extra="forbid")

    sha256: str
    size: int
    format: str
    encoding: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    duration: float | None = None
    loudness: float | None = Field(default=None, description="Integrated loudness, LUFS (ITU-R BS.1770).")
    true_peak: float | None = Field(default=None, description="True peak, dBTP.")


class LockEntry(BaseModel):
    """What was last applied at one address. `sha256`, `size`, `duration` and
    `format` describe the local file in git (the master); where an `audio`
    recipe is declared, `recipe` and `rendition` record what was rendered from
    it and uploaded."""

    model_config = ConfigDict(extra="forbid")

    instance: str
    type: str
    remote_id: str
    name: str
    description: str = ""
    sha256: str
    size: int
    applied_at: str
    protect: bool = False
    # the audio facts of what was uploaded (absent in lockfiles written before
    # they were recorded: the plan then shows them as unknown)
    duration: float | None = None
    format: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    # remote ids replaced by this address's current one, not yet deleted: a
    # crash mid-replace leaves them here, and the next plan deletes them
    superseded: list[str] = Field(default_factory=list)
    extra: dict[str, str] = Field(default_factory=dict)
    recipe: RecipeRecord | None = None
    rendition: RenditionRecord | None = None

    # what the remote holds: the rendition where there is one, else the file itself
    @property
    def uploaded_sha256(self) -> str:
        return self.rendition.sha256 if self.rendition is not None else self.sha256

    @property
    def uploaded_size(self) -> int:
        return self.rendition.size if self.rendition is not None else self.size

    @property
    def uploaded_duration(self) -> float | None:
        return self.rendition.duration if self.rendition is not None else self.duration

    @property
    def uploaded_format(self) -> str | None:
        return self.rendition.format if self.rendition is not None else self.format


class Lockfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = LOCKFILE_VERSION
    lineage: str = Field(default_factory=lambda: str(uuid.uuid4()))
    serial: int = 0
    assets: dict[str, LockEntry] = Field(default_factory=dict)

    def for_instance(self, instance: str) -> dict[str, LockEntry]:
        return {a: e for a, e in self.assets.items() if e.instance == instance}


def read_lockfile(path: Path) -> Lockfile:
    """The recorded state: the lockfile with its journal replayed (what an
    interrupted apply recorded but did not fold yet); an empty one when
    neither exists. Reading never writes: the next apply or state command
    folds a left-over journal."""
    startup.end_startup()  # a state command's work begins here (one with a config began earlier)
    lock = _read_toml_lockfile(path)
    replayed = _replay(path, lock)
    return replayed if replayed is not None else lock


def _read_toml_lockfile(path: Path) -> Lockfile:
    try:
        raw = read_file(path, limit=MAX_LOCKFILE_BYTES)
        # parsed by rtoml, or answered by the content-keyed parse cache (lockcache)
        return lockcache.load(path, raw, parse=lockcache.parse_lockfile_toml,
                              validate=lambda data: _validated(path, data))
    except InputError as exc:
        if exc.missing:
            return Lockfile()
        raise LockfileError(
            f"lockfile {path} {exc.reason}; it has not been modified",
            hint="Restore it from git (`git checkout -- reconciler.lock`), or point `lockfile` "
            "under [settings] at a regular file, and plan again.",
        ) from None


def _validated(path: Path, data: dict) -> Lockfile:
    """The Lockfile a parsed document says, or LockfileError."""
    check_header(path, data)
    try:
        lock = Lockfile.model_validate(data)
    except ValidationError as exc:
        raise LockfileError(
            f"lockfile {path} is corrupt: {_first_error(exc)}; it has not been modified",
            hint=f"Restore it from git (`git checkout -- {path.name}`) and plan again.",
        ) from None
    for address, entry in lock.assets.items():
        if address.split(".", 1)[0] != entry.instance:
            raise LockfileError(
                f"lockfile {path} is corrupt: entry {address} says instance '{entry.instance}', but its "
                f"address names instance '{address.split('.', 1)[0]}'; it has not been modified",
                hint=f"Restore it from git (`git checkout -- {path.name}`) and plan again.",
            )
    return lock


HEADER_FIELDS = ("version", "lineage", "serial")


def check_header(path: Path, data: dict) -> None:
    """A newer format is said to be newer (whatever else it holds), and each header
    field a lockfile cannot do without is named when missing or wrong."""
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > LOCKFILE_VERSION:
        raise LockfileError(
            f"lockfile {path} was written by a newer version of reconciler (format {version}, this one "
            f"reads up to {LOCKFILE_VERSION}); it has not been modified",
            hint="Upgrade reconciler (e.g. `pip install -U reconciler`) to plan or apply with it.",
        )
    if not data:
        return  # an empty file: nothing recorded yet, like a missing one
    restore = (f"Restore it from git (`git checkout -- {path.name}`). reconciler writes the header itself: "
               "`version`, a `lineage` id and a `serial` that grows with every write.")
    for field in HEADER_FIELDS:
        if field not in data:
            raise LockfileError(f"lockfile {path} has no `{field}` in its header; it has not been modified",
                                hint=restore)
    for field, ok, want in (
        ("version", isinstance(version, int) and not isinstance(version, bool) and version >= 1, "a format number"),
        ("lineage", isinstance(data["lineage"], str) and data["lineage"].strip() != "", "a non-empty id"),
        ("serial", isinstance(data["serial"], int) and not isinstance(data["serial"], bool)
         and data["serial"] >= 0, "a whole number, 0 or more"),
    ):
        if not ok:
            raise LockfileError(
                f"lockfile {path}: `{field}` is {data[field]!r}, not {want}; it has not been modified",
                hint=restore,
            )


def _first_error(exc: ValidationError) -> str:
    """The first problem, named by its place: `assets."local.welcome".size: ...`."""
    err = exc.errors()[0]
    parts = [f'"{p}"' if isinstance(p, str) and "." in p else str(p) for p in err["loc"]]
    where = ".".join(parts) or "the file"
    more = len(exc.errors()) - 1
    return f"{where}: {err['msg']}" + (f" (and {more} more problem(s))" if more else "")


def check_entry_types(lock: Lockfile, types: Mapping[str, str], *, lockfile: str) -> None:
    """Each entry's recorded `type` is its instance's type in the config. An
    instance that changed type points at another account: its records are not
    about it any more, and planning them would touch the wrong thing."""
    wrong = sorted(
        (address, entry.type, types[entry.instance])
        for address, entry in lock.assets.items()
        if entry.instance in types and entry.type != types[entry.instance]
    )
    if not wrong:
        return
    instances = sorted({a.split(".", 1)[0] for a, _, _ in wrong})
    lines = [f"  - {a}: recorded as type {was}, but instance '{a.split('.', 1)[0]}' is type {now}"
             for a, was, now in wrong[:10]]
    if len(wrong) > 10:
        lines.append(f"  - ... and {len(wrong) - 10} more")
    raise PlanError(
        f"lockfile {lockfile}: {len(wrong)} entr{'y' if len(wrong) == 1 else 'ies'} of another provider "
        "type than the config's instance:\n" + "\n".join(lines),
        hint="If the instance moved to another provider, its old records belong to the old account: "
        "forget them with " + " and ".join(f"`reconciler state rm '{i}.*'`" for i in instances)
        + " (nothing is deleted remotely), then plan again; otherwise restore the instance's `type`.",
    )


def journal_path(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def _replay(path: Path, lock: Lockfile) -> Lockfile | None:
    """`lock` with the journal beside it applied, or None when there is no
    journal to apply (none, or one already folded into `lock`)."""
    jpath = journal_path(path)
    found = read_journal(jpath)
    if found is None or not found.records:
        return None  # no journal, or killed before its first checkpoint: nothing was recorded
    if not path.exists() and lock.serial == 0 and found.base_serial == 0:
        lock = lock.model_copy(update={"lineage": found.lineage})  # the crashed apply's first lockfile
    if found.lineage == lock.lineage and found.base_serial < lock.serial:
        return None  # folded: the crash came between the lockfile's rename and the journal's removal
    if found.lineage != lock.lineage or found.base_serial != lock.serial:
        raise LockfileError(
            f"the lockfile journal {jpath} extends lockfile lineage {found.lineage} at serial "
            f"{found.base_serial}, but {path} is lineage {lock.lineage} at serial {lock.serial} "
            "(was the lockfile restored or replaced after an interrupted apply?)",
            hint=f"Put back the lockfile that apply was using, or move {jpath.name} aside to discard "
            "its records: `reconciler plan` then shows the assets it recorded as adoptable or unmanaged.",
        )
    assets = dict(lock.assets)
    try:
        for record in found.records:
            for address, fields in record.get("set", {}).items():
                assets[address] = LockEntry.model_validate(fields)
            for address in record.get("forget", []):
                assets.pop(address, None)
    except (ValidationError, AttributeError, TypeError) as exc:
        raise LockfileError(
            f"the lockfile journal {jpath} holds an entry that cannot be read ({str(exc).splitlines()[0]})",
            hint="Move it aside, then run `reconciler plan`.",
        ) from None
    return lock.model_copy(update={"assets": assets, "serial": found.base_serial + len(found.records)})
