"""The options, each defined once. The global ones (`-c/--config`,
`-v/--verbose`, `--debug`, `--no-color`) are accepted both before the command
name (`reconciler --no-color plan`) and on every command (`reconciler plan
--no-color`); the options several commands share (`--target`,
`--verify-content`, `--lock-timeout`, `--force`, `--format`/`--json`,
`--no-step-summary`) follow, with the output they print.

Both positions are the same click options: the group stores what it was given
in the click context (`Invocation`), and each command merges its own on top
(a command's `-c` wins; `-v` counts add up; flags are or-ed). The merged
result is also kept in a context variable, so the one place that prints
errors (`ReconcilerGroup.main`) can repeat the user's `-c` in the hints.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shlex
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import click

from reconciler.defaults import DEFAULT_CONFIG
from reconciler.durations import format_duration, parse_duration
from reconciler.step_summary import append_step_summary

# the HTTP library's own loggers: one line per request at INFO, which would
# repeat our own line (`reconciler.providers.http`); shown only from -vv
HTTP_LIBRARY_LOGGERS = ("httpx", "httpcore")


@dataclass
class Invocation:
    """The global options as given, in either position."""

    config: Path | None = None  # None: -c was not given (the default applies)
    verbose: int = 0
    debug: bool = False
    no_color: bool = False

    @property
    def config_path(self) -> Path:
        return self.config if self.config is not None else Path(DEFAULT_CONFIG)

    def merge(self, config: Path | None, verbose: int, debug: bool, no_color: bool) -> Invocation:
        return Invocation(
            config=config if config is not None else self.config,
            verbose=self.verbose + verbose,
            debug=self.debug or debug,
            no_color=self.no_color or no_color,
        )


CURRENT: ContextVar[Invocation | None] = ContextVar("reconciler_invocation", default=None)


def current() -> Invocation:
    return CURRENT.get() or Invocation()


def _global_options(func):
    for option in reversed((
        click.option("-c", "--config", "config", type=click.Path(path_type=Path), default=None,
                     help=f"Path to reconciler.toml (default: ./{DEFAULT_CONFIG})."),
        click.option("-v", "--verbose", count=True,
                     help="Log each provider operation (secrets redacted); -vv adds the HTTP library's lines."),
        click.option("--debug", is_flag=True, help="Show tracebacks for errors."),
        click.option("--no-color", is_flag=True, help="Never colour the output (NO_COLOR is honoured too)."),
    )):
        func = option(func)
    return func


def _merged(config: Path | None, verbose: int, debug: bool, no_color: bool) -> Invocation:
    ctx = click.get_current_context()
    inherited = ctx.find_object(Invocation) or Invocation()
    merged = inherited.merge(config, verbose, debug, no_color)
    ctx.obj = merged
    CURRENT.set(merged)
    return merged


def group_options(func):
    """The global options on a group (`reconciler`, `reconciler state`)."""

    @_global_options
    @functools.wraps(func)
    def wrapper(*args, config: Path | None, verbose: int, debug: bool, no_color: bool, **kwargs):
        _merged(config, verbose, debug, no_color)
        return func(*args, **kwargs)

    return wrapper


def common_options(func):
    """The global options on a command. The command receives `config_path`
    (the merged `-c`, or the default) and `no_color` (the merged flag)."""

    @_global_options
    @functools.wraps(func)
    def wrapper(*args, config: Path | None, verbose: int, debug: bool, no_color: bool, **kwargs):
        inv = _merged(config, verbose, debug, no_color)
        configure_logging(inv.verbose)
        return func(*args, config_path=inv.config_path, no_color=inv.no_color, **kwargs)

    return wrapper


def configure_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    for name in HTTP_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)


def no_color_env() -> bool:
    """NO_COLOR counts only when set to a non-empty value (no-color.org)."""
    return bool(os.environ.get("NO_COLOR"))


def use_color(no_color: bool) -> bool:
    return not no_color and not no_color_env() and sys.stdout.isatty()


# a command quoted in a hint: `reconciler plan ...` (not already carrying -c)
_QUOTED_COMMAND = re.compile(r"`reconciler (?!-c |--config )")


def command_prefix(config: Path | None = None) -> str:
    """`reconciler`, with the user's `-c PATH` (shell-quoted) when one was given."""
    config = current().config if config is None else config
    return "reconciler" if config is None else f"reconciler -c {shlex.quote(str(config))}"


def with_config(text: str, config: Path | None = None) -> str:
    """Every `reconciler ...` command quoted in `text`, with the user's -c, so a
    hint can be pasted as it is (plan notes, stale plans, errors)."""
    config = current().config if config is None else config
    if config is None:
        return text
    return _QUOTED_COMMAND.sub(lambda _: f"`{command_prefix(config)} ", text)


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """click.echo for human-readable text (not JSON): hints carry the user's -c,
    and no control character reaches the terminal raw (our own colours aside)."""
    from reconciler.render.printable import printable_lines

    click.echo(printable_lines(with_config(text), keep_colour=True), err=err, nl=nl)


# --- options several commands share ------------------------------------------------
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
