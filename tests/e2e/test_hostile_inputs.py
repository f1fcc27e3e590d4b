"""Hand-made hostile inputs, through a real `reconciler` process: what
`python -m reconciler` runs, in a process of its own forked from a server that
imported reconciler once (tests/e2e/crash_env.py; the read-only-mount cases
start the interpreter itself under unshare).

Each case builds a workspace that has been applied once (so there is a real
lockfile to protect), makes one thing hostile — the config's bytes, a path
it names, the lockfile, a saved plan, an environment variable, a read-only
folder — and runs one command with a timeout, so a hang fails the test instead
of blocking it. Every case must end in exactly one `Error:` paragraph that
names the culprit, exit 1, no traceback, and a byte-identical lockfile.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import make_wav
from tests.e2e.crash_env import run_process

TIMEOUT = 120  # seconds: generous for a loaded CI machine (the audio stack imports slowly); a hang still fails

BASE = """\
[providers.local]
type = "directory"
path = "remote"

[providers.local.assets.welcome]
file = "audio/welcome.wav"
"""


def with_asset_file(value: str) -> str:
    return BASE.replace('"audio/welcome.wav"', value)


@dataclass
class Workspace:
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    readonly: Path | None = None  # run with this folder mounted read-only (or chmod 555)

    @property
    def config(self) -> Path:
        return self.root / "reconciler.toml"

    @property
    def lock(self) -> Path:
        return self.root / "reconciler.lock"

    def write(self, text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        self.config.write_bytes(data)


def run(ws: Workspace, args: list[str], *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "reconciler", *args]
    full_env = {**os.environ, "NO_COLOR": "1", **ws.env, **(env or {})}
    if ws.readonly is None:
        return run_process(args, full_env, ws.root, TIMEOUT)
    if os.geteuid() != 0:
        mode = ws.readonly.stat().st_mode
        ws.readonly.chmod(0o555)
        try:
            return run_process(args, full_env, ws.root, TIMEOUT)
        finally:
            ws.readonly.chmod(mode)
    # root ignores permissions: mount the folder read-only in a private mount
    # namespace that dies with the process, so nothing is left mounted
    if shutil.which("unshare") is None:
        pytest.skip("root without unshare(1): cannot make a read-only folder")
    # `cd "$PWD"`: the inherited working folder is the one under the new mount
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" || exit 97; cd "$PWD"; shift; exec "$@"'
    wrapped = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(ws.readonly), *cmd]
    result = subprocess.run(wrapped, cwd=ws.root, capture_output=True, text=True, timeout=TIMEOUT, env=full_env)
    if result.returncode == 97 or "unshare failed" in result.stderr:
        pytest.skip(f"cannot make a read-only bind mount here: {result.stderr.strip()[:200]}")
    return result


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace applied once (audio, remote folder, lockfile), copied per case."""
    ws = Workspace(tmp_path_factory.mktemp("template") / "ws")
    (ws.root / "audio").mkdir(parents=True)
    (ws.root / "audio" / "welcome.wav").write_bytes(make_wav(seed=1))
    (ws.root / "audio" / "hold.wav").write_bytes(make_wav(seed=2))
    ws.write(BASE)
    result = run(ws, ["apply", "--auto-approve"])
    assert result.returncode == 0, result.stderr
    assert ws.lock.is_file()
    return ws.root


