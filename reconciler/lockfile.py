"""Recorded state: reconciler.lock — read, written atomically, locked.

TOML, deterministic (sorted keys, stable formatting) so its diff reviews well
in a pull request. Written with tomli-w (the standard library reads TOML but
cannot write it; tomlkit's comment preservation buys nothing for a generated
file). Locked with filelock, an advisory OS lock that dies with the process,
so a killed apply never leaves a stale lock behind.
"""

from __future__ import annotations

import os
import signal
import tempfile
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w
from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reconciler.atomic import TEMP_MARK, atomic_write, remove_stale_temps
from reconciler.durations import format_duration
from reconciler.errors import LockfileError, PlanError
from reconciler.inputs import (
    MAX_LOCKFILE_BYTES,
    InputError,
    kind_of,
    parse_toml,
    read_file,
    write_failure,
)
from reconciler.journal import JournalWriter, read_journal, remove_journal

LOCKFILE_VERSION = 1

# Test hook, used only by tests/e2e/test_crash.py: RECONCILER_TEST_KILL_AT set to
# "before:N" or "after:N" makes the process SIGKILL itself just before or just
# after writing the Nth checkpoint of an apply, i.e. between a remote action and
# its record, or between two actions; "torn:N" half-way through the Nth journal
# line; "fold:0" / "folded:0" just before the journal is folded into the
# lockfile, or after the lockfile was replaced but before the journal is
# removed. Unset, as always outside those tests, it does nothing.
TEST_KILL_ENV = "RECONCILER_TEST_KILL_AT"


def _test_kill_hook(stage: str, checkpoint: int) -> None:
    if os.environ.get(TEST_KILL_ENV) == f"{stage}:{checkpoint}":
        os.kill(os.getpid(), signal.SIGKILL)


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


HEADER = (
    "# reconciler lockfile: which local content sits under which remote id.\n"
    "# Generated; commit it, do not edit it by hand.\n"
)

# address -> (entry, its TOML table): what one lockfile write formatted
ChunkCache = dict[str, tuple["LockEntry", str]]


def _entry_chunk(address: str, entry: LockEntry) -> str:
    fields = {k: v for k, v in sorted(entry.model_dump(exclude_none=True).items()) if v != [] and v != {}}
    return tomli_w.dumps({"assets": {address: fields}})


def _dump(lock: Lockfile, cache: ChunkCache | None = None) -> bytes:
    """The file's bytes: exactly tomli_w's rendering of the whole document,
    built table by table so that an apply, which rewrites the lockfile after
    every action, formats only the entries that changed (`cache`, keyed by
    address and checked by identity: entries are replaced, never mutated)."""
    head = tomli_w.dumps({"version": lock.version, "lineage": lock.lineage, "serial": lock.serial})
    chunks: list[str] = []
    for address, entry in sorted(lock.assets.items()):
        hit = cache.get(address) if cache is not None else None
        if hit is None or hit[0] is not entry:
            hit = (entry, _entry_chunk(address, entry))
            if cache is not None:
                cache[address] = hit
        chunks.append(hit[1])
    if cache is not None:
        for gone in cache.keys() - lock.assets.keys():
            del cache[gone]
    body = "\n".join(chunks) if chunks else "[assets]\n"
    return (HEADER + head + "\n" + body).encode()


def read_lockfile(path: Path) -> Lockfile:
    """The recorded state: the lockfile with its journal replayed (what an
    interrupted apply recorded but did not fold yet); an empty one when
    neither exists. Reading never writes: the next apply or state command
    folds a left-over journal."""
    lock = _read_toml_lockfile(path)
    replayed = _replay(path, lock)
    return replayed if replayed is not None else lock


def _read_toml_lockfile(path: Path) -> Lockfile:
    try:
        data = parse_toml(read_file(path, limit=MAX_LOCKFILE_BYTES))
    except InputError as exc:
        if exc.missing:
            return Lockfile()
        raise LockfileError(
            f"lockfile {path} {exc.reason}; it has not been modified",
            hint="Restore it from git (`git checkout -- reconciler.lock`), or point `lockfile` "
            "under [settings] at a regular file, and plan again.",
        ) from None
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


def write_lockfile(path: Path, lock: Lockfile, *, cache: ChunkCache | None = None) -> None:
    """Atomic: temp file in the same folder, fsync, rename, fsync the folder."""
    body = _dump(lock, cache)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, body, fsync_dir=True)
    except OSError as exc:
        raise LockfileError(
            f"cannot write the lockfile {path}: {write_failure(exc, path)}",
            hint="Make its folder writable (or point `lockfile` under [settings] elsewhere) and run again.",
        ) from None


