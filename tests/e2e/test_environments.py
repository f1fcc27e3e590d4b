"""Teams and environments end to end: one `[library]` fanned out to two
emulated HTTP instances (exolve, plusofon) and a `directory`, a master change
replacing it everywhere, and `compare` as the promotion check."""

from __future__ import annotations

import json
import tomllib

import pytest

from tests.conftest import make_wav
from tests.emulators.exolve import ExolveEmulator
from tests.emulators.plusofon import PlusofonEmulator

N = 20


@pytest.fixture
def env(serve, monkeypatch, workspace, run_cli):
    exolve, plusofon = ExolveEmulator(), PlusofonEmulator()
    ex_url, pl_url = serve(exolve).url, serve(plusofon).url
    monkeypatch.setenv("EXOLVE_API_KEY", exolve.token)
    monkeypatch.setenv("PLUSOFON_TOKEN", plusofon.token)
    monkeypatch.setenv("NO_COLOR", "1")
    for i in range(N):
        path = workspace.root / "masters" / f"p{i:02d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_wav(0.05, seed=i))
    (workspace.root / "masters" / "test-beep.wav").write_bytes(make_wav(0.05, seed=99))
    workspace.write(f"""
[[library.glob]]
pattern = "masters/*.wav"

[library.p00]
file = "masters/p00.wav"
name = "welcome"

[providers.stage]
type = "exolve"
base_url = "{ex_url}"
max_retry_wait = 0.05
use = ["*"]

[providers.stage.assets.p01]
description = "Staging only text"

[providers.prod]
type = "plusofon"
base_url = "{pl_url}"
max_retry_wait = 0.05
use = ["*", "!test-*"]

[providers.local]
type = "directory"
path = "remote"
use = ["p*"]
""")

    class Env:
        pass

    e = Env()
    e.exolve, e.plusofon, e.ws = exolve, plusofon, workspace
    e.cli = lambda *args: run_cli(*args[:1], "-c", str(workspace.config), *args[1:])
    e.lock = lambda: tomllib.loads(workspace.lock.read_text())["assets"]
    return e


def compare(env, *args):
    code, out, err = env.cli("compare", "stage", "prod", *args)
    return code, out, err


def test_one_apply_fans_the_library_out_and_a_master_change_replaces_everywhere(env):
    code, out, err = env.cli("validate")
    assert code == 0 and "61 asset(s) on 3 instance(s)" in out, out + err  # 21 + 20 + 20
    code, out, err = env.cli("apply", "--auto-approve")
    assert code == 0, out + err
    names = ["welcome", *(f"p{i:02d}" for i in range(1, N))]
    assert sorted(env.exolve.names()) == sorted([*names, "test-beep"])
    assert sorted(env.plusofon.names()) == sorted(names)
    assert sorted(p.stem for p in (env.ws.root / "remote").glob("*.wav")) == sorted(names)
    lock = env.lock()
    assert len(lock) == 21 + 20 + 20
    assert env.exolve.by_name("p01").description == "Staging only text"
    # the same content under three remote ids, one per instance
    assert len({lock[f"{i}.p05"]["sha256"] for i in ("stage", "prod", "local")}) == 1
    assert len({lock[f"{i}.p05"]["remote_id"] for i in ("stage", "prod", "local")}) == 3
    assert env.cli("plan", "--detailed-exitcode")[0] == 0

    old_ids = {i: lock[f"{i}.p05"]["remote_id"] for i in ("stage", "prod")}
    (env.ws.root / "masters" / "p05.wav").write_bytes(make_wav(0.07, seed=555))
    code, out, _ = env.cli("plan", "--detailed-exitcode")
    assert code == 2
    assert "Plan: 0 to add, 0 to change, 3 to replace, 0 to destroy." in out
    for i in ("stage", "prod", "local"):
        assert f"-/+ {i}.p05" in out
    assert env.cli("apply", "--auto-approve")[0] == 0
    lock = env.lock()
    new_sha = lock["stage.p05"]["sha256"]
    assert lock["prod.p05"]["sha256"] == lock["local.p05"]["sha256"] == new_sha
    assert all(lock[f"{i}.p05"]["remote_id"] != old_ids[i] for i in old_ids)
    assert (env.ws.root / "remote" / "p05.wav").read_bytes() == make_wav(0.07, seed=555)
    assert env.cli("plan", "--detailed-exitcode")[0] == 0


