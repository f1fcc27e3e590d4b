"""Audio: inspection of uploaded bytes, and (issue 11) the rendition engine.

The package import stays light on purpose: the CLI imports `reconciler.audio`
on every run, so only `inspect` (stdlib + pydantic; mutagen lazily) is loaded
here. The heavy stack (numpy, soundfile, soxr, pyloudnorm) is imported only by
the submodules that need it: `decode`, `loudness`, `render`, `measure`,
`lint`, `cache` (import them explicitly, e.g. `from reconciler.audio.render
import render_bytes`). `recipe` is light too.
"""

from reconciler.audio.inspect import (
    EXTENSIONS,
    MIME_TYPES,
    AudioInfo,
    NotAudioError,
    file_digest,
    inspect_bytes,
    sha256_bytes,
    sniff_format,
)

__all__ = [
    "EXTENSIONS",
    "MIME_TYPES",
    "AudioInfo",
    "NotAudioError",
    "file_digest",
    "inspect_bytes",
    "sha256_bytes",
    "sniff_format",
]
