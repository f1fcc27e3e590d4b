"""The planner after a crash: an upload that landed but was never recorded is
recognised as ours — for creates and for every replace strategy — and taken
over instead of uploaded again; anything else under that name is not. And
durations listed at a coarser precision are compared at that precision.
Plain data only."""

from __future__ import annotations

import pytest

from reconciler.compare import durations_match
from reconciler.errors import ConflictError
from reconciler.model import OwnerMarker, RemoteAsset
from reconciler.plan import Action, ReplaceStrategy
from reconciler.planning.landed import temporary_name
from reconciler.providers.base import Capabilities
from reconciler.providers.wolkvox import duration_precision, parse_duration
from tests.unit.test_planner import INST, SHA_A, SHA_B, asset, desired, entry, lock, observed, run

# one set of capabilities per replace strategy (as the real providers have them)
TEMP_NAME = Capabilities(can_download=True, can_rename=True, can_describe=True, lists_size=True,
                         lists_description=True, name_max_length=128)  # exolve
CREATE_BEFORE_DESTROY = Capabilities(can_download=True, can_rename=True, unique_names=False)  # plusofon
MARKED = Capabilities(unique_names=False, marks_owner=True, lists_size=True)  # soniox
DESTROY_BEFORE_CREATE = Capabilities(can_download=True, download_is_exact=False, can_describe=True,
                                     lists_duration=True, lists_description=True)  # loccus
OVERWRITE = Capabilities(can_download=True, can_rename=True, can_describe=True, can_overwrite=True,
                         lists_sha256=True, lists_size=True, lists_description=True)  # directory
CREATE_THEN_MANUAL = Capabilities(can_delete=False, can_overwrite=True, lists_duration=True)  # wolkvox


def replace_of(p, address=f"{INST}.welcome"):
    [c] = [c for c in p.changes if c.address == address and c.action is Action.REPLACE]
    return c


def test_a_temp_named_upload_of_the_new_content_is_taken_over():
    temp = temporary_name("welcome", SHA_B, 128)
    landed = RemoteAsset(remote_id="9", name=temp, sha256=SHA_B, size=1000, description="")
    p = run(desired(asset("welcome", sha=SHA_B)), lock(entry("welcome", remote_id="1")),
            observed(RemoteAsset(remote_id="1", name="welcome", size=1000, description=""), landed), TEMP_NAME)
    c = replace_of(p)
    assert (c.strategy, c.landed_id, c.landed.name) == (ReplaceStrategy.TEMP_NAME, "9", temp)
    assert "already uploaded" in c.notes[0]
    assert not [d for d in p.drift if d.kind == "unmanaged"], "the landed upload is ours, not unmanaged"


@pytest.mark.parametrize(("sha", "size"), [(SHA_A, 1000), (None, 999)])
def test_a_temp_named_file_of_other_content_is_not_taken(sha, size):
    temp = temporary_name("welcome", SHA_B, 128)
    stranger = RemoteAsset(remote_id="9", name=temp, sha256=sha, size=size)  # not the new content
    p = run(desired(asset("welcome", sha=SHA_B)), lock(entry("welcome", remote_id="1")),
            observed(RemoteAsset(remote_id="1", name="welcome", size=1000, description=""), stranger), TEMP_NAME)
    assert replace_of(p).landed_id is None


def test_create_before_destroy_takes_the_same_named_copy_with_the_new_bytes():
    old = RemoteAsset(remote_id="1", name="welcome", sha256=SHA_A)
    person = RemoteAsset(remote_id="5", name="welcome", sha256="d" * 64)  # someone else's, same name
    landed = RemoteAsset(remote_id="9", name="welcome", sha256=SHA_B)
    p = run(desired(asset("welcome", sha=SHA_B)), lock(entry("welcome", remote_id="1")),
            observed(old, person, landed), CREATE_BEFORE_DESTROY)
    c = replace_of(p)
    assert (c.strategy, c.landed_id) == (ReplaceStrategy.CREATE_BEFORE_DESTROY, "9")
    assert [d.address for d in p.drift if d.kind == "unmanaged"] == [f"{INST}:5"]


