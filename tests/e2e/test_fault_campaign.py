"""20% injected faults on every HTTP provider: a fifth of all requests answer
500 or 429, or lose the connection before the request reaches the service or
after it was applied (the answer lost). One apply must still converge — no
exit 1, no duplicate, every upload recorded — and the next plan says "No
changes". A create whose outcome is unknown is settled by listing before it
is sent again, never duplicated.

`RECONCILER_FAULT_ASSETS` (default 30) sets how many assets each apply
creates and then replaces; `RECONCILER_FAULT_SEED` picks the fault sequence.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.e2e.crash_env import KINDS, Env, audio

N = int(os.environ.get("RECONCILER_FAULT_ASSETS", "30") or 30)
SEED = os.environ.get("RECONCILER_FAULT_SEED", "0")
FAULTS = (500, 429, "drop", "lose")
HTTP = sorted(k for k in KINDS if k != "directory")
GUARD_OFF = {"max_delete_percent": 100}  # the replaces are the point here, not the mass-delete guard


def apply(env: Env, run_cli) -> tuple[int, str]:
    code, out, err = run_cli("apply", "--auto-approve", "-c", str(env.config), env=env.env)
    return code, out + err


def assert_converged(env: Env, run_cli, assets: dict[str, tuple[str, bytes]], *, leftover: int = 0) -> None:
    held = env.remote()
    want = sorted(assets.values())
    if leftover:  # wolkvox cannot delete: a renamed asset's old file stays
        assert len(held) == len(want) + leftover
        held = [h for h in held if h in want]
    assert held == want, "duplicates, leftovers or missing assets"
    code, out, err = run_cli("plan", "--detailed-exitcode", "-c", str(env.config), env=env.env)
    assert code == 0, out + err


@pytest.mark.parametrize("kind_name", HTTP)
def test_one_apply_converges_under_twenty_percent_faults(kind_name, tmp_path, run_cli):
    env = Env(KINDS[kind_name](), tmp_path / "ws")
    try:
        assert env.emulator is not None
        env.emulator.faults.rng = random.Random(f"{SEED}-{kind_name}")
        env.emulator.faults.fail_ratio(0.2, FAULTS, body=env.emulator.fault_body)
        created = {f"a{i:03d}": (f"a{i:03d}", audio(i % 7 + 1) + i.to_bytes(2, "big")) for i in range(N)}
        env.write(created, extra=GUARD_OFF)
        code, output = apply(env, run_cli)
        assert code == 0, output
        assert_converged_while_faulty(env, run_cli, created)

        # every third asset gets new content, every fifth a new name
        changed = {
            k: (f"{name}-v2" if i % 5 == 0 else name, data + b"v2" if i % 3 == 0 else data)
            for i, (k, (name, data)) in enumerate(sorted(created.items()))
        }
        env.write(changed, extra=GUARD_OFF)
        code, output = apply(env, run_cli)
        assert code == 0, output
        renamed = sum(1 for i in range(N) if i % 5 == 0)
        assert_converged_while_faulty(env, run_cli, changed, leftover=renamed if kind_name == "wolkvox" else 0)
    finally:
        env.close()


def assert_converged_while_faulty(env: Env, run_cli, assets, *, leftover: int = 0) -> None:
    faults = env.emulator.faults
    saved = faults.ratio
    faults.ratio = 0.0  # check with a quiet service
    try:
        assert_converged(env, run_cli, assets, leftover=leftover)
    finally:
        faults.ratio = saved


def test_plusofon_upload_whose_id_lookup_fails_is_found_later_never_sent_twice(tmp_path, run_cli):
    """The create answers `{"success": true}` without an id, so the client lists
    to find it; that listing fails past its retries. The upload landed: it is
    found by listing again, not uploaded a second time, and the apply succeeds."""
    env = Env(KINDS["plusofon"](), tmp_path / "ws")
    try:
        em = env.emulator
        env.write({"alpha": ("alpha", audio(1))}, extra={"max_retries": 1})
        after_upload = lambda m, p: m == "GET" and p == "/api/v1/media" and em.count("POST") > 0  # noqa: E731
        em.faults.fail_next(3, 500, body=em.fault_body(500), match=after_upload)
        code, output = apply(env, run_cli)
        assert code == 0, output
        assert em.count("POST") == 1
        assert env.remote() == [("alpha", audio(1))]
        assert [r.status for r in em.requests].count(500) == 3  # the lookups did fail
        assert_converged(env, run_cli, {"alpha": ("alpha", audio(1))})
    finally:
        env.close()
