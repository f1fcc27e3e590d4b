"""Audio: inspection of uploaded bytes, and (issue 11) the rendition engine.

The package import stays light on purpose: the CLI imports `reconciler.audio`
on every run, so only `inspect` (stdlib + pydantic; mutagen lazily) is loaded
here. The heavy stack (numpy, soundfile, soxr, pyloudnorm) is imported only by
the submodules that need it: `decode`, `loudness`, `render`, `measure`,
`cache` (import them explicitly, e.g. `from reconciler.audio.render import
render_bytes`). `recipe`, `lint`, `facts`, `errors`, `scan` and `cache` (on a hit)
are light (pydantic only), so config validation and a plan whose renditions
are all cached use AudioSettings, resolve_recipe, LintRules and
RenditionCache.get without loading the audio stack.

Module map (issue 11, API in AUDIO_CONTRACT.md):
- inspect  sniffing and container facts of uploaded bytes (mutagen)
- errors   AudioDecodeError (a NotAudioError, with .reason), RecipeError,
           MasterChangedError (cache: the master changed since it was hashed)
- recipe   AudioSettings, Recipe, resolve_recipe, recipe_key, recipe_identity
- decode   masters -> float samples (soundfile/libsndfile); empty/truncated detection
- loudness BS.1770-4 integrated loudness (pyloudnorm) and true peak (soxr 4x)
- facts    RenditionFacts, Rendition (also importable from render)
- render   render_bytes, render_data
- cache    RenditionCache (content-addressed, atomic)
- measure  Measurements, measure_file, measure_samples
- lint     RULES, LintRules, Finding, lint; lint_file (measure + lint, undecodable -> `truncated`)
- scan     ScanFacts, scan_file: the broken-audio facts (empty, truncated, clipped runs)
           of a file, streamed in bounded blocks (the gate of validate/plan/apply)
- plainwav the header facts and scan of a plain WAV from bytes in memory, as
           mutagen and libsndfile give them, without either (a cold plan's hashing)

Deviations from the contract: none. Additions: AudioDecodeError.reason
("undecodable" | "empty" | "truncated"); RenditionCache.ensure raises
MasterChangedError when the master no longer hashes to the sha256 given;
render.render_data(bytes, recipe); Recipe/AudioSettings are frozen;
the duration lint rule also has a `min_s` (default 0.1 s) and clipping a
`max_runs` (default 0).
"""

from reconciler.audio.errors import AudioDecodeError, MasterChangedError, RecipeError
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
    "AudioDecodeError",
    "MasterChangedError",
    "RecipeError",
    "EXTENSIONS",
    "MIME_TYPES",
    "AudioInfo",
    "NotAudioError",
    "file_digest",
    "inspect_bytes",
    "sha256_bytes",
    "sniff_format",
]