@pytest.fixture
def applied(template: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(template, root, symlinks=True)
    return Workspace(root)


Setup = Callable[[Workspace], list[str]]
CASES: dict[str, tuple[Setup, tuple[str, ...]]] = {}


def case(*expected: str):
    """Register a case: `setup(ws)` makes the input hostile and returns the
    command's arguments; `expected` are substrings of the one error paragraph."""

    def register(setup: Setup) -> Setup:
        CASES[setup.__name__] = (setup, expected)
        return setup

    return register


# --- the config's bytes and structure ---------------------------------------------


@case("reconciler.toml", "more than 64 deep", "line 1")
def toml_arrays_nested_2000_deep(ws):
    ws.write("x = " + "[" * 2000 + "]" * 2000 + "\n")
    return ["validate"]


@case("reconciler.toml", "more than 64 deep", "line 4")
def toml_inline_tables_nested_500_deep(ws):
    ws.write(BASE.replace('path = "remote"', 'path = "remote"\nx = ' + "{a=" * 500 + "1" + "}" * 500))
    return ["plan"]


@case("reconciler.toml", "dotted key of more than 64 parts")
def toml_dotted_key_with_100000_parts(ws):
    ws.write("a" + ".a" * 100_000 + " = 1\n")
    return ["validate"]


@case("reconciler.toml", "number 5,000 characters long", "line 4")
def toml_integer_with_5000_digits(ws):
    ws.write(BASE.replace('path = "remote"', 'path = "remote"\nmax_deletes = ' + "9" * 5000))
    return ["plan"]


@case("reconciler.toml", "over the limit of 8,388,608 bytes")
def config_of_20_megabytes(ws):
    ws.write(BASE + "# " + "x" * 20_000_000 + "\n")
    return ["validate"]


@case("reconciler.toml", "unknown key", "... and ")
def config_with_200000_unknown_keys(ws):
    ws.write(BASE.replace('path = "remote"', 'path = "remote"\n' + "".join(f"k{i} = 1\n" for i in range(200_000))))
    return ["validate"]


@case("reconciler.toml", "not UTF-8")
def config_in_latin1(ws):
    ws.write(BASE.encode() + "# caf\xe9\n".encode("latin-1"))
    return ["validate"]


@case("reconciler.toml", "providers.local.type", "must be a string, not a table")
def type_is_a_table(ws):
    ws.write(BASE.replace('type = "directory"', "type = {}"))
    return ["validate"]


@case("reconciler.toml", "providers.local.type", "must be a string, not an array")
def type_is_an_array(ws):
    ws.write(BASE.replace('type = "directory"', 'type = ["directory"]'))
    return ["plan"]


@case("reconciler.toml", "providers.local.path")
def path_is_a_table(ws):
    ws.write(BASE.replace('path = "remote"', "path = {a = 1}"))
    return ["plan"]


@case("reconciler.toml", "providers.local.assets.welcome.file")
def file_is_an_array(ws):
    ws.write(with_asset_file('["audio/welcome.wav"]'))
    return ["validate"]


@case("reconciler.toml", "settings: ")
def settings_is_a_string(ws):
    ws.write('settings = "x"\n' + BASE)
    return ["state", "list"]


# --- NUL bytes in strings that become paths or URLs ------------------------------------


@case("reconciler.toml", "NUL byte", "settings.lockfile")
def nul_in_lockfile(ws):
    ws.write('[settings]\nlockfile = "reconciler.lock\\u0000x"\n' + BASE)
    return ["plan"]


@case("reconciler.toml", "NUL byte", "providers.local.path")
def nul_in_directory_path(ws):
    ws.write(BASE.replace('"remote"', '"rem\\u0000ote"'))
    return ["apply", "--auto-approve"]


@case("reconciler.toml", "NUL byte", "providers.local.assets.welcome.file")
def nul_in_audio_file(ws):
    ws.write(with_asset_file('"audio/welcome.wav\\u0000.mp3"'))
    return ["validate"]


@case("reconciler.toml", "NUL byte", "providers.local.glob[0].pattern")
def nul_in_glob_pattern(ws):
    ws.write(BASE + '[[providers.local.glob]]\npattern = "audio/*\\u0000.wav"\n')
    return ["validate"]


@case("reconciler.toml", "NUL byte", "providers.voice.base_url")
def nul_in_base_url(ws):
    ws.write(BASE + '[providers.voice]\ntype = "soniox"\nbase_url = "http://127.0.0.1\\u0000.example/"\n')
    return ["plan"]


@case("reconciler.toml", "NUL byte", "in a key")
def nul_in_an_asset_key(ws):
    ws.write(BASE + '[providers.local.assets."we\\u0000lcome"]\nfile = "audio/hold.wav"\n')
    return ["validate"]


@case("reconciler.toml", "providers.voice.base_url", "http:// or https://")
def base_url_not_http(ws):
    ws.write(BASE + '[providers.voice]\ntype = "soniox"\nbase_url = "ftp://files.example/"\n')
    return ["plan"]


@case("reconciler.toml", "providers.voice.base_url", "not a URL")
def base_url_with_a_bad_port(ws):
    ws.write(BASE + '[providers.voice]\ntype = "soniox"\nbase_url = "http://[::1"\n')
    return ["validate"]


# --- paths the filesystem cannot hold ----------------------------------------------------


@case("reconciler.toml", "providers.local.assets.welcome.file", "over the 255")
def audio_file_name_longer_than_name_max(ws):
    ws.write(with_asset_file('"audio/' + "x" * 300 + '.wav"'))
    return ["validate"]


@case("reconciler.toml", "providers.local.assets.welcome.file", "a path may have")
def audio_path_longer_than_path_max(ws):
    ws.write(with_asset_file('"' + "/".join(["d" * 200] * 25) + '/x.wav"'))
    return ["validate"]


@case("reconciler.toml", "providers.local.path", "over the 255")
def target_folder_name_longer_than_name_max(ws):
    ws.write(BASE.replace('"remote"', '"' + "r" * 300 + '"'))
    return ["plan"]


@case("reconciler.toml", "settings.lockfile", "over the 255")
def lockfile_name_longer_than_name_max(ws):
    ws.write('[settings]\nlockfile = "' + "l" * 300 + '"\n' + BASE)
    return ["state", "list"]


# --- audio paths that are not regular files ----------------------------------------------


@case("providers.local.assets.welcome", "symlink loop")
def audio_is_a_symlink_loop(ws):
    os.symlink("loop.wav", ws.root / "audio" / "loop.wav")
    ws.write(with_asset_file('"audio/loop.wav"'))
    return ["plan"]


@case("providers.local.assets.welcome", "FIFO")
def audio_is_a_fifo(ws):
    os.mkfifo(ws.root / "audio" / "fifo.wav")
    ws.write(with_asset_file('"audio/fifo.wav"'))
    return ["plan"]


@case("providers.local.glob[0]", "FIFO")
def glob_matches_a_fifo(ws):
    os.mkfifo(ws.root / "audio" / "zz.wav")
    ws.write(BASE + '[[providers.local.glob]]\npattern = "audio/z*.wav"\n')
    return ["validate"]


@case("providers.local.assets.welcome", "socket")
def audio_is_a_socket(ws):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(ws.root / "audio" / "s.wav"))
    sock.close()  # the socket file stays
    ws.write(with_asset_file('"audio/s.wav"'))
    return ["validate"]


