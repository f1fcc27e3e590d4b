"""`[library]` + per-instance `use` globs, `!` excludes and overrides → Desired."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reconciler.config import load_config
from reconciler.errors import ConfigError
from tests.conftest import make_wav

LIB = """
[library.welcome]
file = "masters/welcome.wav"
description = "Main greeting"

[library.test-beep]
file = "masters/beep.wav"

[[library.glob]]
pattern = "masters/ivr/*.wav"
description = "IVR menu"
"""

FILES = {
    "masters/welcome.wav": make_wav(seed=1),
    "masters/beep.wav": make_wav(seed=2),
    "masters/ivr/menu1.wav": make_wav(seed=3),
    "masters/ivr/menu2.wav": make_wav(seed=4),
}


def instance(name: str, extra: str = "") -> str:
    return f'\n[providers.{name}]\ntype = "directory"\npath = "remote-{name}"\n{extra}\n'


@pytest.fixture
def ws(tmp_path: Path):
    def write(body: str, files: dict[str, bytes] | None = None) -> Path:
        for rel, data in {**FILES, **(files or {})}.items():
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        cfg = tmp_path / "reconciler.toml"
        cfg.write_text(body)
        return cfg

    return write


def error(cfg: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    text = err.value.render()
    assert str(cfg) in text
    return text


def keys(desired, inst: str) -> list[str]:
    return sorted(a.key for a in desired.instances[inst].assets.values())


def test_use_globs_and_excludes_fan_the_library_out(ws):
    cfg = ws(LIB + instance("stage", 'use = ["*"]') + instance("prod", 'use = ["*", "!test-*"]')
             + instance("menus", 'use = ["menu*"]'))
    d = load_config(cfg)
    assert keys(d, "stage") == ["menu1", "menu2", "test-beep", "welcome"]
    assert keys(d, "prod") == ["menu1", "menu2", "welcome"]
    assert keys(d, "menus") == ["menu1", "menu2"]
    # addresses stay <instance>.<key>; the library's fields and content carry over
    w = d.asset("prod.welcome")
    assert (w.name, w.description) == ("welcome", "Main greeting")
    assert w.sha256 == hashlib.sha256(FILES["masters/welcome.wav"]).hexdigest()
    assert d.asset("stage.menu1").description == "IVR menu"  # from the library glob
    assert d.asset("stage.welcome").sha256 == w.sha256
    assert d.warnings == []


def test_exclude_order_does_not_matter(ws):
    d = load_config(ws(LIB + instance("prod", 'use = ["!test-*", "*"]')))
    assert "test-beep" not in keys(d, "prod")


def test_no_use_carries_nothing_and_the_unused_library_is_warned_about(ws):
    d = load_config(ws(LIB + instance("prod", 'use = ["welcome"]')))
    assert keys(d, "prod") == ["welcome"]
    unused = [w for w in d.warnings if "used by no instance" in w]
    assert len(unused) == 3
    assert any(w.startswith("library.test-beep:") for w in unused)
    assert any("library.glob[0] (menu1)" in w for w in unused)


def test_override_without_file_changes_fields_on_that_instance_only(ws):
    cfg = ws(LIB + instance("stage", 'use = ["*"]') + instance("prod", 'use = ["*"]') + """
[providers.prod.assets.welcome]
protect = true
name = "welcome-prod"
""")
    d = load_config(cfg)
    prod, stage = d.asset("prod.welcome"), d.asset("stage.welcome")
    assert (prod.protect, prod.name, prod.description) == (True, "welcome-prod", "Main greeting")
    assert prod.file == stage.file and prod.sha256 == stage.sha256  # the library's file
    assert (stage.protect, stage.name) == (False, "welcome")


def test_own_asset_with_file_wins_over_the_library(ws):
    cfg = ws(LIB + instance("prod", 'use = ["*"]') + """
