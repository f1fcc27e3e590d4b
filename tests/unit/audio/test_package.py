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
        "import sys, reconciler.audio, reconciler.audio.recipe, reconciler.audio.lint\n"
        "heavy = [m for m in ('numpy', 'soundfile', 'soxr', 'pyloudnorm', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
