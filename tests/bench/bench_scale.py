"""reconciler at scale: every row of the performance table as value, floor and ratio.

A script, not a test (pytest ignores tests/bench): it prints figures and
asserts nothing about time.

    python tests/bench/bench_scale.py            # 10,000 assets over 6 instances (several minutes)
    python tests/bench/bench_scale.py --quick    # the same rows, small (about a minute)
    python tests/bench/bench_scale.py --assets 3000 --only noop,startup

The world: one `directory` instance and one instance of each HTTP provider
(exolve, plusofon, soniox, wolkvox, loccus), each on its emulator on loopback,
sharing `--assets` tiny generated WAV files between them. It is built once by a
real `reconciler apply` (the "apply N creates" row), then planned again.

Every figure is a fresh `python -m reconciler` process, as a user or a CI job
pays it. Floors are measured on this machine in the same run:

- interpreter: `python -c pass`;
- hashing: read + sha256 of every file the plan reads, in one thread;
- list pages: the very list requests the no-op plan made, replayed with a bare
  httpx client (the directory instance's "listing" is reading its folder);
- latency-bound schedule: ceil(requests / in flight) x the emulated latency;
- bare client: the same uploads (same files, same batches, same requests in
  flight) sent by a bare `httpx.AsyncClient` from a fresh interpreter to a fresh
  emulator at the same latency, timed from its first request to its last
  answer. It is what the schedule costs on this machine once the emulator's own
  work and one HTTP client's are paid (printed beside the schedule, which stays
  the ratio's floor);
- copying: read + write + fsync of every file (the guarantee `directory` keeps);
- RSS: `reconciler --version`'s peak RSS plus what must be held at once.

Peak RSS is the child's own `ru_maxrss`, in MB, reported by a small launcher
(see `run(rss=True)`): os.wait4 on a child of this process would report at
least this process's own peak.

The package's bytecode is compiled first (`compileall`), as `pip install`
does: without it, a Python run with PYTHONDONTWRITEBYTECODE (or from a
read-only checkout) compiles every reconciler module from source on every
start, about 0.1 s that no installed copy pays. The start-up rows also print
the child's CPU time (user + sys), steadier than wall time on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import hashlib
import io
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from tests.emulators.exolve import ExolveEmulator  # noqa: E402
from tests.emulators.harness import Emulator, EmulatorServer  # noqa: E402
from tests.emulators.loccus import LoccusEmulator  # noqa: E402
from tests.emulators.plusofon import PlusofonEmulator  # noqa: E402
from tests.emulators.soniox import SonioxEmulator  # noqa: E402
from tests.emulators.wolkvox import WolkvoxEmulator  # noqa: E402

HTTP_TYPES = ("exolve", "plusofon", "soniox", "wolkvox", "loccus")
TOKEN_ENV = {
    "exolve": "EXOLVE_API_KEY", "plusofon": "PLUSOFON_TOKEN", "soniox": "SONIOX_API_KEY",
    "wolkvox": "WOLKVOX_TOKEN", "loccus": "LOCCUS_API_KEY",
}
ROWS: list[tuple[str, str, str, str]] = []
LAST_CPU = [0.0]  # user + sys seconds of the last child: the machine is shared, wall time is noisy


# --- measuring ------------------------------------------------------------------
def row(measure: str, value: float, floor: float | None, unit: str = "s", note: str = "") -> None:
    ratio = f"{value / floor:5.2f}x" if floor else "   - "
    floor_s = f"{floor:9.3f} {unit}" if floor is not None else " " * 10 + " " * len(unit)
    line = f"{measure:<58} {value:9.3f} {unit}  floor {floor_s}  ratio {ratio}"
    print(line + (f"   ({note})" if note else ""), flush=True)
    ROWS.append((measure, f"{value:.3f} {unit}", floor_s.strip(), ratio.strip()))


def env_for(tokens: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", **(tokens or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


# Linux folds the old address space's high-water RSS into a process's maxrss at
# exec (exec_mmap), and a child of this process starts as (a copy of, or with
# vfork the very) address space of this process: os.wait4 on it reports at least
# this process's own peak — and the emulators here hold every file uploaded to
# them. So RSS is measured through a launcher, a fresh interpreter of ~10 MB that
# forks the command and writes the command's own ru_maxrss (KB) to argv[1].
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run(argv: list[str], env: dict[str, str], *, ok: tuple[int, ...] = (0, 2),
        rss: bool = False) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one child process. The RSS is the
    child's own only with `rss` (through the launcher, whose start-up then counts
    in the wall time); otherwise it may be this process's."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as report:
        command = [sys.executable, "-c", _LAUNCHER, report.name, *argv] if rss else argv
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        LAST_CPU[0] = usage.ru_utime + usage.ru_stime
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        peak_kb = int(report.read() or 0) if rss else usage.ru_maxrss
    if proc.returncode not in ok:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{stdout[-3000:]}\n{stderr[-3000:]}")
    return elapsed, peak_kb / 1024, stdout


def reconciler(config: Path, env: dict[str, str], *args: str, ok=(0, 2), rss: bool = False) -> tuple[float, float, str]:
    return run([sys.executable, "-m", "reconciler", *args, "-c", str(config)], env, ok=ok, rss=rss)


def cpu_run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + sys) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 2):
        sys.exit(f"{' '.join(argv)} failed")
    return elapsed, usage.ru_utime + usage.ru_stime


def best(times: Iterator[float] | list[float]) -> float:
    return min(times)


def interpreter_start() -> float:
    return best(run([sys.executable, "-c", "pass"], env_for())[0] for _ in range(5))


def startup_rss() -> float:
    return run([sys.executable, "-m", "reconciler", "--version"], env_for(), ok=(0,), rss=True)[1]


def hash_files(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        hashlib.sha256(path.read_bytes()).hexdigest()
    return time.perf_counter() - started


# --- audio ------------------------------------------------------------------------
def tiny_wav(i: int) -> bytes:
    """~200 bytes of 8 kHz 8-bit mono, distinct per index."""
    rate, n = 8000, 160
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        # the index as 5 base-16 digits in quiet samples (128 + digit): distinct, never full scale,
        # so the broken-audio gate (clipping) passes every file
        tag = bytes(128 + (i >> (4 * d) & 15) for d in range(5))
        w.writeframes(bytes(int(128 + 60 * math.sin(2 * math.pi * 440 * k / rate)) for k in range(n)) + tag)
    return buf.getvalue()


def big_wav(i: int, size: int = 4_900_000) -> bytes:
    """A valid 8 kHz 16-bit mono WAV of `size` bytes (about 5 minutes), distinct per index."""
    frames = (size - 44) // 2
    block = struct.pack("<8h", 0, 3000, 6000, 3000, 0, -3000, -6000, -3000)
    body = (block * (frames // 8 + 1))[: frames * 2 - 4] + i.to_bytes(4, "big")
    header = b"RIFF" + struct.pack("<I", 36 + len(body)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", len(body))
    return header + body


# --- the world ----------------------------------------------------------------------
class World:
    """Five emulators on loopback and a folder; a config spreading `n` assets over 6 instances."""

    def __init__(self, root: Path, n: int, *, latency: float = 0.0) -> None:
        self.root, self.n = root, n
        self.emulators: dict[str, Emulator] = {
            "exolve": ExolveEmulator(),
            "plusofon": PlusofonEmulator(),
            "soniox": SonioxEmulator(max_files=10 * n + 1000),
            "wolkvox": WolkvoxEmulator(),
            "loccus": LoccusEmulator(),
        }
        self.stack = contextlib.ExitStack()
        self.servers = {t: self.stack.enter_context(EmulatorServer(e)) for t, e in self.emulators.items()}
        for em in self.emulators.values():
            em.faults.latency(latency)
        self.env = env_for({TOKEN_ENV[t]: e.token for t, e in self.emulators.items()})
        self.config = root / "reconciler.toml"
        self.files = self._write()

    def _write(self) -> list[Path]:
        instances = ("local", *HTTP_TYPES)
        lines: list[str] = []
        files: list[Path] = []
        for k, inst in enumerate(instances):
            folder = self.root / "audio" / inst
            folder.mkdir(parents=True)
            for i in range(k, self.n, len(instances)):
                path = folder / f"p{i:05d}.wav"
                path.write_bytes(tiny_wav(i))
                files.append(path)
            lines.append(f"[providers.{inst}]")
            if inst == "local":
                lines += ['type = "directory"', 'path = "remote"']
            else:
                url = self.servers[inst].url + ("/api/v2/" if inst == "wolkvox" else "")
                lines += [f'type = "{inst}"', f'base_url = "{url}"', "max_retry_wait = 0.05"]
                if inst == "loccus":
                    lines += ['owner = "acme"', 'space = "ivr-prompts"', "state_poll_interval = 0.01"]
            lines += [f"[[providers.{inst}.glob]]", f'pattern = "audio/{inst}/*.wav"', ""]
        self.config.write_text("\n".join(lines))
        return files

    def reset_logs(self) -> None:
        for em in self.emulators.values():
            em.reset_log()

    def requests(self) -> int:
        return sum(len(em.requests) for em in self.emulators.values())

    def replay_lists(self) -> float:
        """The list requests just logged, replayed by a bare client: one thread per
        instance (pages follow each other, instances run side by side)."""
        def replay(t: str, em: Emulator) -> None:
            with httpx.Client(base_url=self.servers[t].url) as client:
                for r in list(em.requests):
                    headers = {k: v for k, v in r.headers.items() if k not in ("host", "content-length")}
                    client.request(r.method, r.path + (f"?{r.query}" if r.query else ""), headers=headers)

        threads = [threading.Thread(target=replay, args=(t, em)) for t, em in self.emulators.items()]
        started = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.perf_counter() - started

    def close(self) -> None:
        self.stack.close()


def noop_floor(world: World, bare: float) -> float:
    remote = sorted((world.root / "remote").iterdir())
    hashing = best(hash_files(world.files + remote) for _ in range(2))
    listing = best(world.replay_lists() for _ in range(2))
    return bare + hashing + listing


# --- rows -------------------------------------------------------------------------------
def scale_rows(n: int, growth: list[int], bare: float) -> None:
    for size in sorted({*growth, n}):
        with tempfile.TemporaryDirectory() as tmp:
            world = World(Path(tmp), size)
            try:
                elapsed, _, out = reconciler(world.config, world.env, "apply", "--auto-approve")
                requests = world.requests()
                if size == n:
                    row(f"apply {n:,} creates over 6 instances", elapsed, None,
                        note=f"{requests} requests")
                cache = world.root / ".reconciler"
                cold, warm = [], []
                for _ in range(3):
                    shutil.rmtree(cache, ignore_errors=True)  # every file read and hashed
                    world.reset_logs()
                    cold.append(reconciler(world.config, world.env, "plan", "--detailed-exitcode", ok=(0,))[0])
                requests = world.requests()
                time.sleep(3.5)  # files older than the digest cache's racy window (reconciler/digests.py)
                for _ in range(3):
                    warm.append(reconciler(world.config, world.env, "plan", "--detailed-exitcode", ok=(0,))[0])
                floor = noop_floor(world, bare)
                row(f"no-op plan, {size:,} assets over 6 instances", best(cold), floor,
                    note=f"{requests} requests; no digest cache: every file hashed")
                if cache.exists():
                    row(f"no-op plan, {size:,} assets, warm digest cache", best(warm), floor,
                        note="unchanged files not read again")
            finally:
                world.close()


def checkpoint_rows(sizes: list[int]) -> None:
    """The lockfile's cost per recorded action, in process, with `size` entries already recorded."""
    from reconciler.lockfile import LockEntry, utc_now
    from reconciler.lockstore import LockfileStore

    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "reconciler.lock"

            def entry(i: int) -> LockEntry:
                return LockEntry(instance="local", type="directory", remote_id=f"p{i:05d}.wav", name=f"p{i:05d}",
                                 sha256=hashlib.sha256(str(i).encode()).hexdigest(), size=200,
                                 applied_at=utc_now())

            with LockfileStore(path) as store:
                store.record_many({f"local.p{i:05d}": entry(i) for i in range(size)})
            actions = 100
            with LockfileStore(path) as store:
                started, cpu = time.perf_counter(), time.process_time()
                for i in range(size, size + actions):
                    store.record(f"local.p{i:05d}", entry(i))
                per_action = (time.perf_counter() - started) / actions
                cpu_per_action = (time.process_time() - cpu) / actions
            fsync_floor = _fsync_cost(Path(tmp))
            row(f"checkpoint cost per action, {size:,} recorded", per_action * 1000, fsync_floor * 1000, "ms",
                note=f"floor: one small fsynced append; CPU {cpu_per_action * 1000:.3f} ms")
            # an apply's actions complete concurrently: their checkpoints share fsyncs (group commit)
            with LockfileStore(path) as store:
                base = size + actions
                started = time.perf_counter()
                asyncio.run(_concurrent_records(store, [(f"local.p{i:05d}", entry(i)) for i in range(base, base + actions)]))
                per_action = (time.perf_counter() - started) / actions
            row(f"checkpoint cost per action, {size:,} recorded, 16 at once", per_action * 1000,
                fsync_floor * 1000, "ms", note="floor: one small fsynced append; group commit shares it")


