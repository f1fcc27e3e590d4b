"""The cycle collector while the program starts.

Start-up creates ~60,000 objects that live as long as the process (modules,
classes, functions, pydantic's schemas and validators) and almost no cyclic
garbage (about a thousand objects, measured at the end of a quickstart plan's
start-up). Python's collector still walks every one of them, in generation 0
and again in 1 as they pile up, then again in every full collection, and once
more at exit. So the entry point (`cli.main`, never an embedding process:
tests invoke the click group) pauses the collector; when the command's own
work begins (`config.load_config` before any file is read, or
`lockfile.read_lockfile` for a state command), what exists is
frozen (`gc.freeze`: kept out of every later collection and the one at exit,
the start-up garbage included, once) and the collector resumes for the work,
whose garbage it collects as before. Quickstart plan: 1,021 -> 946 M
instructions (valgrind), a wolkvox apply of 200 files 1,707 -> 1,612 M.
"""

from __future__ import annotations

import gc

_paused = False


def pause_collector() -> None:
    """From the program's entry point only: collection waits for `end_startup`."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def end_startup() -> None:
    """The command's modules are loaded and its work begins: freeze what start-up
    made and resume collecting. A no-op unless `pause_collector` paused it (and so
    in tests and any other process that imports reconciler), and after the first call."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


def resume_collector() -> None:
    """The command is over (or never loaded a config): collect as usual, nothing frozen."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()
