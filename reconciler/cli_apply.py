"""`reconciler apply`: plan afresh (or read a saved plan), ask, apply, report.

Registered on the `cli` group from `reconciler.cli` when the command is first
looked up. Thin: the workflow is `engine.plan_and_apply` and
`saved_plan.apply_saved_plan`; this module asks, shows progress, and picks the
exit code.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli import cli, load_checked
from reconciler.cli_options import (
    common_options,
    echo,
    force_option,
    lock_timeout_option,
    target_option,
    use_color,
    verify_option,
    waiting_message,
)
from reconciler.errors import ReconcilerError
from reconciler.render.printable import printable

if TYPE_CHECKING:
    from reconciler import engine
    from reconciler.plan import Change, Plan

VERBS = {  # by Action value (a StrEnum: Action.CREATE == "create")
    "create": ("Creating...", "Creation complete"),
    "update": ("Modifying...", "Modifications complete"),
    "replace": ("Replacing...", "Replacement complete"),
    "delete": ("Destroying...", "Destruction complete"),
    "adopt": ("Adopting...", "Adoption complete"),
}


FLUSH_EVERY = 0.05  # seconds a progress line may wait to be written with the next ones


class ApplyProgress:
    """Terraform-style lines; a progress bar as well on a terminal."""

    def __init__(self, tty: bool, color: bool) -> None:
        self.tty = tty
        self.color = color
        self.progress = None
        self.pending: list[str] = []  # lines not yet written

    def begin(self, total: int) -> None:
        if self.tty and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            # --no-color and NO_COLOR reach the bar too (rich colours it otherwise)
            console = Console(file=sys.stdout, no_color=not self.color)
            self.progress = Progress(
                TextColumn("Applying"), BarColumn(), MofNCompleteColumn(), transient=True, console=console
            )
            self.task = self.progress.add_task("apply", total=total)
            self.progress.start()

    def end(self) -> None:
        if self.progress:
            self.progress.stop()
        self.flush()

    def flush(self) -> None:
        if self.pending:
            text, self.pending = "".join(self.pending), []
            try:
                # color=False: no isatty per write (the lines went through `printable`: no escapes)
                click.echo(text, nl=False, color=False)
            except BrokenPipeError:  # the reader went away: the apply goes on (see reconciler.pipes)
                from reconciler.pipes import discard_stdout

                discard_stdout()

    def __call__(self, event: str, change: Change, detail: str) -> None:
        start, done = VERBS.get(change.action, ("Working...", "Complete"))
        if event == "start":
            line = f"{change.address}: {start}"
        elif event == "done":
            line = f"{change.address}: {done} {detail}"
        else:
            line = f"{change.address}: failed"
        if self.progress:
            self.progress.console.print(printable(line), markup=False, highlight=False)
            if event != "start":
                self.progress.advance(self.task)
        else:
            self.write(printable(line))

    def write(self, line: str) -> None:
        """Written at most FLUSH_EVERY seconds after it was given (the event
        loop's timer writes them even while every action waits), and by `end`.
        click.echo per line cost an isatty and a write each (stdout is
        unbuffered under PYTHONUNBUFFERED), two system calls per line on the
        event loop, each waiting for the GIL behind the worker threads of an
        apply; 3,000 files on `directory` printed 6,000 lines in ~2 s."""
        self.pending.append(line + "\n")
        if len(self.pending) == 1:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            loop.call_later(FLUSH_EVERY, self.flush)


@cli.command()
@common_options
@target_option
@verify_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@click.option("--parallelism", type=click.IntRange(min=1), default=None, help="Concurrent actions per instance (never above a provider's documented limit).")
@force_option
@lock_timeout_option
@click.argument("plan_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
def apply(config_path: Path, targets: tuple[str, ...], verify_content: bool, auto_approve: bool, parallelism: int | None, no_color: bool, force: bool, lock_timeout: float, plan_file: Path | None) -> int:
    """Make the providers match the configuration, or apply exactly PLAN_FILE."""
    if plan_file is not None:
        return apply_saved(plan_file, config_path, parallelism=parallelism, color=use_color(no_color),
                           lock_timeout=lock_timeout,
                           refused=[o for o, on in (("--target", targets), ("--verify-content", verify_content), ("--force", force)) if on])
    from reconciler import engine
    from reconciler.lockstore import LockfileStore
    from reconciler.render.text import render_text

    desired = load_checked(config_path, targets)
    color = use_color(no_color)
    progress = ApplyProgress(tty=sys.stdout.isatty(), color=color)

    def confirm(planned: Plan) -> bool:
        echo(render_text(planned, color=color))
        if not auto_approve:
            if not sys.stdin.isatty():
                raise ReconcilerError(
                    "refusing to apply: stdin is not a terminal, so the plan cannot be confirmed",
                    hint="Review the plan and run `reconciler apply --auto-approve`.",
                )
            if not click.confirm("Apply these changes?", default=False):
                return False
        progress.begin(len(planned.actionable))
        return True

    store = LockfileStore(desired.lockfile_path, timeout=lock_timeout, on_wait=waiting_message)
    with store:
        try:
            outcome = engine.run(
                engine.plan_and_apply(
                    desired, store, targets=targets, verify_content=verify_content,
                    parallelism=parallelism, confirm=confirm, listener=progress, force=force,
                )
            )
        finally:
            progress.end()
    return finish_apply(outcome, color)


def apply_saved(plan_file: Path, config_path: Path, *, parallelism: int | None, color: bool, refused: list[str],
                lock_timeout: float = 0.0) -> int:
    """`apply PLAN_FILE`: no confirmation, the file is what was reviewed."""
    if refused:
        raise ReconcilerError(
            f"{', '.join(refused)} cannot be combined with a saved plan: the plan file fixes what is applied",
            hint="Pass those options to `reconciler plan --out FILE` instead.",
        )
    from reconciler import engine
    from reconciler.config import load_config
    from reconciler.lockstore import LockfileStore
    from reconciler.render.text import render_text
    from reconciler.saved_plan import apply_saved_plan, read_saved_plan

    saved = read_saved_plan(plan_file)
    desired = load_config(config_path)
    progress = ApplyProgress(tty=sys.stdout.isatty(), color=color)

    def start(planned: Plan) -> None:
        echo(render_text(planned, color=color))
        progress.begin(len(planned.actionable))

    store = LockfileStore(desired.lockfile_path, timeout=lock_timeout, on_wait=waiting_message)
    with store:
        try:
            outcome = engine.run(
                apply_saved_plan(saved, desired, store, source=str(plan_file), parallelism=parallelism,
                                 listener=progress, on_start=start)
            )
        finally:
            progress.end()
    return finish_apply(outcome, color)


def finish_apply(outcome: engine.ApplyOutcome, color: bool) -> int:
    from reconciler.render.text import render_text
    from reconciler.safety import refusal_error

    if outcome.plan.refused:
        echo(render_text(outcome.plan, color=color), nl=False)
        raise refusal_error(outcome.plan)
    if outcome.report is None:
        if outcome.plan.has_changes:
            click.echo("Apply cancelled.")
            return 1
        echo(render_text(outcome.plan, color=color), nl=False)
        return 0
    r = outcome.report
    line = f"Apply complete: {r.added} added, {r.changed} changed, {r.replaced} replaced, {r.destroyed} destroyed"
    line += f", {r.adopted} adopted." if r.adopted else "."
    if r.errors:
        click.echo("")
        for err in r.errors:
            echo(f"Error: {err}", err=True)
        click.echo(line.replace("Apply complete", "Apply failed"), err=True)
        click.echo("The lockfile records every action that succeeded; fix the errors and apply again.", err=True)
        return 1
    click.echo(line)
    return 0
