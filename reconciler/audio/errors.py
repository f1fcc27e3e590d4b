"""Errors of the audio engine, kept in a light module so callers (config, CLI)
can catch them without importing numpy or libsndfile."""

from __future__ import annotations

from reconciler.audio.inspect import NotAudioError


class AudioDecodeError(NotAudioError):
    """A master (or rendition) cannot be decoded into samples: not audio,
    a header with no audio frames, or a file cut short of what its header promises.

    `reason` is "undecodable", "empty" or "truncated", so lint can report the
    matching rule without parsing the message."""

    def __init__(self, message: str, reason: str = "undecodable") -> None:
        super().__init__(message)
        self.reason = reason


class RecipeError(ValueError):
    """An `audio` recipe that cannot be rendered (e.g. format mp3 with encoding ulaw)."""


class MasterChangedError(RuntimeError):
    """The master's bytes no longer have the sha256 the caller hashed (it was
    edited while reconciler ran): rendering it would file the new audio under
    the old master's cache entry."""
