"""Same master + recipe => byte-identical rendition, in two separate processes."""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from .signals import silence, sine, write

SCRIPT = """
import hashlib, json, sys
from pathlib import Path
from reconciler.audio.recipe import AudioSettings, resolve_recipe
from reconciler.audio.render import render_bytes
out = {}
for i, settings in enumerate(json.loads(sys.argv[2])):
    data, facts = render_bytes(Path(sys.argv[1]), resolve_recipe(AudioSettings(**settings), master_format="wav"))
    out[i] = [hashlib.sha256(data).hexdigest(), facts.model_dump()]
print(json.dumps(out))
"""

RECIPES = [
    {"format": "wav", "encoding": "ulaw", "sample_rate": 8000, "channels": 1, "loudness": -19, "trim_silence": True},
    {"format": "wav", "encoding": "alaw", "sample_rate": 8000, "channels": 1},
    {"format": "wav", "encoding": "pcm_16", "sample_rate": 16000, "loudness": -16},
    {"format": "wav", "encoding": "pcm_8", "loudness": -23},
    {"format": "aiff", "encoding": "pcm_24", "sample_rate": 44100},
    {"format": "au"},
    {"format": "flac", "sample_rate": 22050, "channels": 1, "loudness": -18},
    {"format": "mp3", "sample_rate": 8000, "channels": 1, "loudness": -19},
    {"format": "mp3", "sample_rate": 44100},
    {"format": "ogg", "loudness": -19},
    {"format": "ogg", "sample_rate": 16000, "channels": 1},
]


@pytest.mark.parametrize("master_format", ["wav", "flac"])
def test_renders_are_byte_identical_across_processes(tmp_path, master_format):
    rng = np.random.default_rng(7)
    x = np.concatenate([silence(0.4, 48000, 2), sine(440, 1.5, 48000, dbfs=-14, channels=2), silence(0.6, 48000, 2)])
    x[:, 1] += 0.01 * rng.standard_normal(x.shape[0])  # not a pure tone: codecs have work to do
    master = write(tmp_path / f"m.{master_format}", x, 48000, master_format)
    args = [sys.executable, "-c", SCRIPT, str(master), json.dumps(RECIPES)]
    # the two processes side by side (each pays the audio stack's import, most of its time)
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    runs = [json.loads(out) for out, _ in outputs]
    assert runs[0] == runs[1]
    assert len({sha for sha, _ in runs[0].values()}) == len(RECIPES)  # and they are different renditions
    # the bytes hashed in the subprocesses are the bytes this process renders too
    from pathlib import Path

    from reconciler.audio.recipe import AudioSettings, resolve_recipe
    from reconciler.audio.render import render_bytes

    data, _ = render_bytes(Path(master), resolve_recipe(AudioSettings(**RECIPES[0])))
    assert hashlib.sha256(data).hexdigest() == runs[0]["0"][0]