@case("providers.local.assets.welcome", "/dev/zero", "character device")
def audio_is_dev_zero(ws):
    ws.write(with_asset_file('"/dev/zero"'))
    return ["plan"]


@case("providers.local.assets.welcome", "/dev/urandom", "character device")
def audio_is_dev_urandom(ws):
    ws.write(with_asset_file('"/dev/urandom"'))
    return ["validate"]


@case("providers.local.assets.welcome", "is a folder")
def audio_is_a_folder(ws):
    ws.write(with_asset_file('"audio"'))
    return ["validate"]


@case("providers.local.glob[0]", "folder entries", "narrower")
def glob_through_two_symlink_loops(ws):
    # two links to "." make the standard library's glob walk 2^40 paths
    os.symlink(".", ws.root / "audio" / "x")
    os.symlink(".", ws.root / "audio" / "y")
    ws.write(BASE + '[[providers.local.glob]]\npattern = "audio/' + "*/" * 40 + '*.wav"\n')
    return ["validate"]


# --- the rendition cache (.reconciler/cache) -------------------------------------------------

RECIPE = 'audio = { format = "wav", encoding = "ulaw", sample_rate = 8000, channels = 1 }'


@case("providers.local.assets.welcome", ".reconciler/cache", "safe to delete")
def rendition_cache_folder_is_a_file(ws):
    shutil.rmtree(ws.root / ".reconciler", ignore_errors=True)
    (ws.root / ".reconciler").write_text("not a folder")
    ws.write(BASE.replace('path = "remote"', 'path = "remote"\n' + RECIPE))
    return ["plan"]


