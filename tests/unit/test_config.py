"""reconciler.toml → Desired: shapes, defaults, and every error naming file and key."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reconciler.config import load_config
from reconciler.errors import ConfigError
from tests.conftest import make_wav

HEAD = """
[providers.sounds]
type = "directory"
path = "remote"
"""


@pytest.fixture
def ws(tmp_path: Path):
    def write(body: str, files: dict[str, bytes] | None = None) -> Path:
        for name, data in (files or {}).items():
            p = tmp_path / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        cfg = tmp_path / "reconciler.toml"
        cfg.write_text(body)
        return cfg

    return write


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in err.value.render()
    return err.value


def test_explicit_asset(ws):
    data = make_wav(0.5)
    cfg = ws(HEAD + """
[providers.sounds.assets.welcome]
file = "audio/welcome.wav"
description = "Main greeting"
protect = true
""", {"audio/welcome.wav": data})
    d = load_config(cfg)
    a = d.asset("sounds.welcome")
    assert a is not None
    assert (a.instance, a.key, a.name) == ("sounds", "welcome", "welcome")  # name defaults to the key
    assert a.description == "Main greeting" and a.protect
    assert a.sha256 == hashlib.sha256(data).hexdigest() and a.size == len(data)
    assert a.audio.format == "wav" and a.audio.duration == pytest.approx(0.5)
    assert a.file == (cfg.parent / "audio/welcome.wav").resolve()
    assert d.instances["sounds"].type == "directory"
    assert d.lockfile_path == cfg.parent.resolve() / "reconciler.lock"


def test_explicit_name(ws):
    cfg = ws(HEAD + '[providers.sounds.assets.hold]\nfile = "a.wav"\nname = "hold-music"\n',
             {"a.wav": make_wav()})
    assert load_config(cfg).asset("sounds.hold").name == "hold-music"


def test_paths_are_relative_to_the_config_file(ws, tmp_path, monkeypatch):
    cfg = ws(HEAD + '[providers.sounds.assets.a]\nfile = "audio/a.wav"\n', {"audio/a.wav": make_wav()})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_config(Path("..") / cfg.name).asset("sounds.a").file == (tmp_path / "audio/a.wav").resolve()


def test_lockfile_setting_moves_the_lockfile(ws):
    cfg = ws('[settings]\nlockfile = "state/prod.lock"\n' + HEAD)
    assert load_config(cfg).lockfile_path == cfg.parent.resolve() / "state" / "prod.lock"


def test_glob_form_declares_one_asset_per_file(ws):
    cfg = ws(HEAD + """
[[providers.sounds.glob]]
pattern = "prompts/*.wav"
description = "IVR prompt"
protect = true
""", {"prompts/one.wav": make_wav(seed=1), "prompts/two.wav": make_wav(seed=2),
      "prompts/notes.txt": b"not matched"})
    assets = load_config(cfg).instances["sounds"].assets
    assert sorted(assets) == ["sounds.one", "sounds.two"]
    for key in ("one", "two"):
        a = assets[f"sounds.{key}"]
        assert a.key == key and a.name == key
        assert a.description == "IVR prompt" and a.protect


def test_explicit_asset_overrides_the_glob(ws):
    cfg = ws(HEAD + """
[[providers.sounds.glob]]
pattern = "prompts/*.wav"

