"""Run this repository's GitHub workflows and composite action locally, the
way GitHub's runner would, so the tests execute the very `run:` scripts users
run (no copies): jobs and steps in order, `if:` conditions, `${{ }}`
expressions, env layering, per-step GITHUB_OUTPUT / GITHUB_STEP_SUMMARY /
GITHUB_ENV / GITHUB_PATH files, `bash -e` for plain `run:` and
`bash --noprofile --norc -eo pipefail` for `shell: bash`.

`uses:` steps: this repository's action (`./` or `<owner>/reconciler@...`)
is expanded from action.yml with its inputs; `actions/checkout` makes a fresh
clone of the scratch origin at the event's commit (a pull request is checked
out as its merge into the base branch, like refs/pull/N/merge);
`actions/setup-python` is a no-op (the test's Python is on PATH);
`actions/upload-artifact` copies the file where the `gh` stub serves
artifacts from. Any other action fails the run, so a workflow cannot use
something these tests do not exercise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.e2e.ci.expressions import base_functions, condition, interpolate

ROOT = Path(__file__).parents[3]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def load_yaml(path: Path) -> dict:
    # ruamel (check-jsonschema's YAML library) reads YAML 1.2: `on:` stays a string key
    return YAML(typ="safe").load(path.read_text())


def parse_output_file(path: Path) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` blocks, as GitHub reads them."""
    out: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
            continue
        if line:
            name, _, value = line.partition("=")
            out[name] = value
        i += 1
    return out


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped
    log: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    conclusion: str
    steps: list[StepResult]
    summary: str
    outputs: dict[str, dict[str, str]]  # step id -> outputs

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name} [{s.outcome}]\n{s.log}" for s in self.steps)


class Runner:
    """One scratch GitHub: a bare `origin`, the `gh` stub, a runner temp dir."""

    def __init__(self, tmp: Path, origin: Path, repository: str = "acme/prompts") -> None:
        self.tmp = tmp
        self.origin = origin
        self.repository = repository
        self.gh_dir = tmp / "gh"
        (self.gh_dir / "artifacts").mkdir(parents=True, exist_ok=True)
        self.bin = tmp / "bin"
        self.bin.mkdir(exist_ok=True)
        gh = self.bin / "gh"
        gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).with_name("gh_stub.py")}" "$@"\n')
        gh.chmod(0o755)
        self.secrets: dict[str, str] = {}
        self.action_overrides: dict[str, str] = {}
        self.head_repository_id = 1  # the pull request's head repository: 1 is this one, else a fork
        self._clock = 0

    # --- the stub's state ------------------------------------------------
    def state(self) -> dict:
        path = self.gh_dir / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def set_state(self, **values: Any) -> None:
        state = self.state()
        state.update(values)
        (self.gh_dir / "state.json").write_text(json.dumps(state))

    def calls(self) -> list[dict]:
        path = self.gh_dir / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def comments(self, number: int) -> list[dict]:
        return self.state().get("comments", {}).get(str(number), [])

    # --- running ---------------------------------------------------------
    def run(self, workflow: Path, *, event_name: str, event: dict, sha: str, ref_name: str,
            run_id: int, inputs: dict[str, str] | None = None) -> JobResult:
        wf = load_yaml(workflow)
        assert len(wf["jobs"]) == 1, "the harness runs one-job workflows"
        (job_id, job), = wf["jobs"].items()
        run_dir = self.tmp / f"run-{run_id}"
        workspace = run_dir / "workspace"
        temp = run_dir / "temp"
        temp.mkdir(parents=True)
        event_path = run_dir / "event.json"
        event_path.write_text(json.dumps(event))
        head_sha = (event.get("pull_request") or {}).get("head", {}).get("sha", sha)
        self.job = _Job(self, workspace, temp, run_id, head_sha, sha, ref_name, event_name, event, event_path)
        github = {
            "event_name": event_name, "event": event, "sha": sha, "ref_name": ref_name,
            "ref": f"refs/heads/{ref_name}", "repository": self.repository, "run_id": str(run_id),
            "server_url": "https://github.com", "token": "ghs_stub_token", "workspace": str(workspace),
        }
        contexts = {
            "github": github, "secrets": dict(self.secrets), "inputs": inputs or {},
            "vars": {}, "runner": {"temp": str(temp), "os": "Linux"}, "env": {}, "steps": {},
            "job": {"status": "success"},
        }
        return self.job.run_steps(job["steps"], contexts, {**wf.get("env", {}), **job.get("env", {})})