@case("providers.local.assets.welcome", ".reconciler/cache")
def rendition_cache_folder_is_a_fifo(ws):
    shutil.rmtree(ws.root / ".reconciler" / "cache", ignore_errors=True)
    (ws.root / ".reconciler").mkdir(exist_ok=True)
    os.mkfifo(ws.root / ".reconciler" / "cache")
    ws.write(BASE.replace('path = "remote"', 'path = "remote"\n' + RECIPE))
    return ["validate"]


def test_a_fifo_or_deep_json_as_the_digest_cache_is_ignored(applied: Workspace):
    # .reconciler/digests.json is our own cache: whatever is there, the plan goes on
    cache = applied.root / ".reconciler"
    cache.mkdir(exist_ok=True)
    for make in (os.mkfifo, lambda p: p.write_text("[" * 100_000)):
        target = cache / "digests.json"
        if target.exists() or target.is_symlink():
            target.unlink()
        make(target)
        result = run(applied, ["plan"])
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Traceback" not in result.stderr and "No changes" in result.stdout


# --- the lockfile ------------------------------------------------------------------------------


def replace_lock(make: Callable[[Path], None]) -> Callable[[Workspace], None]:
    def setup(ws: Workspace) -> None:
        ws.lock.unlink()
        make(ws.lock)

    return setup


@case("reconciler.lock", "FIFO", "has not been modified")
def lockfile_is_a_fifo(ws):
    replace_lock(os.mkfifo)(ws)
    return ["plan"]


@case("reconciler.lock", "is a folder")
def lockfile_is_a_folder(ws):
    replace_lock(Path.mkdir)(ws)
    return ["apply", "--auto-approve"]


@case("reconciler.lock", "symlink loop")
def lockfile_is_a_symlink_loop(ws):
    replace_lock(lambda p: os.symlink(p.name, p))(ws)
    return ["state", "list"]


@case("/dev/zero", "character device")
def lockfile_is_dev_zero(ws):
    ws.write('[settings]\nlockfile = "/dev/zero"\n' + BASE)
    return ["plan"]


@case("reconciler.lock", "more than 64 deep")
def lockfile_nested_3000_deep(ws):
    ws.lock.write_text("x = " + "[" * 3000 + "]" * 3000 + "\n")
    return ["plan"]


@case("reconciler.lock", "number 6,001 characters long")
def lockfile_serial_with_6000_digits(ws):
    ws.lock.write_text(ws.lock.read_text().replace("serial = ", "serial = " + "7" * 6000, 1))
    return ["output"]


@case("reconciler.lock", "not UTF-8")
def lockfile_is_binary(ws):
    ws.lock.write_bytes(bytes(range(256)) * 10)
    return ["plan"]


@case("reconciler.lock", "has not been modified")
def lockfile_with_wrong_types(ws):
    ws.lock.write_text('version = "one"\nlineage = 5\nserial = []\nassets = 3\n')
    return ["state", "show", "local.welcome"]


