"""Glob patterns from the config, expanded without trusting the tree they
walk: bounded in the folder entries looked at, immune to symlink loops, and
iterative (no recursion), so a hostile tree ends in one `InputError`."""

from __future__ import annotations

import fnmatch
import os
import re

from reconciler.inputs import InputError

MAX_GLOB_SCAN = 200_000  # folder entries one pattern may look at (~3 s); a sounds tree has thousands
_MAGIC = re.compile(r"[*?[]")


def glob_paths(pattern: str, *, limit: int = MAX_GLOB_SCAN) -> list[str]:
    """The paths matching `pattern`, as `glob.glob(pattern, recursive=True)`
    finds them (`*`, `?`, `[...]`; `**` for any depth; names starting with '.'
    only when the pattern's part does), but bounded: `**` never descends into
    a symlinked folder (two `x -> .` links make the standard glob walk 2^40
    paths), every folder entry looked at counts against `limit`, and the walk
    uses its own stack, not recursion. InputError when over `limit`."""
    absolute = pattern.startswith(os.sep)
    parts = [p for p in pattern.split(os.sep) if p not in ("", ".")]
    found: dict[str, None] = {}
    stack: list[tuple[str, int]] = [(os.sep if absolute else "", 0)]
    seen: set[tuple[str, int]] = set()
    budget = limit

    def entries(folder: str) -> list[os.DirEntry[str]]:
        nonlocal budget
        try:
            with os.scandir(folder or ".") as it:
                listed = list(it)
        except (OSError, ValueError):
            return []
        budget -= len(listed)
        if budget < 0:
            raise InputError(f"looks at more than {limit:,} folder entries; make it narrower")
        return listed

    while stack:
        folder, i = stack.pop()
        if (folder, i) in seen:  # several `**` reach one folder by several routes
            continue
        seen.add((folder, i))
        if i == len(parts):
            if folder:
                found[folder] = None
            continue
        part = parts[i]
        if part == "**":
            stack.append((folder, i + 1))  # `**` matching no folder at all
            last = i == len(parts) - 1
            for entry in entries(folder):
                if entry.name.startswith("."):
                    continue
                path = os.path.join(folder, entry.name)
                if last:  # a final `**` matches files too
                    stack.append((path, i + 1))
                if _is_real_dir(entry):
                    stack.append((path, i))
        elif _MAGIC.search(part):
            hidden_ok = part.startswith(".")
            last = i == len(parts) - 1
            for entry in entries(folder):
                if (
                    (hidden_ok or not entry.name.startswith("."))
                    and fnmatch.fnmatchcase(entry.name, part)
                    and (last or _is_dir(entry))
                ):
                    stack.append((os.path.join(folder, entry.name), i + 1))
        else:
            path = os.path.join(folder, part)
            if os.path.lexists(path) if i == len(parts) - 1 else os.path.isdir(path):
                stack.append((path, i + 1))
    return sorted(found)


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
