"""The crash campaign, on every provider type: a real `reconciler apply`
process is SIGKILLed at each kill point of an apply — just after each
request that changes remote state has landed (the emulator applies it, kills
the client, drops the answer), between two actions (right after each
lockfile checkpoint; for `directory`, before and after each), and for
loccus while apply waits for an upload to become `available` — then ONE
more apply must converge: no duplicate remote asset, nothing uploaded left
untracked, the lockfile parseable, and a third plan says "No changes".

Two scenarios per provider: creates, and replaces (a content change and a
rename), which exercise each provider's replace strategy: overwrite in place
(directory, wolkvox), temporary name + rename (exolve), create-before-
destroy (plusofon, soniox), destroy-before-create (loccus), and
create-then-manual (a wolkvox rename).

The kill points are found by a dry run of the same apply, so every request
and every checkpoint of it is a trial. RECONCILER_CRASH_TRIALS=N adds N
kills per scenario at random instants of the apply (seeded by
RECONCILER_CRASH_SEED) on top of them.
"""

from __future__ import annotations

import os
import random
import signal
import time
import tomllib
from dataclasses import dataclass

import pytest

from reconciler.lockfile import Lockfile
from reconciler.lockstore import TEST_KILL_ENV
from tests.e2e.crash_env import INSTANCE, KINDS, Env, audio

A, B, A2 = audio(1), audio(2), audio(3)
SCENARIOS = {
    # key -> (name, content): before, after
    "create": ({}, {"alpha": ("alpha", A), "bravo": ("bravo", B)}),
    "replace": (
        {"alpha": ("alpha", A), "bravo": ("bravo", B)},
        {"alpha": ("alpha", A2), "bravo": ("bravo-two", B)},
    ),
}
EXTRA_TRIALS = int(os.environ.get("RECONCILER_CRASH_TRIALS", "0") or 0)


@dataclass(frozen=True)
class KillPoint:
    how: str  # land | checkpoint | poll | instant
    n: int = 0  # which request / checkpoint (1-based); instant: milliseconds
    stage: str = "after"  # checkpoint: before | after

    def __str__(self) -> str:
        if self.how == "checkpoint":
            return f"{self.stage} checkpoint {self.n}"
        if self.how == "instant":
            return f"{self.n} ms into the apply"
        return f"{'request' if self.how == 'land' else 'processing poll'} {self.n} landed"


def in_process(env: Env, run_cli, *args: str) -> tuple[int, str, str]:
    return run_cli(*args, "-c", str(env.config), env=env.env)


def expected(env: Env, after: dict[str, tuple[str, bytes]], before: dict[str, tuple[str, bytes]]):
    want = sorted(after.values())
    if env.kind.type_name == "wolkvox":
        # no delete API: a renamed asset's old file stays for a person to remove
        renamed = {before[k] for k in before if k in after and after[k][0] != before[k][0]}
        want = sorted([*want, *renamed])
    return want


def is_poll(method: str, path: str) -> bool:
    """loccus: GET of one audio (apply polls it until `available`)."""
    parts = path.strip("/").split("/")
    return method == "GET" and len(parts) == 5 and parts[3] == "audios"


def dry_run(kind_name: str, scenario: str, tmp_path, run_cli) -> tuple[int, int, int, float]:
    """(mutating requests, checkpoints, polls, seconds) of an uninterrupted apply."""
    env = Env(KINDS[kind_name](), tmp_path / "dry")
    try:
        prepare(env, scenario, run_cli)
        serial = tomllib.loads(env.lock.read_text())["serial"] if env.lock.exists() else 0
        if env.emulator is not None:
            env.emulator.reset_log()
        started = time.monotonic()
        run = env.start("apply", "--auto-approve")
        code = run.wait()
        took = time.monotonic() - started
        assert code == 0, run.output
        checkpoints = tomllib.loads(env.lock.read_text())["serial"] - serial
        requests = [(r.method, r.path) for r in env.emulator.requests] if env.emulator else []
        mutating = sum(1 for m, p in requests if env.kind.mutating(m, p))
        polls = sum(1 for m, p in requests if is_poll(m, p)) if kind_name == "loccus" else 0
        return mutating, checkpoints, polls, took
    finally:
        env.close()


def prepare(env: Env, scenario: str, run_cli) -> None:
    before, after = SCENARIOS[scenario]
    if before:
        env.write(before)
        code, out, err = in_process(env, run_cli, "apply", "--auto-approve")
        assert code == 0, out + err
    env.write(after)


def kill_points(kind_name: str, scenario: str, tmp_path, run_cli) -> list[KillPoint]:
    mutating, checkpoints, polls, took = dry_run(kind_name, scenario, tmp_path, run_cli)
    assert checkpoints > 0
    if kind_name == "directory":
        points = [KillPoint("checkpoint", n, s) for n in range(1, checkpoints + 1) for s in ("before", "after")]
        points = points[:-1]  # after the last checkpoint, the apply is done
    else:
        assert mutating > 0
        points = [KillPoint("land", n) for n in range(1, mutating + 1)]
        points += [KillPoint("checkpoint", n) for n in range(1, checkpoints)]
        points += [KillPoint("poll", n) for n in range(1, polls + 1)]
    rng = random.Random(f"{os.environ.get('RECONCILER_CRASH_SEED', '0')}-{kind_name}-{scenario}")
    points += [KillPoint("instant", int(rng.uniform(0.2, 1.0) * took * 1000)) for _ in range(EXTRA_TRIALS)]
    return points


