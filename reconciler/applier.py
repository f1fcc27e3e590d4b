"""The applier: Plan → provider calls → lockfile checkpoints.

Knows plans, not HTTP. Runs changes concurrently under a per-instance cap,
batches creates where the provider's `max_batch` allows, and records every
successful remote action in the lockfile at once, so a crash loses at most
the action in flight. A failed change does not stop the others (as with
Terraform); every failure is reported at the end.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from reconciler.errors import NotFoundError, PlanError, ProviderError, ReconcilerError
from reconciler.lockfile import LockEntry, RecipeRecord, RenditionRecord, utc_now
from reconciler.lockstore import LockfileStore
from reconciler.model import Desired, DesiredAsset, RemoteAsset, is_content_hash
from reconciler.payload import PLAN_AGAIN, Payload, PayloadChanged
from reconciler.plan import Action, Change, Plan, ReplaceStrategy
from reconciler.planning.landed import temporary_name
from reconciler.providers.base import Provider

# Files of a batched request read and hashed before it is built (see Applier._read):
# the size below which that costs less than the thread hop the pool would take.
BATCH_VERIFY_MAX = 64 * 1024

Listener = Callable[[str, Change, str], None]  # (event, change, detail); event: start | done | error


@dataclass
class ApplyReport:
    added: int = 0
    changed: int = 0
    replaced: int = 0
    destroyed: int = 0
    adopted: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, action: Action) -> None:
        attr = {
            Action.CREATE: "added",
            Action.UPDATE: "changed",
            Action.REPLACE: "replaced",
            Action.DELETE: "destroyed",
            Action.ADOPT: "adopted",
        }.get(action)
        if attr:
            setattr(self, attr, getattr(self, attr) + 1)


def rendition_records(asset: DesiredAsset) -> tuple[RecipeRecord | None, RenditionRecord | None]:
    """The recipe identity and the rendition uploaded, for the lockfile."""
    r = asset.rendition
    if r is None:
        return None, None
    facts = r.facts
    recipe = RecipeRecord(key=r.recipe_key, encoders=r.encoders)
    rendition = RenditionRecord(
        sha256=asset.sha256, size=asset.size, format=facts.format or (asset.audio.format if asset.audio else ""),
        encoding=facts.encoding, sample_rate=facts.sample_rate, channels=facts.channels,
        duration=facts.duration, loudness=facts.loudness, true_peak=facts.true_peak,
    )
    return recipe, rendition


def lock_entry(asset: DesiredAsset, remote: RemoteAsset, *, name: str | None = None,
               superseded: list[str] | None = None, provider_type: str,
               description: str | None = None, previous: LockEntry | None = None) -> LockEntry:
    """The record of `asset` as applied. The top level describes the file in git
    (the master); `recipe` and `rendition` what was rendered from it and uploaded.
    `previous`: the record of a change that uploaded nothing (a rename); its
    rendition is kept when master and recipe are unchanged, because the remote
    still holds those bytes even if a newer encoder would render others."""
    master = asset.master
    recipe, rendition = rendition_records(asset)
    if (
        previous is not None and previous.rendition is not None and recipe is not None
        and previous.recipe is not None and previous.recipe.key == recipe.key
        and previous.sha256 == asset.source_sha256
    ):
        recipe, rendition = previous.recipe, previous.rendition
    facts = master.facts if master is not None else None
    return LockEntry(
        instance=asset.instance,
        type=provider_type,
        remote_id=remote.remote_id,
        name=name or asset.name,
        description=asset.description if description is None else description,
        sha256=asset.source_sha256,
        size=master.size if master is not None else asset.size,
        applied_at=utc_now(),
        protect=asset.protect,
        duration=facts.duration if facts else asset.audio.duration if asset.audio else None,
        format=facts.format if facts else asset.audio.format if asset.audio else None,
        sample_rate=facts.sample_rate if facts else asset.audio.sample_rate if asset.audio else None,
        channels=facts.channels if facts else asset.audio.channels if asset.audio else None,
        superseded=superseded or [],
        recipe=recipe,
        rendition=rendition,
    )


def effective_concurrency(provider: Provider, parallelism: int | None) -> int:
    caps = provider.capabilities
    if parallelism is None:
        return caps.max_concurrency
    if caps.hard_concurrency_limit:
        return max(1, min(parallelism, caps.max_concurrency))
    return max(1, parallelism)


class Applier:
    def __init__(
        self,
        plan: Plan,
        desired: Desired,
        store: LockfileStore,
        providers: Mapping[str, Provider],
        *,
        parallelism: int | None = None,
        listener: Listener | None = None,
    ) -> None:
        self.plan = plan
        self.desired = desired
        self.store = store
        self.providers = providers
        self.listener = listener or (lambda *_: None)
        self.report = ApplyReport()
        self.failed: set[str] = set()
        self.slots = {
            name: asyncio.Semaphore(effective_concurrency(p, parallelism)) for name, p in providers.items()
        }

    # --- driver ------------------------------------------------------------
    async def run(self) -> ApplyReport:
        changes = self.plan.actionable
        first = [c for c in changes if not c.depends_on]
        later = [c for c in changes if c.depends_on]
        await self._run_wave(first)
        await self._run_wave(later)
        return self.report

    async def _run_wave(self, changes: list[Change]) -> None:
        tasks = []
        # creates, and in-place overwrites, go up several per request where the provider batches
        batched: dict[tuple[str, Action], list[Change]] = defaultdict(list)
        for change in changes:
            provider = self.providers[change.instance]
            blocked = [d for d in change.depends_on if d in self.failed]
            if blocked:
                self._fail(change, f"skipped: {', '.join(blocked)} failed first")
                continue
            in_place = (
                change.action is Action.REPLACE and change.strategy is ReplaceStrategy.OVERWRITE
                and change.landed_id is None
            )
            if provider.capabilities.max_batch > 1 and (change.action is Action.CREATE or in_place):
                batched[(change.instance, change.action)].append(change)
            else:
                tasks.append(self._guarded(change))
        for (instance, _), group in batched.items():
            for chunk in self._batches(self.providers[instance], group):
                tasks.append(self._batch(instance, chunk))
        await asyncio.gather(*tasks)

    def _batches(self, provider: Provider, group: list[Change]) -> list[list[Change]]:
        """Cut into batches of at most `max_batch` files and the provider's byte
        budget (by the sizes the config load measured), so that each batch is one
        request and only the requests in flight hold file bytes."""
        most, budget = provider.capabilities.max_batch, provider.batch_byte_budget()
        batches: list[list[Change]] = []
        total = 0
        for change in group:
            asset = self.desired.asset(change.address)
            size = asset.size if asset is not None else 0
            if not batches or len(batches[-1]) >= most or (budget is not None and total + size > budget):
                batches.append([])
                total = 0
            batches[-1].append(change)
            total += size
        return batches

    def _fail(self, change: Change, message: str) -> None:
        self.failed.add(change.address)
        self.report.errors.append(f"{change.address}: {message}")
        self.listener("error", change, message)

    async def _guarded(self, change: Change) -> None:
        async with self.slots[change.instance]:
            started = time.monotonic()
            self.listener("start", change, "")
            try:
                detail = await self._execute(change)
            except ReconcilerError as exc:
                self._fail(change, exc.render())
                return
            self.report.count(change.action)
            self.listener("done", change, f"after {time.monotonic() - started:.1f}s{detail}")

    # --- helpers -------------------------------------------------------------
    def _asset(self, change: Change) -> DesiredAsset:
        asset = self.desired.asset(change.address)
        if asset is None:
            raise PlanError(f"{change.address} is not declared in the config")
        return asset

    def _read(self, asset: DesiredAsset, *, verify: bool = False, batched: bool = False) -> Payload:
        """The asset's bytes as the provider will stream them. The provider
        opens the file, and checks it against the planned size and sha256 as
        it reads, before its request is complete or its copy renamed into
        place (a file changed since the plan fails that change, nothing
        recorded). Not opened here as well: a stat, open, fstat and close on
        the event loop, per action, each waiting for the GIL behind the
        threads that copy and fsync. `verify`: read and check them now.
        `batched`: the file shares one request with others, and a change the
        provider finds while sending fails the whole request; so a change of
        size, or any change to a small file (read and hashed here, cheaply),
        fails this change alone before the request is built."""
        if not is_content_hash(asset.sha256):
            return Payload.of_bytes(b"")  # file-less (AssetSpec.content_identity): create works from the spec
        assert asset.file is not None
        payload = Payload.of_file(asset.file, size=asset.size, sha256=asset.sha256)
        try:
            if batched and asset.size <= BATCH_VERIFY_MAX:
                payload.read()  # one read, hashed against the plan
            elif verify:
                for _ in payload.chunks():  # chunk by chunk: any size, little memory
                    pass
            elif batched:
                payload.check()
        except PayloadChanged as exc:
            raise PlanError(str(exc), hint=PLAN_AGAIN) from None
        return payload

    async def _record(self, asset: DesiredAsset, remote: RemoteAsset, **kw) -> None:
        """Record in the lockfile; returns once the record is durable, so a step
        that depends on it (deleting the old asset of a replace, reporting the
        change done) never runs ahead of it."""
        provider_type = self.desired.instances[asset.instance].type
        await self._durably(asset.instance,
                            self.store.arecord(asset.address, lock_entry(asset, remote, provider_type=provider_type, **kw)))

    async def _durably(self, instance: str, write: Awaitable[None]) -> None:
        """Await a lockfile write (a journal line made durable by a shared fsync)
        without holding the instance's slot: the slot bounds the provider's
        requests in flight, and the disk's wait held it for nothing — with 4 slots
        and 20 ms requests, every action kept its slot through the fsync as well.
        The action still goes on only once its record is durable. Every caller
        runs inside the slot (`_guarded`, `_batch`)."""
        slot = self.slots[instance]
        slot.release()
        try:
            await write
        finally:
            await slot.acquire()

    # --- one change ------------------------------------------------------------
    async def _execute(self, change: Change) -> str:
        provider = self.providers[change.instance]
        if change.reason == "superseded":
            return await self._delete_superseded(provider, change)
        if change.action is Action.CREATE:
            asset = self._asset(change)
            remote = await provider.create_resolving(asset, self._read(asset))
            await self._record(asset, remote)
            return f" [id={remote.remote_id}]"
        if change.action is Action.ADOPT:
            return await self._adopt(provider, change)
        if change.action is Action.UPDATE and change.reason in ("protect_changed", "record_outdated"):
            return await self._record_only(change)
        if change.action is Action.UPDATE:
            asset = self._asset(change)
            assert change.remote_id is not None
            # the plan's `after`: an `ignore_changes` field keeps what the remote has
            name, description = self._target_fields(asset, change)
            remote = await provider.update(change.remote_id, name=name, description=description)
            previous = self.store.state.assets.get(change.address) if self.store.state else None
            await self._record(asset, remote or RemoteAsset(remote_id=change.remote_id, name=name),
                         name=name, description=description, previous=previous)
            return f" [id={(remote.remote_id if remote else change.remote_id)}]"
        if change.action is Action.REPLACE:
            return await self._replace(provider, change)
        if change.action is Action.DELETE:
            assert change.remote_id is not None
            if not change.forget_only:
                await self._delete(provider, change.remote_id)
            if change.reason != "unmanaged_prune":
                await self._durably(change.instance, self.store.aforget(change.address))
            return f" [id={change.remote_id}]"
        raise PlanError(f"{change.address}: no way to apply action {change.action}")

    @staticmethod
    def _target_fields(asset: DesiredAsset, change: Change) -> tuple[str, str]:
        """Name and description an update sets: the plan's `after`, where an
        ignored field (`ignore_changes`) holds the remote's current value."""
        after = change.after
        if after is None:
            return asset.name, asset.description
        return after.name, after.description if after.description is not None else asset.description

    async def _record_only(self, change: Change) -> str:
        """The remote already matches: only the lockfile record is brought up to date."""
        asset = self._asset(change)
        entry = self.store.state.assets.get(change.address) if self.store.state else None
        if entry is None:
            raise PlanError(f"{change.address} is no longer recorded in the lockfile")
        name, description = self._target_fields(asset, change)
        fields = {"name": name, "description": description, "protect": asset.protect}
        await self._durably(change.instance, self.store.arecord(change.address, entry.model_copy(update=fields)))
        return f" [id={entry.remote_id}]"

    async def _delete(self, provider: Provider, remote_id: str) -> None:
        try:
            await provider.delete(remote_id)
        except NotFoundError:
            pass  # already gone: the goal is reached

    async def _delete_superseded(self, provider: Provider, change: Change) -> str:
        assert change.remote_id is not None
        if not change.forget_only:
            await self._delete(provider, change.remote_id)
        entry = self.store.state.assets.get(change.address) if self.store.state else None
        if entry is not None and change.remote_id in entry.superseded:
            left = [s for s in entry.superseded if s != change.remote_id]
            await self._durably(change.instance,
                                self.store.arecord(change.address, entry.model_copy(update={"superseded": left})))
        return f" [id={change.remote_id}]"

    async def _adopt(self, provider: Provider, change: Change) -> str:
        asset = self._asset(change)
        assert change.remote_id is not None
        remote = RemoteAsset(remote_id=change.remote_id, name=asset.name)
        await self._record(asset, remote)
        before = change.before
        if (
            before is not None
            and before.description is not None
            and before.description != asset.description
            and provider.capabilities.can_describe
        ):
            await provider.update(change.remote_id, name=asset.name, description=asset.description)
            await self._record(asset, remote)
        return f" [id={change.remote_id}]"

    async def _replace(self, provider: Provider, change: Change) -> str:
        asset = self._asset(change)
        # destroy-before-create deletes first: the bytes are checked before that
        data = self._read(asset, verify=change.strategy is ReplaceStrategy.DESTROY_BEFORE_CREATE)
        old = change.remote_id
        assert old is not None
        strategy = change.strategy
        if change.landed_id is not None:
            return await self._finish_landed(provider, change, asset, old)
        if strategy is ReplaceStrategy.OVERWRITE:
            remote = await provider.overwrite(old, asset, data)
            await self._record(asset, remote)
            return f" [id={remote.remote_id}]"
        if strategy is ReplaceStrategy.DESTROY_BEFORE_CREATE:
            await self._delete(provider, old)
            await self._durably(asset.instance, self.store.aforget(asset.address))
            remote = await provider.create_resolving(asset, data)
            await self._record(asset, remote)
            return f" [id={remote.remote_id}]"
        if strategy is ReplaceStrategy.TEMP_NAME:
            temp = temporary_name(asset.name, asset.sha256, provider.capabilities.name_max_length)
            remote = await provider.create_resolving(asset, data, name=temp)
            await self._record(asset, remote, name=temp, superseded=[old])
            await self._delete(provider, old)
            await self._record(asset, remote, name=temp)
            renamed = await provider.update(remote.remote_id, name=asset.name, description=asset.description)
            await self._record(asset, renamed or remote)
            return f" [id={remote.remote_id}]"
        # create first; the old one is deleted (or left for a person, where the API cannot)
        remote = await provider.create_resolving(asset, data)
        await self._record(asset, remote, superseded=[old])
        if strategy is ReplaceStrategy.CREATE_BEFORE_DESTROY:
            await self._delete(provider, old)
            await self._record(asset, remote)
        return f" [id={remote.remote_id}]"

    async def _finish_landed(self, provider: Provider, change: Change, asset: DesiredAsset, old: str) -> str:
        """A replace whose new upload an interrupted apply left unrecorded: record
        it, then do what the strategy does after its upload (delete the old
        asset, rename the temporary name away) — never upload it again."""
        assert change.landed_id is not None
        landed = change.landed
        name = landed.name if landed is not None else asset.name
        remote = RemoteAsset(remote_id=change.landed_id, name=name)
        caps = provider.capabilities
        superseded = [old] if change.landed_id != old else []
        await self._record(asset, remote, name=name, superseded=superseded)
        if superseded and caps.can_delete and change.strategy is not ReplaceStrategy.CREATE_THEN_MANUAL:
            await self._delete(provider, old)
            await self._record(asset, remote, name=name)
        described = landed is None or landed.description is None or landed.description == asset.description
        if name != asset.name or (caps.can_describe and not described):
            renamed = await provider.update(change.landed_id, name=asset.name, description=asset.description)
            await self._record(asset, renamed or RemoteAsset(remote_id=change.landed_id, name=asset.name))
        return f" [id={change.landed_id}, uploaded by an interrupted apply]"

    async def _batch(self, instance: str, changes: list[Change]) -> None:
        """Creates, or in-place overwrites (never mixed), in one provider call."""
        provider = self.providers[instance]
        async with self.slots[instance]:
            items = []
            for change in changes:
                try:
                    asset = self._asset(change)
                    items.append((change, asset, self._read(asset, batched=True)))
                except ReconcilerError as exc:
                    self._fail(change, exc.render())
            if not items:
                return
            for change, _, _ in items:
                self.listener("start", change, "")
            started = time.monotonic()
            try:
                if changes[0].action is Action.CREATE:
                    results = await provider.create_batch([(a, d) for _, a, d in items])
                else:
                    results = await provider.overwrite_batch([(c.remote_id or "", a, d) for c, a, d in items])
            except ProviderError as exc:
                for change, _, _ in items:
                    self._fail(change, exc.render())
                return
            provider_type = self.desired.instances[instance].type
            done = []
            for (change, asset, _), result in zip(items, results, strict=True):
                if isinstance(result, ProviderError):
                    self._fail(change, result.render())
                else:
                    done.append((change, asset, result))
            # one request, one checkpoint: per-file writes made a large apply quadratic
            await self._durably(instance, self.store.arecord_many(
                {a.address: lock_entry(a, r, provider_type=provider_type) for _, a, r in done}
            ))
            for change, _, result in done:
                self.report.count(change.action)
                self.listener("done", change, f"after {time.monotonic() - started:.1f}s [id={result.remote_id}]")

