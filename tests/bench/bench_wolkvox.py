"""wolkvox against its emulator: what an apply and a no-op plan cost in
requests (the daily quota counts them) and in time, with every request
holding its slot for `--work` seconds as a real server would.

A script, not a test (pytest ignores tests/bench): it prints figures.

    python tests/bench/bench_wolkvox.py [--assets 120] [--work 0.2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from click.testing import CliRunner  # noqa: E402

from reconciler.cli import cli  # noqa: E402
from tests.conftest import make_wav  # noqa: E402
from tests.emulators.harness import EmulatorServer  # noqa: E402
from tests.emulators.wolkvox import WolkvoxEmulator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=120)
    parser.add_argument("--work", type=float, default=0.2, help="seconds each request holds its slot")
    args = parser.parse_args()
    emulator = WolkvoxEmulator()
    os.environ["WOLKVOX_TOKEN"] = emulator.token
    root = Path(tempfile.mkdtemp())
    (root / "audio").mkdir()
    for i in range(args.assets):
        (root / "audio" / f"p{i:04d}.wav").write_bytes(make_wav(0.1, seed=i))
    config = root / "reconciler.toml"

    def run(*words: str) -> float:
        started = time.perf_counter()
        result = CliRunner().invoke(cli, [words[0], "-c", str(config), *words[1:]])
        assert result.exit_code == 0, result.output
        return time.perf_counter() - started

    with EmulatorServer(emulator) as server:
        config.write_text(
            f'[providers.wv]\ntype = "wolkvox"\nbase_url = "{server.url}/api/v2/"\n'
            '[[providers.wv.glob]]\npattern = "audio/*.wav"\n'
        )
        emulator.work_seconds = args.work
        seconds = run("apply", "--auto-approve")
        uploads = sum(1 for r in emulator.requests if r.method == "POST")
        print(f"apply {args.assets} new assets: {len(emulator.requests)} requests "
              f"({uploads} uploads of {sorted(len(u) for u in emulator.uploads)} files), "
              f"max {emulator.max_token_in_flight} in flight on the token, "
              f"{emulator.simultaneous_refusals} refused, {seconds:.2f} s")
        emulator.reset_log()
        seconds = run("plan", "--detailed-exitcode")
        print(f"no-op plan: {len(emulator.requests)} request(s) "
              f"{[f'{r.method} {r.path}' for r in emulator.requests]}, {seconds:.2f} s")


if __name__ == "__main__":
    main()