[providers.prod.assets.welcome]
file = "local/welcome.wav"
""", {"local/welcome.wav": make_wav(seed=9)})
    w = load_config(cfg).asset("prod.welcome")
    assert w.sha256 == hashlib.sha256(make_wav(seed=9)).hexdigest()
    assert w.description == ""  # nothing is taken from the library entry


def test_own_glob_wins_over_the_library(ws):
    cfg = ws(LIB + instance("prod", 'use = ["*"]\n[[providers.prod.glob]]\npattern = "local/*.wav"'),
             {"local/welcome.wav": make_wav(seed=9)})
    assert load_config(cfg).asset("prod.welcome").sha256 == hashlib.sha256(make_wav(seed=9)).hexdigest()


def test_use_pattern_matching_nothing_is_a_warning(ws):
    d = load_config(ws(LIB + instance("prod", 'use = ["*", "!tst-*", "greeting"]')))
    idle = [w for w in d.warnings if "matches no [library] prompt" in w]
    assert len(idle) == 2
    assert any("'!tst-*'" in w and w.startswith("providers.prod.use") for w in idle)
    assert any("'greeting'" in w for w in idle)


def test_use_without_a_library_says_so(ws):
    d = load_config(ws(instance("prod", 'use = ["*"]')))
    assert any("the config has no [library]" in w for w in d.warnings)


def test_override_of_an_unknown_library_key_is_an_error_naming_it(ws):
    text = error(ws(LIB + instance("prod", 'use = ["*"]') + '[providers.prod.assets.welcom]\nprotect = true\n'))
    assert "providers.prod.assets.welcom" in text and "not a [library] prompt" in text
    assert "did you mean 'welcome'?" in text


def test_asset_without_file_and_no_library_is_an_error(ws):
    text = error(ws(instance("prod") + '[providers.prod.assets.a]\ndescription = "x"\n'))
    assert "providers.prod.assets.a has no `file`" in text


def test_override_of_a_prompt_the_instance_does_not_use_is_an_error(ws):
    text = error(ws(LIB + instance("prod", 'use = ["*", "!test-*"]')
                    + "[providers.prod.assets.test-beep]\nprotect = true\n"))
    assert "providers.prod.assets.test-beep" in text and "does not select" in text
    assert "providers.prod.use" in text


def test_override_on_a_key_the_instance_globs_itself_is_an_error(ws):
    cfg = ws(LIB + instance("prod", 'use = ["*"]\n[[providers.prod.glob]]\npattern = "local/*.wav"')
             + "[providers.prod.assets.welcome]\nprotect = true\n", {"local/welcome.wav": make_wav(seed=9)})
    assert "also declares 'welcome'" in error(cfg)


def test_provider_specific_fields_go_in_the_override(ws, monkeypatch):
    monkeypatch.setenv("EXOLVE_API_KEY", "t")
    body = LIB + '\n[providers.ex]\ntype = "exolve"\nuse = ["welcome"]\n[providers.ex.assets.welcome]\nfile_type = "premedia"\n'
    d = load_config(ws(body))
    assert d.asset("ex.welcome").spec.file_type == "premedia"
    # ... and not in the library, which every provider type must accept
    text = error(ws(body.replace('description = "Main greeting"', 'file_type = "premedia"')))
    assert "library.welcome.file_type: unknown key" in text and "go in the instance's override" in text


def test_library_entry_checked_by_each_instance_provider(ws, monkeypatch):
    """plusofon keeps no description: the error names the library entry and the instance."""
    monkeypatch.setenv("PLUSOFON_TOKEN", "t")
    text = error(ws(LIB + '\n[providers.plus]\ntype = "plusofon"\nuse = ["welcome"]\n'))
    assert "library.welcome (carried by providers.plus).description" in text


def test_library_entry_requires_file_and_rejects_unknown_keys(ws):
    assert "library.welcome.file: required key is missing" in error(ws('[library.welcome]\ndescription = "x"\n'))
    text = error(ws('[library.welcome]\nfile = "masters/welcome.wav"\ndescripton = "x"\n'))
    assert "library.welcome.descripton: unknown key (did you mean 'description'?)" in text


def test_library_glob_matching_nothing_is_an_error(ws):
    assert "library.glob[0]: pattern 'none/*.wav' matches no file" in error(ws('[[library.glob]]\npattern = "none/*.wav"\n'))


def test_explicit_library_entry_overrides_a_library_glob_match(ws):
    cfg = ws(LIB + '[library.menu1]\nfile = "masters/ivr/menu1.wav"\nname = "first"\n' + instance("p", 'use = ["*"]'))
    a = load_config(cfg).asset("p.menu1")
    assert a.name == "first" and a.description == ""


def test_duplicate_remote_names_across_library_and_own_assets(ws):
    cfg = ws(LIB + instance("p", 'use = ["welcome"]') + '[providers.p.assets.other]\nfile = "masters/beep.wav"\nname = "welcome"\n')
    text = error(cfg)
    assert "remote name 'welcome'" in text


def test_ignore_changes_asset_replaces_instance_list(ws):
    cfg = ws(LIB + instance("p", 'use = ["*"]\nignore_changes = ["description"]') + """
