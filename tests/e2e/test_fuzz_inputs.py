"""Property-based: no mutated config or lockfile ever crashes or hangs the CLI.

Hypothesis mutates a valid config (and lockfile) — bytes inserted, deleted
or replaced; values swapped for other TOML types; deep nesting, long dotted
keys, huge numbers, NUL bytes, over-long names and unknown keys spliced in —
and feeds each through `validate` and `plan` on the `directory` provider,
in-process through click's CliRunner. Whatever the input, the command must
exit 0 or 1 with no traceback, the lockfile must keep its bytes, and no file
in the workspace may appear, change or vanish (both commands are read-only;
the local cache folder .reconciler/ excepted).

A few hundred examples run in the suite; set RECONCILER_FUZZ_EXAMPLES (e.g.
5000) for a longer campaign.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from tests.conftest import make_wav

EXAMPLES = int(os.environ.get("RECONCILER_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

CONFIG = """\
[settings]
lockfile = "reconciler.lock"

[providers.local]
type = "directory"
path = "remote"
prune = false
max_delete_percent = 30

[providers.local.assets.welcome]
file = "audio/welcome.wav"
name = "welcome"
description = "Main greeting"
protect = false

[providers.local.assets.hold]
file = "audio/hold.wav"

[[providers.local.glob]]
pattern = "prompts/*.wav"
description = "from a glob"
"""

# values a hostile or careless user could put anywhere
HOSTILE_VALUES: list[Any] = [
    {}, [], [[]], {"a": {"b": 1}}, 0, -1, 2**63, 1e308, float("inf"), float("nan"), True, "",
    "\x00", "a\x00b", "../../../../etc/passwd", "/dev/zero", "/dev/stdin", "x" * 300,
    "/".join(["d" * 200] * 30), "\u202e\u0007\x1b[31m", "reconciler.toml", ".", "/", "**", "*/*/*/*",
    "directory", "soniox", "http://[::1", "ftp://x/",
]

# text spliced into the TOML as it is (what tomli_w could never write)
HOSTILE_TEXT: list[str] = [
    "x = " + "[" * 300 + "]" * 300,
    "x = " + "{a=" * 200 + "1" + "}" * 200,
    "a" + ".a" * 5000 + " = 1",
    "[" + ".".join(["t"] * 2000) + "]",
    "n = " + "9" * 5000,
    "n = 0x" + "f" * 5000,
    "f = " + "1" * 400 + ".5e308",
    'lockfile = "a\\u0000b"',
    'path = "\\u0000"',
    'file = "audio/' + "x" * 300 + '.wav"',
    'pattern = "**/**/**/*.wav"',
    'type = {}',
    "assets = 3",
    "glob = [1, 2]",
    "[providers.local.assets.x]",
    "[[providers.local.assets]]",
    "providers = []",
    'k = """' + "\\\\" * 50,
    "'''" * 3,
    "\x00",
    "\ufeff",
    "# \udc80".encode("utf-8", "surrogatepass").decode("latin-1"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace applied once: what each example starts from (copied)."""
    root = tmp_path_factory.mktemp("fuzz") / "ws"
    (root / "audio").mkdir(parents=True)
    (root / "prompts").mkdir()
    (root / "audio" / "welcome.wav").write_bytes(make_wav(seed=1))
    (root / "audio" / "hold.wav").write_bytes(make_wav(seed=2))
    (root / "prompts" / "menu.wav").write_bytes(make_wav(seed=3))
    (root / "reconciler.toml").write_text(CONFIG)
    result = CliRunner().invoke(cli, ["apply", "--auto-approve", "-c", str(root / "reconciler.toml")])
    assert result.exit_code == 0, result.output
    return root


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file under `root` and its bytes (None for non-files), but the
    local cache folder `.reconciler/` (digests and renditions, rewritten by
    any read-only command by design)."""
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel == ".reconciler" or rel.startswith(".reconciler/"):
            continue
        out[rel] = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    return out


# --- mutations -------------------------------------------------------------------------------

byte_edit = st.tuples(
    st.sampled_from(["insert", "delete", "replace"]),
    st.floats(min_value=0, max_value=1, exclude_max=True),
    st.binary(min_size=1, max_size=8),
)


def apply_byte_edits(data: bytes, edits: list[tuple[str, float, bytes]]) -> bytes:
    for op, where, chunk in edits:
        i = int(where * (len(data) + 1))
        if op == "insert":
            data = data[:i] + chunk + data[i:]
        elif op == "delete":
            data = data[:i] + data[i + len(chunk):]
        else:
            data = data[:i] + chunk + data[i + len(chunk):]
    return data


def paths_of(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a parsed TOML document."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append(prefix + (k,))
            out += paths_of(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append(prefix + (i,))
            out += paths_of(v, prefix + (i,))
    return out


def set_at(doc: Any, path: tuple, value: Any, *, delete: bool = False) -> None:
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


toml_scalar = st.one_of(
    st.sampled_from(HOSTILE_VALUES[:12] + [v for v in HOSTILE_VALUES if isinstance(v, str)]),
    st.text(max_size=40),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
toml_value = st.recursive(
    toml_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def structural(draw: st.DrawFn, source: str) -> bytes:
    """Parse, change values/keys at random paths, write back with tomli_w."""
    doc = tomllib.loads(source)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = paths_of(doc)
        op = draw(st.sampled_from(["swap", "delete", "add"]))
        path = draw(st.sampled_from(paths)) if paths else ()
        if op == "swap" and path:
            set_at(doc, path, copy.deepcopy(draw(toml_value)))  # never share a sampled {} or []
        elif op == "delete" and path:
            set_at(doc, path, None, delete=True)
        else:  # an unknown or duplicate-looking key next to a real one
            parent: Any = doc
            for part in path[:-1]:
                parent = parent[part]
            if isinstance(parent, dict):
                parent[draw(st.sampled_from(["x", "typ", "paths", "assets", "glob", "\x00", "k" * 300]))] = copy.deepcopy(draw(toml_value))
    try:
        return tomli_w.dumps(doc).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):  # a value tomli_w cannot write (e.g. a NUL in a key): keep the original
        return source.encode()


@st.composite
def spliced(draw: st.DrawFn, source: str) -> bytes:
    """Hostile text put at a line boundary of the TOML."""
    lines = source.splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        i = draw(st.integers(min_value=0, max_value=len(lines)))
        lines.insert(i, draw(st.sampled_from(HOSTILE_TEXT)))
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


def mutated(source: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.lists(byte_edit, min_size=1, max_size=6).map(lambda e: apply_byte_edits(source.encode(), e)),
        structural(source),
        spliced(source),
        # two at once: a structural change, then bytes on top
        st.tuples(structural(source), st.lists(byte_edit, max_size=3)).map(lambda t: apply_byte_edits(*t)),
    )


# --- the properties ----------------------------------------------------------------------


def invoke(args: list[str]):
    result = CliRunner().invoke(cli, args)
    # the group turns every handled error into SystemExit(1); anything else escaped
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output[-2000:]}"
    )
    assert result.exit_code in (0, 1), result.output[-2000:]
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        assert "Error:" in result.output, result.output[-2000:]
    return result


def workspace(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(template, root, symlinks=True)
    return root


@FUZZ
@given(data=st.data())
def test_mutated_config_never_crashes_and_changes_nothing(template: Path, tmp_path: Path, data: st.DataObject):
    root = workspace(template, tmp_path)
    config = root / "reconciler.toml"
    config.write_bytes(data.draw(mutated(CONFIG), label="config"))
    before = snapshot(root)
    invoke(["validate", "-c", str(config)])
    invoke(["plan", "-c", str(config)])
    assert snapshot(root) == before


@FUZZ
@given(data=st.data())
def test_mutated_lockfile_never_crashes_and_is_never_written(template: Path, tmp_path: Path, data: st.DataObject):
    root = workspace(template, tmp_path)
    lock = root / "reconciler.lock"
    lock.write_bytes(data.draw(mutated(lock.read_text()), label="lockfile"))
    before = snapshot(root)
    invoke(["plan", "-c", str(root / "reconciler.toml")])
    invoke(["state", "list", "-c", str(root / "reconciler.toml")])
    assert snapshot(root) == before


# --- saved plans ---------------------------------------------------------------------------


def _plan_paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    return paths_of(doc, prefix)


@st.composite
def edited_plan(draw: st.DrawFn, source: str) -> tuple[bytes, bool]:
    """(bytes, resealed): a saved plan with bytes or values changed; when
    `resealed`, its checksum was recomputed, as someone editing it on purpose
    would (a checksum is not a signature), so the edit reaches validation,
    the staleness checks and possibly the applier."""
    from reconciler.saved_plan import checksum

    if draw(st.booleans()):
        return apply_byte_edits(source.encode(), draw(st.lists(byte_edit, min_size=1, max_size=6))), False
    doc = json.loads(source)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in _plan_paths(doc) if p[0] != "checksum"]
        path = draw(st.sampled_from(paths))
        if draw(st.booleans()):
            set_at(doc, path, copy.deepcopy(draw(toml_value)))
        else:
            set_at(doc, path, None, delete=True)
    doc["checksum"] = checksum(doc)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass"), True


@pytest.fixture(scope="module")
def saved_plan(template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The template with one more asset declared, and the saved plan that adds it."""
    root = tmp_path_factory.mktemp("fuzzplan") / "ws"
    shutil.copytree(template, root, symlinks=True)
    config = root / "reconciler.toml"
    config.write_text(CONFIG.replace("[[providers.local.glob]]", '[providers.local.assets.extra]\nfile = "audio/hold.wav"\nname = "extra"\n\n[[providers.local.glob]]'))
    result = CliRunner().invoke(cli, ["plan", "-c", str(config), "--out", str(root / "plan.json")])
    assert result.exit_code == 0, result.output
    return root, (root / "plan.json").read_text()


@FUZZ
@given(data=st.data())
def test_edited_saved_plan_never_crashes(saved_plan: tuple[Path, str], tmp_path: Path, data: st.DataObject):
    source_root, source = saved_plan
    root = workspace(source_root, tmp_path)
    body, resealed = data.draw(edited_plan(source), label="plan")
    (root / "plan.json").write_bytes(body)
    lock_before = (root / "reconciler.lock").read_bytes()
    result = invoke(["apply", str(root / "plan.json"), "-c", str(root / "reconciler.toml")])
    if not resealed and result.exit_code == 0:
        # only an edit of the layout (whitespace) keeps the checksum: the same plan
        assert json.loads(body) == json.loads(source)
    elif not resealed:  # an edit the checksum (or the JSON parser) catches: nothing written
        assert (root / "reconciler.lock").read_bytes() == lock_before
