"""The command line: parse, call one function, render, pick the exit code.

Exit codes: 0 success; 1 error; 2 (`plan --detailed-exitcode`) changes
present. Usage errors exit 1 too, so 2 always means "changes".

Start-up time is part of the interface (`reconciler --version` and a small
plan should feel instant): this module imports only click and what every
command needs; each command imports the engine, the config loader, the
renderers it uses when it runs, and the command modules registered on `cli`
(`cli_gitops`, `cli_team`) are imported the first time a command is looked up.
"""

from __future__ import annotations

import functools
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler import __version__
from reconciler.cli_options import (  # noqa: F401  (re-exported for the command modules)
    CURRENT,
    Invocation,
    command_prefix,
    common_options,
    current,
    echo,
    group_options,
    no_color_env,
    use_color,
    with_config,
)
from reconciler.durations import format_duration, parse_duration
from reconciler.errors import ReconcilerError
from reconciler.inputs import path_problem, write_failure
from reconciler.render.printable import printable, printable_lines
from reconciler.step_summary import append_step_summary

if TYPE_CHECKING:
    from reconciler import engine
    from reconciler.model import Desired
    from reconciler.plan import Change, Plan

log = logging.getLogger(__name__)

# modules whose commands register themselves on `cli` when imported
COMMAND_MODULES = ("reconciler.cli_gitops", "reconciler.cli_team")


def summary_line(plan: Plan) -> str:
    from reconciler.render.text import summary_line as line

    return line(plan)