class LockfileStore:
    """The lockfile during an apply or a state command: hold the lock, record
    every action in the journal at once, fold the journal into the lockfile on
    exit (and a journal a crash left behind, on entry)."""

    def __init__(
        self, path: Path, *, timeout: float = 0.0, on_wait: Callable[[Path, float], None] | None = None
    ) -> None:
        # --lock-timeout: how long to wait for another process's lock (0: fail at once);
        # `on_wait(path, timeout)` is called once, when the lock is found held
        self.timeout = timeout
        self.on_wait = on_wait
        self.path = path
        self.lock_path = path.with_name(path.name + ".lck")
        self.journal_path = journal_path(path)
        self._flock = FileLock(str(self.lock_path), timeout=0)
        self.state: Lockfile | None = None
        self._checkpoints = 0
        self._journal: JournalWriter | None = None

    def _acquire(self) -> None:
        try:
            self._flock.acquire(timeout=0)
            return
        except Timeout:
            if self.timeout <= 0:
                raise LockfileError(
                    f"lockfile {self.path} is held by another reconciler process (an apply or a "
                    "state command)",
                    hint="Wait for it to finish, or wait for it with --lock-timeout (e.g. 5m). The OS "
                    f"lock dies with its process, so nothing needs removing; {self.lock_path} is "
                    "only the lock's anchor.",
                ) from None
        if self.on_wait is not None:
            self.on_wait(self.path, self.timeout)
        try:
            self._flock.acquire(timeout=self.timeout, poll_interval=0.1)
        except Timeout:
            raise LockfileError(
                f"lockfile {self.path} is still held by another reconciler process after waiting "
                f"{format_duration(self.timeout)} (--lock-timeout)",
                hint="Let it finish, or wait longer with a larger --lock-timeout. The OS lock dies with "
                f"its process, so nothing needs removing; {self.lock_path} is only the lock's anchor.",
            ) from None

    def __enter__(self) -> LockfileStore:
        try:
            self._acquire()
        except OSError as exc:  # the lock's anchor cannot be created or opened
            raise LockfileError(
                f"cannot lock the lockfile {self.path}: {write_failure(exc, self.lock_path)}",
                hint=f"Make {self.lock_path.parent} writable and {self.lock_path} a regular file "
                "(or point `lockfile` under [settings] elsewhere), and run again.",
            ) from None
        try:
            self._check_writable()
            remove_stale_temps(self.path.parent)  # a write killed before its rename
            lock = _read_toml_lockfile(self.path)
            replayed = _replay(self.path, lock)
            if replayed is not None:  # an interrupted apply's records: into the lockfile first
                self.state = replayed
                self._fold()
            else:
                remove_journal(self.journal_path)  # none, empty, or already folded
                self.state = lock
        except BaseException:
            self._flock.release()  # __exit__ does not run when __enter__ raises
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._journal is not None and self._journal.written:
                self.fold()
        finally:
            if self._journal is not None:
                self._journal.close()
            self._flock.release()

    def _unwritable(self, what: Path, exc: OSError) -> LockfileError:
        return LockfileError(
            f"cannot write {what} ({exc.strerror or exc}): an apply records every remote action in "
            f"the lockfile {self.path} as it goes, so nothing was done",
            hint=f"Make {self.path.parent} and the files {self.path.name}, {self.lock_path.name} and "
            f"{self.journal_path.name} in it writable (or point `lockfile` under [settings] somewhere "
            "writable), then run again.",
        )

    def _check_writable(self) -> None:
        """Before any remote call: the lockfile can be checkpointed (a temp file
        made in its folder and renamed over it) and the lock's anchor written. An
        action that landed remotely and could not be recorded would be lost."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}{TEMP_MARK}", suffix=".tmp", dir=self.path.parent)
        except OSError as exc:
            raise self._unwritable(self.path.parent, exc) from None
        os.close(fd)
        os.unlink(tmp)
        for path in (self.path, self.lock_path, self.journal_path):
            try:
                kind = kind_of(os.stat(path).st_mode)
                if kind is not None:  # a FIFO would block the open below forever
                    raise LockfileError(
                        f"{path} is {kind}, not a regular file; it is part of the lockfile {self.path}",
                        hint=f"Move {path} aside (or point `lockfile` under [settings] elsewhere), then run again.",
                    )
                # open for writing, change nothing: the permission check alone
                os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise self._unwritable(path, exc) from None

    def fold(self) -> None:
        """Write everything recorded into the lockfile and drop the journal."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self._fold()

    def _fold(self) -> None:
        assert self.state is not None
        _test_kill_hook("fold", 0)
        write_lockfile(self.path, self.state)
        _test_kill_hook("folded", 0)  # the lockfile is whole and new; the journal not yet removed
        remove_journal(self.journal_path)

    def _checkpoint(self, record: dict) -> None:
        assert self.state is not None
        if self._journal is None:
            self._journal = JournalWriter(self.journal_path, lineage=self.state.lineage, base_serial=self.state.serial)
        self.state.serial += 1
        self._checkpoints += 1
        _test_kill_hook("before", self._checkpoints)
        torn = os.environ.get(TEST_KILL_ENV) == f"torn:{self._checkpoints}"
        try:
            self._journal.append({"serial": self.state.serial, **record}, torn_kill=torn)
        except OSError as exc:
            raise LockfileError(
                f"cannot record in the lockfile journal {self.journal_path}: "
                f"{write_failure(exc, self.journal_path)}",
                hint="Make the lockfile's folder writable and run again; the next plan shows what "
                "this apply did remotely and did not record (adoptable or unmanaged assets).",
            ) from None
        _test_kill_hook("after", self._checkpoints)

    def record(self, address: str, entry: LockEntry) -> None:
        self.record_many({address: entry})

    def record_many(self, entries: dict[str, LockEntry]) -> None:
        """Record the results of one remote action that made several assets (a
        batch upload) in one checkpoint: a crash still loses at most that action."""
        assert self.state is not None
        if entries:
            self.state.assets.update(entries)
            self._checkpoint({"set": {a: e.model_dump(mode="json") for a, e in entries.items()}})

    def forget(self, address: str) -> None:
        assert self.state is not None
        if self.state.assets.pop(address, None) is not None:
            self._checkpoint({"forget": [address]})
