"""What `reconciler init` offers for `.gitignore`: the files reconciler makes
beside the config that must not be committed (the lockfile itself is
committed; its OS lock anchor, its crash journal and the rendition cache are
not)."""

from __future__ import annotations

from pathlib import Path

from reconciler.defaults import DEFAULT_LOCKFILE
from reconciler.inputs import InputError, read_file

IGNORED = (
    f"{DEFAULT_LOCKFILE}.lck",  # the advisory lock's anchor (filelock)
    f"{DEFAULT_LOCKFILE}.journal",  # an interrupted apply's records, folded by the next command
    ".reconciler/",  # the rendition and measurement cache
)
HEADER = "# reconciler: local files that are not committed (the lockfile itself is)\n"


def offer(folder: Path) -> str:
    """Write `.gitignore` in `folder` when there is none; else return the lines it
    lacks as a suggestion (an existing file is the user's: never edited)."""
    path = folder / ".gitignore"
    try:
        existing = read_file(path, limit=1024 * 1024).decode("utf-8", "replace")
    except InputError as exc:
        if not exc.missing:
            return f"Add to your .gitignore: {', '.join(IGNORED)}"
        try:
            with open(path, "x", encoding="utf-8") as fh:  # never over a file made meanwhile
                fh.write(HEADER + "\n".join(IGNORED) + "\n")
        except OSError:
            return f"Add to your .gitignore: {', '.join(IGNORED)}"
        return f"Wrote {path} ({', '.join(IGNORED)}): they must not be committed."
    present = {line.strip() for line in existing.splitlines()}
    missing = [line for line in IGNORED if line not in present and line.rstrip("/") not in present]
    if not missing:
        return ""
    return f"Add to {path} (they must not be committed): {', '.join(missing)}"
