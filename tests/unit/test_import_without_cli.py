"""providers.import_without_cli: httpx's `try: from ._main import main` is kept
from loading its command-line client (rich, pygments), without breaking an
import that needs it. Exercised on throw-away packages shaped like httpx."""

from __future__ import annotations

import sys
import textwrap

import pytest

from reconciler.providers import import_without_cli


@pytest.fixture
def package(tmp_path, monkeypatch):
    """`make(name, init)`: a package `name` whose `_main` records that it ran,
    and a module `name_user` that imports the package."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def make(name: str, init: str) -> None:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(textwrap.dedent(init))
        (tmp_path / name / "_main.py").write_text("import sys\nsys.modules[__name__].ran = True\nmain = 'cli'\n")
        (tmp_path / f"{name}_user.py").write_text(f"import {name}\n")
        made.extend([name, f"{name}._main", f"{name}_user"])

    yield make
    for module in made:
        sys.modules.pop(module, None)


GUARDED = """
try:
    from ._main import main
except ImportError:
    def main():
        raise SystemExit("the cli is not installed")
"""


def test_a_guarded_cli_import_is_skipped_and_stays_importable(package):
    package("guardedpkg", GUARDED)
    import_without_cli("guardedpkg_user", cli="guardedpkg._main")
    assert "guardedpkg" in sys.modules
    assert "guardedpkg._main" not in sys.modules
    assert sys.modules["guardedpkg"].main != "cli"  # the package's own stand-in
    # the block is lifted at once: whoever needs the real client still gets it
    import guardedpkg._main

    assert guardedpkg._main.ran


def test_an_unguarded_cli_import_falls_back_to_a_plain_import(package):
    package("plainpkg", "from ._main import main\n")
    module = import_without_cli("plainpkg_user", cli="plainpkg._main")
    assert module.plainpkg.main == "cli"
    assert sys.modules["plainpkg._main"].ran


def test_an_already_loaded_package_is_imported_as_it_is(package):
    package("loadedpkg", GUARDED)
    import loadedpkg  # noqa: F401  (loads loadedpkg._main, as any plain import does)

    import_without_cli("loadedpkg_user", cli="loadedpkg._main")
    assert sys.modules["loadedpkg._main"].ran


def test_another_import_error_is_not_swallowed(package):
    package("brokenpkg", "import no_such_module_here\n")
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
        import_without_cli("brokenpkg_user", cli="brokenpkg._main")
    assert sys.modules.get("brokenpkg._main", "absent") == "absent"
