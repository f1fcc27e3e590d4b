"""The planner where uploads carry reconciler's owner marker
(`Capabilities.marks_owner`, e.g. soniox's client_reference_id): adoption
needs the marker, a same-name upload by a person is never taken for ours, and
prune spares files reconciler made for another lockfile. Plain data only."""

from __future__ import annotations

import pytest

from reconciler.errors import ConflictError
from reconciler.model import OwnerMarker, RemoteAsset
from reconciler.plan import Action
from reconciler.providers.base import Capabilities
from tests.unit.test_planner import (
    INST,
    SHA_A,
    SHA_B,
    asset,
    desired,
    entry,
    lock,
    observed,
    run,
)

MARKED = Capabilities(can_list=True, can_delete=True, unique_names=False, marks_owner=True, lists_size=True)


def file(remote_id: str, name: str, *, size: int = 1000, owner: str | None = None, sha: str = SHA_A) -> RemoteAsset:
    marker = OwnerMarker(address=owner, sha256_prefix=sha[:32]) if owner else None
    return RemoteAsset(remote_id=remote_id, name=name, size=size, owner_marker=marker)


def only(p, address: str):
    [change] = [c for c in p.changes if c.address == address]
    return change


def test_a_file_marked_for_this_address_and_content_is_adopted():
    mine = file("u1", "welcome", owner=f"{INST}.welcome")
    person = file("u0", "welcome")  # same name and size, listed first, no marker
    p = run(desired(asset("welcome")), lock(), observed(person, mine), MARKED)
    c = only(p, f"{INST}.welcome")
    assert (c.action, c.remote_id) == (Action.ADOPT, "u1")
    assert "reconciler's upload marker" in c.notes[0]
    assert [d.address for d in p.drift] == [f"{INST}:u0"]


@pytest.mark.parametrize(
    "stranger",
    [
        file("u0", "welcome"),  # a person's upload, same size
        file("u0", "welcome", owner=f"{INST}.welcome", sha=SHA_B),  # ours, older content
        file("u0", "welcome", owner="prod.welcome"),  # another lockfile's
        file("u0", "welcome", owner=f"{INST}.welcome", size=999),  # marker right, size wrong
    ],
)
def test_anything_else_of_that_name_is_not_adopted_a_new_file_is_made(stranger):
    p = run(desired(asset("welcome")), lock(), observed(stranger), MARKED)
    c = only(p, f"{INST}.welcome")
    assert c.action is Action.CREATE and c.remote_id is None
    assert "without reconciler's marker" in c.notes[0] and "u0" in c.notes[0]


def test_where_names_are_unique_an_unmarked_file_is_a_conflict_not_an_adoption():
    caps = MARKED.model_copy(update={"unique_names": True})
    with pytest.raises(ConflictError, match="without reconciler's marker"):
        run(desired(asset("welcome")), lock(), observed(file("u0", "welcome")), caps)


def test_prune_deletes_unmarked_files_and_spares_marked_ones():
    ours = file("id-welcome", "welcome", owner=f"{INST}.welcome")
    person = file("u0", "notes")
    foreign = file("u9", "other", owner="prod.other")
    p = run(desired(asset("welcome"), prune=True), lock(entry("welcome")), observed(ours, person, foreign), MARKED)
    deletes = [c.remote_id for c in p.changes if c.action is Action.DELETE]
    assert deletes == ["u0"]
    [spared] = [d for d in p.drift if d.address == f"{INST}:u9"]
    assert "uploaded by reconciler for prod.other" in spared.detail
    assert "prune never deletes reconciler-marked files" in spared.detail


def test_recorded_files_follow_the_lockfile_whatever_their_marker():
    # an imported file carries no marker; it is managed all the same
    p = run(desired(asset("welcome")), lock(entry("welcome")), observed(file("id-welcome", "welcome")), MARKED)
    assert only(p, f"{INST}.welcome").action is Action.NOOP


def test_without_the_capability_markers_change_nothing():
    caps = MARKED.model_copy(update={"marks_owner": False})
    p = run(desired(asset("welcome")), lock(), observed(file("u0", "welcome", owner="prod.welcome")), caps)
    assert only(p, f"{INST}.welcome").action is Action.ADOPT  # by size, as the planning table says
