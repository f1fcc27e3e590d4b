"""File names every command agrees on, in a module light enough for the CLI's start-up."""

DEFAULT_CONFIG = "reconciler.toml"
DEFAULT_LOCKFILE = "reconciler.lock"
