"""Loading a `[library]` carried by several instances: each master is read,
hashed and inspected once, however many instances carry it.

A script, not a test (pytest ignores tests/bench): it prints value, floor and
ratio, and asserts nothing about time.

    python tests/bench/bench_library.py [--prompts 300] [--instances 3] [--runs 5]

value: `load_config` of N library prompts carried by K directory instances
       (`use = ["*"]`), i.e. N*K assets.
floor: `load_config` of the same N prompts declared on ONE instance (the file
       reads a config with these masters cannot avoid).
ratio: value / floor — near 1 means the fan-out costs little beyond the reads;
       K would mean every master is read once per instance.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from reconciler.config import load_config  # noqa: E402
from tests.conftest import make_wav  # noqa: E402


def best(config: Path, runs: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        n = len(load_config(config).all_assets())
        times.append(time.perf_counter() - started)
    return min(times), n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=300)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "masters").mkdir()
        for i in range(args.prompts):
            (root / "masters" / f"p{i:04d}.wav").write_bytes(make_wav(1.0, seed=i))
        lib = '[[library.glob]]\npattern = "masters/*.wav"\n'
        fan = root / "fan.toml"
        fan.write_text(lib + "".join(
            f'[providers.i{k}]\ntype = "directory"\npath = "out{k}"\nuse = ["*"]\n' for k in range(args.instances)
        ))
        one = root / "one.toml"
        one.write_text('[providers.i0]\ntype = "directory"\npath = "out0"\n[[providers.i0.glob]]\npattern = "masters/*.wav"\n')
        value, n_fan = best(fan, args.runs)
        floor, n_one = best(one, args.runs)
    print(f"library fan-out: {args.prompts} prompts x {args.instances} instances = {n_fan} assets "
          f"(floor: {n_one} assets on one instance), best of {args.runs}")
    print(f"  value {value * 1000:.1f} ms   floor {floor * 1000:.1f} ms   ratio {value / floor:.2f} "
          f"(would be ~{args.instances} if each instance re-read every master)")


if __name__ == "__main__":
    main()