class ReconcilerGroup(click.Group):
    """Catches every ReconcilerError in one place: `Error: ...`, exit 1.
    Commands of COMMAND_MODULES are loaded when a command is looked up, so
    `--version` never imports them."""

    _loaded = False

    def _load_commands(self) -> None:
        if not ReconcilerGroup._loaded:
            ReconcilerGroup._loaded = True
            import importlib

            for module in COMMAND_MODULES:
                importlib.import_module(module)

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands:
            self._load_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        self._load_commands()
        return super().list_commands(ctx)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        CURRENT.set(None)  # one invocation's options never leak into the next (tests run many)
        try:
            rv = super().main(args, prog_name or "reconciler", complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            code = 1
        except click.ClickException as exc:
            exc.show()
            code = 1
        except ReconcilerError as exc:
            if current().debug:
                raise
            # a name in a message may hold control characters: never raw to the terminal
            click.echo(f"Error: {printable_lines(with_config(exc.render()))}", err=True)
            code = 1
        except KeyboardInterrupt:
            click.echo("Interrupted. The lockfile holds every action that completed.", err=True)
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


target_option = click.option(
    "--target", "targets", multiple=True, metavar="ADDRESS",
    help="Limit to this address (repeatable; 'instance.*' matches an instance).",
)
verify_option = click.option(
    "--verify-content", is_flag=True,
    help="Download recorded assets where the provider allows and compare their sha256.",
)
class Duration(click.ParamType):
    """A Terraform-style duration (0s, 10s, 5m, 1m30s), as seconds."""

    name = "duration"

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


lock_timeout_option = click.option(
    "--lock-timeout", type=Duration(), default="0s", show_default=True, metavar="DURATION",
    help="Wait this long for a lockfile held by another apply or state command (e.g. 10s, 5m) "
    "instead of failing at once.",
)


def waiting_message(path: Path, timeout: float) -> None:
    """Printed when the lockfile is held and --lock-timeout lets the command wait."""
    click.echo(
        f"The lockfile {path} is held by another reconciler process; waiting up to "
        f"{format_duration(timeout)} for it (--lock-timeout)...",
        err=True,
    )


force_option = click.option(
    "--force", is_flag=True,
    help="Go past the mass-delete guard (max_delete_percent / max_deletes); protect still holds.",
)


def format_options(func):
    """--format text|json|markdown, and --json as its short form."""

    @click.option(
        "--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text",
        show_default=True, help="text (like Terraform), json (versioned schema) or markdown (a PR comment).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Short for --format json.")
    @functools.wraps(func)
    def wrapper(*args, output_format: str, as_json: bool, **kwargs):
        return func(*args, output_format="json" if as_json else output_format, **kwargs)

    return wrapper


step_summary_option = click.option(
    "--no-step-summary", is_flag=True,
    help="Do not append the Markdown report to $GITHUB_STEP_SUMMARY (GitHub Actions' job summary).",
)


def write_step_summary(no_step_summary: bool, render) -> None:
    """The Markdown report into the job summary when running on GitHub Actions."""
    if no_step_summary:
        return
    warning = append_step_summary(render)
    if warning:
        click.echo(f"Warning: {warning}", err=True)


def load_checked(config_path: Path, targets: tuple[str, ...] = ()) -> Desired:
    """The config loaded, renditions resolved, and the assets that opted into
    lint checked (those `--target` selects): an error-level finding refuses
    like a config error."""
    from reconciler import audiolint
    from reconciler.config import load_config

    desired = load_config(config_path)
    audiolint.gate(desired, targets=targets)
    return desired


def render_plan(plan: Plan, output_format: str, *, color: bool) -> str:
    if output_format == "json":
        from reconciler.render.json import render_json

        return render_json(plan)
    if output_format == "markdown":
        from reconciler.render.markdown import render_markdown

        return render_markdown(plan)
    from reconciler.render.text import render_text

    return render_text(plan, color=color)


@click.group(cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@group_options
def cli() -> None:
    """Terraform for telephony audio: plan and apply IVR prompts to provider accounts."""


@cli.command()
@common_options
@target_option
@verify_option
@format_options
@force_option
@click.option(
    "--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="FILE",
    help="Also save the plan to FILE (JSON with a checksum) for `reconciler apply FILE`.",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none, 1 on error.")
@step_summary_option
def plan(
    config_path: Path, targets: tuple[str, ...], verify_content: bool, detailed_exitcode: bool,
    no_color: bool, output_format: str, force: bool, out_path: Path | None, no_step_summary: bool,
) -> int:
    """Show what apply would change."""
    from reconciler import engine
    from reconciler.lockfile import read_lockfile
    from reconciler.safety import refusal_error

    desired = load_checked(config_path, targets)
    recorded = read_lockfile(desired.lockfile_path)
    result = engine.run(
        engine.plan_once(desired, recorded, targets=targets, verify_content=verify_content, force=force)
    )
    if out_path is not None and not result.refused:
        from reconciler.saved_plan import write_saved_plan

        write_saved_plan(out_path, result)
    rendered = render_plan(result, output_format, color=use_color(no_color))
    if output_format == "json":
        click.echo(rendered, nl=False)  # data: exactly as planned
    else:
        echo(rendered, nl=False)
    write_step_summary(no_step_summary, lambda: rendered if output_format == "markdown" else render_plan(
        result, "markdown", color=False))
    if result.refused:  # shown above, so the user sees what --force would do
        raise refusal_error(result)
    if out_path is not None:  # on stderr unless text, so JSON and Markdown stay clean on stdout
        echo(f"\nSaved the plan to {out_path}. To apply exactly this plan: "
             f"`reconciler apply {shlex.quote(str(out_path))}`", err=output_format != "text")
    return 2 if detailed_exitcode and result.has_changes else 0


VERBS = {  # by Action value (a StrEnum: Action.CREATE == "create")
    "create": ("Creating...", "Creation complete"),
    "update": ("Modifying...", "Modifications complete"),
    "replace": ("Replacing...", "Replacement complete"),
    "delete": ("Destroying...", "Destruction complete"),
    "adopt": ("Adopting...", "Adoption complete"),
}


class ApplyProgress:
    """Terraform-style lines; a progress bar as well on a terminal."""

    def __init__(self, tty: bool, color: bool) -> None:
        self.tty = tty
        self.color = color
        self.progress = None

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
            click.echo(printable(line))


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


@cli.command()
@common_options
def validate(config_path: Path, no_color: bool) -> int:
    """Check the config and every audio file offline."""
    desired = load_checked(config_path)
    assets = desired.all_assets()
    click.echo(
        f"Success! The configuration is valid: {len(assets)} asset(s) on "
        f"{len(desired.instances)} instance(s)."
    )
    for warning in desired.warnings:  # the config as a whole: an unused library prompt, an idle `use`
        echo(f"Warning: {warning}")
    for inst in desired.instances.values():
        for warning in inst.warnings:  # a provider's soft requirements (Provider.asset_warnings)
            echo(f"Warning: {warning}")
    return 0


@cli.command()
@common_options
@target_option
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="text, or json (findings with address, rule, severity, value, limit, unit, message).",
)
def lint(config_path: Path, targets: tuple[str, ...], no_color: bool, output_format: str) -> int:
    """Measure every declared asset against the [lint] rules; exit 1 on an error-level finding."""
    from reconciler import audiolint
    from reconciler.config import load_config

    desired = load_config(config_path)
    result = audiolint.lint_desired(desired, targets=targets)
    if output_format == "json":
        from reconciler.render.json import dumps

        click.echo(dumps(audiolint.lint_document(result)), nl=False)
    else:
        click.echo(audiolint.lint_text(result), nl=False)
    return 1 if result.errors else 0


STARTER = '''\
# reconciler.toml: which audio belongs on which provider account.
# Plan with `reconciler plan`, apply with `reconciler apply`.

[settings]
# lockfile = "reconciler.lock"        # beside this file by default; commit it

[providers.local]                     # instance name: [a-z0-9_-]+
type = "directory"                    # directory | see `reconciler providers`
path = "build/sounds"                 # the target folder, relative to this file
prune = false                         # true: also delete files neither declared nor recorded
# audio = { format = "wav", encoding = "ulaw", sample_rate = 8000, channels = 1, loudness = -19 }
#                                     # upload a rendition of each file, rendered into .reconciler/cache/
#                                     # (add .reconciler/ to your .gitignore)

# One table per asset; its address is "local.welcome".
# [providers.local.assets.welcome]
# file = "audio/welcome.wav"          # relative to this file
# name = "welcome"                    # remote name; default: the key
# description = "Main greeting"
# protect = false                     # true: a plan that would delete or replace it fails

# Or one asset per matching file (key and name: the file stem).
# [[providers.local.glob]]
# pattern = "audio/*.wav"
'''


@cli.command()
@common_options
def init(config_path: Path, no_color: bool) -> int:
    """Write a commented starter reconciler.toml (at -c PATH, default ./reconciler.toml)."""
    folder = config_path.parent
    problem = path_problem(str(config_path))
    if problem:
        raise ReconcilerError(f"cannot write {config_path}: the path {problem}", hint="Pick another path with -c.")
    if not os.path.isdir(folder):  # os.path: False, never an exception, for any odd path
        what = "is not a folder" if os.path.lexists(folder) else "(its folder) does not exist"
        raise ReconcilerError(
            f"cannot write {config_path}: {folder} {what}",
            hint=f"Create the folder first (`mkdir -p {folder}`) or pick another path with -c.",
        )
    try:
        with open(config_path, "x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
            fh.write(STARTER)
    except FileExistsError:
        raise ReconcilerError(f"{config_path} already exists; not overwriting it", hint="Remove it first or pick another path with -c.") from None
    except OSError as exc:
        raise ReconcilerError(
            f"cannot write {config_path}: {write_failure(exc, config_path)}",
            hint="Pick a path in a writable folder with -c.",
        ) from None
    click.echo(f"Wrote {config_path}. Declare your assets in it, then run `{command_prefix()} plan`.")
    from reconciler import gitignore

    offer = gitignore.offer(folder)  # the lock anchor, the crash journal, the rendition cache
    if offer:
        click.echo(offer)
    return 0


def size_limit(n: int | None) -> str:
    """A byte limit as documented: "5 MiB" or "5 MB", never rounded to a wrong whole number."""
    if not n:
        return "-"
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000} MB"
    return f"{n:,} B"


@cli.command(name="providers")
@common_options
def providers_cmd(config_path: Path, no_color: bool) -> int:
    """List provider types and their capabilities."""
    from rich.console import Console
    from rich.table import Table

    from reconciler.providers import PROVIDERS

    table = Table(title="Provider types")
    for col in ("type", "list", "download", "rename", "description", "delete", "batch", "concurrency", "max size", "formats"):
        # the type is what users copy into their config: never shorten it to "dire…"
        table.add_column(col, min_width=max(map(len, PROVIDERS)) if col == "type" else None)
    yes = lambda b: "yes" if b else "no"  # noqa: E731
    for name, cls in sorted(PROVIDERS.items()):
        c = cls.capabilities
        table.add_row(
            name, yes(c.can_list), yes(c.can_download), yes(c.can_rename), yes(c.can_describe),
            yes(c.can_delete), str(c.max_batch),
            f"{c.max_concurrency}{' (hard)' if c.hard_concurrency_limit else ''}",
            size_limit(c.max_bytes),
            ",".join(sorted(c.formats)),
        )
    # a pipe has no width: rich's default of 80 would truncate every column
    width = None if sys.stdout.isatty() else 200
    Console(no_color=no_color or no_color_env(), width=width).print(table)
    return 0


def main() -> None:
    cli.main(prog_name="reconciler")


__all__ = ["cli", "main", "summary_line"]
