"""`compare` on plain data: lockfile records and declared facts typed out by hand."""

from __future__ import annotations

from reconciler.environments import Declared, compare
from reconciler.lockfile import LockEntry
from reconciler.render.compare import render_compare_markdown, render_compare_text

S1, S2 = "1" * 64, "2" * 64


def rec(instance: str, *, sha: str = S1, name: str = "welcome", description: str = "") -> LockEntry:
    return LockEntry(instance=instance, type="t", remote_id=f"{instance}-id", name=name,
                     description=description, sha256=sha, size=1, applied_at="2024-01-01T00:00:00Z")


def dec(*, sha: str | None = S1, name: str = "welcome", description: str = "") -> Declared:
    return Declared(name=name, description=description, sha256=sha)


def run(ra, rb, da, db):
    return compare("a", "b", (ra, rb), (da, db), types=("exolve", "plusofon"))


def test_alike_is_in_step():
    c = run({"w": rec("a")}, {"w": rec("b")}, {"w": dec()}, {"w": dec()})
    assert c.in_step and c.same == ["w"] and c.differences == []


def test_remote_ids_and_provider_types_do_not_matter():
    ra = {"w": rec("a").model_copy(update={"remote_id": "152817", "type": "exolve"})}
    rb = {"w": rec("b").model_copy(update={"remote_id": "44", "type": "plusofon"})}
    assert run(ra, rb, {"w": dec()}, {"w": dec()}).in_step


def test_a_ahead_in_content_is_out_of_step():
    c = run({"w": rec("a", sha=S2)}, {"w": rec("b")}, {"w": dec(sha=S2)}, {"w": dec(sha=S2)})
    assert not c.in_step and c.out_of_step_keys == ["w"]
    (d,) = c.differences
    assert (d.kind, d.a, d.b, d.by_config) == ("content", S2, S1, False)
    assert "b has not applied its config yet" in d.detail and "a has" not in d.detail


def test_name_and_description_differences_by_config_are_not_counted():
    c = run({"w": rec("a", name="x", description="A")}, {"w": rec("b", name="y")},
            {"w": dec(name="x", description="A")}, {"w": dec(name="y")})
    assert c.in_step and sorted(d.kind for d in c.differences) == ["description", "name"]
    assert all(d.by_config for d in c.differences)


def test_a_pending_rename_is_counted():
    c = run({"w": rec("a", name="x")}, {"w": rec("b", name="welcome")}, {"w": dec(name="x")}, {"w": dec(name="x")})
    assert not c.in_step and c.summary["name"] == 1


def test_unknown_local_content_is_never_taken_as_intended():
    c = run({"w": rec("a", sha=S2)}, {"w": rec("b")}, {"w": dec(sha=None)}, {"w": dec(sha=S1)})
    assert not c.in_step
    assert "a's local file is not available" in c.differences[0].detail


def test_one_sided_keys():
    # b does not carry it and a is as configured: by configuration
    c = run({"t": rec("a")}, {}, {"t": dec()}, {})
    assert c.in_step and c.differences[0].kind == "only_in_a" and c.differences[0].by_config
    # b declares it but has not applied it: out of step
    c = run({"t": rec("a")}, {}, {"t": dec()}, {"t": dec()})
    assert c.summary["only_in_a"] == 1 and "b declares it but has not applied it" in c.differences[0].detail
    # b still holds a prompt its config dropped (apply pending there): out of step
    c = run({}, {"t": rec("b")}, {}, {})
    assert c.summary["only_in_b"] == 1 and "b no longer declares it" in c.differences[0].detail
    # declared on both, applied on neither: not a difference, a warning
    c = run({}, {}, {"t": dec()}, {"t": dec()})
    assert c.in_step and c.differences == [] and "applied on neither" in c.warnings[0]


def test_renderers_name_both_sides_and_the_verdict():
    c = run({"w": rec("a", sha=S2), "x": rec("a")}, {"w": rec("b")}, {"w": dec(sha=S2), "x": dec()}, {"w": dec(sha=S2)})
    text = render_compare_text(c)
    assert text.startswith("Comparing a (exolve) with b (plusofon), from the lockfile:")
    assert "  ~ w: content differs: 222222222222 on a, 111111111111 on b" in text
    assert "Different by configuration (not counted):\n  < x: only on a (b does not carry it)" in text
    assert text.rstrip().endswith("Out of step: 1 prompt(s) differ between a and b: 1 content.")
    md = render_compare_markdown(c)
    assert "| `w` | content | yes |" in md and "| `x` | only on a | no (by config) |" in md
    md = render_compare_markdown(c, budget=600)
    assert "rows were cut" in md and len(md) < 1200
