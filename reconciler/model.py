"""The data that flows between the parts: Desired (from the config), Observed
(from the providers). Recorded lives in `lockfile`, the Plan in `plan`.

Plain pydantic models with no behaviour beyond small derived views, so the
planner can be tested on values typed out by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reconciler.audio import AudioInfo


class OwnerMarker(BaseModel):
    """reconciler's own mark on a remote asset, written at upload where the
    provider keeps a free-form field for it (`Capabilities.marks_owner`): the
    address the asset was made for and a prefix of the sha256 of the bytes
    uploaded. It makes adoption and crash recovery exact, and tells files
    reconciler made from files a person uploaded."""

    model_config = ConfigDict(frozen=True)

    address: str
    sha256_prefix: str

    def matches(self, asset: DesiredAsset) -> bool:
        """Made for this address, with this content."""
        return (
            self.address == asset.address
            and bool(self.sha256_prefix)
            and asset.sha256.startswith(self.sha256_prefix)
        )


class RemoteAsset(BaseModel):
    """One asset as a provider's listing shows it. A field is None when the
    provider does not report it (the planner then cannot compare it)."""

    model_config = ConfigDict(frozen=True)

    remote_id: str
    name: str
    description: str | None = None
    size: int | None = None
    sha256: str | None = None
    duration: float | None = None
    # the step the listing states durations in, where it is coarser than the
    # file's and its unit unnamed (e.g. 1.0: whole seconds or milliseconds):
    # content is then compared at that precision (compare.durations_match)
    duration_precision: float | None = None
    format: str | None = None
    sample_rate: int | None = None
    # the provider is still processing it: its facts (duration...) are not known
    # yet; Provider.settle waits for them
    pending: bool = False
    # reconciler's mark, where the provider keeps one (None: unmarked or not kept)
    owner_marker: OwnerMarker | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


def is_content_hash(identity: str) -> bool:
    """True when a content identity is the sha256 of local bytes; False for a
    file-less asset's identity, `<scheme>:<id>` (`AssetSpec.content_identity`),
    which has no bytes to hash, download or compare."""
    return ":" not in identity


class SoundFacts(BaseModel):
    """Measured facts of one audio file (a master or a rendition), for plans
    and the lockfile. Every field may be unknown."""

    model_config = ConfigDict(frozen=True)

    format: str | None = None
    encoding: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    duration: float | None = None  # seconds
    loudness: float | None = None  # integrated LUFS (ITU-R BS.1770)
    true_peak: float | None = None  # dBTP


class MasterAudio(BaseModel):
    """The file in git that a rendition is made from."""

    model_config = ConfigDict(frozen=True)

    path: Path
    file: str  # as the config names it (relative to the config file)
    sha256: str
    size: int
    facts: SoundFacts


class RenditionInfo(BaseModel):
    """The recipe an asset is rendered with and what it produced. Plans are
    decided on (master sha256, `recipe_key`), never on the rendition's bytes:
    an encoder upgrade that shifts a few bytes changes nothing."""

    model_config = ConfigDict(frozen=True)

    recipe_key: str
    recipe: dict[str, Any]  # the normalised recipe's fields, to say what changed
    encoders: str  # versions of the libraries that shaped the bytes
    facts: SoundFacts
    target_reached: bool = True
    notes: tuple[str, ...] = ()


class DesiredAsset(BaseModel):
    """One declared asset, with the facts read from its local file.

    `file`, `sha256`, `size` and `audio` always describe the bytes that are
    uploaded: the master itself, or — where an `audio` recipe is declared —
    its rendition in the cache (`master` and `rendition` then say where it
    came from). Providers, markers and adoption therefore work on the
    uploaded bytes without knowing renditions exist.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    address: str
    instance: str
    key: str
    name: str
    description: str = ""
    protect: bool = False
    file: Path | None = None
    sha256: str
    size: int
    audio: AudioInfo | None = None
    spec: Any = None  # the provider's own asset settings (e.g. exolve file_type)
    # fields whose differences never cause an update, a replace or drift
    ignore_changes: tuple[str, ...] = ()
    # False when loaded without reading audio (`load_config(read_audio=False)`):
    # sha256 and size are then unknown, never to be planned with
    content_known: bool = True
    master: MasterAudio | None = None  # set when the uploaded bytes are a rendition
    rendition: RenditionInfo | None = None
    # lint rules for this asset (reconciler.audio.lint.LintRules), None: not linted by plan
    lint: Any = None

    @property
    def source_sha256(self) -> str:
        """The identity of the content in git: the master's sha256 where there is a rendition."""
        return self.master.sha256 if self.master is not None else self.sha256


class DesiredInstance(BaseModel):
    """One configured provider instance and the assets declared on it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    type: str
    settings: Any
    assets: dict[str, DesiredAsset] = Field(default_factory=dict)  # by address
    # from Provider.asset_warnings: shown by `validate` and as plan warnings
    warnings: list[str] = Field(default_factory=list)


class Desired(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    config_path: Path
    lockfile_path: Path
    instances: dict[str, DesiredInstance] = Field(default_factory=dict)
    # about the config as a whole (a library prompt no instance uses, a `use`
    # pattern matching nothing): shown by `validate` and as plan warnings
    warnings: list[str] = Field(default_factory=list)
    # load_config(read_audio=False) only: globs that matched no file (the audio
    # is not checked out), so the prompts they declare are unknown to the check
    unread_globs: list[str] = Field(default_factory=list)

    def asset(self, address: str) -> DesiredAsset | None:
        instance = self.instances.get(address.split(".", 1)[0])
        return instance.assets.get(address) if instance else None

    def instance_types(self) -> dict[str, str]:
        return {name: inst.type for name, inst in self.instances.items()}

    def all_assets(self) -> list[DesiredAsset]:
        return [a for inst in self.instances.values() for a in inst.assets.values()]


class ObservedInstance(BaseModel):
    """What one provider instance holds. `assets` is None when it cannot list."""

    model_config = ConfigDict(frozen=True)

    assets: tuple[RemoteAsset, ...] | None
    warnings: tuple[str, ...] = ()
    content_verified: bool = False  # sha256 of recorded assets was downloaded and filled in
