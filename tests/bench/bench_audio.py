"""Audio renditions (issue 11): every figure as value, floor and ratio.

A script, not a test (pytest ignores tests/bench): it prints figures and
asserts nothing about time.

    python tests/bench/bench_audio.py [--prompts 200] [--seconds 5] [--plan-assets 1000] [--skip-plan]

Rows:
1. render throughput, N x S s masters (48 kHz stereo PCM_16 WAV, speech-like:
   tones gated in syllables, with noise) -> 8 kHz mono µ-law WAV at -19 LUFS
   with trim: prompts/s and audio-seconds/s of the whole pipeline (decode, mix,
   resample, trim, loudness and true-peak measurement, gain, encode, verify).
   Floor: the same masters decoded, mixed, resampled and encoded with nothing
   measured (the least any renderer must do). Ratio = floor time / render time
   inverted, i.e. how many times slower than the floor.
2. peak RSS of a fresh process rendering 20 and 200 prompts (each master is
   written just before it is rendered and deleted after, as a plan does one
   asset at a time). Floor: the same process rendering 1 prompt. Goal: the
   ratio does not grow with the number of prompts.
3. cache-hit cost per asset (RenditionCache.get: read facts + bytes, verify
   their sha256) vs the floor every plan pays anyway: reading and hashing the
   master.
4. no-op `reconciler plan` with P assets rendered (an `audio` table on the
   instance) vs the same P assets uploaded as they are (no `audio` table), both
   after an apply; best of 5, as wall time and as the process's CPU time (on a
   shared machine the CPU time is the steadier figure). Goal: within 10 %.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from reconciler.audio.cache import RenditionCache  # noqa: E402
from reconciler.audio.decode import decode_file  # noqa: E402
from reconciler.audio.recipe import AudioSettings, resolve_recipe  # noqa: E402
from reconciler.audio.render import encode, mix_channels, render_bytes, resample  # noqa: E402

TELEPHONY = {"format": "wav", "encoding": "ulaw", "sample_rate": 8000, "channels": 1,
             "loudness": -19.0, "trim_silence": True}


def row(measure: str, value: float, floor: float | None, unit: str, note: str = "", higher_is_better=False) -> None:
    if floor:
        ratio = floor / value if higher_is_better else value / floor
        ratio_s = f"{ratio:5.2f}x"
    else:
        ratio_s = "   - "
    floor_s = f"{floor:10.3f} {unit}" if floor is not None else "-"
    print(f"{measure:<52} {value:10.3f} {unit}  floor {floor_s}  ratio {ratio_s}  {note}".rstrip(), flush=True)


def master_samples(index: int, seconds: float, rate: int = 48000) -> np.ndarray:
    """Speech-like stereo master: syllable-gated tones over a noise floor,
    distinct per index, with a little silence at both ends."""
    rng = np.random.default_rng(index)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 110 + 10 * (index % 13)
    voice = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    syllables = (np.sin(2 * np.pi * 3.5 * t) > 0).astype(float)
    edge = int(0.3 * rate)
    syllables[:edge] = syllables[-edge:] = 0
    mono = 0.12 * voice * syllables + 0.0005 * rng.standard_normal(n)
    return np.stack([mono, 0.9 * mono], axis=1)


def write_master(path: Path, index: int, seconds: float) -> Path:
    sf.write(path, master_samples(index, seconds), 48000, subtype="PCM_16")
    return path


def bench_throughput(work: Path, prompts: int, seconds: float) -> None:
    recipe = resolve_recipe(AudioSettings(**TELEPHONY), master_format="wav")
    render_total = floor_total = 0.0
    render_bytes(write_master(work / "warm.wav", 9999, 1.0), recipe)  # imports, filter design
    for i in range(prompts):
        path = write_master(work / f"m{i}.wav", i, seconds)
        started = time.perf_counter()
        render_bytes(path, recipe)
        render_total += time.perf_counter() - started
        started = time.perf_counter()
        decoded = decode_file(path)
        samples, rate = resample(mix_channels(decoded.samples, 1), decoded.sample_rate, 8000)
        encode(samples, rate, recipe)
        floor_total += time.perf_counter() - started
        path.unlink()
    audio = prompts * seconds
    row(f"render {prompts} x {seconds:g} s 48k stereo -> 8k mono µ-law", prompts / render_total,
        prompts / floor_total, "prompts/s", "floor: decode+mix+resample+encode only", higher_is_better=True)
    row("  same, audio-seconds rendered per second", audio / render_total, audio / floor_total,
        "audio-s/s", higher_is_better=True)


RSS_CHILD = """
import resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tests.bench.bench_audio import TELEPHONY, write_master
from reconciler.audio.recipe import AudioSettings, resolve_recipe
from reconciler.audio.render import render_bytes
recipe = resolve_recipe(AudioSettings(**TELEPHONY), master_format="wav")
work, count, seconds = Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
for i in range(count):
    path = write_master(work / f"r{i}.wav", i, seconds)
    render_bytes(path, recipe)
    path.unlink()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss(work: Path, count: int, seconds: float) -> float:
    """Peak RSS in MB of a fresh process rendering `count` prompts."""
    out = subprocess.run([sys.executable, "-c", RSS_CHILD, str(REPO), str(work), str(count), str(seconds)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024  # ru_maxrss is KiB on Linux


def bench_rss(work: Path, seconds: float) -> None:
    floor = peak_rss(work, 1, seconds)
    for count in (20, 200):
        row(f"peak RSS rendering {count} prompts of {seconds:g} s", peak_rss(work, count, seconds), floor, "MB",
            "floor: the same process rendering 1 prompt")


def bench_cache(work: Path, assets: int = 100, seconds: float = 5.0) -> None:
    recipe = resolve_recipe(AudioSettings(**TELEPHONY), master_format="wav")
    cache = RenditionCache(work / ".reconciler" / "cache")
    masters = []
    for i in range(assets):
        path = write_master(work / f"c{i}.wav", i, seconds)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        cache.ensure(path, sha, recipe)
        masters.append((path, sha))
    hash_times, get_times = [], []
    for _ in range(3):
        started = time.perf_counter()
        for path, _sha in masters:
            hashlib.sha256(path.read_bytes()).hexdigest()
        hash_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        for _path, sha in masters:
            assert cache.get(sha, recipe) is not None
        get_times.append(time.perf_counter() - started)
    per_get = min(get_times) / assets * 1000
    per_hash = min(hash_times) / assets * 1000
    size = masters[0][0].stat().st_size / 1e6
    row(f"cache hit per asset ({seconds:g} s master, {size:.1f} MB)", per_get, per_hash, "ms",
        "floor: read + sha256 of the master")


# --- no-op plan with renditions vs without (needs the `audio` config key) ---

def reconciler(config: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    return reconciler_timed(config, *args)[::2]  # (wall, proc)


def reconciler_timed(config: Path, *args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, CPU s of the child (user + sys), process). CPU time is the steadier
    figure on a shared machine, where wall time mostly measures the neighbours."""
    env = {**os.environ, "NO_COLOR": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "reconciler", *args, "-c", str(config)],
                          capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def plan_world(root: Path, assets: int, audio: bool) -> Path:
    (root / "masters").mkdir(parents=True)
    for i in range(assets):
        # 1 s, 16 kHz mono masters: small enough to generate 1,000 quickly, real enough to render
        samples = master_samples(i, 1.0, 16000)[:, :1]
        sf.write(root / "masters" / f"p{i:05d}.wav", samples, 16000, subtype="PCM_16")
    lines = ["[providers.pbx]", 'type = "directory"', 'path = "build/sounds"']
    if audio:
        lines.append('audio = { format = "wav", encoding = "ulaw", sample_rate = 8000, channels = 1, loudness = -19 }')
    lines += ["", "[[providers.pbx.glob]]", 'pattern = "masters/*.wav"', ""]
    config = root / "reconciler.toml"
    config.write_text("\n".join(lines))
    return config


def bench_noop_plan(work: Path, assets: int, runs: int = 5) -> None:
    results = {}
    for audio in (False, True):
        root = work / ("with-audio" if audio else "no-audio")
        config = plan_world(root, assets, audio)
        _, proc = reconciler(config, "validate")
        if proc.returncode != 0:
            why = (proc.stderr or proc.stdout).strip().splitlines()
            print(f"no-op plan, {assets:,} assets with renditions: SKIPPED: this main does not accept the "
                  f"`audio` table yet ({why[-1] if why else 'validate failed'})")
            return
        _, proc = reconciler(config, "apply", "--auto-approve")
        if proc.returncode != 0:
            sys.exit(f"apply failed:\n{proc.stdout}\n{proc.stderr}")
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu, proc = reconciler_timed(config, "plan")
            if "No changes" not in proc.stdout:
                sys.exit(f"expected a no-op plan, got:\n{proc.stdout}\n{proc.stderr}")
            walls.append(wall)
            cpus.append(cpu)
        results[audio] = (min(walls), min(cpus))
    note = "floor: same assets without an audio table; goal ratio <= 1.10"
    row(f"no-op plan, {assets:,} assets rendered (cache hits), wall", results[True][0], results[False][0], "s", note)
    row(f"no-op plan, {assets:,} assets rendered (cache hits), CPU", results[True][1], results[False][1], "s",
        "user + sys of the process")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--plan-assets", type=int, default=1000)
    parser.add_argument("--skip-plan", action="store_true")
    args = parser.parse_args()
    print(f"bench_audio: {sys.version.split()[0]}, {os.cpu_count()} CPUs; peak RSS of this process so far "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    work = Path(tempfile.mkdtemp(prefix="bench-audio-"))
    try:
        bench_throughput(work, args.prompts, args.seconds)
        bench_rss(work, args.seconds)
        bench_cache(work)
        if not args.skip_plan:
            bench_noop_plan(work, args.plan_assets)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
