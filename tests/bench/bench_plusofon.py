"""Plusofon figures: the emulator on loopback, N assets applied, then a no-op
plan and a `plan --verify-content`, with the HTTP requests each cost per
endpoint — once for each answer to a create (the documented `{"success":
true}` without an id, and one carrying the id).

A script, not a test (pytest ignores tests/bench): it prints figures and
asserts nothing about time. The CLI runs in-process (click's runner), so the
times leave out interpreter start-up.

    python tests/bench/bench_plusofon.py [--assets 100] [--page-size 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))

from click.testing import CliRunner  # noqa: E402

from reconciler.cli import cli  # noqa: E402
from tests.conftest import make_wav  # noqa: E402
from tests.emulators.harness import EmulatorServer  # noqa: E402
from tests.emulators.plusofon import PlusofonEmulator  # noqa: E402


def measure(create_response: str, assets: int, page_size: int) -> None:
    emulator = PlusofonEmulator(create_response=create_response, page_size=page_size)
    os.environ["PLUSOFON_TOKEN"] = emulator.token
    root = Path(tempfile.mkdtemp())
    try:
        (root / "audio").mkdir()
        for i in range(assets):
            (root / "audio" / f"p{i:04}.wav").write_bytes(make_wav(0.05, seed=i))
        config = root / "reconciler.toml"
        runner = CliRunner()
        with EmulatorServer(emulator) as server:
            config.write_text(
                f'[providers.main]\ntype = "plusofon"\nbase_url = "{server.url}"\n'
                '[[providers.main.glob]]\npattern = "audio/*.wav"\n'
            )
            for label, args in (
                ("apply", ["apply", "--auto-approve"]),
                ("no-op plan", ["plan"]),
                ("plan --verify-content", ["plan", "--verify-content"]),
            ):
                emulator.reset_log()
                started = time.monotonic()
                result = runner.invoke(cli, [*args, "-c", str(config)])
                elapsed = time.monotonic() - started
                if result.exit_code != 0:
                    raise SystemExit(f"{label} failed:\n{result.output}")
                counts = emulator.counters()
                lists = counts.pop("GET /api/v1/media", 0)
                downloads = sum(v for k, v in counts.items() if k.endswith("/file"))
                other = {k: v for k, v in counts.items() if not k.endswith("/file")}
                print(f"  {label:<22} {sum(emulator.counters().values()):>5} requests "
                      f"({lists} list pages, {downloads} downloads, {other or 'nothing else'}) "
                      f"in {elapsed:.2f} s")
    finally:
        shutil.rmtree(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=15)
    args = parser.parse_args()
    for mode, what in (("seed", "create answered {success: true}, no id (as documented)"),
                       ("id", "create answered with the id")):
        print(f"{args.assets} assets, {args.page_size} per page; {what}:")
        measure(mode, args.assets, args.page_size)


if __name__ == "__main__":
    main()
