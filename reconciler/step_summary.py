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

from reconciler.inputs import kind_of, os_reason

ENV = "GITHUB_STEP_SUMMARY"


def append_step_summary(render: Callable[[], str], environ: Mapping[str, str] | None = None) -> str | None:
    """Append `render()` to $GITHUB_STEP_SUMMARY if it is set.

    `render` is called only when there is somewhere to write. Returns a
    warning to show when the file could not be written, else None."""
    path = (os.environ if environ is None else environ).get(ENV, "")
    if not path:
        return None
    text = render()
    if "\x00" in path:
        return f"could not write the job summary: ${ENV} holds a NUL byte"
    try:
        # O_NONBLOCK: a FIFO with no reader fails at once instead of blocking the command forever
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        return f"could not write the job summary to {path} (${ENV}): it {os_reason(exc)}"
    try:
        kind = kind_of(os.fstat(fd).st_mode)
        if kind is not None:
            return f"could not write the job summary to {path} (${ENV}): it is {kind}, not a regular file"
        with os.fdopen(os.dup(fd), "a", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        return f"could not write the job summary to {path} (${ENV}): it {os_reason(exc)}"
    finally:
        os.close(fd)
    return None
