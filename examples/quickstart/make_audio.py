"""Writes two of the quickstart's masters (run once; the output is committed):

- audio/welcome.wav: a studio-style master, a 0.5 s two-note chime,
  44.1 kHz stereo 16-bit — what the `audio` recipe renders to 8 kHz mono µ-law;
- audio/goodbye.wav: a 0.8 s tone, 8 kHz mono 8-bit (long enough for a
  BS.1770 loudness measurement, which needs 400 ms blocks).

    python examples/quickstart/make_audio.py
"""

from pathlib import Path

import numpy as np
import soundfile as sf

AUDIO = Path(__file__).parent / "audio"


def faded(t: np.ndarray, length: float) -> np.ndarray:
    return np.minimum(1.0, np.minimum(t, length - t) / 0.02)  # 20 ms fades: no clicks


rate = 44100
t = np.arange(int(rate * 0.5)) / rate
notes = np.where(t < 0.25, np.sin(2 * np.pi * 660 * t), np.sin(2 * np.pi * 880 * t))
left = 0.25 * notes * faded(t, 0.5)
right = 0.8 * left  # a little off-centre, as a stereo export would be
sf.write(AUDIO / "welcome.wav", np.stack([left, right], axis=1), rate, subtype="PCM_16")

rate = 8000
t = np.arange(int(rate * 0.8)) / rate
sf.write(AUDIO / "goodbye.wav", 0.4 * np.sin(2 * np.pi * 523.25 * t) * faded(t, 0.8), rate, subtype="PCM_U8")
