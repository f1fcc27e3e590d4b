"""The planner where a provider stores a converted copy of each upload
(`Capabilities.download_is_exact = False`, e.g. loccus): content is compared
by duration and sample rate, and the plan says so. Also the channel for a
provider's soft warnings (`DesiredInstance.warnings`). Plain data only."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.audio import AudioInfo
from reconciler.compare import compare_content
from reconciler.errors import ConflictError
from reconciler.lockfile import LockEntry, Lockfile
from reconciler.model import Desired, DesiredAsset, DesiredInstance, ObservedInstance, RemoteAsset
from reconciler.plan import Action
from reconciler.planner import plan
from reconciler.providers.base import Capabilities
from reconciler.providers.settings import ProviderSettings

SHA = "a" * 64
CONVERTING = Capabilities(
    can_download=True, download_is_exact=False, can_describe=True, lists_description=True, lists_duration=True,
)


def asset(duration: float = 2.0, rate: int = 8000) -> DesiredAsset:
    return DesiredAsset(
        address="v.welcome", instance="v", key="welcome", name="welcome", sha256=SHA, size=1000,
        audio=AudioInfo(format="wav", duration=duration, sample_rate=rate, channels=1),
    )


def remote(duration: float | None = 2.0, rate: int | None = 8000) -> RemoteAsset:
    return RemoteAsset(remote_id="uuid-1", name="welcome", description="", duration=duration, sample_rate=rate)


def desired(warnings: list[str] | None = None) -> Desired:
    a = asset()
    return Desired(
        config_path=Path("reconciler.toml"), lockfile_path=Path("reconciler.lock"),
        instances={"v": DesiredInstance(name="v", type="fake", settings=ProviderSettings(type="fake"),
                                        assets={a.address: a}, warnings=warnings or [])},
    )


def recorded() -> Lockfile:
    return Lockfile(lineage="t", serial=1, assets={"v.welcome": LockEntry(
        instance="v", type="fake", remote_id="uuid-1", name="welcome", sha256=SHA, size=1000,
        applied_at="2024-01-01T00:00:00Z", duration=2.0,
    )})


@pytest.mark.parametrize(
    ("r", "expected"),
    [
        (remote(2.1, 8000), (True, "duration and sample rate")),
        (remote(2.0, 16000), (False, "duration and sample rate")),
        (remote(3.0, 8000), (False, "duration and sample rate")),
        (remote(2.0, None), (True, "duration")),
        (remote(None, None), (None, "nothing comparable")),
    ],
)
def test_compare_content_uses_sample_rate_beside_duration(r, expected):
    assert compare_content(asset(), r) == expected


def test_adoption_says_it_compared_duration_and_sample_rate():
    p = plan(desired(), Lockfile(), {"v": ObservedInstance(assets=(remote(),))}, {"v": CONVERTING})
    (c,) = p.changes
    assert c.action is Action.ADOPT
    assert any("checked by duration and sample rate" in n for n in c.notes)


def test_other_sample_rate_is_a_conflict_not_an_adoption():
    with pytest.raises(ConflictError, match="checked by duration and sample rate"):
        plan(desired(), Lockfile(), {"v": ObservedInstance(assets=(remote(2.0, 16000),))}, {"v": CONVERTING})


@pytest.mark.parametrize("verified", [False, True])
def test_verified_converted_content_is_compared_by_duration_and_rate(verified):
    observed = {"v": ObservedInstance(assets=(remote(5.0, 16000),), content_verified=verified)}
    p = plan(desired(), recorded(), observed, {"v": CONVERTING})
    (c,) = p.changes
    if not verified:  # the listing's facts alone never make content drift
        assert c.action is Action.NOOP and p.drift == []
        return
    assert c.action is Action.REPLACE and c.reason == "remote_content_changed"
    (d,) = p.drift
    assert d.kind == "content_changed"
    assert "duration 2.00 s → 5.00 s, sample rate 8000 Hz → 16000 Hz" in d.detail
    assert "compared by duration and sample rate" in d.detail


def test_exact_downloads_are_not_compared_by_duration():
    exact = CONVERTING.model_copy(update={"download_is_exact": True})
    observed = {"v": ObservedInstance(assets=(remote(5.0, 16000),), content_verified=True)}
    (c,) = plan(desired(), recorded(), observed, {"v": exact}).changes
    assert c.action is Action.NOOP


def test_verified_converted_content_within_tolerance_is_in_sync():
    observed = {"v": ObservedInstance(assets=(remote(2.2, 8000),), content_verified=True)}
    p = plan(desired(), recorded(), observed, {"v": CONVERTING})
    assert [c.action for c in p.changes] == [Action.NOOP] and p.drift == []


def test_instance_warnings_reach_the_plan():
    p = plan(desired(["providers.v.assets.welcome (a.wav): too short"]), recorded(),
             {"v": ObservedInstance(assets=(remote(),))}, {"v": CONVERTING})
    assert "providers.v.assets.welcome (a.wav): too short" in p.warnings
