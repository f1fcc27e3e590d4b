"""Control characters in names and descriptions — from the config, the lockfile
or a provider's listing — are shown escaped in text and Markdown and never
reach the terminal raw; JSON keeps them exact (issue 12, section 4)."""

from __future__ import annotations

import json
import tomllib

import pytest
import tomli_w

from tests.conftest import make_wav

EVIL = "Main\x1b[31m greeting\nFAKE LINE\u202e\x07"
ESCAPED = "Main\\x1b[31m greeting\\nFAKE LINE\\u202e\\x07"
RAW = ("\x1b", "\x07", "\u202e")


@pytest.fixture
def ws(workspace):
    workspace.audio("welcome.wav", make_wav(seed=1))
    workspace.audio("hold.wav", make_wav(seed=2))
    workspace.write(
        '[providers.local]\ntype = "directory"\npath = "remote"\n'
        f'[providers.local.assets.welcome]\nfile = "audio/welcome.wav"\ndescription = {json.dumps(EVIL)}\n'
        '[providers.local.assets.hold]\nfile = "audio/hold.wav"\n'
    )
    return workspace


def clean(text: str) -> None:
    for ch in RAW:
        assert ch not in text, repr(text)
    assert "\nFAKE LINE" not in text


def test_config_description_is_escaped_in_text_and_markdown_exact_in_json(ws, cli):
    code, out, err = cli("plan")
    assert code == 0, err
    clean(out)
    assert ESCAPED in out
    code, out, err = cli("plan", "--format", "markdown")
    clean(out)
    assert "Main\\x1b[31m greeting\\nFAKE LINE\\u202e\\x07" in out
    data = json.loads(cli("plan", "--json")[1])
    welcome = next(c for c in data["changes"] if c["address"] == "local.welcome")
    assert welcome["after"]["description"] == EVIL
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, err
    clean(out + err)


def test_provider_listing_names_are_escaped(ws, cli):
    assert cli("apply", "--auto-approve")[0] == 0
    evil_file = "stray\x1b]0;owned\x07\u202e.wav"
    (ws.target / evil_file).write_bytes(make_wav(seed=9))
    code, out, err = cli("plan")
    assert code == 0, err
    clean(out)
    assert "stray\\x1b]0;owned\\x07\\u202e.wav" in out
    code, out, err = cli("drift")
    clean(out + err)
    assert "stray\\x1b]0;owned" in out
    ws.write(ws.config.read_text().replace('path = "remote"', 'path = "remote"\nprune = true'))
    for fmt in ("text", "markdown"):
        code, out, err = cli("plan", "--format", fmt)
        clean(out)
        assert "stray\\x1b]0;owned" in out
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, err
    clean(out + err)
    assert not (ws.target / evil_file).exists()


def test_lockfile_names_are_escaped(ws, cli):
    assert cli("apply", "--auto-approve")[0] == 0
    data = tomllib.loads(ws.lock.read_text())
    data["assets"]["local.hold"]["description"] = "old\x1b[2Jhold"
    ws.lock.write_text(tomli_w.dumps(data))
    code, out, err = cli("plan")
    clean(out)
    assert "old\\x1b[2Jhold" in out
    code, out, err = cli("output")
    clean(out)
    code, out, err = cli("state", "show", "local.hold")
    clean(out)


def test_error_messages_escape_what_the_user_wrote(workspace, cli_any):
    workspace.audio("welcome.wav", make_wav(seed=1))
    workspace.write(
        '[providers.local]\ntype = "directory"\npath = "remote"\n'
        '[providers.local.assets."bad\\u001b[31mkey"]\nfile = "audio/welcome.wav"\n'
    )
    code, out, err = cli_any("validate", "-c", str(workspace.config))
    assert code == 1
    clean(err)
    assert "bad\\x1b[31mkey" in err


@pytest.fixture
def cli_any(run_cli):
    return run_cli
