"""The command line: parse, call one function, render, pick the exit code.

Exit codes: 0 success; 1 error; 2 (`plan --detailed-exitcode`) changes
present. Usage errors exit 1 too, so 2 always means "changes".

Start-up time is part of the interface (`reconciler --version` and a small
plan should feel instant): this module imports only click and what every
command needs, and holds the group and `plan`; each command imports the
engine, the config loader and the renderers it uses when it runs. The other
commands live in modules by responsibility (`COMMANDS`), imported the first
time one of their commands is looked up: `cli_apply` (apply), `cli_setup`
(init, validate, lint, providers), `cli_gitops` (drift, import, state, output,
schema), `cli_team` (compare, show). Options are defined once in `cli_options`.
"""

from __future__ import annotations

import importlib
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler import __version__
from reconciler.cli_options import (
    CURRENT,
    common_options,
    current,
    echo,
    force_option,
    format_options,
    group_options,
    step_summary_option,
    target_option,
    use_color,
    verify_option,
    with_config,
    write_step_summary,
)
from reconciler.errors import ReconcilerError
from reconciler.render.printable import printable_lines

if TYPE_CHECKING:
    from reconciler.model import Desired
    from reconciler.plan import Plan

# the module that registers each command on `cli` when imported (`plan` is here)
COMMANDS = {
    "apply": "reconciler.cli_apply",
    **dict.fromkeys(("init", "validate", "lint", "providers"), "reconciler.cli_setup"),
    **dict.fromkeys(("drift", "import", "state", "output", "schema"), "reconciler.cli_gitops"),
    **dict.fromkeys(("compare", "show"), "reconciler.cli_team"),
}


def summary_line(plan: Plan) -> str:
    from reconciler.render.text import summary_line as line

    return line(plan)


class ReconcilerGroup(click.Group):
    """Catches every ReconcilerError in one place: `Error: ...`, exit 1.
    A command's module (COMMANDS) is imported when the command is looked up,
    so `--version` and `plan` import none of them; an unknown name or the
    command list (`--help`) loads them all."""

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands:
            if cmd_name in COMMANDS:
                importlib.import_module(COMMANDS[cmd_name])
            else:  # click suggests close names from the full list
                self._load_all()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        self._load_all()
        return super().list_commands(ctx)

    @staticmethod
    def _load_all() -> None:
        for module in dict.fromkeys(COMMANDS.values()):
            importlib.import_module(module)

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
        except BrokenPipeError:  # stdout's reader went away (`reconciler plan | head`)
            from reconciler.pipes import discard_stdout

            discard_stdout()
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


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


def main() -> None:
    from reconciler import startup

    startup.pause_collector()  # until the command's work begins: see reconciler.startup
    try:
        cli.main(prog_name="reconciler")
    finally:
        startup.resume_collector()


__all__ = ["cli", "main", "summary_line"]
