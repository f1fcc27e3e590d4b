"""Plusofon answers a create without the new media's id: creates in flight
together are looked up together — one round of page reads for all of them,
not a listing per create — and each gets its own media, never another's."""

from __future__ import annotations

import pytest

from tests.conftest import make_wav
from tests.e2e.test_plusofon import is_create, is_list, lock_of, toml
from tests.emulators.plusofon import PlusofonEmulator


@pytest.fixture
def emulator(monkeypatch):
    em = PlusofonEmulator()
    monkeypatch.setenv("PLUSOFON_TOKEN", em.token)
    return em


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest-first", "newest-first"])
def test_concurrent_creates_share_their_lookups(workspace, emulator, serve, run_cli, newest_first):
    emulator.newest_first = newest_first
    server = serve(emulator)
    for i in range(20):  # two pages of someone's media already there
        emulator.console_upload(f"console-{i}", make_wav(0.05, seed=500 + i))
    creates = 24
    for i in range(creates):
        workspace.audio(f"p{i:02d}.wav", make_wav(0.05, seed=i))
    workspace.write(toml(server.url, glob="audio/*.wav"))
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    assert code == 0, out + err
    posts = sum(1 for r in emulator.requests if is_create(r.method, r.path))
    assert posts == creates  # no duplicate upload
    plan_lists = 2  # the plan's listing of 20 media at 15 a page
    lookups = sum(1 for r in emulator.requests if is_list(r)) - plan_lists
    # a lookup per create read page 1 and (oldest first) the last page; four
    # uploads in flight at a time now share one such round: at most half of that
    per_create = 1 if newest_first else 2
    assert lookups <= per_create * creates // 2, lookups
    locked = lock_of(workspace)
    for i in range(creates):
        [media] = emulator.by_name(f"p{i:02d}")
        assert locked[f"main.p{i:02d}"]["remote_id"] == str(media.id)
        assert media.data == make_wav(0.05, seed=i)
    code, out, _ = run_cli("plan", "-c", str(workspace.config), "--detailed-exitcode")
    assert code == 0, out
