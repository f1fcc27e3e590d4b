"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def cli(run_cli, ws):
    """`run_cli` with -c pointing at the test module's `ws` workspace config."""

    def run(command: str, *args: str, **kw):
        return run_cli(command, "-c", str(ws.config), *args, **kw)

    return run
