"""What a Terraform user expects of the CLI (issue 12, section 4): the global
options in both positions on every command, `-v` logging each provider
operation once, `--no-color`/NO_COLOR reaching the progress bar, and hints that
repeat the user's `-c` so they can be pasted as they are."""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler.cli import cli as cli_group
from tests.conftest import make_wav
from tests.emulators.soniox import SonioxEmulator

GLOBAL = {"config", "verbose", "debug", "no_color"}


def all_commands(group: click.Group = cli_group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group, info_name="reconciler")
    for name in group.list_commands(ctx):  # the command modules register theirs when listed
        command = group.get_command(ctx, name)
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_every_command_and_group_takes_the_global_options():
    """Structural, so a command added later without the shared decorator fails here."""
    assert {p.name for p in cli_group.params} >= GLOBAL
    missing = {" ".join(path): sorted(GLOBAL - {p.name for p in cmd.params}) for path, cmd in all_commands()}
    assert {k: v for k, v in missing.items() if v} == {}


# --- both positions, for real --------------------------------------------------


@pytest.fixture
def project(tmp_path: Path):
    root = tmp_path / "my project"  # a space: hints must quote it
    (root / "audio").mkdir(parents=True)
    (root / "audio" / "welcome.wav").write_bytes(make_wav(seed=1))
    (root / "audio" / "hold.wav").write_bytes(make_wav(seed=2))
    config = root / "reconciler.toml"
    config.write_text(
        '[providers.local]\ntype = "directory"\npath = "remote"\n'
        '[providers.local.assets.welcome]\nfile = "audio/welcome.wav"\n'
        '[providers.local.assets.hold]\nfile = "audio/hold.wav"\n'
    )
    return config


def applied(run_cli, config: Path) -> None:
    code, out, err = run_cli("apply", "-c", str(config), "--auto-approve")
    assert code == 0, out + err


# command line (after the command name) -> (exit code, a needle in stdout+stderr)
def cases(config: Path) -> dict[tuple[str, ...], tuple[int, str]]:
    return {
        ("plan",): (0, "No changes."),
        ("apply", "--auto-approve"): (0, "No changes."),
        ("validate",): (0, "2 asset(s) on 1 instance(s)"),
        ("drift",): (0, ""),
        ("output",): (0, "local.welcome  welcome.wav"),
        ("state", "list"): (0, "local.hold"),
        ("state", "show", "local.welcome"): (0, 'remote_id = "welcome.wav"'),
        ("state", "mv", "local.nothing", "local.other"): (1, "local.nothing"),
        ("state", "rm", "local.nothing"): (1, "local.nothing"),
        ("import", "local.welcome", "welcome.wav"): (1, "already"),
        ("providers",): (0, "directory"),
        ("schema", "--check", "--out-dir", str(Path(__file__).parents[2] / "schemas")): (0, "up to date"),
    }


@pytest.mark.parametrize("position", ["before", "after"])
def test_global_options_in_both_positions_on_every_command(run_cli, project, position, monkeypatch, tmp_path):
    applied(run_cli, project)
    monkeypatch.chdir(tmp_path)  # no reconciler.toml here: only -c can find the project
    flags = ["-c", str(project), "-v", "--no-color"]
    seen = set()
    for command, (want, needle) in cases(project).items():
        argv = [*flags, *command] if position == "before" else [*command, *flags]
        code, out, err = run_cli(*argv)
        assert code == want, (argv, out, err)
        assert needle in out + err, (argv, out, err)
        assert "No such option" not in err and "Traceback" not in err
        seen.add(command[0])
    # show renders a saved plan; -c and the rest are accepted there too
    plan_file = tmp_path / f"plan-{position}.json"
    assert run_cli("plan", "-c", str(project), "--out", str(plan_file))[0] == 0
    argv = [*flags, "show", str(plan_file)] if position == "before" else ["show", str(plan_file), *flags]
    code, out, err = run_cli(*argv)
    assert code == 0 and "No changes." in out, out + err
    seen.add("show")
    # init writes where -c points, in either position
    target = tmp_path / f"new-{position}" / "reconciler.toml"
    target.parent.mkdir()
    argv = ["-c", str(target), "--no-color", "init"] if position == "before" else ["init", "-c", str(target), "--no-color"]
    code, out, err = run_cli(*argv)
    assert code == 0 and target.exists(), out + err
    seen.add("init")
    assert seen >= {"plan", "apply", "validate", "drift", "output", "state", "import", "providers", "schema", "init"}


