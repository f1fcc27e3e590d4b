"""Which keys belong where in reconciler.toml, for the "unknown key" errors.

A did-you-mean is only worth printing when it names a key that is valid at
the place the user typed: never the typed key itself (it is valid somewhere
else, not here), so a key valid in another table gets "'path' belongs in
[providers.<instance>] of type directory" instead.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from typing import Any

from pydantic import BaseModel


def _unwrap(annotation: Any) -> Any:
    """The model or container inside Optional/Union/Annotated."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            containers = [a for a in args if typing.get_origin(a) in (dict, list, tuple)]
            annotation = (models or containers or args or [None])[0]
        else:
            return annotation


def _hints(model: type[BaseModel]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(model)
    except Exception:  # an annotation that cannot be resolved: no hint, not an error
        return {}


def keys_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> set[str] | None:
    """The keys valid inside the table at `loc` below `model`; None when unknown."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is not None:
                current = field.annotation
            elif current.model_config.get("extra") == "allow":  # typed extras: [library.<key>]
                extra = _hints(current).get("__pydantic_extra__")
                current = typing.get_args(extra)[1] if typing.get_origin(extra) is dict else None
            else:
                return None
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) in (list, tuple):
            current = typing.get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return set(current.model_fields)
    return None


@functools.cache
def _places() -> tuple[tuple[str, frozenset[str]], ...]:
    """(where, keys valid there) for every table of the config."""
    from reconciler import config, library
    from reconciler.audio.lint import LintRules
    from reconciler.audio.recipe import AudioSettings
    from reconciler.providers import PROVIDERS
    from reconciler.providers.settings import AssetSpec, GlobSpec, ProviderSettings

    places: list[tuple[str, set[str]]] = [
        ("the top level", set(config.ConfigFile.model_fields)),
        ("[settings]", set(config.Settings.model_fields)),
        ("[providers.<instance>]", set(ProviderSettings.model_fields)),
        ("[providers.<instance>.assets.<key>]", set(AssetSpec.model_fields)),
        ("[[providers.<instance>.glob]]", set(GlobSpec.model_fields)),
        ("[library.<key>]", set(library.LibraryAsset.model_fields)),
        ("[[library.glob]]", set(library.LibraryGlob.model_fields)),
        ("an `audio` table (of an instance, an asset, a glob or a library prompt)", set(AudioSettings.model_fields)),
        ("a `lint` table (of an instance, an asset, a glob or a library prompt)", set(LintRules.model_fields)),
    ]
    by_key: dict[tuple[str, str], list[str]] = {}  # (table, key) -> provider types
    for name, cls in sorted(PROVIDERS.items()):
        model = cls.settings_model
        for key in set(model.model_fields) - set(ProviderSettings.model_fields):
            by_key.setdefault(("[providers.<instance>]", key), []).append(name)
        asset = keys_at(model, ("assets", "x")) or set()
        for key in asset - set(AssetSpec.model_fields):
            by_key.setdefault(("[providers.<instance>.assets.<key>]", key), []).append(name)
    grouped: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for (table, key), names in by_key.items():
        grouped.setdefault((table, tuple(names)), set()).add(key)
    for (table, names), keys in sorted(grouped.items()):
        places.append((f"{table} of type {', '.join(names)}", keys))
    return tuple((where, frozenset(keys)) for where, keys in places)


def unknown_key(key: str, here: set[str] | None) -> str:
    """The explanation after "unknown key": a near key valid here, or where it belongs."""
    choices = sorted((here or set()) - {key})
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    belongs = [where for where, keys in _places() if key in keys]
    out = ""
    if belongs:
        out += f"; '{key}' belongs in {' or '.join(belongs)}"
    if close:
        out += f" (did you mean '{close[0]}'?)"
    return out