class _Job:
    def __init__(self, runner: Runner, workspace: Path, temp: Path, run_id: int, head_sha: str, sha: str,
                 ref_name: str, event_name: str, event: dict, event_path: Path) -> None:
        self.r = runner
        self.workspace, self.temp, self.run_id, self.head_sha = workspace, temp, run_id, head_sha
        self.sha, self.ref_name, self.event_name, self.event, self.event_path = sha, ref_name, event_name, event, event_path
        self.summary: list[str] = []
        self.env_file: dict[str, str] = {}
        self.path_file: list[str] = []
        self.n = 0

    def base_env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "TMPDIR", "USER")}
        path = os.pathsep.join([*reversed(self.path_file), str(self.r.bin), str(Path(sys.executable).parent),
                                "/usr/local/bin", "/usr/bin", "/bin"])
        return {
            **keep, "PATH": path, "CI": "true", "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": self.r.repository, "GITHUB_SHA": self.sha, "GITHUB_REF_NAME": self.ref_name,
            "GITHUB_REF": f"refs/heads/{self.ref_name}", "GITHUB_RUN_ID": str(self.run_id),
            "GITHUB_SERVER_URL": "https://github.com", "GITHUB_EVENT_NAME": self.event_name,
            "GITHUB_EVENT_PATH": str(self.event_path), "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_TEMP": str(self.temp), "GH_STUB_DIR": str(self.r.gh_dir),
            "GIT_CONFIG_NOSYSTEM": "1", **self.env_file,
        }

    def run_steps(self, steps: list[dict], contexts: dict, env: dict[str, str], *, action_path: Path | None = None) -> JobResult:
        results: list[StepResult] = []
        ok = [True]
        functions = base_functions(lambda: ok[0])
        for i, step in enumerate(steps):
            name = step.get("name") or step.get("uses") or step.get("id") or f"step {i}"
            name = interpolate(name, contexts, functions)
            if not condition(step.get("if"), contexts, functions):
                results.append(StepResult(name, "skipped"))
                if step.get("id"):
                    contexts["steps"][step["id"]] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
                continue
            step_env = {k: interpolate(v, contexts, functions) for k, v in {**env, **step.get("env", {})}.items()}
            if "run" in step:
                result = self.run_script(name, step, interpolate(step["run"], contexts, functions), step_env, action_path)
            else:
                uses = step["uses"]
                with_ = {k: interpolate(v, contexts, functions) for k, v in step.get("with", {}).items()}
                result = self.use(name, uses, with_, step_env, contexts)
            results.append(result)
            if step.get("id"):
                contexts["steps"][step["id"]] = {"outputs": result.outputs, "outcome": result.outcome,
                                                 "conclusion": result.outcome}
            if result.outcome == "failure" and not step.get("continue-on-error"):
                ok[0] = False
                contexts["job"] = {"status": "failure"}
        return JobResult(
            conclusion="success" if ok[0] else "failure", steps=results, summary="".join(self.summary),
            outputs={k: v["outputs"] for k, v in contexts["steps"].items()},
        )

    def run_script(self, name: str, step: dict, script: str, env: dict[str, str], action_path: Path | None) -> StepResult:
        self.n += 1
        files = {k: self.temp.parent / f"{k.lower()}-{self.n}" for k in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH")}
        for f in files.values():
            f.write_text("")
        script_file = self.temp.parent / f"step-{self.n}.sh"
        script_file.write_text(script)
        shell = step.get("shell")
        if shell == "bash":
            argv = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)]
        elif shell is None:
            assert action_path is None, "a composite action's run step must name its shell"
            argv = ["bash", "-e", str(script_file)]
        else:
            raise AssertionError(f"shell {shell!r} is not simulated")
        full_env = {**self.base_env(), **env, **{k: str(v) for k, v in files.items()}}
        if action_path is not None:
            full_env["GITHUB_ACTION_PATH"] = str(action_path)
        cwd = self.workspace / step.get("working-directory", ".")
        proc = subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)
        self.summary.append(files["GITHUB_STEP_SUMMARY"].read_text())
        self.env_file.update(parse_output_file(files["GITHUB_ENV"]))
        self.path_file += [p for p in files["GITHUB_PATH"].read_text().splitlines() if p]
        return StepResult(name, "success" if proc.returncode == 0 else "failure",
                          f"$ exit {proc.returncode}\n{proc.stdout}{proc.stderr}", parse_output_file(files["GITHUB_OUTPUT"]))

    def use(self, name: str, uses: str, with_: dict[str, str], env: dict[str, str], contexts: dict) -> StepResult:
        action = uses.split("@")[0]
        if uses in (".", "./") or action.endswith("/reconciler"):
            return self.composite(name, with_, env, contexts)
        if action == "actions/checkout":
            assert not with_, f"the harness checks out the event's commit only, not {with_}"
            self.checkout()
            return StepResult(name, "success")
        if action == "actions/setup-python":
            return StepResult(name, "success")
        if action == "actions/upload-artifact":
            return self.upload(name, with_)
        raise AssertionError(f"the CI harness does not simulate `uses: {uses}`")

    def checkout(self) -> None:
        git(self.r.tmp, "clone", "-q", str(self.r.origin), str(self.workspace))
        pr = self.event.get("pull_request")
        if pr:  # refs/pull/N/merge: the head merged into the base branch's tip
            git(self.workspace, "checkout", "-q", "--detach", f"origin/{pr['base']['ref']}")
            git(self.workspace, "-c", "user.name=GitHub", "-c", "user.email=noreply@github.com",
                "merge", "-q", "--no-ff", "--no-edit", pr["head"]["sha"])
        else:
            git(self.workspace, "checkout", "-q", "-B", self.ref_name, self.sha)

    def upload(self, name: str, with_: dict[str, str]) -> StepResult:
        source = Path(with_["path"])
        if not source.is_absolute():
            source = self.workspace / source
        if not source.is_file():
            return StepResult(name, "failure" if with_.get("if-no-files-found") == "error" else "success",
                              f"No files were found with the provided path: {source}")
        dest = self.r.gh_dir / "artifacts" / str(self.run_id) / with_["name"]
        if dest.exists() and with_.get("overwrite") != "true":
            return StepResult(name, "failure", "an artifact with this name already exists")
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        shutil.copy(source, dest / source.name)
        state = self.r.state()
        arts = [a for a in state.get("artifacts", []) if not (a["name"] == with_["name"] and a["workflow_run"]["id"] == self.run_id)]
        self.r._clock += 1
        arts.append({"id": self.run_id * 10 + self.r._clock, "name": with_["name"], "expired": False,
                     "created_at": f"2026-11-26T10:{self.r._clock:02d}:00Z",
                     "retention_days": int(with_.get("retention-days") or 90),
                     "workflow_run": {"id": self.run_id, "head_sha": self.head_sha, "repository_id": 1,
                                      "head_repository_id": self.r.head_repository_id}})
        self.r.set_state(artifacts=arts)
        return StepResult(name, "success", f"uploaded {source.name} as {with_['name']}")

    def composite(self, name: str, with_: dict[str, str], env: dict[str, str], caller: dict) -> StepResult:
        action = load_yaml(ROOT / "action.yml")
        assert action["runs"]["using"] == "composite"
        unknown = set(with_) - set(action["inputs"])
        assert not unknown, f"action.yml has no input(s) {sorted(unknown)}"
        outer = {k: caller[k] for k in ("github", "runner", "job")}
        functions = base_functions(lambda: True)
        inputs = {}
        for key, spec in action["inputs"].items():
            if key in self.r.action_overrides:
                inputs[key] = self.r.action_overrides[key]
            elif key in with_:
                inputs[key] = with_[key]
            else:
                inputs[key] = interpolate(spec.get("default", ""), {**outer, "inputs": {}}, functions)
        contexts = {**outer, "github": {**caller["github"], "action_path": str(ROOT)}, "inputs": inputs,
                    "steps": {}, "env": env, "secrets": {}, "vars": {}}
        inner = self.run_steps(action["runs"]["steps"], contexts, env, action_path=ROOT)
        outputs = {k: interpolate(spec["value"], contexts, functions) for k, spec in action.get("outputs", {}).items()}
        log = "\n".join(f"  --- {s.name} [{s.outcome}]\n{s.log}" for s in inner.steps)
        return StepResult(name, inner.conclusion, log, outputs)
