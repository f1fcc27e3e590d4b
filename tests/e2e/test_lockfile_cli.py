"""The lockfile through the CLI (issue 12, section 4): the audio facts of each
asset are recorded on create, adopt and import and shown before -> after; old
lockfiles without them load; a newer lockfile, a missing header field or an
entry of another type is one Error paragraph, exit 1, lockfile untouched."""

from __future__ import annotations

import io
import math
import tomllib
import wave

import pytest
import tomli_w


def tone(rate: int = 8000, channels: int = 1, seconds: float = 0.5, seed: int = 0) -> bytes:
    """16-bit PCM WAV of a real sine tone at `rate` Hz with `channels` channels."""
    n = int(rate * seconds)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = bytearray()
        for i in range(n):
            v = int(8000 * math.sin(2 * math.pi * (440 + seed) * i / rate))
            frames += v.to_bytes(2, "little", signed=True) * channels
        w.writeframes(bytes(frames))
    return buf.getvalue()


@pytest.fixture
def ws(workspace):
    workspace.audio("welcome.wav", tone())
    workspace.write(
        '[providers.local]\ntype = "directory"\npath = "remote"\n'
        '[providers.local.assets.welcome]\nfile = "audio/welcome.wav"\n'
    )
    return workspace


def entry(ws) -> dict:
    return tomllib.loads(ws.lock.read_text())["assets"]["local.welcome"]


def test_create_records_the_audio_facts_and_a_replace_shows_them_before_and_after(ws, cli):
    assert cli("apply", "--auto-approve")[0] == 0
    e = entry(ws)
    assert (e["format"], e["sample_rate"], e["channels"]) == ("wav", 8000, 1)
    assert e["duration"] == pytest.approx(0.5)
    ws.audio("welcome.wav", tone(rate=16000, channels=2, seconds=0.75))
    code, out, err = cli("plan")
    assert "~ sample_rate = 8000 Hz -> 16000 Hz" in out, out
    assert "~ channels    = 1 -> 2" in out, out
    assert "~ duration    = 0.50 s -> 0.75 s" in out, out
    md = cli("plan", "--format", "markdown")[1]
    assert "| sample rate | 8000 Hz | **16000 Hz** |" in md and "| channels | 1 | **2** |" in md
    import json
    change = json.loads(cli("plan", "--json")[1])["changes"][0]
    assert change["before"]["sample_rate"] == 8000 and change["after"]["sample_rate"] == 16000
    assert change["before"]["channels"] == 1 and change["after"]["channels"] == 2


def test_adopt_and_import_record_the_audio_facts(ws, cli):
    ws.target.mkdir()
    (ws.target / "welcome.wav").write_bytes(tone())  # already there, same bytes: adopted
    assert cli("apply", "--auto-approve")[0] == 0
    e = entry(ws)
    assert (e["sample_rate"], e["channels"], e["format"]) == (8000, 1, "wav") and e["duration"] == pytest.approx(0.5)
    assert cli("state", "rm", "local.welcome")[0] == 0
    code, out, err = cli("import", "local.welcome", "welcome.wav")
    assert code == 0, err
    e = entry(ws)
    assert (e["sample_rate"], e["channels"], e["format"]) == (8000, 1, "wav") and e["duration"] == pytest.approx(0.5)


def test_import_of_other_content_records_the_remote_facts(ws, cli):
    ws.target.mkdir()
    (ws.target / "welcome.wav").write_bytes(tone(rate=16000, seconds=0.25, seed=5))
    assert cli("import", "local.welcome", "welcome.wav")[0] == 0
    e = entry(ws)
    assert e["sample_rate"] == 16000 and e["duration"] == pytest.approx(0.25)
    code, out, err = cli("plan")
    assert "~ sample_rate = 16000 Hz -> 8000 Hz" in out, out


def test_old_lockfile_without_the_facts_loads_and_plans_nothing(ws, cli):
    assert cli("apply", "--auto-approve")[0] == 0
    data = tomllib.loads(ws.lock.read_text())
    for field in ("duration", "format", "sample_rate", "channels"):
        data["assets"]["local.welcome"].pop(field)
    ws.lock.write_text(tomli_w.dumps(data))
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0, out + err


def refused(ws, cli, *needles: str) -> str:
    before = ws.lock.read_bytes()
    for command in (("plan",), ("apply", "--auto-approve"), ("drift",), ("import", "local.welcome", "welcome.wav")):
        code, out, err = cli(*command)
        assert code == 1, (command, out, err)
        assert err.startswith("Error: ") and err.count("Error:") == 1 and "Traceback" not in err
        for needle in needles:
            assert needle in err, (command, err)
    assert ws.lock.read_bytes() == before
    return err


def test_newer_lockfile_says_upgrade(ws, cli):
    assert cli("apply", "--auto-approve")[0] == 0
    data = tomllib.loads(ws.lock.read_text())
    data["version"] = 7
    data["assets"]["local.welcome"]["rendition_v7"] = {"x": 1}
    ws.lock.write_text(tomli_w.dumps(data))
    err = refused(ws, cli, "written by a newer version of reconciler (format 7, this one reads up to 1)", "pip install -U")
    assert "corrupt" not in err


@pytest.mark.parametrize("field", ["serial", "lineage"])
def test_missing_header_field(ws, cli, field):
    assert cli("apply", "--auto-approve")[0] == 0
    data = tomllib.loads(ws.lock.read_text())
    del data[field]
    ws.lock.write_text(tomli_w.dumps(data))
    refused(ws, cli, f"has no `{field}`", "git checkout")


def test_entry_of_another_type_is_named(ws, cli):
    assert cli("apply", "--auto-approve")[0] == 0
    data = tomllib.loads(ws.lock.read_text())
    data["assets"]["local.welcome"]["type"] = "soniox"
    ws.lock.write_text(tomli_w.dumps(data))
    # import is refused earlier (already managed); plan, apply and drift name the entry
    before = ws.lock.read_bytes()
    for command in (("plan",), ("apply", "--auto-approve"), ("drift",)):
        code, out, err = cli(*command)
        assert code == 1 and "local.welcome: recorded as type soniox, but instance 'local' is type directory" in err
        assert "state rm 'local.*'" in err and "Traceback" not in err
    assert ws.lock.read_bytes() == before


