"""reconciler.inputs: the one guarded way every input file is read and parsed."""

from __future__ import annotations

import glob
import os
import socket
import threading
from pathlib import Path

import pytest

from reconciler.documents import (
    MAX_KEY_PARTS,
    MAX_NESTING,
    MAX_NUMBER_CHARS,
    parse_json,
    parse_toml,
)
from reconciler.globbing import glob_paths
from reconciler.inputs import (
    InputError,
    NotARegularFile,
    check_write_target,
    path_problem,
    read_file,
    write_failure,
)
from reconciler.step_summary import append_step_summary


def finishes(fn, seconds: float = 10.0):
    """Run fn in a thread; fail (instead of hanging the suite) if it blocks."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


# --- read_file ------------------------------------------------------------------------------


def test_reads_a_regular_file(tmp_path):
    (tmp_path / "a").write_bytes(b"abc")
    assert read_file(tmp_path / "a", limit=3) == b"abc"


def test_a_missing_file_is_marked_missing(tmp_path):
    with pytest.raises(InputError) as err:
        read_file(tmp_path / "nope", limit=10)
    assert err.value.missing and err.value.reason == "does not exist"


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="is a FIFO") as err:
        finishes(lambda: read_file(tmp_path / "fifo", limit=10))
    assert err.value.special


def test_a_symlink_to_a_fifo_is_refused_too(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    os.symlink("fifo", tmp_path / "link.wav")
    with pytest.raises(InputError, match="is a FIFO"):
        finishes(lambda: read_file(tmp_path / "link.wav", limit=10))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused(device):
    with pytest.raises(InputError, match="character device"):
        finishes(lambda: read_file(device, limit=10))


def test_a_socket_is_refused(tmp_path):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s"))
    sock.close()
    with pytest.raises(InputError, match="socket"):
        read_file(tmp_path / "s", limit=10)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="is a folder, not a regular file"):
        read_file(tmp_path, limit=10)


def test_a_symlink_loop_is_named(tmp_path):
    os.symlink("a", tmp_path / "b")
    os.symlink("b", tmp_path / "a")
    with pytest.raises(InputError, match="symlink loop"):
        read_file(tmp_path / "a", limit=10)


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "big"
    with open(path, "wb") as fh:
        fh.truncate(10 * 1024**3)  # sparse: 10 GiB announced, nothing to read
    with pytest.raises(InputError, match="10,737,418,240 bytes, over the limit of 1,000 bytes"):
        read_file(path, limit=1000)


@pytest.mark.parametrize(
    ("name", "reason"),
    [("x" * 300, "over the 255"), ("a\x00b", "NUL byte"), ("/".join(["d" * 200] * 25), "a path may have")],
)
def test_paths_the_os_cannot_open_are_named(tmp_path, name, reason):
    with pytest.raises(InputError, match=reason):
        read_file(str(tmp_path / name), limit=10)


def test_path_problem_accepts_ordinary_paths():
    assert path_problem("audio/welcome.wav") is None
    assert path_problem("../shared/" + "x" * 250 + ".wav") is None


def test_write_failure_names_the_target_not_our_temp_file(tmp_path):
    target = tmp_path / "reconciler.lock"
    exc = IsADirectoryError(21, "Is a directory", str(tmp_path / ".reconciler.lock.abc123.tmp"))
    assert write_failure(exc, target) == f"{target} is a folder"


# --- TOML ---------------------------------------------------------------------------------------


def test_nesting_up_to_the_limit_parses():
    depth = MAX_NESTING - 1  # plus the table header's own bracket, never open at once
    assert parse_toml(("x = " + "[" * depth + "]" * depth).encode())["x"]


@pytest.mark.parametrize("opener,closer", [("[", "]"), ("{a=", "}")])
def test_nesting_past_the_limit_is_refused_before_parsing(opener, closer):
    text = "a = 1\nx = " + opener * 5000 + ("1" if opener != "[" else "") + closer * 5000
    with pytest.raises(InputError, match=f"more than {MAX_NESTING} deep at line 2"):
        parse_toml(text.encode())


def test_a_dotted_key_up_to_the_limit_parses():
    key = ".".join(["k"] * MAX_KEY_PARTS)
    assert parse_toml(f"{key} = 1\n".encode())


@pytest.mark.parametrize("text", ["a" + ".a" * 100_000 + " = 1", "[" + ".".join(["t"] * 100_000) + "]", 'x = {"a" . "b" . ' + '"c" . ' * 100 + '"d" = 1}'])
def test_a_dotted_key_past_the_limit_is_refused(text):
    with pytest.raises(InputError, match=f"more than {MAX_KEY_PARTS} parts"):
        finishes(lambda: parse_toml(text.encode()), 5)


def test_numbers_past_the_limit_are_refused_with_their_line():
    with pytest.raises(InputError, match="number 5,000 characters long .* at line 3"):
        parse_toml(b"a = 1\nb = 2\nc = " + b"9" * 5000 + b"\n")
    with pytest.raises(InputError, match="number"):
        parse_toml(b"c = 0x" + b"f" * 5000 + b"\n")
    assert parse_toml(b"c = " + b"9" * MAX_NUMBER_CHARS + b"\n")["c"] == int("9" * MAX_NUMBER_CHARS)


def test_what_looks_deep_or_dotted_inside_strings_and_comments_counts_for_nothing():
    text = (
        'a = "' + "[" * 500 + "." * 500 + '"\n'
        "b = '" + "{" * 500 + "'\n"
        '# ' + "[" * 500 + "9" * 500 + "\n"
        'c = """\n' + "[" * 500 + "\n" + "." * 500 + '\n"""\n'
        "d = '''" + "{" * 500 + "'''\n"
        "e = 1979-05-27T07:32:00.999999-07:00\n"
        "f = 3.14159265358979323846264338327950288419716939937510582097494459230781640628620899\n"
        "long-key-" + "x" * 300 + " = 1\n"
    )
    doc = parse_toml(text.encode())
    assert doc["a"].startswith("[[[") and doc["c"].count("[") == 500 and doc["f"] > 3


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('path = "a\\u0000b"', "the value of path"),
        ('[p.q]\nfile = "x\\u0000"', "the value of p.q.file"),
        ('x = ["a", "b\\u0000"]', "the value of x[1]"),
        ('"k\\u0000" = 1', "in a key"),
    ],
)
def test_a_nul_byte_anywhere_is_refused_naming_the_key(text, where):
    with pytest.raises(InputError, match="NUL byte") as err:
        parse_toml(text.encode())
    assert where in err.value.reason


def test_not_utf8_names_the_line():
    with pytest.raises(InputError, match=r"byte 0xe9 at line 2"):
        parse_toml(b"a = 1\n# caf\xe9\n")


def test_syntax_errors_keep_line_and_column():
    with pytest.raises(InputError, match=r"malformed TOML: .*line 1, column"):
        parse_toml(b"[broken\n")


# --- JSON ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"a": ' + "9" * 5000 + "}", "not valid JSON"),
        ('{"a": "\\ud800"}', "unpaired surrogate"),
        ('{"a": "x\\u0000"}', "NUL byte in the value of a"),
        ('{"a": ', "not valid JSON"),
    ],
)
def test_hostile_json_is_an_input_error(text, reason):
    with pytest.raises(InputError, match=reason):
        parse_json(text.encode())


# --- glob_paths ------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path, monkeypatch):
    for rel in ["a/x.wav", "a/.h.wav", "a/b/y.wav", "a/b/c/z.wav", "a/.hid/q.wav", "b.wav", "c/d/e.mp3"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "pattern",
    ["a/*.wav", "a/**/*.wav", "**/*.wav", "**", "a/**", "*/*/*.wav", "a/.*.wav", "a/b/c/z.wav", "a/b",
     "**/b/**/*.wav", "nothing/*", "a/[xy].wav", "a/?.wav", "a/.hid/*.wav", "a/**/*"],
)
def test_glob_paths_finds_what_the_standard_glob_finds(tree, pattern):
    expected = sorted({p.rstrip("/") for p in glob.glob(pattern, recursive=True)})
    assert glob_paths(pattern) == expected
    absolute = str(tree / pattern)
    assert glob_paths(absolute) == sorted({p.rstrip("/") for p in glob.glob(absolute, recursive=True)})


def test_double_star_does_not_walk_into_symlink_loops(tree):
    # two links to "." make glob.glob("a/**/*.wav") walk 2^40 paths
    os.symlink(".", tree / "a" / "l1")
    os.symlink(".", tree / "a" / "l2")
    assert finishes(lambda: glob_paths("a/**/*.wav"), 5) == ["a/b/c/z.wav", "a/b/y.wav", "a/x.wav"]


def test_a_pattern_that_looks_at_too_much_is_refused(tree):
    os.symlink(".", tree / "a" / "l1")
    os.symlink(".", tree / "a" / "l2")
    with pytest.raises(InputError, match="more than 1,000 folder entries"):
        finishes(lambda: glob_paths("a/" + "*/" * 40 + "*.wav", limit=1000), 5)


# --- the GitHub step summary (an environment variable names the file) ------------------------


def test_step_summary_into_a_fifo_warns_instead_of_blocking(tmp_path):
    os.mkfifo(tmp_path / "summary")
    warning = finishes(lambda: append_step_summary(lambda: "x", {"GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}))
    assert warning and "GITHUB_STEP_SUMMARY" in warning


def test_step_summary_into_a_folder_warns(tmp_path):
    warning = append_step_summary(lambda: "x", {"GITHUB_STEP_SUMMARY": str(tmp_path)})
    assert warning and "folder" in warning


def test_step_summary_appends_to_a_regular_file(tmp_path: Path):
    path = tmp_path / "summary.md"
    path.write_text("before\n")
    assert append_step_summary(lambda: "after", {"GITHUB_STEP_SUMMARY": str(path)}) is None
    assert path.read_text() == "before\nafter\n"


# --- write targets -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/dev/null", "/dev/stdout", "/dev/fd/1", "/proc/self/environ", "/sys/x"])
def test_system_folders_are_never_write_targets(path):
    with pytest.raises(NotARegularFile, match="system folder"):
        check_write_target(path)


def test_special_files_are_never_replaced(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    os.symlink("/dev/zero", tmp_path / "to-device")
    os.symlink("fifo", tmp_path / "to-fifo")
    (tmp_path / "folder").mkdir()
    for name, kind in [("fifo", "FIFO"), ("to-device", "character device"), ("to-fifo", "FIFO"), ("folder", "folder")]:
        with pytest.raises(NotARegularFile, match=kind):
            check_write_target(tmp_path / name)


def test_regular_files_links_to_them_and_new_names_are_fine(tmp_path):
    (tmp_path / "file").write_text("x")
    os.symlink("file", tmp_path / "link")
    os.symlink("nowhere", tmp_path / "dangling")
    for name in ("file", "link", "dangling", "new"):
        check_write_target(tmp_path / name)
    check_write_target("/dev/shm/plan.json")  # a plain tmpfs