async def _concurrent_records(store, records: list) -> None:
    slots = asyncio.Semaphore(16)

    async def one(address: str, entry) -> None:
        async with slots:
            await store.arecord(address, entry)

    await asyncio.gather(*(one(a, e) for a, e in records))


def _fsync_cost(folder: Path, times: int = 50) -> float:
    with open(folder / "fsync-probe", "ab") as fh:
        started = time.perf_counter()
        for _ in range(times):
            fh.write(b"x" * 200 + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        return (time.perf_counter() - started) / times


def startup_rows(bare: float) -> None:
    def best_of_5(argv: list[str]) -> tuple[float, float]:
        runs = [cpu_run(argv, env_for()) for _ in range(5)]
        return min(w for w, _ in runs), min(c for _, c in runs)

    version, cpu = best_of_5([sys.executable, "-m", "reconciler", "--version"])
    row("reconciler --version", version, bare, note=f"floor: python -c pass; CPU {cpu:.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        quick = Path(tmp) / "quickstart"
        shutil.copytree(REPO / "examples" / "quickstart", quick,
                        ignore=shutil.ignore_patterns("build", "reconciler.lock", ".reconciler"))
        config = quick / "reconciler.toml"
        # a checkout's files are older than the digest cache's racy window (2 s): until then each
        # plan re-reads the masters' headers (mutagen), as it must for a file that may still change
        time.sleep(2.1)
        plan, cpu = best_of_5([sys.executable, "-m", "reconciler", "plan", "-c", str(config)])
        row("quickstart plan", plan, bare, note=f"floor: python -c pass; CPU {cpu:.3f} s")


# A bare client in its own interpreter (the emulator runs in this one, as for
# reconciler): the uploads of an apply and nothing else, timed inside the child.
_BARE_CLIENT = """
import asyncio, base64, json, sys, time
import httpx
kind, url, token, conc, folder, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
names = [f"p{i:05d}.wav" for i in range(count)]
def requests():
    if kind == "exolve":
        for name in names:
            data = open(f"{folder}/{name}", "rb").read()
            yield {"url": "/media/v1/Upload", "headers": {"Authorization": f"Bearer {token}"},
                   "content": json.dumps({"full_name": name, "file_type": "FILE_TYPE_IVR",
                                          "file": base64.b64encode(data).decode()}).encode()}
    else:
        for at in range(0, count, 50):
            files = {f"file{k}": (name, open(f"{folder}/{name}", "rb").read(), "audio/wav")
                     for k, name in enumerate(names[at:at + 50], start=1)}
            yield {"url": "configuration.php", "params": {"api": "upload_audio"},
                   "headers": {"wolkvox-token": token}, "files": files}
async def main():
    gate = asyncio.Semaphore(conc)
    async with httpx.AsyncClient(base_url=url) as client:
        async def one(kwargs):
            async with gate:
                response = await client.post(**kwargs)
                assert response.status_code in (200, 201), response.text
        todo = list(requests())
        started = time.perf_counter()
        await asyncio.gather(*(one(kwargs) for kwargs in todo))
        print(time.perf_counter() - started)
asyncio.run(main())
"""


def bare_client(provider: str, folder: Path, count: int, conc: int, latency: float) -> float:
    em: Emulator = ExolveEmulator() if provider == "exolve" else WolkvoxEmulator()
    with EmulatorServer(em) as server:
        em.faults.latency(latency)
        url = server.url + ("/api/v2/" if provider == "wolkvox" else "")
        _, _, out = run([sys.executable, "-c", _BARE_CLIENT, provider, url, em.token, str(conc), str(folder),
                         str(count)], env_for(), ok=(0,))
        assert len(em.requests) == (count if provider == "exolve" else math.ceil(count / 50))
    return float(out.strip().splitlines()[-1])


def latency_rows(creates: int, latency: float) -> None:
    for provider, parallelism, conc in (("exolve", None, 4), ("exolve", 16, 16), ("wolkvox", None, 2)):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            em: Emulator = ExolveEmulator() if provider == "exolve" else WolkvoxEmulator()
            with EmulatorServer(em) as server:
                (root / "audio").mkdir()
                for i in range(creates):
                    (root / "audio" / f"p{i:05d}.wav").write_bytes(tiny_wav(i))
                url = server.url + ("/api/v2/" if provider == "wolkvox" else "")
                config = root / "reconciler.toml"
                config.write_text(f'[providers.x]\ntype = "{provider}"\nbase_url = "{url}"\n'
                                  '[[providers.x.glob]]\npattern = "audio/*.wav"\n')
                em.faults.latency(latency)
                args = ["apply", "--auto-approve"] + (["--parallelism", str(parallelism)] if parallelism else [])
                env = env_for({TOKEN_ENV[provider]: em.token})
                elapsed, _, _ = reconciler(config, env, *args)
                uploads = sum(1 for r in em.requests if r.method == "POST")
                if provider == "wolkvox":
                    floor = (math.ceil(math.ceil(creates / 50) / conc) + 1) * latency
                    label = f"apply {creates:,} creates on wolkvox, {latency * 1000:.0f} ms, 2 in flight"
                else:
                    floor = math.ceil(creates / conc) * latency
                    label = f"apply {creates:,} creates on exolve, {latency * 1000:.0f} ms, {conc} in flight"
                cpu = LAST_CPU[0]
                bare = bare_client(provider, root / "audio", creates, conc, latency)
                row(label, elapsed, floor, note=f"{len(em.requests)} requests, {uploads} POST, "
                    f"max {em.max_in_flight} in flight; child CPU {cpu:.2f} s; "
                    f"bare client {bare:.3f} s ({elapsed / bare:.2f}x)")


def directory_row(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "audio").mkdir()
        files = []
        for i in range(count):
            path = root / "audio" / f"p{i:05d}.wav"
            path.write_bytes(tiny_wav(i))
            files.append(path)
        config = root / "reconciler.toml"
        config.write_text('[providers.local]\ntype = "directory"\npath = "remote"\n'
                          '[[providers.local.glob]]\npattern = "audio/*.wav"\n')
        elapsed, _, _ = reconciler(config, env_for(), "apply", "--auto-approve")
        cpu = LAST_CPU[0]
        copy_dir = root / "copy"
        copy_dir.mkdir()
        started = time.perf_counter()
        for path in files:
            with open(copy_dir / path.name, "wb") as fh:
                fh.write(path.read_bytes())
                fh.flush()
                os.fsync(fh.fileno())
        floor = time.perf_counter() - started
        row(f"apply {count:,} files on directory", elapsed, floor,
            note=f"floor: copy + fsync each file; child CPU {cpu:.2f} s")


def rss_rows(counts: list[int], base_rss: float) -> None:
    size = 4_900_000
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "audio").mkdir()
            for i in range(count):
                (root / "audio" / f"p{i:04d}.wav").write_bytes(big_wav(i, size))
            config = root / "reconciler.toml"
            config.write_text('[providers.local]\ntype = "directory"\npath = "remote"\n'
                              '[[providers.local.glob]]\npattern = "audio/*.wav"\n')
            _, rss, _ = reconciler(config, env_for(), "plan", rss=True)
            row(f"peak RSS, plan of {count} x 4.9 MB files", rss, base_rss + size / 2**20, "MB",
                note="floor: start-up + one file")
            em = WolkvoxEmulator()
            with EmulatorServer(em) as server:
                config.write_text(f'[providers.wv]\ntype = "wolkvox"\nbase_url = "{server.url}/api/v2/"\n'
                                  '[[providers.wv.glob]]\npattern = "audio/*.wav"\n')
                # plan first, as a user would: the apply then finds the audio checks cached and
                # its peak is its uploads' (cold, it is the audio checks', the plan row's measure)
                reconciler(config, env_for({"WOLKVOX_TOKEN": em.token}), "plan")
                _, rss, _ = reconciler(config, env_for({"WOLKVOX_TOKEN": em.token}), "apply", "--auto-approve",
                                       rss=True)
                per_request = min(count, 50_000_000 // size) * size
                in_flight = min(2, math.ceil(count / (per_request // size)))
                row(f"peak RSS, wolkvox apply of {count} x 4.9 MB files", rss,
                    base_rss + in_flight * per_request / 2**20, "MB",
                    note=f"floor: start-up + {in_flight} request(s) of {per_request / 1e6:.0f} MB in flight")
            for old in root.glob("reconciler.lock*"):  # the wolkvox apply's record
                old.unlink()
            em = ExolveEmulator()
            with EmulatorServer(em) as server:
                config.write_text(f'[providers.ex]\ntype = "exolve"\nbase_url = "{server.url}"\n'
                                  '[[providers.ex.glob]]\npattern = "audio/*.wav"\n')
                reconciler(config, env_for({"EXOLVE_API_KEY": em.token}), "plan")  # as above
                _, rss, _ = reconciler(config, env_for({"EXOLVE_API_KEY": em.token}), "apply", "--auto-approve",
                                       rss=True)
                in_flight = min(4, count)  # exolve's documented concurrency
                body = 4 * math.ceil(size / 3)  # the file as base64 in a JSON body
                row(f"peak RSS, exolve apply of {count} x 4.9 MB files", rss,
                    base_rss + in_flight * body / 2**20, "MB",
                    note=f"floor: start-up + {in_flight} request(s) of {body / 1e6:.1f} MB in flight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: every row in about a minute")
    parser.add_argument("--assets", type=int, help="assets in the 6-instance world (default 10,000; quick 600)")
    parser.add_argument("--only", default="startup,checkpoint,latency,directory,rss,scale",
                        help="comma-separated rows to run")
    args = parser.parse_args()
    n = args.assets or (600 if args.quick else 10_000)
    growth = [100, 1000] if not args.quick else [100]
    creates = 200 if args.quick else 1000
    only = set(args.only.split(","))

    compileall.compile_dir(REPO / "reconciler", quiet=1)  # as `pip install` does (see the docstring)
    bare = interpreter_start()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; bare interpreter start {bare:.3f} s")
    if "startup" in only:
        startup_rows(bare)
    if "checkpoint" in only:
        checkpoint_rows([100, n])
    if "latency" in only:
        latency_rows(creates, 0.02)
    if "directory" in only:
        directory_row(300 if args.quick else 3000)
    if "rss" in only:
        rss_rows([5, 20] if args.quick else [20, 200], startup_rss())
    if "scale" in only:
        scale_rows(n, [g for g in growth if g < n], bare)


if __name__ == "__main__":
    main()
