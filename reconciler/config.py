"""reconciler.toml → Desired.

Read with the standard library's tomllib (TOML 1.0), validated with one
pydantic settings model per provider type, selected by `type`, so an error
names the field. Every local audio file is read, hashed and inspected while
it loads (`reconciler.assets` builds each DesiredAsset), before any network call.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler import library as library_mod
from reconciler import startup
from reconciler.assets import AudioLoader, build_asset, effective_audio, effective_lint
from reconciler.audio.lint import LintRules
from reconciler.config_keys import keys_at, unknown_key
from reconciler.defaults import DEFAULT_CONFIG, DEFAULT_LOCKFILE  # noqa: E402, F401 (re-exported)
from reconciler.digests import DigestCache, Facts, read_many
from reconciler.documents import parse_toml
from reconciler.errors import ConfigError
from reconciler.inputs import MAX_CONFIG_BYTES, InputError, read_file, real_path, relative_to
from reconciler.model import Desired, DesiredAsset, DesiredInstance
from reconciler.overlap import check_overlaps
from reconciler.providers import PROVIDERS, Provider
from reconciler.providers.settings import (
    ASSET_KEY,
    INSTANCE_NAME,
    AssetSpec,
    LocalPath,
    ProviderSettings,
)


class Settings(BaseModel):
    """`[settings]`"""

    model_config = ConfigDict(extra="forbid", strict=True)

    lockfile: LocalPath = Field(default=DEFAULT_LOCKFILE, description="Lockfile path, relative to the config file.")


class ConfigFile(BaseModel):
    """The top level of reconciler.toml (provider tables validated per type)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    settings: Settings = Field(default_factory=Settings)
    library: dict[str, Any] | None = None  # validated by `library.parse_library`
    lint: LintRules | None = None  # `[lint]`: rules for every asset (see reconciler.audio.lint)
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)