def test_marked_upload_is_taken_by_its_marker_even_under_a_new_name():
    """soniox: a rename is a replace; the new file carries our marker for this content."""
    marker = OwnerMarker(address=f"{INST}.welcome", sha256_prefix=SHA_A[:32])
    old = RemoteAsset(remote_id="u1", name="welcome", size=1000, owner_marker=marker)
    landed = RemoteAsset(remote_id="u2", name="hello", size=1000, owner_marker=marker)
    p = run(desired(asset("welcome", name="hello")), lock(entry("welcome", remote_id="u1")),
            observed(old, landed), MARKED)
    assert replace_of(p).landed_id == "u2"
    unmarked = landed.model_copy(update={"owner_marker": None})
    p = run(desired(asset("welcome", name="hello")), lock(entry("welcome", remote_id="u1")),
            observed(old, unmarked), MARKED)
    assert replace_of(p).landed_id is None


def test_overwritten_in_place_needs_only_the_record():
    current = RemoteAsset(remote_id="welcome.wav", name="welcome", sha256=SHA_B, size=1000, description="")
    p = run(desired(asset("welcome", sha=SHA_B)), lock(entry("welcome", remote_id="welcome.wav")),
            observed(current), OVERWRITE)
    c = replace_of(p)
    assert (c.strategy, c.landed_id) == (ReplaceStrategy.OVERWRITE, "welcome.wav")


def test_wolkvox_rename_takes_the_new_file_by_whole_second_duration():
    old = RemoteAsset(remote_id="welcome.wav", name="welcome", duration=2.0, duration_precision=1.0)
    landed = RemoteAsset(remote_id="hello.wav", name="hello", duration=3.0, duration_precision=1.0)
    p = run(desired(asset("welcome", name="hello", duration=2.6)), lock(entry("welcome", remote_id="welcome.wav")),
            observed(old, landed), CREATE_THEN_MANUAL)
    c = replace_of(p)
    assert (c.strategy, c.landed_id) == (ReplaceStrategy.CREATE_THEN_MANUAL, "hello.wav")


def test_destroy_before_create_adopts_the_recreated_upload_by_duration():
    """loccus: the old one is deleted and forgotten first, so a landed upload is a plain adoption."""
    landed = RemoteAsset(remote_id="u9", name="welcome", duration=1.02, sample_rate=8000, description="")
    p = run(desired(asset("welcome", sha=SHA_B)), lock(), observed(landed), DESTROY_BEFORE_CREATE)
    [c] = p.changes
    assert (c.action, c.remote_id) == (Action.ADOPT, "u9")


def test_where_names_repeat_any_same_named_copy_with_our_content_is_adopted():
    person = RemoteAsset(remote_id="5", name="welcome", sha256="d" * 64)
    ours = RemoteAsset(remote_id="9", name="welcome", sha256=SHA_A)
    p = run(desired(asset("welcome")), lock(), observed(person, ours), CREATE_BEFORE_DESTROY)
    [c] = [c for c in p.changes if c.address == f"{INST}.welcome"]
    assert (c.action, c.remote_id) == (Action.ADOPT, "9")


def test_a_same_named_file_of_other_content_is_still_a_conflict():
    person = RemoteAsset(remote_id="5", name="welcome", sha256="d" * 64)
    with pytest.raises(ConflictError):
        run(desired(asset("welcome")), lock(), observed(person), CREATE_BEFORE_DESTROY)


@pytest.mark.parametrize(("listed", "actual", "precision", "same"), [
    (2.0, 2.6, 1.0, True),    # floor
    (3.0, 2.6, 1.0, True),    # round / ceil
    (3.0, 2.0, 1.0, True),    # ceil of 2.0000001
    (4.0, 2.6, 1.0, False),   # two steps away
    (1.0, 2.6, 1.0, False),
    (2600.0, 2.6, 1.0, True),  # milliseconds
    (2601.0, 2.6, 1.0, True),
    (3200.0, 2.6, 1.0, False),
    (2.6, 2.61, 0.01, True),
    (2.9, 2.6, 0.01, False),  # a fine listing keeps the default tolerance
    (3.0, 2.0, None, False),  # no precision known: ±0.25 s
    (2.2, 2.0, None, True),
])
def test_durations_are_compared_at_the_listings_precision(listed, actual, precision, same):
    assert durations_match(listed, actual, precision) is same


@pytest.mark.parametrize(("value", "seconds", "precision"), [
    ("3", 3.0, 1.0), (3, 3.0, 1.0), ("3.20", 3.2, 0.01), (2.7, 2.7, 0.1), ("00:00:03", 3.0, 1.0),
    ("00:00:03.25", 3.25, 0.01), ("3 s", 3.0, 1.0), ("3,25", 3.25, 0.01), ("2700", 2700.0, 1.0),
])
def test_wolkvox_reads_the_precision_a_duration_is_written_in(value, seconds, precision):
    assert parse_duration(value) == seconds
    assert duration_precision(value) == precision
