"""soniox against its emulator: what an apply, a no-op plan and a replace cost
in requests and time, and how the listing grows with the account's file
count (one request per 1,000 files, managed or not).

A script, not a test (pytest ignores tests/bench): it prints figures.

    python tests/bench/bench_soniox.py [--assets 50] [--unmanaged 2450] [--latency 0]
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
from tests.emulators.soniox import SonioxEmulator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=50)
    parser.add_argument("--unmanaged", type=int, default=2450, help="files a person uploaded besides ours")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the emulator waits per request")
    args = parser.parse_args()
    emulator = SonioxEmulator(max_files=args.assets + args.unmanaged + 10)
    emulator.faults.latency(args.latency)
    os.environ["SONIOX_API_KEY"] = emulator.token
    root = Path(tempfile.mkdtemp())
    (root / "audio").mkdir()
    for i in range(args.assets):
        (root / "audio" / f"p{i:04d}.wav").write_bytes(make_wav(0.1, seed=i))
    config = root / "reconciler.toml"

    with EmulatorServer(emulator) as server:
        config.write_text(
            f'[providers.stt]\ntype = "soniox"\nbase_url = "{server.url}"\n'
            '[[providers.stt.glob]]\npattern = "audio/*.wav"\n'
        )

        def run(label: str, *argv: str) -> None:
            emulator.reset_log()
            started = time.monotonic()
            result = CliRunner().invoke(cli, [*argv, "-c", str(config)], catch_exceptions=False)
            took = time.monotonic() - started
            kinds: dict[str, int] = {}
            for r in emulator.requests:
                kind = f"{r.method} /v1/files" + ("/{id}" if r.path.count("/") > 2 else "")
                kinds[kind] = kinds.get(kind, 0) + 1
            print(f"{label:<48} exit {result.exit_code}  {took:6.2f} s  {len(emulator.requests):5} requests  {kinds}")

        run(f"apply: {args.assets} new files", "apply", "--auto-approve")
        run("plan: no changes", "plan")
        for i in range(args.unmanaged):
            emulator.console_upload(f"other-{i}.wav", b"RIFF")
        run(f"plan: no changes, +{args.unmanaged} unmanaged files", "plan")
        (root / "audio" / "p0000.wav").write_bytes(make_wav(0.1, seed=10_000))
        run("apply: 1 replace (new file first, then delete)", "apply", "--auto-approve")


if __name__ == "__main__":
    main()
