"""attribute_diff: what the text plan lists under a change."""

from __future__ import annotations

from reconciler.plan import AssetState
from reconciler.render.facts import attribute_diff


def test_lists_changed_fields_in_display_order():
    before = AssetState(name="a", description="old", sha256="a" * 64, size=10, duration=1.0, sample_rate=8000)
    after = AssetState(name="b", description="old", sha256="b" * 64, size=12, duration=1.5, sample_rate=16000)
    assert attribute_diff(before, after) == [
        ("name", "a", "b"), ("sha256", "a" * 64, "b" * 64), ("size", 10, 12),
        ("duration", 1.0, 1.5), ("sample_rate", 8000, 16000),
    ]


def test_numbers_compare_at_two_decimals_whatever_their_type():
    assert attribute_diff(AssetState(name="a", duration=1.234), AssetState(name="a", duration=1.2341)) == []
    assert attribute_diff(AssetState(name="a", duration=2), AssetState(name="a", duration=2.0)) == []
    assert attribute_diff(AssetState(name="a", duration=1.23), AssetState(name="a", duration=1.24)) == [
        ("duration", 1.23, 1.24)]


def test_a_field_unknown_on_one_side_is_no_change():
    assert attribute_diff(AssetState(name="a", size=None), AssetState(name="a", size=5)) == []
    assert attribute_diff(None, AssetState(name="a", size=5)) == []
    assert attribute_diff(AssetState(name="a", description=""), AssetState(name="a", description="x")) == [
        ("description", "", "x")]
