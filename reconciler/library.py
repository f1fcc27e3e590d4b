"""The `[library]`: prompts declared once and carried by several instances.

```toml
[library.welcome]                 # one prompt
file = "masters/welcome.wav"
[[library.glob]]                  # or one per file (key = file stem)
pattern = "masters/ivr/*.wav"

[providers.stage]
use = ["*", "!test-*"]            # globs on library keys; "!" excludes
[providers.stage.assets.welcome]  # no `file`: overrides library fields here only
protect = true
```

Precedence on an instance, lowest first: a library prompt, then the
instance's own `glob`, then its own `[providers.<i>.assets.<key>]` with a
`file` (the instance's own asset replaces the library prompt whole). An
asset table *without* `file` whose key is a library prompt is an override:
its fields are laid over the library entry's. Tables (an `audio` recipe)
merge key by key, so a recipe composes library < instance < override
(`LAYERED_KEYS`).

Pure apart from `glob` on the file system; the result is raw asset tables
that `config` validates with each instance's own asset model.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.errors import ConfigError
from reconciler.globbing import glob_paths
from reconciler.inputs import InputError
from reconciler.providers.settings import ASSET_KEY, AssetSpec, GlobSpec, LocalPath

# Asset fields that are tables composed in layers (library < instance < override)
# rather than replaced whole. An instance-wide value of such a key (e.g. an
# `audio` recipe on `[providers.<i>]`) sits between the library and the override.
LAYERED_KEYS = ("audio", "lint")

Describe = Callable[[ValidationError, str, type[BaseModel]], list[str]]


class LibraryAsset(AssetSpec):
    """`[library.<key>]` — a prompt declared once. Takes the fields every
    provider type accepts; provider-specific ones (exolve's `file_type`) go in
    an instance's override `[providers.<instance>.assets.<key>]`."""

    file: LocalPath = Field(description="Audio file (the master), relative to the config file.")  # type: ignore[assignment]


class LibraryGlob(GlobSpec):
    """`[[library.glob]]` — one library prompt per matching file (key: the file
    stem). The fields of an instance's `[[providers.<i>.glob]]` (a field added
    there, such as an `audio` recipe, is accepted here too and given to every match)."""

    pattern: LocalPath = Field(description="Glob relative to the config file, e.g. 'masters/**/*.wav'.")


class Library(BaseModel):
    """`[library]`: `glob` is a list of `[[library.glob]]`; every other key is a prompt."""

    model_config = ConfigDict(
        extra="allow",
        strict=True,
        json_schema_extra={"propertyNames": {"pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"}},
    )
    __pydantic_extra__: dict[str, LibraryAsset] = Field(init=False)  # type: ignore[assignment]

    glob: list[LibraryGlob] = Field(default_factory=list)


@dataclass
class LibraryEntry:
    where: str  # "library.welcome" or "library.glob[0]"
    raw: dict[str, Any]  # the asset table, `file` relative to the config file


@dataclass
class Resolved:
    """One instance's library prompts: key -> (where, raw asset table)."""

    assets: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def glob_files(
    where: str, pattern: str, base: Path, file: str, unread: list[str] | None, *, declare: str
) -> list[tuple[str, Path]]:
    """(key = file stem, path) of each file a glob entry matches — one rule for
    library and instance globs. Folders are skipped (`**` matches them); anything
    else must be audio and is refused when read. A pattern matching no file is an
    error, or a note in `unread` for a check that reads no audio (it may not be
    checked out)."""
    try:
        matches = [Path(m) for m in glob_paths(str(base / pattern))]
    except InputError as exc:
        raise ConfigError(f"{where}: pattern '{pattern}' {exc.reason}", file=file) from None
    files = [m for m in matches if not os.path.isdir(m)]
    if not files:
        if unread is not None:
            unread.append(f"{where}: pattern '{pattern}' matches no file")
            return []
        raise ConfigError(f"{where}: pattern '{pattern}' matches no file", file=file)
    for path in files:
        if not ASSET_KEY.match(path.stem):
            raise ConfigError(
                f"{where}: file {path.name} gives the key '{path.stem}', which may only use "
                "letters, digits, '_', '-' and '.'",
                file=file,
                hint=f"Rename the file, or declare it {declare} with its own key.",
            )
    return [(path.stem, path) for path in files]


def parse_library(
    raw: Any, base: Path, file: str, describe: Describe, unread: list[str] | None = None
) -> dict[str, LibraryEntry]:
    """Validate `[library]` and expand its globs: key -> entry. An explicit
    `[library.<key>]` overrides a glob match with the same key. With `unread`
    (a check that reads no audio), a glob matching no file is noted there
    instead of refused: the audio may simply not be checked out."""
    if raw is None:
        return {}
    try:
        lib = Library.model_validate(raw)
    except ValidationError as exc:
        reasons = describe(exc, "library", Library)
        if isinstance(raw, dict) and isinstance(raw.get("glob"), dict):  # [library.glob], not [[library.glob]]
            reasons.append("library.glob is a list of tables: write each as [[library.glob]] (two brackets)")
        if any("belongs in [providers.<instance>.assets" in r for r in reasons):
            reasons.append(
                "provider-specific keys (e.g. exolve's file_type) go in the instance's override "
                "[providers.<instance>.assets.<key>], not in the library"
            )
        raise ConfigError("invalid configuration", file=file, reasons=reasons) from None
    entries: dict[str, LibraryEntry] = {}
    for i, g in enumerate(lib.glob):
        where = f"library.glob[{i}]"
        for key, path in glob_files(where, g.pattern, base, file, unread, declare="as [library.<key>]"):
            rel = os.path.relpath(path, base)
            if key in entries:
                raise ConfigError(
                    f"{where}: two files give the key '{key}' ({entries[key].raw['file']} and {rel})",
                    file=file,
                )
            raw_entry = {**g.model_dump(exclude={"pattern"}, exclude_unset=True), "file": rel}
            entries[key] = LibraryEntry(where=where, raw=raw_entry)
    for key, spec in (lib.__pydantic_extra__ or {}).items():
        if not ASSET_KEY.match(key):
            raise ConfigError(
                f"library.{key}: library keys may only use letters, digits, '_', '-' and '.'", file=file
            )
        entries[key] = LibraryEntry(where=f"library.{key}", raw=spec.model_dump(exclude_unset=True))
    return entries


def split_overrides(
    instance: str, table: dict[str, Any], library: Mapping[str, LibraryEntry], file: str,
    *, partial: bool = False,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(the provider table without its overrides, key -> override table).

    An asset table without `file` is an override when its key is a library
    prompt. One whose key is not, and that names no provider-specific source
    (plusofon's `standard_id`), is an error naming it — unless the library is
    `partial` (a library glob matched no file in a check that reads no audio):
    then it may override a prompt that glob would declare, and is left out."""
    raw_assets = table.get("assets")
    if not isinstance(raw_assets, dict):
        return table, {}
    overrides: dict[str, dict[str, Any]] = {}
    unknown: set[str] = set()
    common = set(AssetSpec.model_fields)
    # with no library to override, a provider that has file-less assets explains
    # its own rule best (plusofon: "set exactly one of `file` or `standard_id`")
    explain = not library and _has_fileless_assets(table.get("type"))
    for key, spec in raw_assets.items():
        if not isinstance(spec, dict) or "file" in spec:
            continue
        if key in library:
            overrides[key] = spec
        elif partial:
            unknown.add(key)
        elif set(spec) <= common and not explain:
            from reconciler.config import did_you_mean  # config imports this module

            known = did_you_mean(key, set(library)) if library else ""
            raise ConfigError(
                f"providers.{instance}.assets.{key} has no `file` and '{key}' is not a [library] "
                f"prompt{known}",
                file=file,
                hint="Give it a `file`, or fix the key so it overrides a library prompt "
                "(an asset table without `file` overrides the library prompt with the same key).",
            )
    if not overrides and not unknown:
        return table, {}
    rest = {k: v for k, v in raw_assets.items() if k not in overrides and k not in unknown}
    return {**table, "assets": rest}, overrides


def _has_fileless_assets(type_name: Any) -> bool:
    from reconciler.providers import PROVIDERS

    cls = PROVIDERS.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        return False
    model = cls.settings_model.model_fields["assets"].annotation.__args__[1]
    return model.content_identity is not AssetSpec.content_identity


def _selected(patterns: list[str], keys: list[str]) -> tuple[set[str], list[str]]:
    """Keys matched by an include and by no `!` exclude (order does not
    matter), and the patterns that match no library key."""
    includes = [p for p in patterns if not p.startswith("!")]
    excludes = [p[1:] for p in patterns if p.startswith("!")]
    chosen = {
        k for k in keys
        if any(fnmatch.fnmatchcase(k, p) for p in includes)
        and not any(fnmatch.fnmatchcase(k, p) for p in excludes)
    }
    idle = [p for p in patterns if not any(fnmatch.fnmatchcase(k, p.lstrip("!")) for k in keys)]
    return chosen, idle


def layered(lower: Any, upper: Any) -> Any:
    """`upper` over `lower`; tables merge key by key, anything else is replaced."""
    if isinstance(lower, dict) and isinstance(upper, dict):
        out = dict(lower)
        for k, v in upper.items():
            out[k] = layered(out.get(k), v) if k in out else v
        return out
    return upper


def compose(
    library_raw: dict[str, Any], instance_table: Mapping[str, Any], override: dict[str, Any] | None
) -> dict[str, Any]:
    """One library prompt as an instance carries it: library < instance-wide
    layered keys (`LAYERED_KEYS`) < the instance's override."""
    merged = dict(library_raw)
    for key in LAYERED_KEYS:
        # only over a library value: without one, the instance-wide table applies
        # as it does to any asset (assets.effective_audio: instance < asset)
        if key in instance_table and key in merged:
            merged[key] = layered(merged[key], instance_table[key])
    return layered(merged, override or {})


def resolve(
    instance: str,
    use: list[str],
    instance_table: Mapping[str, Any],
    own_keys: set[str],
    glob_keys: set[str],
    overrides: dict[str, dict[str, Any]],
    library: Mapping[str, LibraryEntry],
    file: str,
) -> Resolved:
    """The library prompts `instance` carries, composed with its overrides.
    `own_keys` (assets with a `file`) and `glob_keys` (its own globs) win
    over the library: the instance's own asset replaces the library prompt."""
    out = Resolved()
    chosen, idle = _selected(use, sorted(library))
    if use and all(p.startswith("!") for p in use):
        out.warnings.append(
            f"providers.{instance}.use has only '!' patterns, so it carries no library prompt "
            "('!' only takes away from what another pattern selects); add \"*\" to carry all but those"
        )
    for pattern in idle:
        out.warnings.append(
            f"providers.{instance}.use: pattern '{pattern}' matches no [library] prompt"
            + ("" if library else " (the config has no [library])")
        )
    for key in sorted(overrides):
        if key not in chosen:
            raise ConfigError(
                f"providers.{instance}.assets.{key} overrides the library prompt '{key}', "
                f"which this instance's `use` does not select",
                file=file,
                hint=f"Add '{key}' to providers.{instance}.use (and check its '!' patterns), "
                "or remove the override.",
            )
        if key in glob_keys:
            raise ConfigError(
                f"providers.{instance}.assets.{key} overrides the library prompt '{key}', but "
                f"a providers.{instance}.glob also declares '{key}' (the instance's own asset "
                "wins over the library)",
                file=file,
                hint="Give the override a `file`, or narrow the instance's glob.",
            )
    for key in sorted(chosen - own_keys - glob_keys):
        entry = library[key]
        where = f"{entry.where} (carried by providers.{instance})"
        if key in overrides:
            where = f"providers.{instance}.assets.{key} (over {entry.where})"
        out.assets[key] = (where, compose(entry.raw, instance_table, overrides.get(key)))
    return out


def unused_warnings(library: Mapping[str, LibraryEntry], used: set[str]) -> list[str]:
    """A library prompt that no instance carries is probably a mistake."""
    return [
        f"{library[k].where}{'' if library[k].where.endswith(k) else f' ({k})'}: the library prompt "
        f"'{k}' is used by no instance (no `use` pattern selects it, or every instance that "
        "selects it declares its own asset with that key)"
        for k in sorted(set(library) - used)
    ]
