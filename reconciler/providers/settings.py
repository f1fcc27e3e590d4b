"""What the config may say about a provider instance: the pydantic models of
`[providers.<instance>]`, its `assets` and `glob` tables, shared by every
provider type (each type's settings model extends `ProviderSettings`).

They are the config's boundary: strict, no extra keys, so an error names the
key; a string that becomes a local path is checked here (`LocalPath`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from reconciler.audio.lint import LintRules
from reconciler.audio.recipe import AudioSettings
from reconciler.inputs import path_problem

INSTANCE_NAME = re.compile(r"^[a-z0-9_-]+$")
# fields a team may edit in the provider's console on purpose (Terraform's lifecycle.ignore_changes)
IgnorableField = Literal["name", "description"]


def _local_path(value: str) -> str:
    problem = path_problem(value)
    if problem:
        raise ValueError(f"this path {problem}")
    return value


# A string that becomes a local path (file, pattern, path, lockfile): refused at
# config load when the OS could never open it (NUL byte, a name over NAME_MAX, a
# path over PATH_MAX), so the error names the key instead of a later open() failing.
LocalPath = Annotated[str, AfterValidator(_local_path)]
ASSET_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class AssetSpec(BaseModel):
    """`[providers.<instance>.assets.<key>]` — what every provider type accepts."""

    model_config = ConfigDict(extra="forbid", strict=True)

    file: LocalPath | None = Field(
        default=None,
        description="Audio file, relative to the config file. Required, except in an override of a "
        "[library] prompt with the same key, which takes the library's file.",
    )
    name: str | None = Field(default=None, description="Remote name; default: the key.")
    description: str = Field(default="", description="Remote description, where supported.")
    protect: bool = Field(default=False, description="Fail a plan that would delete or replace it.")
    audio: AudioSettings | None = Field(
        default=None,
        description="Rendition recipe: upload a rendition of the file instead of the file itself; "
        "keys set here override the instance's `audio` keys.",
    )
    lint: LintRules | None = Field(default=None, description="Lint rules for this asset, over the [lint] table.")
    ignore_changes: list[IgnorableField] | None = Field(
        default=None,
        description="Fields whose differences (edited here or in the provider's console) never "
        "cause an update, a replace or drift; replaces the instance's `ignore_changes` when set.",
    )

    def content_identity(self) -> str | None:
        """None for an asset made from its local `file` (the default). A
        file-less asset (e.g. a provider's preinstalled prompt, declared by id)
        returns its content identity instead, written `<scheme>:<id>`: it
        stands for the sha256 in the plan and the lockfile, so changing it is a
        replace; the applier passes no bytes and the provider's `create` works
        from the spec."""
        return None


class GlobSpec(BaseModel):
    """`[[providers.<instance>.glob]]` — one asset per matching file (key and name: the stem)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    pattern: LocalPath = Field(description="Glob relative to the config file, e.g. 'prompts/*.wav'.")
    description: str = ""
    protect: bool = False
    audio: AudioSettings | None = Field(default=None, description="Rendition recipe for every match.")
    lint: LintRules | None = Field(default=None, description="Lint rules for every match.")


class ProviderSettings(BaseModel):
    """`[providers.<instance>]` — settings shared by every provider type."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: str
    prune: bool = Field(
        default=False, description="Also delete remote assets that are neither declared nor recorded."
    )
    max_delete_percent: float = Field(
        default=30.0, ge=0, le=100,
        description="Mass-delete guard: a plan deleting or replacing more than this share of the "
        "instance's managed assets fails unless --force (applies from 10 managed assets).",
    )
    max_deletes: int | None = Field(
        default=None, ge=0,
        description="Mass-delete guard: a plan deleting or replacing more than this many managed "
        "assets fails unless --force.",
    )
    use: list[str] = Field(
        default_factory=list,
        description="Which [library] prompts this instance carries: globs on library keys; a "
        "pattern starting with '!' excludes (e.g. [\"*\", \"!test-*\"]).",
    )
    ignore: list[str] = Field(
        default_factory=list,
        description="Globs on remote names: unmanaged remote assets matching one are neither "
        "drift, nor listed as unmanaged, nor deleted by prune.",
    )
    ignore_changes: list[IgnorableField] = Field(
        default_factory=list,
        description="Fields (name, description) whose differences never cause an update, a "
        "replace or drift on this instance's assets (an asset's own list replaces it).",
    )
    audio: AudioSettings | None = Field(
        default=None,
        description="Rendition recipe for every asset of the instance (format, encoding, sample_rate, "
        "channels, loudness, true_peak, trim_silence); absent: files are uploaded as they are.",
    )
    lint: LintRules | None = Field(
        default=None, description="Lint rules for every asset of the instance, over the [lint] table."
    )
    assets: dict[str, AssetSpec] = Field(default_factory=dict)
    glob: list[GlobSpec] = Field(default_factory=list)

    @field_validator("use")
    @classmethod
    def _use_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not pattern.lstrip("!").strip():
                raise ValueError(f"'{pattern}' is not a pattern: give a glob such as \"*\" or \"!test-*\"")
        return value

    @field_validator("ignore")
    @classmethod
    def _ignore_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not pattern.lstrip("!").strip():
                raise ValueError(f"'{pattern}' is not a pattern: give a glob such as \"tmp-*\"")
            # unlike `use`, `ignore` has no excludes: a "!" would be matched literally
            if pattern.startswith("!"):
                raise ValueError(
                    f"'{pattern}': `ignore` takes no '!' excludes (it only adds names to ignore); "
                    "list the globs of the names to ignore instead"
                )
        return value