def test_debug_before_the_command_shows_the_traceback(run_cli, tmp_path):
    with pytest.raises(Exception, match="config file not found"):
        run_cli("--debug", "-c", str(tmp_path / "none.toml"), "plan")


def test_command_position_wins_for_config(run_cli, project, tmp_path):
    applied(run_cli, project)
    code, out, err = run_cli("-c", str(tmp_path / "none.toml"), "validate", "-c", str(project))
    assert code == 0, err


# --- -v: each provider operation once -------------------------------------------


def log_lines(err: str, logger: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(f"INFO {logger}:")]


def test_directory_logs_each_operation_once(run_cli, project):
    code, out, err = run_cli("-v", "apply", "-c", str(project), "--auto-approve")
    assert code == 0, err
    lines = log_lines(err, "reconciler.providers.directory")
    assert len([x for x in lines if ": create " in x]) == 2
    assert len([x for x in lines if ": list " in x]) == 1
    (project.parent / "audio" / "hold.wav").write_bytes(make_wav(seed=9))
    code, out, err = run_cli("apply", "-c", str(project), "--auto-approve", "-v")
    lines = log_lines(err, "reconciler.providers.directory")
    assert [x.split(": ", 2)[2].split(" ")[0] for x in lines] == ["list", "overwrite"]
    code, out, err = run_cli("plan", "-c", str(project))  # without -v: nothing
    assert "INFO" not in err


@pytest.fixture
def soniox(serve, tmp_path, monkeypatch):
    emulator = SonioxEmulator()
    server = serve(emulator)
    monkeypatch.setenv("SONIOX_API_KEY", emulator.token)
    (tmp_path / "a.wav").write_bytes(make_wav(seed=3))
    (tmp_path / "b.wav").write_bytes(make_wav(seed=4))
    config = tmp_path / "reconciler.toml"
    config.write_text(
        f'[providers.stt]\ntype = "soniox"\nbase_url = "{server.url}"\n'
        '[providers.stt.assets.a]\nfile = "a.wav"\n[providers.stt.assets.b]\nfile = "b.wav"\n'
    )
    return emulator, config


def test_http_requests_are_logged_once_at_v_and_the_library_joins_at_vv(run_cli, soniox):
    emulator, config = soniox
    code, out, err = run_cli("-v", "apply", "-c", str(config), "--auto-approve")
    assert code == 0, out + err
    ours = log_lines(err, "reconciler.providers.http")
    assert len(ours) == len(emulator.requests) >= 3  # a list and two uploads, each once
    assert not [x for x in err.splitlines() if "httpx" in x or "httpcore" in x]
    assert emulator.token not in err
    emulator.reset_log()
    code, out, err = run_cli("-vv", "plan", "-c", str(config))
    assert code == 0, err
    assert len(log_lines(err, "reconciler.providers.http")) == len(emulator.requests)
    assert log_lines(err, "httpx") and any(x.startswith("DEBUG httpcore") for x in err.splitlines())
    assert emulator.token not in err


# --- colour ------------------------------------------------------------------------

COLOUR_SGR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-8]|9[0-7])(?:;[0-9]+)*m")


def run_on_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run the real CLI with stdout on a pseudo-terminal: the progress bar shows."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from reconciler.cli import main; main()", *args], cwd=cwd, stdout=follower, stderr=follower,
        stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "100", "TERM": "xterm-256color", **env},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    out = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, out
    return out


@pytest.mark.parametrize(("args", "env", "coloured"), [
    ([], {"NO_COLOR": ""}, True),  # empty NO_COLOR does not count (no-color.org)
    (["--no-color"], {}, False),
    ([], {"NO_COLOR": "1"}, False),
    (["--no-color"], {"NO_COLOR": ""}, False),
])
def test_colour_on_a_terminal_including_the_progress_bar(project, args, env, coloured):
    for i in range(3, 40):  # enough actions for the bar to be drawn
        (project.parent / "audio" / f"p{i}.wav").write_bytes(make_wav(seed=i))
    with project.open("a") as fh:
        fh.write("[[providers.local.glob]]\npattern = \"audio/p*.wav\"\n")
    out = run_on_terminal(["apply", "-c", str(project), "--auto-approve", *args], project.parent, env)
    assert "Apply complete: 39 added" in out
    assert bool(COLOUR_SGR.search(out)) is coloured, repr(out[:2000])
    assert ("Applying" in out) or not coloured  # the bar was drawn (on a terminal)