def test_compare_shows_stage_ahead_of_prod_then_in_step(env):
    assert env.cli("apply", "--auto-approve", "--target", "stage.*")[0] == 0
    code, out, err = compare(env)
    assert code == 2, out + err
    assert "Out of step: 20 prompt(s) differ between stage and prod" in out
    assert "only on stage (prod declares it but has not applied it)" in out
    # by configuration, not counted: prod excludes test-*, stage's own description of p01
    assert "Different by configuration (not counted):" in out
    assert "test-beep: only on stage (prod does not carry it)" in out

    assert env.cli("apply", "--auto-approve", "--target", "prod.*")[0] == 0
    code, out, err = compare(env)
    assert code == 0, out + err
    assert "In step: stage and prod hold the same prompts (19 alike)." in out
    assert "p01: description differs" in out and "each as its config declares" in out

    (env.ws.root / "masters" / "p07.wav").write_bytes(make_wav(0.06, seed=777))
    assert env.cli("apply", "--auto-approve", "--target", "stage.*")[0] == 0
    code, out, _ = compare(env, "--format", "json")
    assert code == 2
    data = json.loads(out)
    assert data["in_step"] is False and data["summary"]["content"] == 1
    (diff,) = [d for d in data["differences"] if not d["by_config"]]
    assert diff["key"] == "p07" and diff["kind"] == "content"
    assert diff["a"] == env.lock()["stage.p07"]["sha256"] and diff["b"] == env.lock()["prod.p07"]["sha256"]
    assert "prod has not applied its config yet" in diff["detail"]
    code, out, _ = compare(env, "--format", "markdown")
    assert code == 2 and out.startswith("### reconciler compare `stage` (exolve) → `prod` (plusofon)")
    assert "| `p07` | content | yes |" in out

    assert env.cli("apply", "--auto-approve", "--target", "prod.*")[0] == 0
    assert compare(env)[0] == 0


def test_compare_is_offline_and_needs_no_audio(env, monkeypatch):
    assert env.cli("apply", "--auto-approve")[0] == 0
    before = env.ws.lock.read_bytes()
    monkeypatch.delenv("EXOLVE_API_KEY")  # no credential needed: no request is made
    n = len(env.exolve.requests) + len(env.plusofon.requests)
    (env.ws.root / "masters" / "p00.wav").unlink()  # declared by name in [library.p00]
    code, out, err = compare(env)
    assert code == 0, out + err
    assert "Warning: stage.p00: local file masters/p00.wav is not available" in out
    assert len(env.exolve.requests) + len(env.plusofon.requests) == n
    assert env.ws.lock.read_bytes() == before


def test_compare_errors(env):
    code, _, err = env.cli("compare", "stage", "prdo")
    assert code == 1 and "instance 'prdo' is not configured" in err and "did you mean 'prod'?" in err
    code, _, err = env.cli("compare", "stage", "stage")
    assert code == 1 and "two different instances" in err
    env.ws.lock.write_text("not = [valid")
    code, _, err = env.cli("compare", "stage", "prod")
    assert code == 1 and err.startswith("Error: ") and "reconciler.lock" in err and "Traceback" not in err


