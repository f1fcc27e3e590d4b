"""The provider interface: a frozen `Capabilities` value and a handful of
async operations; the settings models a provider type extends are in
`providers/settings.py`.

Providers know their API and nothing of plans; the planner reads only
`Capabilities`, never a provider's class or name. A provider module is one
`Provider` subclass; registering it is one line in `providers/__init__.py`.
"""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from reconciler.errors import AuthError, BadRequestError, OutcomeUnknownError, ProviderError
from reconciler.model import DesiredAsset, RemoteAsset
from reconciler.payload import Payload
from reconciler.providers.settings import ProviderSettings

ALL_FORMATS = frozenset({"wav", "mp3", "ogg", "flac", "aiff", "au"})


def suggested_format(formats: frozenset[str]) -> str:
    """The rendition format to suggest for a provider: WAV where accepted (lossless, what
    telephony platforms play), else the first accepted one."""
    return "wav" if "wav" in formats else sorted(formats)[0]


class Capabilities(BaseModel):
    """What a provider type can do. The planner and applier consult only this."""

    model_config = ConfigDict(frozen=True)

    can_list: bool = True
    can_download: bool = False
    can_rename: bool = False
    can_describe: bool = False
    can_delete: bool = True
    # same remote id accepts new bytes (filename-keyed stores): replace keeps the id
    can_overwrite: bool = False
    # the remote id is the file name `<name>.<extension of the format>`: a new
    # name or a new format is a new remote id, even when the bytes are overwritten
    id_is_filename: bool = False
    # the provider refuses two assets with one name: replace must not collide
    unique_names: bool = True
    # each upload carries reconciler's OwnerMarker (address + content hash) and
    # listings return it: adoption needs the marker, prune spares marked assets
    marks_owner: bool = False
    # which fields a listing reports, so the planner knows what it can compare
    lists_sha256: bool = False
    lists_size: bool = False
    lists_description: bool = False
    lists_duration: bool = False
    # download returns the uploaded bytes; False where the service stores a converted
    # copy: content is then compared by duration and sample rate, never by sha256
    download_is_exact: bool = True
    max_batch: int = 1
    max_concurrency: int = 4
    # max_concurrency is a documented hard limit: --parallelism may only lower it
    hard_concurrency_limit: bool = False
    max_bytes: int | None = None  # per uploaded file (the rendition, where there is one)
    # the audio formats the API accepts (seed documents, PROVIDERS.md)
    formats: frozenset[str] = ALL_FORMATS
    name_max_length: int | None = None
    description_max_length: int | None = None
    # where a person does by hand what the API cannot (plan notes name it)
    console: str = "the provider's console"
    notes: tuple[str, ...] = ()



