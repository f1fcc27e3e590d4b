"""The README documents every command and every option flag of the CLI
(sqlite-utils' habit): walk the click command tree and look for each."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from reconciler.cli import cli

README = (Path(__file__).parents[2] / "README.md").read_text()


def walk(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(group, info_name="reconciler")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield " ".join((*prefix, name)), command
        if isinstance(command, click.Group):
            yield from walk(command, (*prefix, name))


COMMANDS = [("", cli), *walk(cli)]


def flags(command: click.Command) -> list[str]:
    ctx = click.Context(command, info_name="x")
    out = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            out += [*param.opts, *param.secondary_opts]
    return out


def mentioned(text: str) -> bool:
    return re.search(r"(?<![\w-])" + re.escape(text) + r"(?![\w-])", README) is not None


def test_the_tree_is_walked():
    names = {name for name, _ in COMMANDS}
    assert {"plan", "apply", "drift", "import", "state", "state list", "state show", "state rm", "state mv",
            "output", "schema", "validate"} <= names


@pytest.mark.parametrize(("name", "command"), [c for c in COMMANDS if c[0]], ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_is_documented(name, command):
    assert f"reconciler {name}" in README, f"README.md does not mention `reconciler {name}`"


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=lambda v: (v or "reconciler") if isinstance(v, str) else "")
def test_every_option_is_documented(name, command):
    missing = [flag for flag in flags(command) if not mentioned(flag)]
    assert not missing, f"README.md does not mention {missing} of `reconciler {name}`".replace("  ", " ")


def test_every_exit_code_is_documented():
    section = README.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in section
    assert "drift" in section and "--detailed-exitcode" in section