@case("reconciler.lock", "corrupt")
def lockfile_truncated(ws):
    body = ws.lock.read_bytes()
    ws.lock.write_bytes(body[: len(body) // 2].rsplit(b"\n", 1)[0] + b"\n")
    return ["plan"]


def sparse(path: Path, size: int) -> None:
    """A file that announces `size` bytes and costs no disk: the size check must
    refuse it before a single byte is read."""
    with open(path, "wb") as fh:
        fh.truncate(size)


@case("reconciler.lock", "over the limit of 268,435,456 bytes")
def lockfile_of_300_megabytes(ws):
    sparse(ws.lock, 300 * 1024 * 1024)
    return ["plan"]


@case("plan.json", "over the limit of 268,435,456 bytes")
def saved_plan_of_300_megabytes(ws):
    sparse(ws.root / "plan.json", 300 * 1024 * 1024)
    return ["apply", "plan.json"]


@case("reconciler.toml", "over the limit of 8,388,608 bytes")
def config_of_100_gigabytes(ws):
    sparse(ws.config, 100 * 1024**3)
    return ["plan"]


@case("providers.local.assets.welcome", "over the limit of 4,294,967,296 bytes")
def audio_file_of_5_gigabytes(ws):
    sparse(ws.root / "audio" / "welcome.wav", 5 * 1024**3)
    return ["plan"]


@case("reconciler.lock.journal", "FIFO")
def lockfile_journal_is_a_fifo(ws):
    os.mkfifo(ws.root / "reconciler.lock.journal")
    return ["apply", "--auto-approve"]


@case("reconciler.lock.journal", "damaged at line 1", "nested too deeply")
def lockfile_journal_nested_100000_deep(ws):
    (ws.root / "reconciler.lock.journal").write_text("[" * 100_000 + "\n")
    return ["plan"]


# --- saved plans ------------------------------------------------------------------------------


@case("plan.json", "FIFO")
def saved_plan_is_a_fifo(ws):
    os.mkfifo(ws.root / "plan.json")
    return ["apply", "plan.json"]


@case("/dev/zero", "character device")
def saved_plan_is_dev_zero(ws):
    return ["apply", "/dev/zero"]


@case("plan.json", "not a reconciler plan file")
def saved_plan_nested_100000_deep(ws):
    (ws.root / "plan.json").write_text('{"changes": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return ["apply", "plan.json"]


@case("plan.json", "not a reconciler plan file")
def saved_plan_with_a_5000_digit_number(ws):
    (ws.root / "plan.json").write_text('{"changes": [], "format_version": ' + "9" * 5000 + "}")
    return ["apply", "plan.json"]


@case("plan.json", "not UTF-8")
def saved_plan_is_binary(ws):
    (ws.root / "plan.json").write_bytes(b"\xff\xfe" + bytes(range(256)))
    return ["apply", "plan.json"]


@case("plan.json", "format version")
def saved_plan_with_a_huge_format_version(ws):
    (ws.root / "plan.json").write_text('{"changes": [], "format_version": [' + "1," * 50_000 + "1]}")
    return ["apply", "plan.json"]


@case("plan.json", "checksum")
def saved_plan_with_wrong_types(ws):
    (ws.root / "plan.json").write_text('{"changes": 3, "format_version": 1, "checksum": {"a": "\\ud800"}}')
    return ["apply", "plan.json"]


@case("plan.json", "not a reconciler plan file")
def saved_plan_truncated(ws):
    result = run(ws, ["plan", "--out", "full.json"])
    assert result.returncode == 0, result.stderr
    body = (ws.root / "full.json").read_text()
    (ws.root / "plan.json").write_text(body[: len(body) // 2])
    return ["apply", "plan.json"]


# --- environment variables -------------------------------------------------------------------


@case("SONIOX_API_KEY", "cannot be sent in an HTTP header")
def credential_with_a_line_break(ws):
    ws.write(BASE + '[providers.voice]\ntype = "soniox"\nbase_url = "http://127.0.0.1:9/"\n')
    ws.env["SONIOX_API_KEY"] = "abc\r\nX-Injected: 1"
    return ["plan"]


@case("SONIOX_API_KEY", "cannot be sent in an HTTP header")
def credential_not_ascii(ws):
    ws.write(BASE + '[providers.voice]\ntype = "soniox"\nbase_url = "http://127.0.0.1:9/"\n')
    ws.env["SONIOX_API_KEY"] = "clé"
    return ["plan"]


# --- folders that cannot be written ---------------------------------------------------------


@case("x.toml", "does not exist", "mkdir -p")
def init_into_a_missing_folder(ws):
    return ["init", "-c", "missing/deeper/x.toml"]


@case("x.toml", "not a folder")
def init_under_a_regular_file(ws):
    return ["init", "-c", "reconciler.lock/x.toml"]


@case("x.toml", "over the 255")
def init_with_a_name_over_name_max(ws):
    return ["init", "-c", "x" * 300 + "/x.toml"]


@case("reconciler.toml", "read-only")
def init_in_a_read_only_folder(ws):
    ws.config.unlink()
    ws.readonly = ws.root
    return ["init"]


@case("plan.json", "read-only")
def plan_out_in_a_read_only_folder(ws):
    (ws.root / "plans").mkdir()
    ws.readonly = ws.root / "plans"
    ws.write(BASE + '[providers.local.assets.hold]\nfile = "audio/hold.wav"\n')
    return ["plan", "--out", "plans/plan.json"]


@case("plan.json", "FIFO", "left as it is")
def plan_out_onto_a_fifo(ws):
    os.mkfifo(ws.root / "plan.json")
    return ["plan", "--out", "plan.json"]


@case("plan.json", "character device", "left as it is")
def plan_out_onto_a_link_to_dev_null(ws):
    # replacing the link would be harmless; what must never happen is a write through
    # to the device or, as root, a regular file where /dev/null was
    os.symlink("/dev/null", ws.root / "plan.json")
    return ["plan", "--out", "plan.json"]


@case("schemas/config.schema.json", "socket")
def schema_onto_a_socket(ws):
    (ws.root / "schemas").mkdir()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(ws.root / "schemas" / "config.schema.json"))
    sock.close()
    return ["schema", "--out-dir", "schemas"]


@case("plan.json", "not a folder")
def plan_out_under_a_regular_file(ws):
    return ["plan", "--out", "reconciler.toml/plan.json"]


@case("reconciler.lock", "read-only")
def state_rm_in_a_read_only_folder(ws):
    ws.readonly = ws.root
    return ["state", "rm", "local.welcome"]


@case("reconciler.lock", "read-only")
def apply_in_a_read_only_folder(ws):
    ws.write(BASE + '[providers.local.assets.hold]\nfile = "audio/hold.wav"\n')
    ws.readonly = ws.root
    return ["apply", "--auto-approve"]


@case("reconciler.lock", "read-only")
def import_in_a_read_only_folder(ws):
    shutil.copy(ws.root / "audio" / "hold.wav", ws.root / "remote" / "hold.wav")
    ws.write(BASE + '[providers.local.assets.hold]\nfile = "audio/hold.wav"\n')
    ws.readonly = ws.root
    return ["import", "local.hold", "hold.wav"]


@case("reconciler.toml/reconciler.lock", "not a folder")
def apply_with_the_lockfile_under_a_regular_file(ws):
    ws.write('[settings]\nlockfile = "reconciler.toml/reconciler.lock"\n' + BASE)
    return ["apply", "--auto-approve"]


@case("schemas", "read-only")
def schema_into_a_read_only_folder(ws):
    (ws.root / "schemas").mkdir()
    ws.readonly = ws.root / "schemas"
    return ["schema", "--out-dir", "schemas"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_gives_one_error_paragraph(applied: Workspace, name: str):
    setup, expected = CASES[name]
    args = setup(applied)
    lock_before = applied.lock.read_bytes() if applied.lock.is_file() else None
    remote_before = sorted(p.name for p in (applied.root / "remote").iterdir())
    try:
        result = run(applied, args)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`reconciler {' '.join(args)[:80]}` hung for {TIMEOUT} s")
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out[-3000:]
    assert result.returncode == 1, out[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    paragraph = result.stderr[result.stderr.index("Error:"):]
    for text in expected:
        if text == "read-only" and os.geteuid() != 0:
            text = "permission denied"  # chmod 555, not a read-only mount
        assert text in paragraph, f"{text!r} not in:\n{paragraph[:3000]}"
    if lock_before is not None and applied.lock.is_file():
        assert applied.lock.read_bytes() == lock_before
    assert sorted(p.name for p in (applied.root / "remote").iterdir()) == remote_before


def test_a_fifo_in_the_way_of_plan_out_is_left_a_fifo(applied: Workspace):
    os.mkfifo(applied.root / "plan.json")
    result = run(applied, ["plan", "--out", "plan.json"])
    assert result.returncode == 1
    assert stat.S_ISFIFO(os.lstat(applied.root / "plan.json").st_mode)