class Provider(ABC):
    """One configured instance of a provider type.

    Use as an async context manager: HTTP providers open their client on entry.
    Every operation raises a `ProviderError` subclass on failure.
    """

    type_name: ClassVar[str]
    settings_model: ClassVar[type[ProviderSettings]]
    capabilities: ClassVar[Capabilities]
    summary: ClassVar[str] = ""

    def __init__(self, instance: str, settings: ProviderSettings, *, base_dir: Path) -> None:
        self.instance = instance
        self.settings = settings
        self.base_dir = base_dir
        # what the last `list()` could not read or vouch for (e.g. a field its
        # listing lacks): the engine copies them into the plan's warnings
        self.warnings: list[str] = []

    async def __aenter__(self) -> Provider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    # --- what the instance owns (`reconciler.overlap`) -----------------
    def local_root(self) -> Path | None:
        """A folder on this machine whose audio files the instance owns, or None."""
        return None

    def account(self) -> tuple[str, str, str] | None:
        """(type, normalised endpoint, credential variable): two instances with
        the same value see one account's assets. None for no remote account."""
        return None

    # --- offline checks -------------------------------------------------
    def check_settings(self) -> None:
        """Raise ConfigError for settings that are wrong before any request
        (e.g. a missing credential variable). Called at plan time."""
        return None

    def check_asset(self, asset: DesiredAsset) -> list[str]:
        """Problems that make this asset unacceptable to the provider (limits,
        formats, name rules), found without a request."""
        caps = self.capabilities
        problems: list[str] = []
        if caps.max_bytes is not None and asset.size > caps.max_bytes:
            if asset.rendition is not None:
                problems.append(
                    f"its rendition ({asset.rendition.recipe_key}) is {asset.size:,} bytes, over the "
                    f"{self.type_name} limit of {caps.max_bytes:,} bytes: choose a smaller recipe in its "
                    "`audio` table (e.g. sample_rate = 8000, channels = 1, encoding = \"ulaw\", or "
                    "format = \"mp3\" where accepted) or shorten the master"
                )
            else:
                problems.append(
                    f"{asset.size:,} bytes is over the {self.type_name} limit of {caps.max_bytes:,} bytes"
                )
        if asset.audio and asset.audio.format not in caps.formats:
            problems.append(self._format_problem(asset))
        if caps.name_max_length and len(asset.name) > caps.name_max_length:
            problems.append(
                f"name is {len(asset.name)} characters, over the {caps.name_max_length} allowed"
            )
        if caps.description_max_length and len(asset.description) > caps.description_max_length:
            problems.append(
                f"description is {len(asset.description)} characters, over the "
                f"{caps.description_max_length} allowed"
            )
        return problems

    def _format_problem(self, asset: DesiredAsset) -> str:
        """A refused format, with the `audio` line that fixes it."""
        caps = self.capabilities
        assert asset.audio is not None
        fmt = asset.audio.format
        allowed = ", ".join(sorted(f.upper() for f in caps.formats))
        fix = suggested_format(caps.formats)
        if asset.rendition is not None:
            return (
                f"its `audio` recipe renders {fmt.upper()}, which {self.type_name} does not accept "
                f"(accepted: {allowed}); set `format = \"{fix}\"` in that `audio` table"
            )
        return (
            f"format {fmt.upper()} is not accepted by {self.type_name} (accepted: {allowed}); the file "
            f"would be uploaded as it is: add `audio = {{ format = \"{fix}\" }}` to the asset (or to "
            f"[providers.{self.instance}]) to upload a {fix.upper()} rendition of it instead"
        )

    def batch_byte_budget(self) -> int | None:
        """The most bytes one batch request may carry (None: no limit). The
        applier cuts batches to it before it reads any file, so an apply holds
        the bytes of the requests in flight, not of every batch it has queued."""
        return None

    def asset_warnings(self, asset: DesiredAsset) -> list[str]:
        """Things about this asset the user should know but that do not stop a
        plan (e.g. a provider's soft requirements), found without a request.
        `validate` and `plan` show them as warnings."""
        return []

    async def check_remote(self, assets: Sequence[DesiredAsset]) -> list[str]:
        """Problems with the declared assets that only a request can find (e.g.
        a referenced preinstalled prompt that does not exist), each naming its
        config key. Called at plan time, before listing; the default finds none
        and costs no request."""
        return []

    # --- operations -----------------------------------------------------
    async def recover(self) -> None:
        """Clean up what an interrupted apply of ours left that no listing shows
        (e.g. the directory provider's temp files). Called by apply, under the
        lockfile lock, before it observes; never by plan."""
        return None

    @abstractmethod
    async def list(self) -> list[RemoteAsset]:
        """Every asset on the instance, all pages."""

    @abstractmethod
    async def create(self, asset: DesiredAsset, data: bytes | Payload, *, name: str | None = None) -> RemoteAsset:
        """Upload `data` as a new asset named `name` (default: asset.name).
        The applier passes a file `Payload`, to be streamed as it is sent
        (`reconciler.payload`), so an apply holds no whole file; bytes are
        accepted too. Raises OutcomeUnknownError when the request was sent but
        the answer lost, SourceChangedError when the file is not what was planned."""

    async def create_batch(
        self, items: list[tuple[DesiredAsset, bytes | Payload]]
    ) -> list[RemoteAsset | ProviderError]:
        """Upload several assets; one result per item, in order. Providers
        with `max_batch > 1` override this with one request per batch."""
        results: list[RemoteAsset | ProviderError] = []
        for asset, data in items:
            try:
                results.append(await self.create(asset, data))
            except ProviderError as exc:
                results.append(exc)
        return results

    async def overwrite_batch(
        self, items: list[tuple[str, DesiredAsset, bytes | Payload]]
    ) -> list[RemoteAsset | ProviderError]:
        """Overwrite several assets in place, (remote_id, asset, bytes) each; one
        result per item, in order. Providers with `max_batch > 1` and
        `can_overwrite` override this with one request per batch."""
        results: list[RemoteAsset | ProviderError] = []
        for remote_id, asset, data in items:
            try:
                results.append(await self.overwrite(remote_id, asset, data))
            except ProviderError as exc:
                results.append(exc)
        return results

    async def update(self, remote_id: str, *, name: str, description: str) -> RemoteAsset | None:
        """Rename / re-describe in place (only where capabilities allow)."""
        raise NotImplementedError(f"{self.type_name} cannot update in place")

    async def overwrite(self, remote_id: str, asset: DesiredAsset, data: bytes | Payload) -> RemoteAsset:
        """Replace the bytes under an existing id (only where `can_overwrite`)."""
        raise NotImplementedError(f"{self.type_name} cannot overwrite in place")

    async def delete(self, remote_id: str) -> None:
        """Delete one asset; an asset already gone is not an error."""
        raise NotImplementedError(f"{self.type_name} cannot delete")

    async def download(self, remote_id: str) -> bytes:
        """The asset's bytes (only where `can_download`)."""
        raise NotImplementedError(f"{self.type_name} cannot download")

    async def settle(self, remote: RemoteAsset) -> RemoteAsset:
        """A listed asset still being processed (`RemoteAsset.pending`), once the
        provider has finished with it (or as it stands when waiting gives up).
        Called before planning for an unrecorded asset that may be ours, so an
        upload an interrupted apply left processing is recognised in that run."""
        return remote

    async def find_created(self, asset: DesiredAsset, *, name: str) -> RemoteAsset | None:
        """After a create whose answer was lost: the asset it made, if it landed.
        The default looks for the name in a fresh listing."""
        for remote in await self.list():
            if remote.name == name and (remote.size is None or remote.size == asset.size):
                return remote
        return None

    async def create_resolving(
        self, asset: DesiredAsset, data: bytes | Payload, *, name: str | None = None, attempts: int | None = None
    ) -> RemoteAsset:
        """Create; when the outcome is unknown, list to see whether it landed
        and adopt it if so, else try again — never a duplicate. As many tries
        as an idempotent request gets (`max_retries` + 1), with the same
        full-jitter backoff between them: a create must survive what a listing
        survives (a fixed 4 failed 1 in 10,000 creates under 20% faults)."""
        target = name or asset.name
        if attempts is None:
            attempts = getattr(self.settings, "max_retries", 3) + 1
        longest = float(getattr(self.settings, "max_retry_wait", 1.0))

        async def pause(attempt: int) -> None:
            await asyncio.sleep(random.uniform(0, min(longest, 0.2 * 2**attempt)))

        for attempt in range(attempts):
            try:
                return await self.create(asset, data, name=name)
            except OutcomeUnknownError as exc:
                unknown = exc
            # settle by listing; a listing that fails is tried again before anything is resent
            for look in range(attempts):
                try:
                    found = await self.find_created(asset, name=target)
                    break
                except (AuthError, BadRequestError):
                    raise
                except ProviderError:
                    if look >= attempts - 1:
                        raise
                    await pause(look)
            if found is not None:
                return found
            if unknown.landed or attempt >= attempts - 1:
                raise unknown  # confirmed but not listed: sending it again could duplicate it
            await pause(attempt)
        raise AssertionError("unreachable")  # pragma: no cover