def did_you_mean(word: str, choices: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _describe_errors(exc: ValidationError, prefix: str, model: type[BaseModel] | None = None) -> list[str]:
    """One reason per error, named by its TOML key path. `model` is what was
    validated, so an unknown key is matched against the keys valid there."""
    reasons = []
    errors = exc.errors()
    for err in errors[:MAX_REASONS]:
        loc = ".".join(str(p) for p in err["loc"])
        path = f"{prefix}.{loc}" if prefix and loc else prefix or loc
        if err["type"] == "extra_forbidden":
            key = str(err["loc"][-1])
            reasons.append(f"{path}: unknown key{unknown_key(key, keys_at(model, tuple(err['loc'][:-1])))}")
        elif err["type"] == "missing":
            reasons.append(f"{path}: required key is missing")
        else:
            reasons.append(f"{path}: {err['msg'].removeprefix('Value error, ')}")
    if len(errors) > MAX_REASONS:
        reasons.append(f"... and {len(errors) - MAX_REASONS} more")
    return reasons


def read_toml(path: Path) -> dict[str, Any]:
    """The config's TOML, or ConfigError naming the file and what is wrong."""
    try:
        return parse_toml(read_file(path, limit=MAX_CONFIG_BYTES))
    except InputError as exc:
        if exc.missing:
            raise ConfigError(
                "config file not found",
                file=str(path),
                hint="Pass the right path with -c/--config, or create one with `reconciler init`.",
            ) from None
        raise ConfigError(
            f"the config file {exc.reason}",
            file=str(path),
            hint="Fix the file (see the README's limits), or pass another with -c/--config.",
        ) from None


def _toml_kind(value: Any) -> str:
    return {dict: "a table", list: "an array", bool: "a boolean", int: "an integer", float: "a float"}.get(
        type(value), f"a {type(value).__name__}"
    )


MAX_REASONS = 20  # a config with thousands of wrong keys: the first ones say enough


def parse_provider_settings(instance: str, table: dict[str, Any], file: str) -> ProviderSettings:
    """Validate one `[providers.<instance>]` table with its type's model."""
    if not INSTANCE_NAME.match(instance):
        raise ConfigError(
            f"providers.{instance}: instance names may only use a-z, 0-9, '_' and '-'", file=file
        )
    type_name = table.get("type")
    if type_name is not None and not isinstance(type_name, str):
        raise ConfigError(
            f"providers.{instance}.type: must be a string, not {_toml_kind(type_name)}",
            file=file,
            hint=f"Known provider types: {', '.join(sorted(PROVIDERS))}.",
        )
    if type_name is None:
        raise ConfigError(
            f"providers.{instance}: required key 'type' is missing",
            file=file,
            hint=f"Known provider types: {', '.join(sorted(PROVIDERS))}.",
        )
    if type_name not in PROVIDERS:
        raise ConfigError(
            f"providers.{instance}.type: unknown provider type '{type_name}'"
            f"{did_you_mean(str(type_name), set(PROVIDERS))}",
            file=file,
            hint=f"Known provider types: {', '.join(sorted(PROVIDERS))}.",
        )
    model = PROVIDERS[type_name].settings_model
    try:
        return model.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(
            "invalid configuration", file=file, reasons=_describe_errors(exc, f"providers.{instance}", model)
        ) from None


def asset_model(settings: ProviderSettings) -> type[AssetSpec]:
    """The provider's own asset model (e.g. exolve's, with `file_type`)."""
    return type(settings).model_fields["assets"].annotation.__args__[1]


def _expand_assets(
    instance: str, settings: ProviderSettings, base: Path, file: str, unread: list[str] | None = None
) -> tuple[dict[str, tuple[str, AssetSpec]], set[str]]:
    """(key -> (where, spec), the keys its globs gave): explicit assets, plus one
    per file matched by a glob. An explicit asset with a glob-derived key overrides it."""
    out: dict[str, tuple[str, AssetSpec]] = {}
    spec_model = asset_model(settings)
    for i, g in enumerate(settings.glob):
        where = f"providers.{instance}.glob[{i}]"
        declare = "under [providers.*.assets]"
        for key, path in library_mod.glob_files(where, g.pattern, base, file, unread, declare=declare):
            if key in out:
                raise ConfigError(
                    f"{where}: two files give the key '{key}' ({out[key][1].file} and "
                    f"{os.path.relpath(path, base)})",
                    file=file,
                )
            # relpath, not relative_to: a pattern may reach outside the config's folder
            fields = {"file": relative_to(path, base), "description": g.description, "protect": g.protect}
            fields |= {k: getattr(g, k) for k in ("audio", "lint") if getattr(g, k) is not None}
            try:
                spec = spec_model.model_validate(fields)
            except ValidationError as exc:  # a provider's asset rules (e.g. no description)
                raise ConfigError(
                    "invalid configuration", file=file, reasons=_describe_errors(exc, where, spec_model)
                ) from None
            out[key] = (where, spec)
    glob_keys = set(out)
    for key, spec in settings.assets.items():
        where = f"providers.{instance}.assets.{key}"
        if not ASSET_KEY.match(key):
            raise ConfigError(
                f"{where}: asset keys may only use letters, digits, '_', '-' and '.'", file=file
            )
        out[key] = (where, spec)
    return out, glob_keys


def _library_assets(
    instance: str, table: dict[str, Any], settings: ProviderSettings, glob_keys: set[str],
    overrides: dict[str, dict[str, Any]], library: dict[str, library_mod.LibraryEntry], file: str,
) -> tuple[dict[str, tuple[str, AssetSpec]], list[str]]:
    """The library prompts the instance carries, validated by its own asset model."""
    resolved = library_mod.resolve(
        instance, settings.use, table, set(settings.assets), glob_keys, overrides, library, file
    )
    spec_model = asset_model(settings)
    out: dict[str, tuple[str, AssetSpec]] = {}
    for key, (where, raw) in resolved.assets.items():
        try:
            out[key] = (where, spec_model.model_validate(raw))
        except ValidationError as exc:  # a provider's asset rules (e.g. no description)
            raise ConfigError(
                "invalid configuration", file=file, reasons=_describe_errors(exc, where, spec_model)
            ) from None
    return out, resolved.warnings


def load_config(config_path: Path, *, read_audio: bool = True) -> Desired:
    """Read, validate and inspect everything the config declares.

    `read_audio=False` reads no audio file (`drift`, `compare`: they need the
    provider settings and the assets' keys and fields, not their content):
    assets then carry `sha256=""`, `size=0`, no audio facts and `content_known=False`."""
    startup.end_startup()  # the command's work begins here: see reconciler.startup
    config_path = Path(config_path)
    file = str(config_path)
    raw = read_toml(config_path)
    try:
        top = ConfigFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("invalid configuration", file=file, reasons=_describe_errors(exc, "", ConfigFile)) from None
    base = real_path(config_path).parent
    desired = Desired(config_path=config_path, lockfile_path=base / top.settings.lockfile)
    unread = None if read_audio else desired.unread_globs
    library = library_mod.parse_library(top.library, base, file, _describe_errors, unread)
    used: set[str] = set()
    reads: dict[Path, Facts | Exception] = {}  # one read per file, however many instances carry it
    cache = DigestCache(base) if read_audio else None
    audio = AudioLoader(base, file)
    providers: dict[str, Provider] = {}
    folders: dict[str, str] = {}  # resolved once for this load: see real_path
    for instance, table in top.providers.items():
        table, overrides = library_mod.split_overrides(
            instance, table, library, file, partial=any(g.startswith("library.") for g in desired.unread_globs)
        )
        settings = parse_provider_settings(instance, table, file)
        provider_cls = PROVIDERS[settings.type]
        provider = providers[instance] = provider_cls(instance, settings, base_dir=base)
        assets: dict[str, DesiredAsset] = {}
        names: dict[str, str] = {}
        problems: list[str] = []
        own, glob_keys = _expand_assets(instance, settings, base, file, unread)
        carried, use_warnings = _library_assets(instance, table, settings, glob_keys, overrides, library, file)
        desired.warnings += use_warnings
        used |= set(carried)
        warnings: list[str] = []
        specs = {**carried, **own}
        if read_audio:  # every file of the instance at once, on threads (and from the stat cache)
            wanted = [real_path(os.path.join(base, spec.file), folders) for _, spec in specs.values()
                      if spec.file is not None and spec.content_identity() is None]
            reads.update(read_many([p for p in wanted if p not in reads], cache))
        for key, (where, spec) in specs.items():
            asset = build_asset(instance, key, spec, base, where, file, provider, reads=reads, read_audio=read_audio,
                                folders=folders)
            if read_audio:
                asset = audio.attach(
                    asset, where, effective_audio(settings.audio, spec.audio),
                    effective_lint(top.lint, settings.lint, spec.lint), declared_audio=spec.audio is not None,
                )
            if asset.name in names:
                raise ConfigError(
                    f"{where}: remote name '{asset.name}' is also used by {names[asset.name]}",
                    file=file,
                    hint="Names are unique within an instance: set a distinct `name`.",
                )
            names[asset.name] = asset.address
            problems += [f"{where} ({spec.file}): {p}" for p in provider.check_asset(asset)]
            warnings += [f"{where} ({spec.file}): {w}" for w in provider.asset_warnings(asset)]
            assets[asset.address] = asset
        if problems:
            raise ConfigError(
                f"assets on instance '{instance}' are not acceptable to {settings.type}",
                file=file,
                reasons=problems,
            )
        desired.instances[instance] = DesiredInstance(
            name=instance, type=settings.type, settings=settings, assets=assets, warnings=warnings
        )
    audio.finish()
    desired.warnings += library_mod.unused_warnings(library, used)
    check_overlaps(desired, providers, file)
    if cache is not None:
        cache.save()
    return desired