def test_the_environments_example_runs(tmp_path, run_cli):
    import shutil
    from pathlib import Path

    examples = Path(__file__).parents[2] / "examples"
    shutil.copytree(examples / "quickstart" / "audio", tmp_path / "quickstart" / "audio")
    shutil.copytree(examples / "environments", tmp_path / "environments",
                    ignore=shutil.ignore_patterns("build", "reconciler.lock"))
    cfg = str(tmp_path / "environments" / "reconciler.toml")
    code, out, err = run_cli("validate", "-c", cfg)
    assert code == 0 and "5 asset(s) on 2 instance(s)" in out and "Warning" not in out, out + err
    assert run_cli("apply", "-c", cfg, "--auto-approve", "--target", "stage.*")[0] == 0
    code, out, _ = run_cli("compare", "-c", cfg, "stage", "prod")
    assert code == 2 and "Out of step: 2 prompt(s) differ" in out
    assert run_cli("apply", "-c", cfg, "--auto-approve")[0] == 0
    code, out, _ = run_cli("compare", "-c", cfg, "stage", "prod")
    assert code == 0, out
    assert "goodbye: only on stage (prod does not carry it)" in out
    assert "welcome: description differs" in out
    built = tmp_path / "environments" / "build"
    assert sorted(p.name for p in (built / "prod").glob("*.wav")) == ["hold-music.wav", "welcome.wav"]


def test_drift_and_compare_run_with_the_masters_folder_gone(env):
    """A CI checkout without the audio (a sparse checkout, LFS content not
    fetched into place): a `[[library.glob]]` then matches nothing. drift and
    compare read no audio, so they go on with a warning instead of failing."""
    import shutil

    assert env.cli("apply", "--auto-approve")[0] == 0
    before = env.ws.lock.read_bytes()
    shutil.rmtree(env.ws.root / "masters")
    code, out, err = env.cli("drift")
    assert code == 0, out + err
    assert "library.glob[0]: pattern 'masters/*.wav' matches no file" in out + err
    # stage's own override of p01's description is in the lockfile, but which
    # prompts the glob declares is unknown now: counted (exit 2), never "no longer declared"
    code, out, err = compare(env)
    assert code == 2, out + err
    assert "library.glob[0]: pattern 'masters/*.wav' matches no file (audio not checked out?)" in out
    assert "p01: description differs" in out and "config could not be checked" in out
    assert "no longer declares" not in out
    assert env.ws.lock.read_bytes() == before
    code, _, err = env.cli("plan")  # a plan does need them, and says so
    assert code == 1 and "matches no file" in err


def test_compare_without_a_lockfile_says_nothing_was_applied(env):
    """A missing lockfile (nothing applied yet, or `settings.lockfile` pointing
    elsewhere) is not silently "in step": the warning names the file."""
    assert not env.ws.lock.exists()
    code, out, err = compare(env, "--format", "json")
    assert code == 0, out + err
    warnings = json.loads(out)["warnings"]
    assert any("reconciler.lock" in w and "does not exist" in w for w in warnings), warnings
    assert not env.ws.lock.exists()


def test_compare_respects_ignore_changes(tmp_path, run_cli):
    """An instance that ignores changes to a field never applies them: its
    older value is by configuration, not "has not applied its config yet"."""
    (tmp_path / "welcome.wav").write_bytes(make_wav(0.05, seed=5))
    cfg = tmp_path / "reconciler.toml"
    body = """
[library.welcome]
file = "welcome.wav"
description = "{text}"

[providers.stage]
type = "directory"
path = "stage"
use = ["*"]

[providers.prod]
type = "directory"
path = "prod"
use = ["*"]
ignore_changes = ["description"]
"""
    cfg.write_text(body.format(text="v1"))
    assert run_cli("apply", "-c", str(cfg), "--auto-approve")[0] == 0
    cfg.write_text(body.format(text="v2"))
    assert run_cli("apply", "-c", str(cfg), "--auto-approve")[0] == 0
    assert run_cli("plan", "-c", str(cfg), "--detailed-exitcode")[0] == 0  # nothing left to apply
    code, out, err = run_cli("compare", "-c", str(cfg), "stage", "prod", "--format", "json")
    assert code == 0, out + err
    (diff,) = json.loads(out)["differences"]
    assert diff["kind"] == "description" and diff["by_config"] and "ignore_changes" in diff["detail"]
    cfg.write_text(body.format(text="v2").replace('ignore_changes = ["description"]', ""))
    code, out, _ = run_cli("compare", "-c", str(cfg), "stage", "prod")  # no longer ignored: prod is behind
    assert code == 2 and "prod has not applied its config yet" in out
