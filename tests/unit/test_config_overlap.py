"""Overlapping instances are refused at config load (issue 12, section 1): a
`directory` folder holding the config's folder, an audio source, the lockfile or
another instance's folder (either way round, through `..` and symlinks), and two
instances of one HTTP account where one prunes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.config import load_config
from reconciler.errors import ConfigError
from tests.conftest import make_wav

ASSET = """
[providers.{inst}.assets.welcome]
file = "audio/welcome.wav"
"""


def directory(inst: str, path: str, prune: bool = False) -> str:
    return f'[providers.{inst}]\ntype = "directory"\npath = "{path}"\nprune = {str(prune).lower()}\n'


@pytest.fixture
def project(tmp_path: Path):
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "welcome.wav").write_bytes(make_wav())

    def write(body: str) -> Path:
        cfg = tmp_path / "reconciler.toml"
        cfg.write_text(body)
        return cfg

    return write


def refused(cfg: Path, *needles: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    text = err.value.render()
    assert str(cfg) in text and "instances overlap" in text
    for needle in needles:
        assert needle in text, text
    assert "a folder of its own" in text  # the way out
    return text


@pytest.mark.parametrize("path", [".", "./", "..", "sub/..", "audio/..", os.sep])
def test_folder_holding_the_config_folder(project, path):
    refused(project(directory("local", path, prune=True) + ASSET.format(inst="local")),
            "providers.local.path", "the config's folder")


def test_folder_holding_an_audio_source(project):
    text = refused(project(directory("local", "audio") + ASSET.format(inst="local")), "providers.local.path")
    assert "welcome.wav of local.welcome" in text


def test_folder_holding_the_lockfile(project):
    cfg = project('[settings]\nlockfile = "state/reconciler.lock"\n' + directory("local", "state"))
    refused(cfg, "the lockfile")


def test_folder_reached_through_a_symlink(project, tmp_path):
    (tmp_path / "out").symlink_to(tmp_path / "audio")
    text = refused(project(directory("local", "out") + ASSET.format(inst="local")), "providers.local.path")
    assert "welcome.wav" in text


def test_source_reached_through_a_symlink_inside_the_folder(project, tmp_path):
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "welcome.wav").symlink_to(tmp_path / "audio" / "welcome.wav")
    cfg = project(directory("local", "build") + '[providers.local.assets.w]\nfile = "build/welcome.wav"\n')
    refused(cfg, "providers.local.path")


@pytest.mark.parametrize(("a", "b"), [("out", "out"), ("out", "out/en"), ("out/en", "out"), ("out", "x/../out/")])
def test_two_directory_instances_on_one_folder(project, a, b):
    text = refused(project(directory("one", a) + directory("two", b)), "'one'", "'two'", "share a folder")
    assert text.count("share a folder") == 1


def test_separate_folders_are_fine(project):
    d = load_config(project(directory("one", "build/one", prune=True) + directory("two", "build/two", prune=True)
                            + ASSET.format(inst="one")))
    assert set(d.instances) == {"one", "two"}


def http(inst: str, base_url: str, *, prune: bool = False, token_env: str | None = None,
         kind: str = "soniox", space: str = "ivr") -> str:
    out = f'[providers.{inst}]\ntype = "{kind}"\nbase_url = "{base_url}"\nprune = {str(prune).lower()}\n'
    if kind == "loccus":
        out += f'owner = "acme"\nspace = "{space}"\n'
    return out + (f'token_env = "{token_env}"\n' if token_env else "")


@pytest.mark.parametrize("other_url", ["https://api.example.com/v1", "HTTPS://API.example.com:443/v1/",
                                       "https://api.example.com/x/../v1"])
def test_one_http_account_where_one_prunes(project, other_url):
    text = refused(project(http("prod", "https://api.example.com/v1", prune=True) + http("copy", other_url)),
                   "'prod'", "'copy'", "prune = true")
    assert "providers.prod" in text


def test_loccus_space_is_part_of_the_account(project):
    one = http("a", "https://api.loccus.ai/v1", prune=True, kind="loccus", space="ivr")
    refused(project(one + http("b", "https://api.loccus.ai/v1", kind="loccus", space="ivr")), "'a'", "'b'")
    d = load_config(project(one + http("b", "https://api.loccus.ai/v1", kind="loccus", space="other")))
    assert set(d.instances) == {"a", "b"}


@pytest.mark.parametrize("second", [
    http("copy", "https://api.example.com/v1"),  # nobody prunes
    http("copy", "https://api.example.com/v2", prune=True),  # another endpoint
    http("copy", "https://api.example.com/v1", prune=True, token_env="OTHER_TOKEN"),  # another account
])
def test_http_instances_that_cannot_prune_each_other(project, second):
    first = http("prod", "https://api.example.com/v1", prune="prune = true" in second and "v1" not in second)
    d = load_config(project(first + second))
    assert set(d.instances) == {"prod", "copy"}
