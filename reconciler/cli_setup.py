"""The offline commands: `init`, `validate`, `lint`, `providers`.

Registered on the `cli` group from `reconciler.cli` when a command is first
looked up. Thin: parse, call one function, print, pick the exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from reconciler.cli import cli, load_checked
from reconciler.cli_options import command_prefix, common_options, echo, no_color_env, target_option
from reconciler.errors import ReconcilerError
from reconciler.inputs import path_problem, write_failure


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