[providers.p.assets.welcome]
ignore_changes = ["name", "description"]
[providers.p.assets.menu1]
ignore_changes = []
""")
    d = load_config(cfg)
    assert d.asset("p.welcome").ignore_changes == ("description", "name")
    assert d.asset("p.menu1").ignore_changes == ()
    assert d.asset("p.menu2").ignore_changes == ("description",)


def test_ignore_changes_only_takes_name_and_description(ws):
    text = error(ws(instance("p", 'ignore_changes = ["file"]')))
    assert "providers.p.ignore_changes.0" in text


@pytest.mark.parametrize("pattern", ["", "!", "  "])
def test_empty_use_and_ignore_patterns_are_errors(ws, pattern):
    assert "is not a pattern" in error(ws(instance("p", f'use = ["{pattern}"]')))
    assert "is not a pattern" in error(ws(instance("p", f'ignore = ["{pattern}"]')))


def test_each_master_is_read_once_but_missing_files_are_still_errors(ws, tmp_path):
    cfg = ws(LIB + instance("a", 'use = ["*"]') + instance("b", 'use = ["*"]'))
    (tmp_path / "masters/beep.wav").unlink()
    assert "library.test-beep (carried by providers.a)" in error(cfg)


def test_read_audio_false_needs_no_file(ws, tmp_path):
    cfg = ws(LIB + instance("a", 'use = ["*"]'))
    (tmp_path / "masters/welcome.wav").unlink()
    d = load_config(cfg, read_audio=False)
    w = d.asset("a.welcome")
    assert not w.content_known and w.sha256 == "" and w.description == "Main greeting"


def test_json_schema_covers_library_use_overrides_and_ignores():
    import json
    import tomllib

    import jsonschema

    schema = json.loads((Path(__file__).parents[2] / "schemas" / "config.schema.json").read_text())
    good = tomllib.loads(LIB + instance("stage", 'use = ["*"]\nignore = ["tmp-*"]\nignore_changes = ["description"]')
                         + '[providers.stage.assets.welcome]\nprotect = true\nignore_changes = ["name"]\n')
    jsonschema.validate(good, schema)  # an override without `file` is valid
    for bad in (
        '[library.welcome]\ndescription = "no file"\n',
        '[library.welcome]\nfile = "a.wav"\nfile_type = "ivr"\n',
        '[[library.glob]]\npatern = "*.wav"\n',
        instance("p", 'use = "*"'),
        instance("p", 'ignore_changes = ["size"]'),
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(tomllib.loads(bad), schema)


def test_recipe_tables_compose_library_then_instance_then_override():
    """The hook for `audio` recipes: library < instance-wide value < per-instance override."""
    from reconciler.library import compose

    lib = {"file": "m.wav", "audio": {"format": "wav", "loudness": -16}, "description": "lib"}
    inst = {"type": "directory", "audio": {"sample_rate": 8000, "loudness": -18}}
    assert compose(lib, inst, None)["audio"] == {"format": "wav", "loudness": -18, "sample_rate": 8000}
    got = compose(lib, inst, {"audio": {"loudness": -20}, "description": "over"})
    assert got == {"file": "m.wav", "description": "over",
                   "audio": {"format": "wav", "loudness": -20, "sample_rate": 8000}}
    assert compose(lib, {"type": "directory"}, None) == lib  # nothing instance-wide: the library's
    assert lib["audio"] == {"format": "wav", "loudness": -16}  # inputs untouched


def test_validate_prints_the_library_warnings(ws, run_cli):
    cfg = ws(LIB + instance("prod", 'use = ["welcome", "greeting"]'))
    code, out, err = run_cli("validate", "-c", str(cfg))
    assert code == 0, err
    assert "Warning: providers.prod.use: pattern 'greeting' matches no [library] prompt" in out
    assert "Warning: library.test-beep: the library prompt 'test-beep' is used by no instance" in out


def test_an_override_clears_a_field_the_provider_cannot_keep(ws, monkeypatch):
    monkeypatch.setenv("PLUSOFON_TOKEN", "t")
    d = load_config(ws(LIB + '\n[providers.plus]\ntype = "plusofon"\nuse = ["welcome"]\n'
                       '[providers.plus.assets.welcome]\ndescription = ""\n'))
    assert d.asset("plus.welcome").description == ""


def test_override_typo_names_the_override_and_suggests(ws):
    text = error(ws(LIB + instance("p", 'use = ["*"]') + "[providers.p.assets.welcome]\nprotec = true\n"))
    assert "providers.p.assets.welcome (over library.welcome).protec: unknown key (did you mean 'protect'?)" in text


def test_audio_recipe_composes_library_instance_override_in_the_loaded_config(ws):
    from reconciler.assets import effective_audio

    cfg = ws("""
