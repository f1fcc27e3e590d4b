"""Instances that would destroy each other's files, or the project's own, refused at
config load (before any listing, so before any plan could delete anything).

Two kinds of overlap, each asked of the providers through two small hooks:

- `Provider.local_root()` — a folder on this machine that the instance owns
  (`directory`). It must not contain (or equal) the config's folder, a declared
  audio file, the lockfile, or another instance's folder (either way round):
  an orphan delete, a prune or an upload there would destroy the project's own
  sources or another instance's files. Paths are compared both as written
  (normalised, `..` removed) and with symlinks resolved.
- `Provider.account()` — what identifies one remote account (type, normalised
  base URL, credential variable). Two instances on one account see each other's
  assets as unmanaged, so one with `prune = true` would delete the other's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from reconciler.errors import ConfigError
from reconciler.inputs import real_path, real_path_text
from reconciler.model import Desired
from reconciler.providers.base import Provider


def _forms(path: Path, folders: dict[str, str] | None = None) -> set[str]:
    """The path as written (absolute, `..` folded) and with symlinks resolved,
    as strings: both are absolute and normalised, so "lies under" is a prefix
    test (for 10,000 files, Path objects and `.parents` cost more than the rest);
    normcase: compared as Path compares them (case-blind on Windows)."""
    real = real_path_text(os.fspath(path), folders) if folders is not None else os.path.realpath(path)
    return {os.path.normcase(os.path.abspath(path)), os.path.normcase(real)}


def _inside(child: Path, folder: Path) -> bool:
    """Whether `child` is `folder` or lies under it, in any of their forms."""
    return _within(_forms(child), _forms(folder))


def _within(child_forms: set[str], folder_forms: set[str]) -> bool:
    for f in folder_forms:
        prefix = f if f.endswith(os.sep) else f + os.sep  # the root folder ends with one already
        if any(c == f or c.startswith(prefix) for c in child_forms):
            return True
    return False


def _protected_paths(desired: Desired) -> Iterable[tuple[Path, str]]:
    """(path, what it is) for everything an instance's folder must not hold."""
    folder = Path(desired.config_path).parent
    yield folder, f"the config's folder ({os.path.abspath(folder)})"
    yield desired.lockfile_path, f"the lockfile {desired.lockfile_path}"
    base = real_path(desired.config_path).parent
    for inst in desired.instances.values():
        for asset in inst.assets.values():
            if asset.file is None:
                continue
            yield asset.file, f"the audio file {asset.file} of {asset.address}"
            written = getattr(asset.spec, "file", None)  # as declared: a symlink there is in the folder too
            if isinstance(written, str):
                yield base / written, f"the audio file {written} of {asset.address}"


def check_overlaps(desired: Desired, providers: Mapping[str, Provider], file: str) -> None:
    """Raise ConfigError naming both sides and the way out, or return."""
    problems: list[str] = []
    roots = {name: root for name, p in providers.items() if (root := p.local_root()) is not None}
    # each path resolved once: a library master carried by many instances is one file
    protected: dict[Path, str] = {}
    if roots:
        for path, what in _protected_paths(desired):
            protected.setdefault(path, what)
    folders: dict[str, str] = {}  # each folder resolved once (real_path)
    forms = {path: _forms(path, folders) for path in protected}
    for name, root in roots.items():
        where = f"providers.{name}.path"
        root_forms = _forms(root)
        for path, what in protected.items():
            if _within(forms[path], root_forms):
                problems.append(
                    f"{where}: the folder {root} holds {what}; instance '{name}' owns every audio file in "
                    "its folder (prune, deletes and uploads act there), so it could overwrite or delete it"
                )
                break
        for other, other_root in roots.items():
            if other <= name:
                continue
            if _inside(other_root, root) or _inside(root, other_root):
                problems.append(
                    f"{where}: instances '{name}' ({root}) and '{other}' ({other_root}) share a folder, "
                    "so each would see the other's files as its own to delete"
                )
    accounts: dict[tuple[str, ...], list[str]] = {}
    for name, provider in providers.items():
        key = provider.account()
        if key is not None:
            accounts.setdefault(key, []).append(name)
    for key, names in accounts.items():
        pruning = [n for n in names if getattr(desired.instances[n].settings, "prune", False)]
        if len(names) > 1 and pruning:
            others = [n for n in names if n != pruning[0]]
            problems.append(
                f"providers.{pruning[0]}: instances {', '.join(repr(n) for n in names)} use one "
                f"{key[0]} account ({key[1]}, credential {key[2]}) and '{pruning[0]}' sets prune = true, "
                f"so it would delete the assets of {', '.join(repr(n) for n in others)}"
            )
    if problems:
        raise ConfigError(
            "instances overlap", file=file, reasons=problems,
            hint="Give each `directory` instance a folder of its own, outside the audio sources and the "
            "config's folder (e.g. path = \"build/sounds\"); on one account, set prune = false, or use one "
            "instance, or separate accounts (another base_url or token_env).",
        )
