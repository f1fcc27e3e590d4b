"""The GitOps commands: `drift`, `import`, `state ...`, `output`, `schema`.

Registered on the `cli` group from `reconciler.cli` when a command is first
looked up (`cli.COMMANDS`). Thin like every command: parse, call one function, render, pick
the exit code. The logic is in `drift`, `state_ops` and `schema`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from reconciler import drift as drift_mod
from reconciler import schema as schema_mod
from reconciler import state_ops
from reconciler.cli import cli
from reconciler.cli_options import (
    common_options,
    echo,
    format_options,
    group_options,
    lock_timeout_option,
    step_summary_option,
    target_option,
    verify_option,
    waiting_message,
    write_step_summary,
)
from reconciler.render.drift import render_drift_json, render_drift_markdown, render_drift_text
from reconciler.render.json import dumps
from reconciler.render.printable import printable

DRIFT_RENDERERS = {
    "text": render_drift_text,
    "json": render_drift_json,
    "markdown": render_drift_markdown,
}


@cli.command()
@common_options
@target_option
@verify_option
@format_options
@step_summary_option
def drift(
    config_path: Path, targets: tuple[str, ...], verify_content: bool, output_format: str, no_color: bool,
    no_step_summary: bool,
) -> int:
    """Compare the lockfile with the providers (read-only). Exit 0 none, 2 drift, 1 error."""
    report = asyncio.run(drift_mod.check_drift(config_path, targets=targets, verify_content=verify_content))
    rendered = DRIFT_RENDERERS[output_format](report)
    if output_format == "json":
        click.echo(rendered, nl=False)
    else:
        echo(rendered, nl=False)
    write_step_summary(no_step_summary, lambda: rendered if output_format == "markdown" else render_drift_markdown(report))
    return 2 if report.has_drift else 0


def _lock(timeout: float) -> dict:
    """LockfileStore options for a state command: --lock-timeout and its waiting message."""
    return {"timeout": timeout, "on_wait": waiting_message}


@cli.command(name="import")
@common_options
@lock_timeout_option
@click.argument("address")
@click.argument("remote_id")
def import_cmd(config_path: Path, address: str, remote_id: str, no_color: bool, lock_timeout: float) -> int:
    """Adopt the existing remote asset REMOTE_ID as ADDRESS in the lockfile."""
    result = asyncio.run(state_ops.import_asset(config_path, address, remote_id, lock=_lock(lock_timeout)))
    echo(f"Imported {result.address} (remote id {result.entry.remote_id}, name '{result.entry.name}'): {result.verified}.")
    for warning in result.warnings:
        echo(f"Warning: {warning}", err=True)
    echo("Run `reconciler plan` to see what apply would change for it.")
    return 0


@cli.group()
@group_options
def state() -> None:
    """Inspect and edit the lockfile without touching any provider."""


@state.command(name="list")
@common_options
def state_list(config_path: Path, no_color: bool) -> int:
    """Every recorded address, one per line."""
    for address in state_ops.list_addresses(config_path):
        echo(printable(address))
    return 0


@state.command(name="show")
@common_options
@click.argument("address")
def state_show(config_path: Path, address: str, no_color: bool) -> int:
    """The lockfile entry of ADDRESS."""
    click.echo(state_ops.show(config_path, address), nl=False)
    return 0


@state.command(name="rm")
@common_options
@lock_timeout_option
@click.argument("addresses", nargs=-1, required=True, metavar="ADDRESS...")
def state_rm(config_path: Path, addresses: tuple[str, ...], no_color: bool, lock_timeout: float) -> int:
    """Forget ADDRESS (or 'instance.*'); the remote asset is left in place."""
    for address, entry in state_ops.remove(config_path, addresses, lock=_lock(lock_timeout)):
        click.echo(f"Removed {address} from the lockfile (remote id {entry.remote_id} left in place).")
    return 0


@state.command(name="mv")
@common_options
@lock_timeout_option
@click.argument("old")
@click.argument("new")
def state_mv(config_path: Path, old: str, new: str, no_color: bool, lock_timeout: float) -> int:
    """Record OLD's remote asset under NEW (after renaming an asset key)."""
    entry = state_ops.move(config_path, old, new, lock=_lock(lock_timeout))
    click.echo(f"Moved {old} to {new} (remote id {entry.remote_id}).")
    return 0


@cli.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object: address -> remote_id, name, instance, type.")
def output(config_path: Path, as_json: bool, no_color: bool) -> int:
    """Address -> remote id (and name), for IVR flow definitions and other tooling."""
    values = state_ops.outputs(config_path)
    if as_json:
        click.echo(dumps(values), nl=False)
        return 0
    width = max((len(a) for a in values), default=0)
    for address, v in values.items():
        echo(f"{printable(address):<{width}}  {printable(v['remote_id'])}  ({printable(v['name'])})")
    return 0


@cli.command()
@click.option(
    "--out-dir", type=click.Path(path_type=Path, file_okay=False), default=schema_mod.DEFAULT_DIR,
    show_default=True, help="Folder to write config, lockfile and plan JSON Schemas into.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when the files in --out-dir are out of date.")
@common_options
def schema(out_dir: Path, check: bool, config_path: Path, no_color: bool) -> int:
    """Generate JSON Schemas for the config, the lockfile and the JSON plan."""
    if check:
        stale = schema_mod.outdated(out_dir)
        for path in stale:
            click.echo(f"out of date: {path}", err=True)
        if stale:
            click.echo("Run `reconciler schema` and commit the result.", err=True)
            return 1
        click.echo(f"Schemas in {out_dir} are up to date.")
        return 0
    for path in schema_mod.write(out_dir):
        click.echo(f"Wrote {path}")
    return 0
