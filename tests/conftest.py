"""Shared fixtures: audio made in code, temp workspaces, the CLI as a user types it."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli


def make_wav(seconds: float = 0.2, freq: float = 440.0, rate: int = 8000, seed: int = 0) -> bytes:
    """A tiny mono 8-bit WAV; `seed` shifts the tone so contents differ."""
    n = int(rate * seconds)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(bytes(int(128 + 60 * math.sin(2 * math.pi * (freq + seed) * i / rate)) for i in range(n)))
    return buf.getvalue()


def make_mp3_frame_stream(frames: int = 20) -> bytes:
    """A minimal valid MPEG-1 Layer III stream (silent frames)."""
    header = struct.pack(">I", 0xFFFB9004)  # MPEG1 L3 128kbps 44.1kHz, no padding
    frame_len = 417
    return (header + b"\x00" * (frame_len - 4)) * frames


def pytest_addoption(parser, pluginmanager):
    """pyproject's addopts pass `-n auto` to pytest-xdist; with the plugin
    disabled (`pytest -p no:xdist`) accept and ignore it, so the suite still
    runs, in one process."""
    if not pluginmanager.has_plugin("xdist"):
        group = parser.getgroup("xdist", "pytest-xdist (disabled)")
        # _addoption: a lowercase short option is reserved to pytest and its plugins, as -n is
        group._addoption("-n", "--numprocesses", dest="numprocesses", default=None,
                         help="ignored: pytest-xdist is disabled")
        group.addoption("--dist", dest="dist", default="no", help="ignored: pytest-xdist is disabled")


@pytest.fixture
def wav():
    return make_wav


@pytest.fixture
def run_cli():
    """Invoke the CLI in-process: returns (exit_code, stdout, stderr)."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        runner = CliRunner()
        result = runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture
def workspace(tmp_path: Path):
    """A folder with an audio/ dir and a helper to write reconciler.toml."""

    class Workspace:
        root = tmp_path
        config = tmp_path / "reconciler.toml"
        lock = tmp_path / "reconciler.lock"
        target = tmp_path / "remote"

        def audio(self, name: str, data: bytes) -> Path:
            path = tmp_path / "audio" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return path

        def write(self, text: str) -> Path:
            self.config.write_text(text)
            return self.config

    return Workspace()


@pytest.fixture
def serve():
    """Start an emulator on a real loopback server: `server = serve(emulator)`;
    `server.url` is its base URL. Stopped at the end of the test."""
    from tests.emulators.harness import EmulatorServer

    servers = []

    def start(emulator):
        server = EmulatorServer(emulator).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _no_job_summary(monkeypatch):
    """When the suite itself runs on GitHub Actions, commands under test must not
    append to the real job summary: tests that want one set the variable."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
