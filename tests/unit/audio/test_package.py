"""The audio package: the move kept its public names, and importing it stays light."""

import subprocess
import sys


def test_package_reexports_the_inspection_api():
    import reconciler.audio as audio
    from reconciler.audio import inspect as inspect_mod

    for name in ("AudioInfo", "NotAudioError", "file_digest", "inspect_bytes", "sha256_bytes",
                 "sniff_format", "MIME_TYPES", "EXTENSIONS"):
        assert getattr(audio, name) is getattr(inspect_mod, name)


def test_package_import_does_not_load_the_heavy_stack():
    # The CLI imports reconciler.audio on every run; numpy/soundfile/soxr/pyloudnorm
    # must only load when a rendition or a lint is actually computed.
    code = (
        "import sys, reconciler.audio, reconciler.audio.recipe, reconciler.audio.lint, reconciler.audio.measure\n"
        "import reconciler.audio.scan, reconciler.measurements\n"
        "heavy = [m for m in ('numpy', 'soundfile', 'soxr', 'pyloudnorm', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cache_hits_do_not_load_the_audio_stack(tmp_path):
    # A plan whose renditions are all cached must cost about what a plan without
    # renditions costs: no numpy/libsndfile/soxr/scipy import for a hit.
    from reconciler.audio.cache import RenditionCache
    from reconciler.audio.recipe import AudioSettings, resolve_recipe

    from .signals import sine, write

    master = write(tmp_path / "m.wav", sine(440, 0.5, 8000, dbfs=-20), 8000)
    import hashlib

    sha = hashlib.sha256(master.read_bytes()).hexdigest()
    recipe = resolve_recipe(AudioSettings(format="wav", encoding="ulaw", loudness=-19))
    RenditionCache(tmp_path / "cache").ensure(master, sha, recipe)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from reconciler.audio.cache import RenditionCache\n"
        "from reconciler.audio.recipe import AudioSettings, resolve_recipe, recipe_identity\n"
        f"r = resolve_recipe(AudioSettings(format='wav', encoding='ulaw', loudness=-19))\n"
        f"hit = RenditionCache(Path({str(tmp_path / 'cache')!r})).get({sha!r}, r)\n"
        "assert hit is not None and hit.facts.encoding == 'ulaw'\n"
        "recipe_identity(r)\n"
        "print(','.join(m for m in ('numpy', 'soundfile', 'soxr', 'pyloudnorm', 'scipy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_encoder_versions_names_the_libsndfile_soundfile_uses():
    import soundfile

    from reconciler.audio.recipe import encoder_versions

    code = "from reconciler.audio.recipe import encoder_versions; print(encoder_versions())"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == encoder_versions()  # ctypes path == soundfile path
    assert f"libsndfile-{soundfile.__libsndfile_version__} " in encoder_versions()
