"""The team commands: `compare A B` and `show PLAN_FILE`.

Registered on the `cli` group from `reconciler.cli` when a command is first
looked up (`cli.COMMANDS`). Thin: parse, call one function, render, pick the
exit code. The logic is in `environments` and `saved_plan`.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import environments
from reconciler.cli import cli, render_plan
from reconciler.cli_options import common_options, echo, use_color
from reconciler.render.compare import (
    render_compare_json,
    render_compare_markdown,
    render_compare_text,
)
from reconciler.saved_plan import read_saved_plan

COMPARE_RENDERERS = {
    "text": render_compare_text,
    "json": render_compare_json,
    "markdown": render_compare_markdown,
}
FORMAT = click.Choice(["text", "json", "markdown"])


@cli.command()
@common_options
@click.argument("instance_a", metavar="A")
@click.argument("instance_b", metavar="B")
@click.option("--format", "output_format", type=FORMAT, default="text", show_default=True,
              help="text, json (versioned schema) or markdown (a PR comment or job summary).")
def compare(config_path: Path, instance_a: str, instance_b: str, output_format: str, no_color: bool) -> int:
    """Offline: where instances A and B differ (config + lockfile). Exit 0 in step, 2 differ, 1 error."""
    result = environments.compare_config(config_path, instance_a, instance_b)
    rendered = COMPARE_RENDERERS[output_format](result)
    if output_format == "json":
        click.echo(rendered, nl=False)
    else:
        echo(rendered, nl=False)
    return 0 if result.in_step else 2


@cli.command()
@click.argument("plan_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "output_format", type=FORMAT, default="text", show_default=True,
              help="text (like Terraform), json (versioned schema) or markdown (a PR comment).")
@common_options
def show(plan_file: Path, output_format: str, no_color: bool, config_path: Path) -> int:
    """Render a saved plan (from `plan --out`) without planning again; refuses an edited one."""
    plan = read_saved_plan(plan_file)
    rendered = render_plan(plan, output_format, color=use_color(no_color))
    if output_format == "json":
        click.echo(rendered, nl=False)
    else:
        echo(rendered, nl=False)
    return 0
