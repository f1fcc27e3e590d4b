"""The README's quickstart, as a user types it, on a copy of the example."""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "quickstart"


def test_quickstart_plan_apply_noop(tmp_path, run_cli):
    shutil.copytree(EXAMPLE / "audio", tmp_path / "audio")
    shutil.copy(EXAMPLE / "reconciler.toml", tmp_path / "reconciler.toml")
    cfg = str(tmp_path / "reconciler.toml")

    code, out, _ = run_cli("plan", "-c", cfg, "--detailed-exitcode")
    assert code == 2
    assert "+ sounds.welcome" in out
    assert "Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy." in out

    code, out, _ = run_cli("apply", "-c", cfg, "--auto-approve")
    assert code == 0, out
    assert "Apply complete: 3 added, 0 changed, 0 replaced, 0 destroyed." in out
    assert sorted(p.name for p in (tmp_path / "build" / "sounds").glob("*.wav")) == [
        "goodbye.wav", "hold-music.wav", "welcome.wav",
    ]

    code, out, _ = run_cli("plan", "-c", cfg, "--detailed-exitcode")
    assert code == 0
    assert "No changes. Remote state matches the configuration." in out
