"""The providers the contract suite runs against: one entry per HTTP provider.

Adding a provider to the suite = appending one `ContractTarget` to TARGETS
(in its own module under tests/providers/, imported below).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import ProviderError
from tests.emulators.harness import Emulator


@dataclass
class ContractTarget:
    type_name: str
    make_emulator: Callable[[], Emulator]
    token_env: str
    # audio the provider accepts; `seed` makes contents differ
    make_audio: Callable[[int], bytes]
    # what someone does in the web console: upload directly into the emulator
    console_upload: Callable[[Any, str, bytes], str]
    # make listing paginate after n items
    set_page_size: Callable[[Any, int], None]
    # documented error responses: (status, body, expected project error class, text the message must contain)
    documented_errors: list[tuple[int, Any, type[ProviderError], str]] = field(default_factory=list)
    # extra provider settings (besides type, base_url, retry tuning)
    settings: dict[str, Any] = field(default_factory=dict)
    # extra asset settings (e.g. exolve's file_type)
    asset_settings: dict[str, Any] = field(default_factory=dict)
    # (method, path) -> True for the create endpoint, to aim faults at it
    is_create: Callable[[str, str], bool] = lambda m, p: m == "POST"
    # (method, path) -> True for the list endpoint, to count pages
    is_list: Callable[[str, str], bool] = lambda m, p: m == "GET"
    # asset names the provider accepts (e.g. loccus handles are lowercase-hyphenated)
    name_for: Callable[[str], str] = lambda name: name
    # download returns the uploaded bytes (False where the service converts them)
    download_is_exact: bool = True
    # the list endpoint pages; False where the API returns everything in one answer
    # (set_page_size then caps that answer, e.g. wolkvox's 60,000-records limit)
    paginated: bool = True

    def __str__(self) -> str:
        return self.type_name


TARGETS: list[ContractTarget] = []


def _register_all() -> None:
    """Each provider's test module registers its target; import them here."""
    import importlib
    import pkgutil

    import tests.providers as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("target_"):
            module = importlib.import_module(f"tests.providers.{info.name}")
            TARGETS.append(module.TARGET)


_register_all()