# --- hints repeat -c -----------------------------------------------------------------


def pasted(hint_line: str) -> list[str]:
    """The argv of the command quoted in backticks in a hint, as a shell would split it."""
    command = re.search(r"`(reconciler [^`]+)`", hint_line).group(1)
    argv = shlex.split(command)
    assert argv[0] == "reconciler"
    return argv[1:]


def test_saved_plan_hint_carries_the_config_and_pastes(run_cli, project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan_file = project.parent / "the plan.json"
    code, out, err = run_cli("-c", str(project), "plan", "--out", str(plan_file))
    assert code == 0, err
    line = next(x for x in out.splitlines() if "To apply exactly this plan" in x)
    assert f"-c {shlex.quote(str(project))}" in line
    code, out, err = run_cli(*pasted(line))
    assert code == 0 and "Apply complete: 2 added" in out, out + err


def test_stale_plan_hint_carries_the_config(run_cli, project):
    plan_file = project.parent / "plan.json"
    assert run_cli("plan", "-c", str(project), "--out", str(plan_file))[0] == 0
    (project.parent / "audio" / "hold.wav").write_bytes(make_wav(seed=7))
    code, out, err = run_cli("apply", str(plan_file), "-c", str(project))
    assert code == 1 and "is stale" in err
    line = next(x for x in err.splitlines() if "Make a new plan" in x)
    argv = pasted(line)
    assert argv[:2] == ["-c", str(project)] and argv[2:4] == ["plan", "--out"]
    assert run_cli(*argv)[0] == 0


def test_error_hints_carry_the_config(run_cli, project):
    applied(run_cli, project)
    # an unmanaged file under a declared name: the conflict names `reconciler import`
    (project.parent / "remote" / "extra.wav").write_bytes(make_wav(seed=11))
    (project.parent / "audio" / "extra.wav").write_bytes(make_wav(seed=12))
    with project.open("a") as fh:
        fh.write('[providers.local.assets.extra]\nfile = "audio/extra.wav"\n')
    code, out, err = run_cli("plan", "-c", str(project))
    assert code == 1
    assert f"`reconciler -c {shlex.quote(str(project))} import local.extra extra.wav`" in err
    (project.parent / "remote" / "extra.wav").unlink()
    code, out, err = run_cli("-c", str(project), "apply", input="")  # stdin is not a terminal
    assert code == 1
    assert f"`reconciler -c {shlex.quote(str(project))} apply --auto-approve`" in err


def test_no_config_given_means_no_c_in_hints(run_cli, project, monkeypatch):
    monkeypatch.chdir(project.parent)
    code, out, err = run_cli("plan", "--out", "p.json")
    assert code == 0, err
    assert "`reconciler apply p.json`" in out


def test_json_output_is_never_rewritten(run_cli, project):
    applied(run_cli, project)
    (project.parent / "remote" / "extra.wav").write_bytes(make_wav(seed=11))
    code, out, err = run_cli("plan", "-c", str(project), "--json")
    data = json.loads(out)
    assert "-c" not in json.dumps(data["drift"])


# --- init offers a .gitignore -----------------------------------------------------


def test_init_writes_a_gitignore_for_what_must_not_be_committed(run_cli, tmp_path):
    code, out, err = run_cli("init", "-c", str(tmp_path / "reconciler.toml"))
    assert code == 0, err
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert {"reconciler.lock.lck", "reconciler.lock.journal", ".reconciler/"} <= set(lines)
    assert "reconciler.lock" not in lines  # the lockfile itself is committed
    assert "Wrote" in out and ".gitignore" in out


def test_init_leaves_an_existing_gitignore_alone_and_names_what_it_lacks(run_cli, tmp_path):
    (tmp_path / ".gitignore").write_text("node_modules/\n.reconciler/\n")
    code, out, err = run_cli("init", "-c", str(tmp_path / "reconciler.toml"))
    assert code == 0, err
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n.reconciler/\n"
    assert "reconciler.lock.lck" in out and "reconciler.lock.journal" in out
    assert ".reconciler/" not in out.split("lacks", 1)[-1].split("committed):", 1)[-1]


def test_readme_quickstart_starts_with_a_virtual_environment():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    quick = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "Python 3.11 or newer" in quick
    first_command = quick.split("```sh\n", 1)[1].splitlines()[0]
    assert first_command == "python3 -m venv .venv && . .venv/bin/activate"
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11"' in pyproject
