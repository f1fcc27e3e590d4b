"""Start-up stays light: what `reconciler --version` and a `directory` plan
import. Not a timing test (tests/bench/bench_scale.py prints the times): a
heavy import that creeps back into the start-up path fails here, whatever
the machine's speed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import sys, json
sys.argv = ["reconciler", *json.loads(sys.argv[1])]
from reconciler.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print("\\nMODULES=" + json.dumps(sorted(sys.modules)))
import gc
print("GC=" + json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
sys.exit(code)
"""


def probe(*args: str, cwd: Path | None = None) -> tuple[int, set[str], dict]:
    """(exit code, modules loaded, the cycle collector's state) after `reconciler ARGS`."""
    env = {**os.environ, "NO_COLOR": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(list(args))], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120, check=False)
    lines = proc.stdout.splitlines()
    modules = next(x for x in lines if x.startswith("MODULES=")).removeprefix("MODULES=")
    gc_state = next(x for x in lines if x.startswith("GC=")).removeprefix("GC=")
    return proc.returncode, set(json.loads(modules)), json.loads(gc_state)


def loaded(*args: str, cwd: Path | None = None) -> tuple[int, set[str]]:
    code, modules, _ = probe(*args, cwd=cwd)
    return code, modules


def top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_version_imports_no_models_no_http_no_audio_stack():
    code, modules = loaded("--version")
    assert code == 0
    assert not top(modules) & {"pydantic", "httpx", "numpy", "rich", "mutagen", "soundfile", "asyncio", "filelock"}
    assert not {m for m in modules if m.startswith("reconciler.providers")}


def test_a_directory_plan_imports_no_http_provider_and_no_numpy(workspace, wav):
    # no `audio` recipe: nothing to render
    workspace.audio("welcome.wav", wav(0.1))
    workspace.audio("hold.wav", wav(0.2, seed=3))
    workspace.write('[providers.local]\ntype = "directory"\npath = "remote"\n'
                    '[[providers.local.glob]]\npattern = "audio/*.wav"\n')
    # the first plan measures each new master once (the broken-audio check) and
    # caches it by sha256; from then on a plan loads no audio library
    code, _ = loaded("plan", "-c", str(workspace.config))
    assert code == 0
    code, modules = loaded("plan", "-c", str(workspace.config))
    assert code == 0
    assert not top(modules) & {"httpx", "numpy", "rich", "deepdiff", "soundfile"}
    providers = {m for m in modules if m.startswith("reconciler.providers.")}
    assert providers <= {"reconciler.providers.base", "reconciler.providers.directory", "reconciler.providers.settings"}
    assert not modules & APPLY_ONLY


# what only `apply` (and the state commands) need: a plan takes no lock and writes no lockfile
APPLY_ONLY = {"reconciler.applier", "reconciler.lockstore", "filelock", "tomli_w"}
# what renders and measures; mutagen (headers) may still read a master written under 2 s ago,
# which the digest cache does not trust yet (digests.RACY_NS)
RENDER_STACK = {"numpy", "soundfile", "soxr", "pyloudnorm", "scipy"}


def test_the_quickstart_plan_with_warm_caches_loads_no_audio_stack_no_http_no_apply(tmp_path):
    quick = tmp_path / "quickstart"
    shutil.copytree(REPO / "examples" / "quickstart", quick,
                    ignore=shutil.ignore_patterns("build", "reconciler.lock", ".reconciler"))
    config = str(quick / "reconciler.toml")
    code, first = loaded("plan", "-c", config)  # renders the three prompts into .reconciler/cache
    assert code == 0
    assert top(first) & {"numpy", "soundfile"}  # the probe sees the audio stack when it is loaded
    code, modules = loaded("plan", "-c", config)
    assert code == 0
    assert not top(modules) & (RENDER_STACK | {"httpx", "rich", "deepdiff"})
    assert not modules & APPLY_ONLY
    assert {m for m in modules if m.startswith("reconciler.providers.")} <= {
        "reconciler.providers.base", "reconciler.providers.directory", "reconciler.providers.settings"}


def test_every_command_is_still_registered():
    code, modules = loaded("--help")
    assert code == 0
    assert {"reconciler.cli_apply", "reconciler.cli_setup", "reconciler.cli_gitops", "reconciler.cli_team"} <= modules


def test_an_http_plan_loads_httpx_without_its_command_line_client_and_no_retry_library(workspace, wav, serve, monkeypatch):
    # httpx's __init__ tries `from ._main import main` (its console script: rich,
    # pygments); providers.import_without_cli keeps it out (~40 ms of every HTTP command)
    from tests.emulators.wolkvox import WolkvoxEmulator

    emulator = WolkvoxEmulator()
    monkeypatch.setenv("WOLKVOX_TOKEN", emulator.token)
    server = serve(emulator)
    workspace.audio("welcome.wav", wav(0.1))
    workspace.write(f'[providers.wv]\ntype = "wolkvox"\nbase_url = "{server.url}/api/v2/"\n'
                    '[[providers.wv.glob]]\npattern = "audio/*.wav"\n')
    code, modules = loaded("plan", "-c", str(workspace.config))
    assert code == 0
    assert "httpx" in modules and "reconciler.providers.wolkvox" in modules  # the probe sees them
    assert not top(modules) & {"rich", "pygments"}
    assert "httpx._main" not in modules
    # retries are built only after a failure worth retrying: none here
    assert "tenacity" not in top(modules)
    assert any(r.path.endswith("information.php") for r in emulator.requests)  # it did list


DIRECTORY = '[providers.local]\ntype = "directory"\npath = "remote"\n[[providers.local.glob]]\npattern = "audio/*.wav"\n'


def test_the_collector_pauses_for_start_up_and_resumes_with_the_work(workspace, wav):
    # reconciler.startup: the entry point pauses the cycle collector; load_config
    # freezes what start-up made and resumes it; a command that loads no config
    # resumes it at the end with nothing frozen
    workspace.audio("welcome.wav", wav(0.1))
    workspace.write(DIRECTORY)
    code, _, state = probe("plan", "-c", str(workspace.config))
    assert code == 0
    assert state["enabled"] and state["frozen"] > 10_000  # modules, classes, schemas
    code, _, state = probe("--version")
    assert code == 0
    assert state == {"enabled": True, "frozen": 0}
    code, _, state = probe("plan", "-c", str(workspace.root / "missing.toml"))
    assert code == 1
    assert state["enabled"]
    # a state command's work (reading the lockfile) runs with the collector on too
    code, _, state = probe("state", "list", "-c", str(workspace.config))
    assert code == 0
    assert state["enabled"] and state["frozen"] > 10_000


def test_an_embedding_process_keeps_its_collector_as_it_was(workspace, wav, run_cli):
    import gc

    workspace.audio("welcome.wav", wav(0.1))
    workspace.write(DIRECTORY)
    frozen = gc.get_freeze_count()
    code, _, _ = run_cli("plan", "-c", str(workspace.config))
    assert code == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
