"""The registry of provider types: one line per type."""

from __future__ import annotations

from reconciler.providers.base import Capabilities, Provider
from reconciler.providers.directory import DirectoryProvider
from reconciler.providers.exolve import ExolveProvider
from reconciler.providers.loccus import LoccusProvider
from reconciler.providers.plusofon import PlusofonProvider
from reconciler.providers.soniox import SonioxProvider
from reconciler.providers.wolkvox import WolkvoxProvider

PROVIDERS: dict[str, type[Provider]] = {
    DirectoryProvider.type_name: DirectoryProvider,
    ExolveProvider.type_name: ExolveProvider,
    LoccusProvider.type_name: LoccusProvider,
    PlusofonProvider.type_name: PlusofonProvider,
    SonioxProvider.type_name: SonioxProvider,
    WolkvoxProvider.type_name: WolkvoxProvider,
}


def provider_class(type_name: str) -> type[Provider]:
    return PROVIDERS[type_name]


__all__ = ["PROVIDERS", "Capabilities", "Provider", "provider_class"]
