"""The README's quickstart, as a user types it, on a copy of the example."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import soundfile as sf

EXAMPLE = Path(__file__).parents[2] / "examples" / "quickstart"


def test_quickstart_plan_apply_noop(tmp_path, run_cli):
    shutil.copytree(EXAMPLE / "audio", tmp_path / "audio")
    shutil.copy(EXAMPLE / "reconciler.toml", tmp_path / "reconciler.toml")
    cfg = str(tmp_path / "reconciler.toml")

    code, out, _ = run_cli("plan", "-c", cfg, "--detailed-exitcode")
    assert code == 2
    assert "+ sounds.welcome" in out
    assert "audio/welcome.wav (WAV 44100 Hz 2 ch, 0.50 s," in out
    assert "→ rendition wav/ulaw 8000 Hz 1 ch, 0.50 s, -19.0 LUFS" in out
    assert "Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy." in out

    code, out, _ = run_cli("apply", "-c", cfg, "--auto-approve")
    assert code == 0, out
    assert "Apply complete: 3 added, 0 changed, 0 replaced, 0 destroyed." in out
    sounds = tmp_path / "build" / "sounds"
    assert sorted(p.name for p in sounds.glob("*.wav")) == ["goodbye.wav", "hold-music.wav", "welcome.wav"]
    # the studio master (44.1 kHz stereo) went to the PBX folder as 8 kHz mono µ-law
    master = sf.info(str(tmp_path / "audio" / "welcome.wav"))
    assert (master.samplerate, master.channels) == (44100, 2)
    for path in sounds.glob("*.wav"):
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "ULAW"), path.name
    lock = tomllib.loads((tmp_path / "reconciler.lock").read_text())["assets"]
    assert lock["sounds.welcome"]["rendition"]["sample_rate"] == 8000
    assert lock["sounds.welcome"]["recipe"]["key"] == "wav/ulaw/8000/1/lufs=-19.0/tp=-1.0/trim=0"

    code, out, _ = run_cli("plan", "-c", cfg, "--detailed-exitcode")
    assert code == 0
    assert "No changes. Remote state matches the configuration." in out
    code, out, _ = run_cli("lint", "-c", cfg)
    assert code == 0 and "Lint: no findings in 3 asset(s)." in out
