"""Strict config values and honest did-you-mean (issue 12, section 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load_config
from reconciler.errors import ConfigError
from tests.conftest import make_wav

HEAD = '[providers.local]\ntype = "directory"\npath = "remote"\n'
ASSET = '[providers.local.assets.welcome]\nfile = "audio/welcome.wav"\n'


@pytest.fixture
def write(tmp_path: Path):
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "welcome.wav").write_bytes(make_wav())

    def write(body: str) -> Path:
        cfg = tmp_path / "reconciler.toml"
        cfg.write_text(body)
        return cfg

    return write


def error(cfg: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    return err.value.render()


@pytest.mark.parametrize(("body", "key"), [
    (HEAD + ASSET + 'protect = "yes"\n', "providers.local.assets.welcome.protect"),
    (HEAD + ASSET + "protect = 1\n", "providers.local.assets.welcome.protect"),
    (HEAD + 'prune = "true"\n' + ASSET, "providers.local.prune"),
    (HEAD + "prune = 0\n" + ASSET, "providers.local.prune"),
    (HEAD + 'max_deletes = "5"\n' + ASSET, "providers.local.max_deletes"),
    (HEAD + "max_deletes = 5.0\n" + ASSET, "providers.local.max_deletes"),
    (HEAD + 'max_delete_percent = "30"\n' + ASSET, "providers.local.max_delete_percent"),
    (HEAD + ASSET + "description = 5\n", "providers.local.assets.welcome.description"),
    (HEAD + '[[providers.local.glob]]\npattern = "audio/*.wav"\nprotect = "no"\n', "providers.local.glob.0.protect"),
    ('[settings]\nlockfile = 5\n' + HEAD, "settings.lockfile"),
])
def test_values_of_the_wrong_type_are_errors_not_coerced(write, body, key):
    text = error(write(body))
    assert key in text, text


def test_an_integer_percentage_is_still_a_number(write):
    d = load_config(write(HEAD + "max_delete_percent = 50\n" + ASSET))
    assert d.instances["local"].settings.max_delete_percent == 50.0


def test_did_you_mean_suggests_a_key_valid_here(write):
    text = error(write(HEAD + ASSET + "protekt = true\n"))
    assert "providers.local.assets.welcome.protekt: unknown key (did you mean 'protect'?)" in text


@pytest.mark.parametrize(("body", "key", "belongs"), [
    # valid on an asset, typed on the instance
    (HEAD + "protect = true\n" + ASSET, "providers.local.protect", "[providers.<instance>.assets.<key>]"),
    # valid on a directory instance, typed on an HTTP one
    ('[providers.stt]\ntype = "soniox"\npath = "x"\n', "providers.stt.path", "directory"),
    # valid on an HTTP instance, typed on a directory one
    (HEAD + 'token_env = "X"\n', "providers.local.token_env", "soniox"),
    # valid in [settings], typed on an instance
    (HEAD + 'lockfile = "x.lock"\n', "providers.local.lockfile", "[settings]"),
    # valid on an instance, typed in [settings]
    ('[settings]\nprune = true\n' + HEAD, "settings.prune", "[providers.<instance>]"),
])
def test_did_you_mean_never_suggests_the_typed_key_and_says_where_it_belongs(write, body, key, belongs):
    text = error(write(body))
    bare = key.rsplit(".", 1)[1]
    assert f"{key}: unknown key" in text
    assert f"did you mean '{bare}'" not in text
    assert f"'{bare}' belongs in" in text and belongs in text, text
