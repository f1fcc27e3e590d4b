"""State commands: `import`, `state list|show|rm|mv`, `output`.

Every write goes through `LockfileStore` (the file lock, an atomic write, the
serial bumped). Only `import` reads the whole config and calls a provider;
the others need no more than the `[settings]` table, so they work while an
audio file is missing or the config does not validate yet.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from reconciler import engine
from reconciler.applier import rendition_records
from reconciler.audio import NotAudioError, inspect_bytes, sha256_bytes
from reconciler.compare import durations_match
from reconciler.config import ConfigFile, _describe_errors, did_you_mean, load_config, read_toml
from reconciler.errors import ConfigError, PlanError, ReconcilerError
from reconciler.inputs import real_path
from reconciler.lockfile import (
    LockEntry,
    Lockfile,
    check_entry_types,
    read_lockfile,
    utc_now,
)
from reconciler.lockstore import LockfileStore
from reconciler.model import Desired, DesiredAsset, RemoteAsset, is_content_hash
from reconciler.providers.settings import ASSET_KEY, INSTANCE_NAME

UNVERIFIED = "unverified"  # sha256 recorded when the remote content differs and cannot be hashed


def lockfile_path(config_path: Path) -> Path:
    """Where the config says the lockfile is, reading only its `[settings]`."""
    raw = read_toml(Path(config_path))
    try:
        top = ConfigFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("invalid configuration", file=str(config_path), reasons=_describe_errors(exc, "", ConfigFile)) from None
    return real_path(config_path).parent / top.settings.lockfile


def _unknown(address: str, lock: Lockfile) -> ReconcilerError:
    return ReconcilerError(
        f"{address} is not in the lockfile{did_you_mean(address, list(lock.assets))}",
        hint="`reconciler state list` shows the recorded addresses.",
    )


def list_addresses(config_path: Path) -> list[str]:
    return sorted(read_lockfile(lockfile_path(config_path)).assets)


def show(config_path: Path, address: str) -> str:
    """One entry, as the lockfile writes it."""
    lock = read_lockfile(lockfile_path(config_path))
    entry = lock.assets.get(address)
    if entry is None:
        raise _unknown(address, lock)
    data = {k: v for k, v in entry.model_dump(exclude_none=True).items() if v not in ([], {})}
    return tomli_w.dumps({"assets": {address: data}})


# `LockfileStore` options: timeout (--lock-timeout) and on_wait (the waiting message)
LockOptions = dict[str, Any]


def remove(config_path: Path, patterns: Sequence[str], *, lock: LockOptions | None = None) -> list[tuple[str, LockEntry]]:
    """Forget addresses (`instance.*` patterns too); nothing remote is touched."""
    with LockfileStore(lockfile_path(config_path), **(lock or {})) as store:
        assert store.state is not None
        removed: dict[str, LockEntry] = {}
        for pattern in patterns:
            matched = sorted(a for a in store.state.assets if a == pattern or fnmatch.fnmatchcase(a, pattern))
            if not matched:
                raise _unknown(pattern, store.state)
            removed.update((a, store.state.assets[a]) for a in matched)
        *rest, last = sorted(removed)
        for address in rest:  # dropped in memory; the last forget writes them all at once
            del store.state.assets[address]
        store.forget(last)
        return sorted(removed.items())


def _check_address(address: str) -> tuple[str, str]:
    instance, _, key = address.partition(".")
    if not key or not INSTANCE_NAME.match(instance) or not ASSET_KEY.match(key):
        raise ReconcilerError(
            f"'{address}' is not an address: expected <instance>.<key>, e.g. ivr.welcome"
        )
    return instance, key


def move(config_path: Path, old: str, new: str, *, lock: LockOptions | None = None) -> LockEntry:
    """Record `old`'s remote asset under `new` (a renamed key keeps its asset)."""
    new_instance, _ = _check_address(new)
    with LockfileStore(lockfile_path(config_path), **(lock or {})) as store:
        assert store.state is not None
        entry = store.state.assets.get(old)
        if entry is None:
            raise _unknown(old, store.state)
        if new in store.state.assets:
            raise ReconcilerError(
                f"{new} is already in the lockfile (remote id {store.state.assets[new].remote_id})",
                hint=f"Forget it first with `reconciler state rm {new}` if the move is right.",
            )
        if new_instance != entry.instance:
            raise ReconcilerError(
                f"cannot move {old} to {new}: the remote asset lives on instance '{entry.instance}', "
                f"not '{new_instance}'",
                hint="An asset cannot change accounts; declare it on the new instance and let apply create it.",
            )
        # one atomic write: the entry is never under neither address, nor under both
        store.state.assets[new] = entry
        store.forget(old)
        return entry


def outputs(config_path: Path) -> dict[str, dict[str, Any]]:
    """address -> remote id, name and instance, for other tooling."""
    lock = read_lockfile(lockfile_path(config_path))
    return {
        address: {"remote_id": e.remote_id, "name": e.name, "instance": e.instance, "type": e.type}
        for address, e in sorted(lock.assets.items())
    }


# --- import ----------------------------------------------------------------


@dataclass
class ImportResult:
    address: str
    entry: LockEntry
    verified: str  # how the content was checked, for the person at the terminal
    warnings: list[str] = field(default_factory=list)


def _declared(desired: Desired, address: str) -> DesiredAsset:
    _check_address(address)
    asset = desired.asset(address)
    if asset is None:
        declared = [a.address for a in desired.all_assets()]
        raise ConfigError(
            f"{address} is not declared{did_you_mean(address, declared)}",
            file=str(desired.config_path),
            hint="Declare the asset in the config first; import records where it already lives.",
        )
    return asset


