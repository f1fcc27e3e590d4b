"""`reconciler plan` wall time: the quickstart, and a generated 2,000-asset
directory config (half declared by glob, half as explicit tables).

A script, not a test (pytest ignores tests/bench): it prints figures and
asserts nothing about time.

    python tests/bench/bench_plan.py [--runs 5] [--assets 2000]

Each figure is the wall time of a fresh `python -m reconciler plan` process,
as a user or CI job pays it: interpreter start, imports, config load (every
file read, hashed and inspected), lockfile read, listing the target folder
(every file read and hashed), planning and rendering.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.conftest import make_wav  # noqa: E402


def reconciler(config: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "NO_COLOR": "1"}
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


def timed(label: str, config: Path, runs: int, *args: str) -> None:
    times, last = [], None
    for _ in range(runs):
        elapsed, last = reconciler(config, "plan", *args)
        times.append(elapsed)
    summary = last.stdout.strip().splitlines()[-1] if last and last.stdout.strip() else ""
    for line in last.stdout.splitlines() if last else []:
        if line.startswith(("Plan:", "No changes.")):
            summary = line
            break
    print(f"{label:<34} min {min(times):6.3f} s   median {statistics.median(times):6.3f} s   "
          f"({runs} runs; {summary})")


def generate(root: Path, n: int) -> Path:
    """n tiny distinct WAVs: the first half by glob, the rest as explicit tables."""
    half = n // 2
    (root / "prompts").mkdir(parents=True)
    (root / "extra").mkdir()
    for i in range(n):
        folder = "prompts" if i < half else "extra"
        # 0.02 s at 8 kHz: ~200 bytes; the index, as 5 base-16 digits in quiet 8-bit samples
        # (128 + digit), keeps every file's content distinct and is never a full-scale run that
        # the broken-audio gate refuses as clipping (4 raw index bytes were: 0x00 is -128)
        tag = bytes(128 + (i >> (4 * d) & 15) for d in range(5))
        data = make_wav(seconds=0.02, seed=0) + tag
        (root / folder / f"p{i:05d}.wav").write_bytes(data)
    lines = [
        "[providers.pbx]",
        'type = "directory"',
        'path = "build/sounds"',
        "",
        "[[providers.pbx.glob]]",
        'pattern = "prompts/*.wav"',
        'description = "generated prompt"',
        "",
    ]
    for i in range(half, n):
        lines += [f"[providers.pbx.assets.p{i:05d}]", f'file = "extra/p{i:05d}.wav"',
                  f'description = "explicit prompt {i}"', ""]
    config = root / "reconciler.toml"
    config.write_text("\n".join(lines))
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--assets", type=int, default=2000)
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import reconciler.cli"], env=env, check=True)
            times.append(time.perf_counter() - started)
        print(f"{'baseline: python + import':<34} min {min(times):6.3f} s   "
              f"median {statistics.median(times):6.3f} s")

        quick = tmp / "quickstart"
        shutil.copytree(REPO / "examples" / "quickstart" / "audio", quick / "audio")
        shutil.copy(REPO / "examples" / "quickstart" / "reconciler.toml", quick / "reconciler.toml")
        timed("quickstart, before apply", quick / "reconciler.toml", args.runs)
        reconciler(quick / "reconciler.toml", "apply", "--auto-approve")
        timed("quickstart, applied (no changes)", quick / "reconciler.toml", args.runs)

        big = generate(tmp / "big", args.assets)
        timed(f"{args.assets} assets, before apply", big, args.runs)
        elapsed, proc = reconciler(big, "apply", "--auto-approve")
        done = next((ln for ln in proc.stdout.splitlines() if ln.startswith("Apply complete")), "?")
        print(f"{f'{args.assets} assets, apply once':<34} {elapsed:6.3f} s   ({done})")
        timed(f"{args.assets} assets, applied (no changes)", big, args.runs)
        timed(f"{args.assets} assets, one --target", big, args.runs, "--target", "pbx.p00007")


if __name__ == "__main__":
    main()
