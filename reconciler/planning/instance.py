"""The state of planning one instance: its remotes indexed, its records, and
what the rules collect (changes, drift, conflicts, refusals)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from reconciler.lockfile import LockEntry
from reconciler.model import DesiredAsset, ObservedInstance, RemoteAsset
from reconciler.plan import Action, Change, DriftItem
from reconciler.providers.base import Capabilities


class InstancePlanner:
    """Plans one instance; collects changes, drift and refusals."""

    def __init__(
        self,
        instance: str,
        provider_type: str,
        assets: Mapping[str, DesiredAsset],
        entries: Mapping[str, LockEntry],
        observed: ObservedInstance | None,
        caps: Capabilities,
        prune: bool,
        ignore: Sequence[str] = (),
    ) -> None:
        self.instance = instance
        self.type = provider_type
        self.assets = assets
        self.entries = entries
        self.caps = caps
        self.prune = prune
        self.ignore = tuple(ignore)
        self.listed = observed is not None and observed.assets is not None
        # downloaded content that cannot hash like the source: compare its audio facts
        self.compare_audio = bool(observed is not None and observed.content_verified) and not caps.download_is_exact
        remotes = observed.assets if self.listed and observed else ()
        self.by_id: dict[str, RemoteAsset] = {r.remote_id: r for r in remotes}
        self.by_name: dict[str, list[RemoteAsset]] = defaultdict(list)
        for r in remotes:
            self.by_name[r.name].append(r)
        self.recorded_ids = {e.remote_id for e in entries.values()} | {
            s for e in entries.values() for s in e.superseded
        }
        self.claimed: set[str] = set()
        self.changes: list[Change] = []
        self.drift: list[DriftItem] = []
        self.conflicts: list[str] = []
        self.unsafe: list[str] = []

    def change(self, address: str, action: Action, reason: str, **kw) -> Change:
        asset = self.assets.get(address)
        if action in (Action.CREATE, Action.REPLACE) and asset is not None and asset.rendition is not None:
            # what the render could not do (a loudness target held back by the true-peak ceiling)
            kw["notes"] = [*kw.get("notes", []), *asset.rendition.notes]
        c = Change(address=address, instance=self.instance, provider_type=self.type, action=action, reason=reason, **kw)
        self.changes.append(c)
        return c

    def note_drift(self, address: str, kind: str, detail: str) -> str:
        self.drift.append(DriftItem(address=address, instance=self.instance, kind=kind, detail=detail))
        return kind