[providers.sounds.assets.one]
file = "prompts/one.wav"
name = "first"
description = "explicit wins"
""", {"prompts/one.wav": make_wav(seed=1), "prompts/two.wav": make_wav(seed=2)})
    assets = load_config(cfg).instances["sounds"].assets
    assert sorted(assets) == ["sounds.one", "sounds.two"]
    assert assets["sounds.one"].name == "first"
    assert assets["sounds.one"].description == "explicit wins"


def test_glob_matching_nothing_is_an_error(ws):
    err = config_error(ws(HEAD + '[[providers.sounds.glob]]\npattern = "nothing/*.wav"\n'))
    assert "providers.sounds.glob[0]" in err.message and "matches no file" in err.message


def test_glob_matching_only_folders_matches_no_file(ws, tmp_path):
    # `**` matches folders too: a pattern that finds folders and no file declares nothing,
    # which is the same mistake as matching nothing (library globs say so as well)
    (tmp_path / "prompts" / "ivr").mkdir(parents=True)
    err = config_error(ws(HEAD + '[[providers.sounds.glob]]\npattern = "prompts/**"\n'))
    assert "providers.sounds.glob[0]" in err.message and "matches no file" in err.message


def test_glob_file_stem_must_be_a_valid_key(ws):
    cfg = ws(HEAD + '[[providers.sounds.glob]]\npattern = "p/*.wav"\n', {"p/bad name.wav": make_wav()})
    err = config_error(cfg)
    assert "bad name" in err.message


def test_unknown_asset_key_with_did_you_mean(ws):
    err = config_error(ws(HEAD + '[providers.sounds.assets.a]\nfile = "a.wav"\ndescripton = "x"\n',
                          {"a.wav": make_wav()}))
    assert "providers.sounds.assets.a.descripton: unknown key (did you mean 'description'?)" in err.render()


def test_unknown_top_level_key(ws):
    err = config_error(ws('[provider.sounds]\ntype = "directory"\n'))
    assert "provider: unknown key (did you mean 'providers'?)" in err.render()


def test_unknown_instance_key(ws):
    err = config_error(ws(HEAD + "prun = true\n"))
    assert "providers.sounds.prun: unknown key (did you mean 'prune'?)" in err.render()


def test_unknown_glob_key_suggests_a_glob_field(ws):
    err = config_error(ws(HEAD + '[[providers.sounds.glob]]\npatern = "*.wav"\n'))
    assert "did you mean 'pattern'?" in err.render()


def test_missing_required_key(ws):
    err = config_error(ws('[providers.sounds]\ntype = "directory"\n'))
    assert "providers.sounds.path: required key is missing" in err.render()


def test_unknown_provider_type(ws):
    err = config_error(ws('[providers.sounds]\ntype = "directry"\npath = "x"\n'))
    assert "providers.sounds.type: unknown provider type 'directry'" in err.message
    assert "did you mean 'directory'?" in err.message
    assert "directory" in (err.hint or "")


def test_missing_provider_type(ws):
    err = config_error(ws('[providers.sounds]\npath = "x"\n'))
    assert "providers.sounds: required key 'type' is missing" in err.message


@pytest.mark.parametrize("name", ["Prod", "prod.eu", "prod eu"])
def test_instance_name_rule(ws, name):
    err = config_error(ws(f'[providers."{name}"]\ntype = "directory"\npath = "x"\n'))
    assert f"providers.{name}" in err.message and "a-z, 0-9" in err.message


def test_duplicate_remote_names_within_an_instance(ws):
    cfg = ws(HEAD + """
[providers.sounds.assets.a]
file = "a.wav"
name = "same"
[providers.sounds.assets.b]
file = "b.wav"
name = "same"
""", {"a.wav": make_wav(seed=1), "b.wav": make_wav(seed=2)})
    err = config_error(cfg)
    assert "providers.sounds.assets.b" in err.message
    assert "'same'" in err.message and "sounds.a" in err.message


def test_same_name_on_two_instances_is_fine(ws):
    cfg = ws(HEAD + """
[providers.sounds.assets.a]
file = "a.wav"
[providers.other]
type = "directory"
path = "remote2"
[providers.other.assets.a]
file = "a.wav"
""", {"a.wav": make_wav()})
    assert sorted(a.address for a in load_config(cfg).all_assets()) == ["other.a", "sounds.a"]


def test_malformed_toml_names_line_and_column(ws):
    err = config_error(ws('[providers.sounds\ntype = "directory"\n'))
    assert "malformed TOML" in err.message
    assert "line 1, column" in err.message


def test_config_not_found(tmp_path):
    err = config_error(tmp_path / "nope.toml")
    assert "not found" in err.message and "reconciler init" in (err.hint or "")


def test_missing_audio_file(ws):
    err = config_error(ws(HEAD + '[providers.sounds.assets.a]\nfile = "audio/missing.wav"\n'))
    assert "providers.sounds.assets.a" in err.message and "missing.wav does not exist" in err.message


def test_audio_path_is_a_folder(ws, tmp_path):
    (tmp_path / "audio" / "dir.wav").mkdir(parents=True)
    err = config_error(ws(HEAD + '[providers.sounds.assets.a]\nfile = "audio/dir.wav"\n'))
    assert "is a folder" in err.message


def test_text_named_mp3_is_not_audio(ws):
    cfg = ws(HEAD + '[providers.sounds.assets.a]\nfile = "a.mp3"\n', {"a.mp3": b"ID is not audio, only text\n"})
    err = config_error(cfg)
    assert "providers.sounds.assets.a" in err.message and "is not audio" in err.message


def test_audio_with_a_misleading_extension_is_sniffed_by_content(ws):
    cfg = ws(HEAD + '[providers.sounds.assets.a]\nfile = "a.mp3"\n', {"a.mp3": make_wav()})
    assert load_config(cfg).asset("sounds.a").audio.format == "wav"


def test_directory_name_rule_is_checked_offline(ws):
    cfg = ws(HEAD + '[providers.sounds.assets.a]\nfile = "a.wav"\nname = ".hidden"\n', {"a.wav": make_wav()})
    err = config_error(cfg)
    assert "not acceptable to directory" in err.message
    assert any("start with '.'" in r for r in err.reasons)


@pytest.mark.parametrize("absolute", [True, False])
def test_glob_may_reach_outside_the_config_folder(tmp_path, absolute):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "beep.wav").write_bytes(make_wav())
    project = tmp_path / "project"
    project.mkdir()
    pattern = f"{shared}/*.wav" if absolute else "../shared/*.wav"
    cfg = project / "reconciler.toml"
    cfg.write_text(HEAD + f'[[providers.sounds.glob]]\npattern = "{pattern}"\n')
    assert load_config(cfg).asset("sounds.beep").file == (shared / "beep.wav").resolve()
