"""loccus against its emulator: what an apply and a no-op plan cost in
requests, with uploads that stay `avaitingFile` for `--reads` state checks.

A script, not a test (pytest ignores tests/bench): it prints figures.

    python tests/bench/bench_loccus.py [--assets 120] [--reads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from click.testing import CliRunner  # noqa: E402

from reconciler.cli import cli  # noqa: E402
from tests.conftest import make_wav  # noqa: E402
from tests.emulators.harness import EmulatorServer  # noqa: E402
from tests.emulators.loccus import LoccusEmulator  # noqa: E402


def kinds(emulator: LoccusEmulator) -> str:
    counts: Counter[str] = Counter()
    for r in emulator.requests:
        tail = r.path.split("/audios", 1)[1]
        names = {("GET", "list"): "list page", ("POST", "list"): "create", ("GET", "audio"): "state check",
                 ("GET", "file"): "download"}
        what = "list" if not tail else "file" if tail.endswith("/file") else "audio"
        counts[names.get((r.method, what), f"{r.method} {what}")] += 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=120)
    parser.add_argument("--reads", type=int, default=2, help="state checks before an upload is available")
    args = parser.parse_args()
    emulator = LoccusEmulator()
    emulator.processing(reads=args.reads)
    os.environ["LOCCUS_API_KEY"] = emulator.token
    root = Path(tempfile.mkdtemp())
    (root / "audio").mkdir()
    for i in range(args.assets):
        (root / "audio" / f"p{i:04d}.wav").write_bytes(make_wav(0.1, seed=i))
    runner = CliRunner()
    with EmulatorServer(emulator) as server:
        (root / "reconciler.toml").write_text(
            f'[providers.voice]\ntype = "loccus"\nowner = "acme"\nspace = "ivr-prompts"\n'
            f'base_url = "{server.url}"\nstate_poll_interval = 0.01\nvoice_checks = "off"\n'
            '[[providers.voice.glob]]\npattern = "audio/*.wav"\n'
        )
        cfg = str(root / "reconciler.toml")
        for label, argv in (
            ("apply (all new)", ["apply", "-c", cfg, "--auto-approve"]),
            ("no-op plan", ["plan", "-c", cfg]),
            ("no-op plan --verify-content", ["plan", "-c", cfg, "--verify-content"]),
        ):
            emulator.reset_log()
            started = time.monotonic()
            result = runner.invoke(cli, argv)
            assert result.exit_code == 0, result.output
            print(f"{label:30} {len(emulator.requests):5} requests ({kinds(emulator)}) "
                  f"in {time.monotonic() - started:.2f} s")


if __name__ == "__main__":
    main()
