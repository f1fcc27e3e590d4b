"""What the CLI does when the reader of its output goes away (`reconciler
apply | head`, a CI log viewer closed): Python ignores SIGPIPE, so the next
write raises BrokenPipeError, and so would the interpreter's last flush at
exit. Output is then sent to /dev/null for the rest of the process: an apply
in progress runs to its end and records every action (a process killed
half-way by SIGPIPE, as a C or Go tool would be, is safe too, but converges
only on the next apply), with no traceback on the terminal."""

from __future__ import annotations

import os
import sys


def discard_stdout() -> None:
    """Point file descriptor 1 at /dev/null (sys.stdout's buffer, whose
    pending bytes can no longer be written, is dropped with it)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
