"""Recipes: settings validation, merging, resolution and the stable key."""

import pytest
from pydantic import ValidationError

from reconciler.audio.errors import RecipeError
from reconciler.audio.recipe import (
    FORMAT_ENCODINGS,
    AudioSettings,
    Recipe,
    dist_version,
    encoder_versions,
    recipe_identity,
    recipe_key,
    resolve_recipe,
)


def test_empty_settings_keep_everything_of_the_master():
    r = resolve_recipe(AudioSettings(), master_format="flac")
    assert r == Recipe(format="flac", encoding="flac")
    assert recipe_key(r) == "flac/flac/keep/keep/lufs=off/tp=-1.0/trim=0"


def test_contract_example_key():
    s = AudioSettings(format="wav", encoding="ulaw", sample_rate=8000, channels=1, loudness=-16)
    assert recipe_key(resolve_recipe(s)) == "wav/ulaw/8000/1/lufs=-16.0/tp=-1.0/trim=0"


@pytest.mark.parametrize(("fmt", "natural"), [("wav", "pcm_16"), ("mp3", "mp3"), ("ogg", "vorbis"),
                                               ("flac", "flac"), ("aiff", "pcm_16"), ("au", "ulaw")])
def test_natural_encoding_is_filled_in(fmt, natural):
    assert resolve_recipe(AudioSettings(format=fmt)).encoding == natural


def test_encoding_without_format_picks_a_format_that_carries_it():
    # the master's format when it can carry the encoding, else wav
    assert resolve_recipe(AudioSettings(encoding="ulaw"), master_format="au").format == "au"
    assert resolve_recipe(AudioSettings(encoding="ulaw"), master_format="mp3").format == "wav"
    assert resolve_recipe(AudioSettings(encoding="vorbis"), master_format="wav").format == "ogg"
    assert resolve_recipe(AudioSettings(), master_format=None).format == "wav"


@pytest.mark.parametrize(("fmt", "encoding"), [
    (f, e) for f in FORMAT_ENCODINGS
    for e in ("pcm_16", "pcm_8", "pcm_24", "ulaw", "alaw", "mp3", "vorbis", "flac")
    if e not in FORMAT_ENCODINGS[f]
])
def test_impossible_format_encoding_pairs_are_refused_with_the_way_out(fmt, encoding):
    with pytest.raises(RecipeError) as err:
        resolve_recipe(AudioSettings(format=fmt, encoding=encoding))
    assert fmt in str(err.value) and encoding in str(err.value)


def test_mp3_refuses_a_rate_lame_cannot_write():
    with pytest.raises(RecipeError, match="22050"):
        resolve_recipe(AudioSettings(format="mp3", sample_rate=96000))
    assert resolve_recipe(AudioSettings(format="mp3", sample_rate=8000)).sample_rate == 8000


@pytest.mark.parametrize("bad", [
    {"channels": 3}, {"channels": True}, {"sample_rate": 4000}, {"sample_rate": 200000},
    {"sample_rate": "8000"}, {"sample_rate": 8000.0}, {"loudness": 0}, {"loudness": -90},
    {"loudness": True}, {"true_peak": 1.0}, {"trim_silence": "yes"}, {"trim_silence": 1},
    {"format": "gsm"}, {"encoding": "opus"}, {"volume": 3},
])
def test_settings_refuse_bad_values(bad):
    with pytest.raises(ValidationError):
        AudioSettings(**bad)


def test_int_loudness_from_toml_is_accepted_as_float():
    assert AudioSettings(loudness=-16).loudness == -16.0


def test_merge_asset_over_instance_key_by_key():
    instance = AudioSettings(format="wav", encoding="ulaw", sample_rate=8000, loudness=-19)
    asset = AudioSettings(loudness=-16, trim_silence=True)
    merged = asset.merged_over(instance)
    assert merged == AudioSettings(format="wav", encoding="ulaw", sample_rate=8000, loudness=-16,
                                   trim_silence=True)
    # a three-level chain keeps what each level set
    library = AudioSettings(channels=1, true_peak=-2.0)
    chained = asset.merged_over(instance.merged_over(library))
    assert chained.channels == 1 and chained.true_peak == -2.0 and chained.loudness == -16
    assert asset.merged_over(None) == asset


def test_key_is_canonical_for_equal_settings():
    a = resolve_recipe(AudioSettings(format="wav", loudness=-16))
    b = resolve_recipe(AudioSettings(format="wav", encoding="pcm_16", loudness=-16.0,
                                     true_peak=-1.0, trim_silence=False))
    assert recipe_key(a) == recipe_key(b)
    assert recipe_key(resolve_recipe(AudioSettings(format="wav", loudness=-16.5))) != recipe_key(a)


def test_every_setting_changes_the_key():
    base = AudioSettings(format="wav", encoding="pcm_16", sample_rate=8000, channels=1, loudness=-19,
                         true_peak=-1.0, trim_silence=False)
    changes = [{"format": "aiff"}, {"encoding": "ulaw"}, {"sample_rate": 16000}, {"channels": 2},
               {"loudness": -18.0}, {"true_peak": -2.0}, {"trim_silence": True}]
    keys = {recipe_key(resolve_recipe(base))}
    for change in changes:
        keys.add(recipe_key(resolve_recipe(AudioSettings(**{**base.model_dump(), **change}))))
    assert len(keys) == len(changes) + 1


def test_identity_names_the_encoders_but_the_key_does_not():
    r = resolve_recipe(AudioSettings(format="wav"))
    identity = recipe_identity(r)
    assert identity["key"] == recipe_key(r)
    versions = encoder_versions()
    assert identity["encoders"] == versions
    for part in ("libsndfile-", "soxr-", "pyloudnorm-", "render-"):
        assert part in versions
        assert part not in identity["key"]


@pytest.mark.parametrize("dist", ["soxr", "pyloudnorm", "numpy", "scipy", "pydantic"])
def test_dist_version_reads_the_same_version_as_importlib_metadata(dist):
    from importlib.metadata import version

    assert dist_version(dist) == version(dist)