[library.welcome]
file = "masters/welcome.wav"
audio = { format = "wav", loudness = -16.0, channels = 1 }

[library.test-beep]
file = "masters/beep.wav"
""" + instance("p", 'use = ["*"]\naudio = { sample_rate = 8000, loudness = -18.0 }') + """
[providers.p.assets.welcome]
audio = { channels = 2 }
[providers.p.assets.test-beep]
audio = { loudness = -20.0 }
""")
    d = load_config(cfg, read_audio=False)
    inst = d.instances["p"].settings

    def recipe(key):
        return effective_audio(inst.audio, d.asset(f"p.{key}").spec.audio).model_dump(exclude_none=True)

    # library < instance < override, key by key
    assert recipe("welcome") == {"format": "wav", "loudness": -18.0, "channels": 2, "sample_rate": 8000}
    # no library recipe: the instance's applies under the override, as for any asset
    assert recipe("test-beep") == {"loudness": -20.0, "sample_rate": 8000}


@pytest.mark.parametrize("use", ['["!test-*"]', '["!test-*", "!menu*"]'])
def test_use_with_only_excludes_is_a_warning_not_a_silent_nothing(ws, use):
    """`!` only takes away from what an include selects: a list of excludes
    alone carries no prompt, which is never what its author meant."""
    d = load_config(ws(LIB + instance("prod", f"use = {use}")))
    assert d.instances["prod"].assets == {}
    hints = [w for w in d.warnings if w.startswith("providers.prod.use") and "only '!' patterns" in w]
    assert len(hints) == 1 and '"*"' in hints[0]


def test_ignore_has_no_excludes(ws):
    """`ignore` globs match remote names; a `!` there would be taken literally
    (ignoring nothing the author meant), so it is refused with the way out."""
    text = error(ws(instance("p", 'ignore = ["*", "!keep-*"]')))
    assert "providers.p.ignore" in text and "'!keep-*'" in text and "no '!'" in text
    blank = error(ws(instance("p", 'ignore = [" "]')))
    assert "is not a pattern" in blank and "!test-*" not in blank


def test_library_typos_get_no_provider_specific_hint_but_provider_keys_do(ws):
    typo = error(ws('[library.welcome]\nfile = "masters/welcome.wav"\ndescripton = "x"\n'))
    assert "provider-specific keys" not in typo
    glob_typo = error(ws('[[library.glob]]\npattern = "masters/*.wav"\npatern = "x"\n'))
    assert "did you mean 'pattern'?" in glob_typo and "provider-specific keys" not in glob_typo
    specific = error(ws('[library.welcome]\nfile = "masters/welcome.wav"\nfile_type = "x"\n'))
    assert "provider-specific keys" in specific


def test_library_glob_written_as_a_table_says_how_to_write_it(ws):
    text = error(ws('[library.glob]\npattern = "masters/*.wav"\n'))
    assert "[[library.glob]]" in text


def test_read_audio_false_notes_globs_that_match_nothing(ws, tmp_path):
    """drift/compare in a checkout without the audio: a glob (library or an
    instance's own) that matches no file is noted, not refused; an override of
    a key it would declare is left out. A read that needs the audio still refuses."""
    body = LIB + instance("prod", 'use = ["*"]\n[providers.prod.assets.menu1]\nprotect = true\n'
                          '[[providers.prod.glob]]\npattern = "local/*.wav"')
    cfg = ws(body, {"local/own.wav": make_wav(seed=7)})
    import shutil

    shutil.rmtree(tmp_path / "masters")
    shutil.rmtree(tmp_path / "local")
    d = load_config(cfg, read_audio=False)
    assert d.unread_globs == ["library.glob[0]: pattern 'masters/ivr/*.wav' matches no file",
                              "providers.prod.glob[0]: pattern 'local/*.wav' matches no file"]
    assert sorted(d.instances["prod"].assets) == ["prod.test-beep", "prod.welcome"]
    assert "matches no file" in error(cfg)