def _content(asset: DesiredAsset, remote: RemoteAsset | None) -> tuple[str, int, str, list[str]]:
    """(sha256, size, how verified, warnings) to record."""
    if remote is None:
        return asset.sha256, asset.size, "not verified (the provider cannot list)", [
            "the remote asset's existence and content could not be checked; the next plan trusts this record"
        ]
    if not is_content_hash(asset.sha256):  # file-less (AssetSpec.content_identity): no bytes to compare
        return asset.sha256, asset.size, "not verified (the asset has no local file to compare)", [
            "the remote content could not be compared; the next plan trusts this record"
        ]
    if remote.sha256 is not None:
        if remote.sha256 == asset.sha256:
            return asset.sha256, asset.size, "content matches the local file (sha256)", []
        return remote.sha256, remote.size or asset.size, "content differs from the local file (sha256)", [
            "the remote content differs from the local file: the next plan will replace it"
        ]
    if remote.size is not None:
        if remote.size == asset.size:
            return asset.sha256, asset.size, "size matches the local file (the provider offers no hash)", []
        return UNVERIFIED, remote.size, "size differs from the local file", [
            "the remote content differs from the local file: the next plan will replace it"
        ]
    duration = asset.audio.duration if asset.audio else None
    if remote.duration is not None and duration is not None:
        # the last thing a listing may offer (e.g. wolkvox: name, duration, date)
        if durations_match(remote.duration, duration, remote.duration_precision):
            return asset.sha256, asset.size, "duration matches the local file (the provider offers no hash or size)", []
        return UNVERIFIED, asset.size, "duration differs from the local file", [
            "the remote content differs from the local file: the next plan will replace it"
        ]
    return asset.sha256, asset.size, "not verified (the provider reports neither hash nor size)", [
        "the remote content could not be compared; the next plan trusts this record"
    ]


def _facts(asset: DesiredAsset, remote: RemoteAsset | None, data: bytes | None, *, same: bool) -> dict[str, Any]:
    """duration, format, sample rate and channels to record: the local file's
    when the remote holds it (or is trusted to), else what the downloaded bytes
    or the listing say of the remote one."""
    facts: Any = None
    if same:
        facts = asset.master.facts if asset.master is not None else asset.audio
    elif data is not None:
        try:
            facts = inspect_bytes(data)
        except NotAudioError:
            facts = None
    if facts is None and remote is not None:
        facts = remote
    fields = ("duration", "format", "sample_rate", "channels")
    return {f: getattr(facts, f, None) for f in fields} if facts is not None else {}


async def import_asset(
    config_path: Path, address: str, remote_id: str, *, lock: LockOptions | None = None
) -> ImportResult:
    """Adopt the remote asset `remote_id` as `address` in the lockfile."""
    desired = load_config(config_path)
    asset = _declared(desired, address)
    recorded = read_lockfile(desired.lockfile_path)
    check_entry_types(recorded, desired.instance_types(), lockfile=str(desired.lockfile_path))
    if address in recorded.assets:
        raise PlanError(
            f"{address} is already managed (remote id {recorded.assets[address].remote_id})",
            hint=f"To point it at another remote asset, `reconciler state rm {address}` first.",
        )
    owner = next((a for a, e in recorded.for_instance(asset.instance).items() if remote_id in (e.remote_id, *e.superseded)), None)
    if owner is not None:
        raise PlanError(f"remote id {remote_id} on instance '{asset.instance}' is already recorded as {owner}")
    provider = engine.build_providers(Desired(
        config_path=desired.config_path, lockfile_path=desired.lockfile_path,
        instances={asset.instance: desired.instances[asset.instance]},
    ))[asset.instance]
    remote: RemoteAsset | None = None
    data: bytes | None = None
    async with provider:
        if provider.capabilities.can_list:
            remote = next((r for r in await provider.list() if r.remote_id == remote_id), None)
            if remote is None:
                raise PlanError(
                    f"instance '{asset.instance}' has no asset with remote id {remote_id}",
                    hint="Check the id in the provider's console (`reconciler drift` lists unmanaged ids).",
                )
            # a converted copy (download_is_exact = False) never hashes like the file: compare durations
            if (remote.sha256 is None and provider.capabilities.can_download
                    and provider.capabilities.download_is_exact and is_content_hash(asset.sha256)):
                data = await provider.download(remote_id)
                remote = remote.model_copy(update={"sha256": sha256_bytes(data), "size": len(data)})
            differs = remote.sha256 is not None and remote.sha256 != asset.sha256
            if differs and data is None and remote.duration is None and provider.capabilities.can_download:
                data = await provider.download(remote_id)  # its audio facts, for the plan's before side
    sha, size, verified, warnings = _content(asset, remote)
    rendition_fields = {}
    if asset.rendition is not None and sha == asset.sha256:
        # it holds (or is trusted to hold) this rendition: record its master and recipe
        recipe, rendition = rendition_records(asset)
        rendition_fields = {"recipe": recipe, "rendition": rendition}
        sha, size = asset.source_sha256, asset.master.size if asset.master else size
    entry = LockEntry(
        instance=asset.instance,
        type=desired.instances[asset.instance].type,
        remote_id=remote_id,
        name=remote.name if remote else asset.name,
        description=(remote.description if remote and remote.description is not None else asset.description),
        sha256=sha,
        size=size,
        applied_at=utc_now(),
        protect=asset.protect,
        **_facts(asset, remote, data, same=sha == asset.source_sha256 or sha == asset.sha256),
        **rendition_fields,
    )
    with LockfileStore(desired.lockfile_path, **(lock or {})) as store:
        assert store.state is not None
        if address in store.state.assets:  # another process won the race
            raise PlanError(f"{address} was recorded by another process meanwhile")
        store.record(address, entry)
    return ImportResult(address=address, entry=entry, verified=verified, warnings=warnings)
