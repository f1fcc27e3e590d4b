"""GitHub Actions job summaries: `plan` and `drift` append their Markdown to
the file named by `$GITHUB_STEP_SUMMARY` when it is set (GitHub renders it on
the run's page), unless `--no-step-summary`.

The file is appended to, never truncated: other steps of the job write to the
same file. A summary that cannot be written is a warning, not a failure — the
command's own output and exit code are what CI acts on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

ENV = "GITHUB_STEP_SUMMARY"


def append_step_summary(render: Callable[[], str], environ: Mapping[str, str] | None = None) -> str | None:
    """Append `render()` to $GITHUB_STEP_SUMMARY if it is set.

    `render` is called only when there is somewhere to write. Returns a
    warning to show when the file could not be written, else None."""
    path = (os.environ if environ is None else environ).get(ENV, "")
    if not path:
        return None
    text = render()
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        return f"could not write the job summary to {path} (${ENV}): {exc.strerror or exc}"
    return None
