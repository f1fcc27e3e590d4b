"""The workflow around the pure parts: open providers, observe, plan, apply.

This is the only place that joins config, lockfile, providers, planner and
applier; the CLI calls it and renders what it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler import compare, planner
from reconciler.audio import NotAudioError, inspect_bytes, sha256_bytes
from reconciler.errors import ConfigError, ProviderError
from reconciler.fingerprint import fingerprint
from reconciler.inputs import real_path
from reconciler.lockfile import LockEntry, Lockfile
from reconciler.model import Desired, DesiredAsset, ObservedInstance, RemoteAsset, is_content_hash
from reconciler.plan import Plan
from reconciler.planning.landed import temporary_name
from reconciler.providers import PROVIDERS, Provider

if TYPE_CHECKING:  # a plan never applies: the applier (and the lockfile lock, filelock) load with apply
    from reconciler.applier import ApplyReport, Listener
    from reconciler.lockstore import LockfileStore

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coro)`, but the task itself returns nothing: asyncio builds
    the repr of a finished task's result (its whole Plan: seconds at 10,000
    assets) while it closes the loop, so the result travels beside the task."""
    box: list[T] = []

    async def main() -> None:
        box.append(await coro)

    asyncio.run(main())
    return box[0]


def build_providers(desired: Desired) -> dict[str, Provider]:
    base = real_path(desired.config_path).parent
    providers: dict[str, Provider] = {}
    for name, inst in desired.instances.items():
        provider = PROVIDERS[inst.type](name, inst.settings, base_dir=base)
        provider.check_settings()  # e.g. a missing credential: before any request
        providers[name] = provider
    return providers


@contextlib.asynccontextmanager
async def opened(providers: dict[str, Provider]) -> AsyncIterator[dict[str, Provider]]:
    async with contextlib.AsyncExitStack() as stack:
        for provider in providers.values():
            await stack.enter_async_context(provider)
        yield providers


async def _with_content_hashes(
    provider: Provider, remotes: list[RemoteAsset], wanted: set[str]
) -> list[RemoteAsset]:
    """Download the remote ids in `wanted` and fill in their sha256 — or, where the
    provider stores a converted copy (`download_is_exact = False`), the duration
    and sample rate of the audio it returns."""
    exact = provider.capabilities.download_is_exact

    async def fill(remote: RemoteAsset) -> RemoteAsset:
        if remote.remote_id not in wanted or remote.sha256 is not None:
            return remote
        data = await provider.download(remote.remote_id)
        if exact:
            return remote.model_copy(update={"sha256": sha256_bytes(data), "size": len(data)})
        try:
            info = inspect_bytes(data)
        except NotAudioError:
            return remote  # nothing to read: the listing's facts stand
        return remote.model_copy(update={"duration": info.duration, "sample_rate": info.sample_rate})

    return list(await asyncio.gather(*(fill(r) for r in remotes)))


def _candidate_names(
    assets: Mapping[str, DesiredAsset], entries: Mapping[str, LockEntry], name_max_length: int | None
) -> set[str]:
    """Names under which an unrecorded remote asset may be one of ours: a
    declared asset not recorded yet (adoption, or a create whose record a crash
    lost), and the final and temporary names of a pending replace (its new
    upload, landed but unrecorded). File-less assets (AssetSpec.content_identity)
    have no bytes to compare."""
    names: set[str] = set()
    for addr, a in assets.items():
        if not is_content_hash(a.sha256):
            continue
        entry = entries.get(addr)
        if entry is None:
            names.add(a.name)
        elif (entry.sha256, entry.name) != (a.sha256, a.name):
            names |= {a.name, temporary_name(a.name, a.sha256, name_max_length)}
    return names


