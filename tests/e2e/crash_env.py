"""One provider instance for the crash and fault campaigns: its emulator (or
folder), its config, and what it holds, read straight from the emulator's
state so that a duplicate cannot hide behind the tool's own listing.

Every provider type is driven the same way: a config of assets (key -> name,
audio), `apply`, and `remote()` -> sorted (name, bytes uploaded) of every
asset the remote holds."""

from __future__ import annotations

import json
import multiprocessing
import os
import runpy
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import make_wav
from tests.emulators.harness import Emulator, EmulatorServer

REPO = Path(__file__).resolve().parents[2]
INSTANCE = "p"


def audio(seed: int) -> bytes:
    """~1.4-1.9 s: long enough that whole-second listings round it differently."""
    return make_wav(1.4 + seed / 10, seed=seed)


@dataclass
class Kind:
    """How to run one provider type in the campaign."""

    type_name: str
    make: Callable[[], Emulator] | None  # None: the directory provider
    token_env: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    asset_settings: dict[str, Any] = field(default_factory=dict)
    # a request that changes remote state (the kill points)
    mutating: Callable[[str, str], bool] = lambda m, p: m != "GET"
    # (name, bytes uploaded) of everything the emulator holds
    held: Callable[[Any], list[tuple[str, bytes]]] = lambda em: []


def _exolve() -> Kind:
    from tests.emulators.exolve import ExolveEmulator

    return Kind(
        "exolve", ExolveEmulator, "EXOLVE_API_KEY", asset_settings={"file_type": "ivr"},
        mutating=lambda m, p: p in ("/media/v1/Upload", "/media/v1/Update", "/media/v1/Delete"),
        held=lambda em: [(r.name, r.data) for r in em.records.values()],
    )


def _plusofon() -> Kind:
    from tests.emulators.plusofon import PlusofonEmulator

    return Kind(
        "plusofon", PlusofonEmulator, "PLUSOFON_TOKEN",
        held=lambda em: [(m.name, m.data) for m in em.media.values()],
    )


def _soniox() -> Kind:
    from tests.emulators.soniox import SonioxEmulator

    return Kind(
        "soniox", SonioxEmulator, "SONIOX_API_KEY",
        held=lambda em: [(f.filename, f.data) for f in em.files.values()],
    )


def _wolkvox() -> Kind:
    from tests.emulators.wolkvox import WolkvoxEmulator

    def make() -> WolkvoxEmulator:
        em = WolkvoxEmulator()
        em.list_duration_style = "floor"  # whole seconds: the campaign's failing case
        return em

    return Kind(
        "wolkvox", make, "WOLKVOX_TOKEN",
        mutating=lambda m, p: m == "POST" and p.endswith("configuration.php"),
        held=lambda em: [(a.filename.rsplit(".", 1)[0], a.data) for a in em.audios.values()],
    )


def _loccus() -> Kind:
    from tests.emulators.loccus import LoccusEmulator

    def make() -> LoccusEmulator:
        em = LoccusEmulator()
        em.processing(reads=2)  # every upload is `avaitingFile` for two reads: apply waits
        return em

    return Kind(
        "loccus", make, "LOCCUS_API_KEY",
        settings={"owner": "acme", "space": "ivr-prompts", "state_poll_interval": 0.01, "voice_checks": "off"},
        held=lambda em: [(a.handle, a.source) for a in em.audios.values()],
    )


KINDS: dict[str, Callable[[], Kind]] = {
    "directory": lambda: Kind("directory", None),
    "exolve": _exolve, "plusofon": _plusofon, "soniox": _soniox, "wolkvox": _wolkvox, "loccus": _loccus,
}


