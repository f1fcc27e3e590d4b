"""A master edited between the plan and its upload, on every provider and both
upload paths (a small body read whole, a large one streamed): that change fails
with "changed after it was planned", nothing of the edited bytes reaches the
remote, the lockfile does not record them, and a replace leaves the old copy
where it was (no provider deletes first and then finds the file changed)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import wave

import pytest

from reconciler.applier import BATCH_VERIFY_MAX
from reconciler.config import load_config
from reconciler.engine import plan_and_apply
from reconciler.lockstore import LockfileStore
from reconciler.payload import INLINE_MAX
from tests.e2e.crash_env import INSTANCE, KINDS, Env

SMALL, MIDDLE, LARGE = 3_000, 200_000, INLINE_MAX + 50_000


def quiet_wav(n_bytes: int, seed: int) -> bytes:
    """A valid 8 kHz 8-bit mono WAV of `n_bytes`, never near full scale."""
    noise = hashlib.shake_256(seed.to_bytes(4, "big")).digest(n_bytes - 44)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(96 + (b & 63) for b in noise))
    return buf.getvalue()


def flipped(data: bytes) -> bytes:
    """Same size, one sample changed (still quiet): only the digest can tell."""
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0x01
    return bytes(changed)


def apply_editing(env: Env, edit) -> tuple[object, dict]:
    desired_state = load_config(env.config)

    def confirm(plan) -> bool:
        edit()
        return True

    with LockfileStore(env.lock) as store:
        outcome = asyncio.run(plan_and_apply(desired_state, store, confirm=confirm))
        return outcome, {a: e.sha256 for a, e in store.state.assets.items()}


@pytest.fixture(params=sorted(KINDS))
def env(request, tmp_path, monkeypatch):
    kind = KINDS[request.param]()
    made = Env(kind, tmp_path)
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    yield made
    made.close()


@pytest.mark.parametrize("size", [SMALL, MIDDLE, LARGE])
def test_a_master_edited_before_its_create_is_not_stored(env, size):
    old, kept = quiet_wav(size, 1), quiet_wav(SMALL, 2)
    env.write({"edited": ("edited", old), "kept": ("kept", kept)})
    [path] = (env.root / "audio").glob("edited-*.wav")

    outcome, recorded = apply_editing(env, lambda: path.write_bytes(flipped(old)))

    errors = outcome.report.errors
    assert errors and all("edited" in e and "changed after it was planned" in e for e in errors)
    assert f"{INSTANCE}.edited" not in recorded
    held = dict(env.remote())
    if size <= BATCH_VERIFY_MAX or env.kind.type_name != "wolkvox":
        # the edit fails its own change alone: the other file is uploaded and recorded
        assert len(errors) == 1 and f"{INSTANCE}.kept" in recorded and held.get("kept") == kept
    else:
        # a same-size edit of a large file is caught while it streams: its whole batch fails
        assert f"{INSTANCE}.kept" not in recorded and "kept" not in held
    assert flipped(old) not in held.values() and old not in held.values()


@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_a_master_edited_before_its_replace_leaves_the_old_copy(env, size):
    old, new = quiet_wav(size, 1), quiet_wav(size, 3)
    env.write({"edited": ("edited", old)})
    outcome, recorded = apply_editing(env, lambda: None)
    assert outcome.report is not None and not outcome.report.errors
    assert recorded[f"{INSTANCE}.edited"] == hashlib.sha256(old).hexdigest()

    env.write({"edited": ("edited", new)})  # the new master, planned as a replace
    [path] = (env.root / "audio").glob(f"edited-{hash(new) & 0xFFFFFF:06x}.wav")
    outcome, recorded = apply_editing(env, lambda: path.write_bytes(flipped(new)))

    [error] = outcome.report.errors
    assert "changed after it was planned" in error
    assert recorded[f"{INSTANCE}.edited"] == hashlib.sha256(old).hexdigest()
    held = [data for _, data in env.remote()]
    assert old in held  # never deleted ahead of an upload that could not happen
    assert flipped(new) not in held and new not in held


def test_a_master_grown_before_its_create_fails_alone_even_in_a_batch(env):
    """A change of size is caught by a stat before any request is built."""
    old, kept = quiet_wav(MIDDLE, 1), quiet_wav(SMALL, 2)
    env.write({"edited": ("edited", old), "kept": ("kept", kept)})
    [path] = (env.root / "audio").glob("edited-*.wav")

    outcome, recorded = apply_editing(env, lambda: path.write_bytes(old + b"\0\0"))

    [error] = outcome.report.errors
    assert "edited" in error and "changed after it was planned" in error
    assert f"{INSTANCE}.edited" not in recorded and f"{INSTANCE}.kept" in recorded
    assert dict(env.remote()).get("kept") == kept
