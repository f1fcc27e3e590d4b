"""HTTP provider figures: the Exolve emulator on loopback, N assets applied,
then a no-op plan timed, with the HTTP requests it cost per endpoint.

A script, not a test (pytest ignores tests/bench): it prints figures and
asserts nothing about time.

    python tests/bench/bench_http.py [--assets 200] [--runs 5] [--page-cap 1000]
                                     [--page-size 100] [--faults 0.0]

Every figure is a fresh `python -m reconciler` process, as a user or a CI job
pays it (interpreter start, imports, config load with every file hashed and
inspected, lockfile read, listing, planning, rendering). `--faults 0.2` makes
the emulator fail a fifth of the apply's requests with 500/429, to show what
convergence costs in requests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.conftest import make_wav  # noqa: E402
from tests.emulators.exolve import ExolveEmulator  # noqa: E402
from tests.emulators.harness import EmulatorServer  # noqa: E402


def reconciler(config: Path, token: str, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "NO_COLOR": "1", "EXOLVE_API_KEY": token}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", *args, "-c", str(config)],
        capture_output=True, text=True, env=env, check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 2):
        sys.exit(f"reconciler {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, proc


def per_endpoint(emulator: ExolveEmulator) -> str:
    counts = Counter(r.path.rsplit("/", 1)[-1] for r in emulator.requests)
    statuses = Counter(r.status for r in emulator.requests)
    by_method = ", ".join(f"{m} {n}" for m, n in sorted(counts.items()))
    by_status = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
    return f"{sum(counts.values())} requests ({by_method}; status {by_status})"


def write_workspace(root: Path, url: str, assets: int, page_size: int) -> Path:
    audio = root / "audio"
    audio.mkdir()
    for i in range(assets):
        (audio / f"prompt-{i:04d}.wav").write_bytes(make_wav(0.05, seed=i))
    config = root / "reconciler.toml"
    config.write_text(
        "[providers.bench]\n"
        'type = "exolve"\n'
        f'base_url = "{url}"\n'
        f"page_size = {page_size}\n"
        "max_retry_wait = 0.05\n"
        "max_retries = 8\n"
        "timeout = 10\n"
        "[[providers.bench.glob]]\n"
        'pattern = "audio/*.wav"\n'
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--page-cap", type=int, default=1000, help="the emulator's most records per GetList")
    parser.add_argument("--page-size", type=int, default=100, help="the client's GetList limit")
    parser.add_argument("--faults", type=float, default=0.0, help="share of apply requests failing 500/429")
    args = parser.parse_args()

    emulator = ExolveEmulator(page_cap=args.page_cap)
    with EmulatorServer(emulator) as server, tempfile.TemporaryDirectory() as tmp:
        config = write_workspace(Path(tmp), server.url, args.assets, args.page_size)
        print(f"exolve emulator at {server.url}: {args.assets} assets, page cap {args.page_cap}, "
              f"client page_size {args.page_size}")

        if args.faults:
            emulator.faults.fail_ratio(args.faults, (500, 429), body=emulator.fault_body)
        elapsed, proc = reconciler(config, emulator.token, "apply", "--auto-approve")
        summary = next((line for line in proc.stdout.splitlines() if line.startswith("Apply")), "?")
        print(f"apply      {elapsed:7.3f} s   {summary}")
        print(f"           {per_endpoint(emulator)}")
        emulator.faults.clear()
        if sorted(r.name for r in emulator.records.values()) != sorted(
                f"prompt-{i:04d}" for i in range(args.assets)):
            sys.exit("the emulator does not hold exactly the declared assets")

        times = []
        for _ in range(args.runs):
            emulator.reset_log()
            elapsed, proc = reconciler(config, emulator.token, "plan", "--detailed-exitcode")
            if proc.returncode != 0:
                sys.exit(f"the plan after apply is not empty:\n{proc.stdout}")
            times.append(elapsed)
        print(f"no-op plan min {min(times):7.3f} s   median {statistics.median(times):7.3f} s   ({args.runs} runs)")
        print(f"           {per_endpoint(emulator)}   (one run)")


if __name__ == "__main__":
    main()
