"""The registry of provider types: one line per type.

A provider module is imported the first time its type is asked for, not when
the CLI starts: the HTTP providers pull in httpx, which a `directory`-only
config or `reconciler --version` never needs. Iterating the registry
(`reconciler providers`, the JSON Schema, a did-you-mean over every key)
imports them all.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from types import ModuleType

from reconciler.providers.base import Capabilities, Provider

_REGISTRY: dict[str, str] = {
    "directory": "reconciler.providers.directory:DirectoryProvider",
    "exolve": "reconciler.providers.exolve:ExolveProvider",
    "loccus": "reconciler.providers.loccus:LoccusProvider",
    "plusofon": "reconciler.providers.plusofon:PlusofonProvider",
    "soniox": "reconciler.providers.soniox:SonioxProvider",
    "wolkvox": "reconciler.providers.wolkvox:WolkvoxProvider",
}


def import_without_cli(module: str, cli: str = "httpx._main") -> ModuleType:
    """`importlib.import_module(module)`, without loading httpx's command-line client.

    httpx's `__init__` runs `try: from ._main import main` / `except ImportError:`
    a stub, for its `httpx` console script only; `_main` imports rich and
    pygments (and click): ~40 ms of CPU, a sixth of an apply's start-up, for a
    `main` reconciler never calls. While `module` is imported, a None in
    sys.modules makes that import raise ImportError, so httpx keeps its stub.
    The entry is taken out again at once: a later `import httpx._main` loads the
    real client.

    Fail-safe: where httpx is already loaded the import is plain, and should an
    httpx release import `_main` without that `except`, the ImportError is
    caught here and `module` imported again the ordinary way."""
    if cli.partition(".")[0] in sys.modules or cli in sys.modules:
        return importlib.import_module(module)
    sys.modules[cli] = None  # type: ignore[assignment]  # the import system's "not importable" mark
    try:
        return importlib.import_module(module)
    except ImportError:
        sys.modules.pop(cli, None)
        return importlib.import_module(module)
    finally:
        if cli in sys.modules and sys.modules[cli] is None:
            del sys.modules[cli]


class _Providers(Mapping[str, type[Provider]]):
    """type name -> provider class, each module imported on first use."""

    def __init__(self, registry: dict[str, str]) -> None:
        self._registry = registry
        self._loaded: dict[str, type[Provider]] = {}

    def __getitem__(self, type_name: str) -> type[Provider]:
        cls = self._loaded.get(type_name)
        if cls is None:
            module, _, name = self._registry[type_name].partition(":")
            cls = getattr(import_without_cli(module), name)
            assert cls.type_name == type_name, f"registry line {type_name!r} names {cls.type_name!r}"
            self._loaded[type_name] = cls
        return cls

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._registry


PROVIDERS: Mapping[str, type[Provider]] = _Providers(_REGISTRY)


def provider_class(type_name: str) -> type[Provider]:
    return PROVIDERS[type_name]


__all__ = ["PROVIDERS", "Capabilities", "Provider", "provider_class"]