class Env:
    """A workspace folder, one provider instance, its emulator on loopback."""

    def __init__(self, kind: Kind, root: Path) -> None:
        self.kind = kind
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "reconciler.toml"
        self.lock = root / "reconciler.lock"
        self.target = root / "remote"
        self.emulator = kind.make() if kind.make else None
        self.server = EmulatorServer(self.emulator).__enter__() if self.emulator else None

    def close(self) -> None:
        if self.server is not None:
            self.server.__exit__(None, None, None)

    @property
    def env(self) -> dict[str, str]:
        return {self.kind.token_env: self.emulator.token} if self.emulator else {}

    def write(self, assets: dict[str, tuple[str, bytes]], *, extra: dict[str, Any] | None = None) -> None:
        """assets: key -> (remote name, audio bytes)."""
        lines = [f"[providers.{INSTANCE}]", f'type = "{self.kind.type_name}"']
        if self.server is None:
            lines.append('path = "remote"')
        else:
            lines += [f'base_url = "{self.server.url}"', "max_retry_wait = 0.05", "timeout = 5"]
        for k, v in {**self.kind.settings, **(extra or {})}.items():
            lines.append(f"{k} = {json.dumps(v)}")
        for key, (name, data) in sorted(assets.items()):
            path = self.root / "audio" / f"{key}-{hash(data) & 0xFFFFFF:06x}.wav"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            lines += [f"[providers.{INSTANCE}.assets.{key}]", f'file = "{path.relative_to(self.root)}"']
            if name != key:
                lines.append(f"name = {json.dumps(name)}")
            lines += [f"{k} = {json.dumps(v)}" for k, v in self.kind.asset_settings.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def remote(self) -> list[tuple[str, bytes]]:
        """(name, bytes) of every asset the remote holds, sorted."""
        if self.emulator is None:
            if not self.target.exists():
                return []
            return sorted(
                (p.name.rsplit(".", 1)[0], p.read_bytes()) for p in self.target.iterdir()
                if not p.name.startswith(".")
            )
        with self.emulator.lock:
            return sorted(self.kind.held(self.emulator))

    def subprocess_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_TEST_")}
        env.update(NO_COLOR="1", **self.env, **extra)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reconciler", *args, "-c", str(self.config)]

    def start(self, *args: str, **extra_env: str) -> Run:
        """`reconciler ARGS -c CONFIG` in a process of its own (see `Run`)."""
        return Run([*args, "-c", str(self.config)], self.subprocess_env(**extra_env), self.root)


# A process per run, forked from a server that imported reconciler once
# (multiprocessing's forkserver: a clean single-threaded parent, unlike the
# test process with its emulator threads): the same real process a user
# runs, without paying the interpreter's start and imports per kill trial.
_FORKS = multiprocessing.get_context("forkserver")
_FORKS.set_forkserver_preload([
    # the test run's main script (pytest's), imported once here: otherwise each child would
    # run it again (multiprocessing's "fix up main") and import pytest per kill trial
    "__main__",
    "reconciler.cli", "reconciler.config", "reconciler.engine", "reconciler.saved_plan", "reconciler.render.text",
    "mutagen.aiff", "mutagen.mp3", "mutagen.wave",  # what reading audio imports (a name missing is skipped)
    # the broken-audio gate's scan of each new master (numpy and libsndfile: ~0.1 s of CPU a run)
    "numpy", "soundfile", "reconciler.audio.scan", "reconciler.measurements", "reconciler.renditions",
    "reconciler.audiolint", "reconciler.audio.decode",
    *(f"reconciler.providers.{name}" for name in ("directory", "exolve", "loccus", "plusofon", "soniox", "wolkvox")),
])


def _main(args: list[str], env: dict[str, str], cwd: str, stdout: str, stderr: str) -> None:
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, stdout), (2, stderr)):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644), fd)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the process's own stdout
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    sys.argv = ["reconciler", *args]

    code: object = 0
    try:  # what `python -m reconciler ARGS` runs: reconciler/__main__.py
        runpy.run_module("reconciler", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):  # sys.exit("message"), as the interpreter does
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


class Run:
    """One CLI run in its own process: `pid`, `wait()` -> exit code (negative:
    the signal that killed it), `output` (stdout and stderr, interleaved), or
    with `split=True` `stdout` and `stderr` apart."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, *, split: bool = False) -> None:
        self._output = cwd.parent / f"{cwd.name}-run-{id(self)}.out"
        self._stderr = cwd.parent / f"{cwd.name}-run-{id(self)}.err" if split else self._output
        for path in {self._output, self._stderr}:
            path.write_bytes(b"")
        self.process = _FORKS.Process(target=_main, args=(args, env, str(cwd), str(self._output), str(self._stderr)))
        self.process.start()
        self.pid = self.process.pid

    def wait(self, timeout: float = 120) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
            raise TimeoutError("the reconciler run did not end")
        return self.process.exitcode

    def _take(self, path: Path) -> str:
        text = path.read_text(errors="replace") if path.exists() else ""
        path.unlink(missing_ok=True)
        return text

    @property
    def stdout(self) -> str:
        return self._take(self._output)

    @property
    def stderr(self) -> str:
        return self._take(self._stderr)

    @property
    def output(self) -> str:
        return self._take(self._output)


def run_process(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m reconciler ARGV` as `subprocess.run(..., capture_output=True,
    text=True, timeout=...)` answers it, in a process forked from the server
    above (env is the whole environment, as subprocess's env= is)."""
    run = Run(argv, env, cwd, split=True)
    try:
        code = run.wait(timeout)
    except TimeoutError:
        raise subprocess.TimeoutExpired(["reconciler", *argv], timeout, run.stdout, run.stderr) from None
    return subprocess.CompletedProcess(["reconciler", *argv], code, run.stdout, run.stderr)
