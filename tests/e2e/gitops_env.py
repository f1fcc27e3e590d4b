"""A project on the `directory` provider for the GitOps tests: N prompts made
in code, declared one table each, the CLI run against it, and snapshots of
everything on disk to prove a command wrote nothing."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import tomli_w

from tests.conftest import make_wav


class Project:
    def __init__(self, root: Path, run_cli) -> None:
        self.root = root
        self.config = root / "reconciler.toml"
        self.lock = root / "reconciler.lock"
        self.remote = root / "remote"
        self.plan_file = root / "plan.json"
        self._run = run_cli
        self.settings = ""
        self.assets: dict[str, dict] = {}

    # --- setup -----------------------------------------------------------
    def add(self, key: str, *, seed: int = 0, seconds: float = 0.05, **fields) -> None:
        path = self.root / "audio" / f"{key}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_wav(seconds, seed=seed))
        self.assets[key] = {"file": f"audio/{key}.wav", **fields}

    def write(self) -> None:
        lines = ["[providers.ivr]", 'type = "directory"', 'path = "remote"', self.settings]
        for key, fields in self.assets.items():
            lines.append(f"[providers.ivr.assets.{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
        self.config.write_text("\n".join(lines) + "\n")

    # --- running ---------------------------------------------------------
    def cli(self, command: str, *args: str):
        """(exit code, stdout, stderr) of `reconciler COMMAND -c CONFIG ARGS...`."""
        parts = command.split()
        return self._run(*parts, "-c", str(self.config), *args)

    def apply(self, *args: str) -> None:
        code, out, err = self.cli("apply", "--auto-approve", *args)
        assert code == 0, out + err

    # --- looking ---------------------------------------------------------
    def lockfile(self) -> dict:
        return tomllib.loads(self.lock.read_text())

    def write_lockfile(self, data: dict) -> None:
        self.lock.write_text(tomli_w.dumps(data))

    def remote_files(self) -> list[str]:
        return sorted(p.name for p in self.remote.iterdir() if not p.name.startswith(".")) if self.remote.exists() else []

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the project (but the plan file and `.reconciler/`,
        the local cache of digests and renditions: git-ignored, safe to delete,
        never what a plan decides on), with its bytes."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and p != self.plan_file and ".reconciler" not in p.relative_to(self.root).parts[:1]
        }


@pytest.fixture
def project(tmp_path, run_cli) -> Project:
    return Project(tmp_path, run_cli)


@pytest.fixture
def three(project) -> Project:
    """Three prompts, applied."""
    project.add("welcome", seed=1, description="Main greeting")
    project.add("hold", seed=2, name="hold-music")
    project.add("goodbye", seed=3)
    project.write()
    project.apply()
    return project