async def observe_instance(
    provider: Provider, desired: Desired, recorded: Lockfile, *, verify_content: bool, adopting: bool = True
) -> ObservedInstance:
    """List one instance. `adopting=False` (read-only checks) downloads no
    adoption candidate: only recorded assets, and only with `verify_content`."""
    caps = provider.capabilities
    inst = desired.instances[provider.instance]
    problems = await provider.check_remote(list(inst.assets.values()))
    if problems:
        raise ConfigError(
            f"assets on instance '{provider.instance}' refer to what {provider.type_name} does not have",
            file=str(desired.config_path), reasons=problems,
        )
    if not caps.can_list:
        return ObservedInstance(assets=None)
    remotes = await provider.list()
    # what the listing could not read or vouch for, in the provider's words
    warnings: list[str] = list(dict.fromkeys(provider.warnings))
    entries = recorded.for_instance(provider.instance)
    recorded_ids = {e.remote_id for e in entries.values()} | {s for e in entries.values() for s in e.superseded}
    unrecorded_names = _candidate_names(inst.assets, entries, caps.name_max_length) if adopting else set()
    pending = [r for r in remotes if r.pending and r.name in unrecorded_names and r.remote_id not in recorded_ids]
    if pending:
        # an upload still being processed (an apply killed while it waited, say):
        # wait for its facts, so it can be told ours in this same run
        settled = {r.remote_id: r for r in await asyncio.gather(*(provider.settle(r) for r in pending))}
        remotes = [settled.get(r.remote_id, r) for r in remotes]
    if caps.can_download and not caps.lists_sha256:
        # adoption candidates are verified by hash; recorded ones only on request
        wanted = {r.remote_id for r in remotes if r.name in unrecorded_names and r.remote_id not in recorded_ids}
        if not caps.download_is_exact and caps.lists_duration:
            wanted = set()  # a converted copy tells no more than the listed duration and sample rate
        if verify_content:
            wanted |= {e.remote_id for e in entries.values() if is_content_hash(e.sha256)}
            fileless = sorted(a for a, e in entries.items() if not is_content_hash(e.sha256))
            if fileless:
                warnings.append(
                    f"instance '{provider.instance}': --verify-content cannot check {len(fileless)} "
                    f"asset(s) with no local file ({', '.join(fileless[:5])}"
                    f"{', ...' if len(fileless) > 5 else ''})"
                )
            if not caps.download_is_exact:
                warnings.append(
                    f"instance '{provider.instance}': {provider.type_name} stores a converted copy of "
                    "each upload, so --verify-content compared the duration (within "
                    f"{compare.DURATION_TOLERANCE:g} s) and sample rate of the downloaded audio, not its sha256"
                )
        if wanted:
            remotes = await _with_content_hashes(provider, remotes, wanted)
    elif verify_content and not caps.lists_sha256:
        warnings.append(
            f"instance '{provider.instance}': {provider.type_name} offers no download; "
            + ("--verify-content compared sizes only" if caps.lists_size
               else "its listing shows no size either, so --verify-content could not compare content")
        )
    return ObservedInstance(assets=tuple(remotes), warnings=tuple(warnings), content_verified=verify_content)


async def recover(providers: dict[str, Provider]) -> None:
    """Each provider cleans up after an interrupted apply (Provider.recover)."""
    await asyncio.gather(*(p.recover() for p in providers.values()))


async def observe(
    desired: Desired, providers: dict[str, Provider], recorded: Lockfile, *, verify_content: bool = False,
    adopting: bool = True,
) -> dict[str, ObservedInstance]:
    names = list(providers)
    results = await asyncio.gather(
        *(observe_instance(providers[n], desired, recorded, verify_content=verify_content, adopting=adopting)
          for n in names)
    )
    return dict(zip(names, results, strict=True))


def make_plan(
    desired: Desired,
    recorded: Lockfile,
    observed: dict[str, ObservedInstance],
    providers: dict[str, Provider],
    targets: Sequence[str],
    force: bool = False,
) -> Plan:
    caps = {name: p.capabilities for name, p in providers.items()}
    return planner.plan(desired, recorded, observed, caps, targets=targets, force=force)


async def plan_once(
    desired: Desired,
    recorded: Lockfile,
    *,
    targets: Sequence[str] = (),
    verify_content: bool = False,
    force: bool = False,
) -> Plan:
    """A fresh plan, carrying the fingerprints a saved plan is checked against."""
    providers = build_providers(desired)
    async with opened(providers):
        observed = await observe(desired, providers, recorded, verify_content=verify_content)
        result = make_plan(desired, recorded, observed, providers, targets, force)
    prints = fingerprint(desired, recorded, result, observed, verify_content=verify_content)
    return result.model_copy(update={"fingerprints": prints})


async def observe_only(
    desired: Desired, recorded: Lockfile, *, verify_content: bool = False
) -> dict[str, ObservedInstance]:
    """Each instance's observed state, for read-only checks (`reconciler drift`):
    nothing is downloaded to look for adoption candidates."""
    providers = build_providers(desired)
    async with opened(providers):
        return await observe(desired, providers, recorded, verify_content=verify_content, adopting=False)


@dataclass
class ApplyOutcome:
    plan: Plan
    report: ApplyReport | None  # None: nothing applied (no changes, or declined)


async def plan_and_apply(
    desired: Desired,
    store: LockfileStore,
    *,
    targets: Sequence[str] = (),
    verify_content: bool = False,
    parallelism: int | None = None,
    confirm: Callable[[Plan], Awaitable[bool] | bool],
    listener: Listener | None = None,
    force: bool = False,
) -> ApplyOutcome:
    """Plan afresh under the held lockfile, ask, apply."""
    assert store.state is not None
    providers = build_providers(desired)
    async with opened(providers):
        await recover(providers)
        observed = await observe(desired, providers, store.state, verify_content=verify_content)
        plan = make_plan(desired, store.state, observed, providers, targets, force)
        if not plan.has_changes or plan.refused:  # refused: the CLI shows it, then fails
            return ApplyOutcome(plan=plan, report=None)
        answer = confirm(plan)
        if asyncio.iscoroutine(answer):
            answer = await answer
        if not answer:
            return ApplyOutcome(plan=plan, report=None)
        from reconciler.applier import Applier

        applier = Applier(plan, desired, store, providers, parallelism=parallelism, listener=listener)
        return ApplyOutcome(plan=plan, report=await applier.run())


__all__ = ["ProviderError", "build_providers", "observe", "plan_and_apply", "plan_once"]