def kill_run(env: Env, point: KillPoint) -> tuple[int, str] | None:
    """Run apply in a process of its own and SIGKILL it at `point`: (exit code,
    output); None when the point was never reached (an instant after the end)."""
    extra = {}
    if point.how == "checkpoint":
        extra[TEST_KILL_ENV] = f"{point.stage}:{point.n}"
    pid: list[int] = []

    def kill() -> None:
        for _ in range(500):  # the emulator may see a request before start() returned
            if pid:
                break
            time.sleep(0.01)
        os.kill(pid[0], signal.SIGKILL)

    if point.how in ("land", "poll"):
        assert env.emulator is not None
        match = env.kind.mutating if point.how == "land" else is_poll
        env.emulator.faults.land_then(kill, skip=point.n - 1, match=match)
    run = env.start("apply", "--auto-approve", **extra)
    pid.append(run.pid)
    if point.how == "instant":
        time.sleep(point.n / 1000)
        if run.process.is_alive():
            kill()
    code = run.wait()
    if env.emulator is not None:
        env.emulator.faults.clear()
    if point.how == "instant" and code == 0:
        return None
    return code, run.output


def check_trial(env: Env, scenario: str, point: KillPoint, run_cli) -> list[str]:
    """Kill, recover with one apply, plan again; the problems found."""
    before, after = SCENARIOS[scenario]
    problems: list[str] = []
    killed = kill_run(env, point)
    if killed is None:
        return []
    if killed[0] != -signal.SIGKILL:
        return [f"not killed (exit {killed[0]}): {killed[1][-600:]}"]
    if env.lock.exists():
        try:
            Lockfile.model_validate(tomllib.loads(env.lock.read_text()))
        except Exception as exc:  # noqa: BLE001 - any parse failure is the finding
            problems.append(f"lockfile unreadable after the kill: {exc}")

    code, out, err = in_process(env, run_cli, "apply", "--auto-approve")
    if code != 0:
        return [*problems, f"the next apply failed (exit {code}): {(out + err)[-600:]}"]
    held = env.remote()
    want = expected(env, after, before)
    if held != want:
        names = lambda items: sorted(n for n, _ in items)  # noqa: E731
        problems.append(f"remote holds {names(held)} (content differs: {held != want}), expected {names(want)}")
    lock = tomllib.loads(env.lock.read_text())
    recorded = {a: e["name"] for a, e in lock["assets"].items()}
    if recorded != {f"{INSTANCE}.{k}": n for k, (n, _) in after.items()}:
        problems.append(f"lockfile records {recorded}")
    leftovers = [a for a, e in lock["assets"].items() if e.get("superseded")]
    if leftovers and env.kind.type_name != "wolkvox":
        problems.append(f"superseded ids left in the lockfile: {leftovers}")

    code, out, err = in_process(env, run_cli, "plan", "--detailed-exitcode")
    if code != 0:
        problems.append(f"the plan after recovery has changes (exit {code}): {(out + err)[-600:]}")
    elif env.kind.type_name != "wolkvox" and "No changes." not in out:
        problems.append(f"the plan after recovery is not clean: {out[-600:]}")
    return problems


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_killed_apply_converges_in_one_more_apply(kind_name, scenario, tmp_path, run_cli):
    points = kill_points(kind_name, scenario, tmp_path, run_cli)
    failures: dict[str, list[str]] = {}
    for i, point in enumerate(points):
        env = Env(KINDS[kind_name](), tmp_path / f"trial{i}")
        try:
            prepare(env, scenario, run_cli)
            problems = check_trial(env, scenario, point, run_cli)
        finally:
            env.close()
        if problems:
            failures[str(point)] = problems
    report = "\n".join(f"- killed at {p}: " + "; ".join(v) for p, v in failures.items())
    assert not failures, f"{len(failures)} of {len(points)} kill points did not converge:\n{report}"


@pytest.mark.parametrize("style", ["floor", "round", "ceil", "ms", "hms-whole", "seconds", "number"])
def test_wolkvox_knows_its_own_batch_whatever_the_listing_precision(style, tmp_path, run_cli):
    """Killed once the batch upload was accepted: the next apply recognises both
    files as its own however audio_list writes durations (whole seconds by
    floor, round or ceil, milliseconds, hh:mm:ss, hundredths)."""
    env = Env(KINDS["wolkvox"](), tmp_path / "ws")
    try:
        env.emulator.list_duration_style = style
        prepare(env, "create", run_cli)
        assert check_trial(env, "create", KillPoint("land", 1), run_cli) == []
        assert len(env.emulator.uploads) == 1, "uploaded again"
    finally:
        env.close()
