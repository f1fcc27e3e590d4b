"""The Plan: data, not behaviour. The planner makes it, renderers read it,
the applier executes it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    computed_field,
    model_serializer,
)

from reconciler.model import SoundFacts

PLAN_FORMAT_VERSION = 1


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    ADOPT = "adopt"
    NOOP = "noop"
    MANUAL = "manual"  # the provider cannot do it; a person must


class ReplaceStrategy(StrEnum):
    OVERWRITE = "overwrite"  # same id takes new bytes
    CREATE_BEFORE_DESTROY = "create_before_destroy"
    TEMP_NAME = "temp_name"  # create under a temporary name, delete old, rename
    DESTROY_BEFORE_CREATE = "destroy_before_create"
    CREATE_THEN_MANUAL = "create_then_manual"  # the old one cannot be deleted by API


SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.ADOPT: "=",
    Action.NOOP: " ",
    Action.MANUAL: "!",
}


class MasterState(BaseModel):
    """The master a rendition is made from."""

    model_config = ConfigDict(frozen=True)

    file: str | None = Field(default=None, description="The master, relative to the config file.")
    sha256: str
    size: int | None = None
    facts: SoundFacts = Field(default_factory=SoundFacts)


# shown only where known: a plan without renditions reads exactly as before they existed
AUDIO_KEYS = ("master", "recipe", "audio")


class AssetState(BaseModel):
    """The facts about an asset a plan compares and shows. The top-level facts
    describe the bytes uploaded (the rendition, where there is one)."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str | None = None
    sha256: str | None = None
    size: int | None = None
    duration: float | None = None
    format: str | None = None
    sample_rate: int | None = None
    # top level only where no rendition is made (then `audio` holds the rendition's)
    channels: int | None = None
    master: MasterState | None = Field(default=None, description="Where the uploaded bytes are a rendition: its master.")
    recipe: str | None = Field(default=None, description="The rendition's recipe key (normalised `audio` settings).")
    audio: SoundFacts | None = Field(
        default=None, description="Measured facts of the uploaded bytes (encoding, channels, LUFS, dBTP)."
    )

    @model_serializer(mode="wrap")
    def _omit_unknown_audio(self, handler: SerializerFunctionWrapHandler):  # no annotation: keeps the schema
        data = handler(self)
        if isinstance(data, dict):
            for key in AUDIO_KEYS:
                if data.get(key, 0) is None:
                    del data[key]
        return data


class Change(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    instance: str
    provider_type: str
    action: Action
    reason: str
    remote_id: str | None = None
    # the change gives the asset a new remote id (a replace that is not an
    # overwrite, or a provider whose id is the file name and the name or the
    # format changed): call flows that reference `remote_id` must be updated
    remote_id_changes: bool = False
    # the id it will have, where the provider's ids are predictable (file names)
    new_remote_id: str | None = None
    before: AssetState | None = None
    after: AssetState | None = None
    strategy: ReplaceStrategy | None = None
    drift: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    protect: bool = False
    # the remote asset is already gone: applying only clears the lockfile record
    forget_only: bool = False
    # addresses whose change must finish first (a name freed by a delete)
    depends_on: list[str] = Field(default_factory=list)
    # a replace whose new content an interrupted apply already uploaded and never
    # recorded: the remote id (and state) it takes over instead of uploading again
    landed_id: str | None = None
    landed: AssetState | None = None


class DriftItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    instance: str
    kind: str  # renamed | description_edited | deleted | content_changed | size_changed | unmanaged
    detail: str


class Summary(BaseModel):
    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0
    adopt: int = 0
    noop: int = 0
    manual: int = 0


class Fingerprints(BaseModel):
    """What a plan was computed from. `apply PLAN_FILE` recomputes them and
    refuses the plan when any moved (see `reconciler.saved_plan`)."""

    model_config = ConfigDict(frozen=True)

    config_path: str = Field(description="The config file, as given on the command line.")
    config_sha256: str = Field(description="sha256 of the config file's bytes.")
    files: dict[str, str] = Field(
        default_factory=dict, description="Each referenced audio file (relative to the config) -> sha256."
    )
    lockfile_lineage: str | None = Field(description="The lockfile's lineage; null before its first write.")
    lockfile_serial: int = Field(description="The lockfile's serial; 0 before its first write.")
    observed: dict[str, str] = Field(
        default_factory=dict,
        description="Each affected address -> sha256 of the remote state the plan saw for it.",
    )
    verify_content: bool = Field(default=False, description="The plan downloaded content to compare it.")


class Plan(BaseModel):
    format_version: int = PLAN_FORMAT_VERSION
    changes: list[Change] = Field(default_factory=list)
    drift: list[DriftItem] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    # the mass-delete guard's reasons to refuse this plan (empty with --force):
    # the plan is still shown, so the user sees what --force would do
    refused: list[str] = Field(default_factory=list)
    fingerprints: Fingerprints | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> Summary:
        counts = Summary()
        for change in self.changes:
            setattr(counts, change.action.value, getattr(counts, change.action.value) + 1)
        return counts

    @property
    def actionable(self) -> list[Change]:
        """Changes the tool will make (no-ops and manual steps excluded)."""
        return [c for c in self.changes if c.action not in (Action.NOOP, Action.MANUAL)]

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)
