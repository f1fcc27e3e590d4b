"""`reconciler compare` output: text, JSON, Markdown. Reads only the Comparison."""

from __future__ import annotations

from reconciler.environments import Comparison, Difference
from reconciler.render.json import dumps
from reconciler.render.markdown import DEFAULT_BUDGET, GITHUB_COMMENT_LIMIT, cell, fit, size

SYMBOL = {"content": "~", "name": "~", "description": "~", "only_in_a": "<", "only_in_b": ">"}


def label(c: Comparison, kind: str) -> str:
    """A difference's kind in words: 'content', 'only on stage'."""
    return {"only_in_a": f"only on {c.a}", "only_in_b": f"only on {c.b}"}.get(kind, kind)


def verdict(c: Comparison) -> str:
    keys = c.out_of_step_keys
    if not keys:
        return f"In step: {c.a} and {c.b} hold the same prompts ({len(c.same)} alike)."
    counts = [f"{n} {label(c, k)}" for k, n in c.summary.items() if n]
    return f"Out of step: {len(keys)} prompt(s) differ between {c.a} and {c.b}: {', '.join(counts)}."


def _line(d: Difference) -> str:
    return f"  {SYMBOL[d.kind]} {d.key}: {d.detail}"


def render_compare_text(c: Comparison) -> str:
    out = [f"Comparing {c.a} ({c.a_type}) with {c.b} ({c.b_type}), from the lockfile:", ""]
    out += [_line(d) for d in c.out_of_step]
    expected = [d for d in c.differences if d.by_config]
    if expected:
        if c.out_of_step:
            out.append("")
        out.append("Different by configuration (not counted):")
        out += [_line(d) for d in expected]
    if c.differences:
        out.append("")
    out.append(verdict(c))
    for warning in c.warnings:
        out += ["", f"Warning: {warning}"]
    return "\n".join(out) + "\n"


def render_compare_json(c: Comparison) -> str:
    return dumps(c.model_dump(mode="json"))


def render_compare_markdown(c: Comparison, *, budget: int = DEFAULT_BUDGET) -> str:
    out = [f"### reconciler compare `{c.a}` ({c.a_type}) → `{c.b}` ({c.b_type})", "", f"**{verdict(c)}**", ""]
    if c.warnings:
        out += ["> [!WARNING]", *(f"> - {cell(w)}" for w in c.warnings[:50]), ""]
    if c.differences:
        out += ["| prompt | difference | counted | detail |", "|---|---|---|---|"]
    text = "\n".join(out) + "\n"
    rows = [
        f"| `{cell(d.key)}` | {cell(label(c, d.kind))} | {'no (by config)' if d.by_config else 'yes'} "
        f"| {cell(d.detail)} |\n"
        for d in [*c.out_of_step, *(d for d in c.differences if d.by_config)]
    ]
    kept, cut = fit(rows, size(text), budget)
    text += kept
    if cut:
        text += (
            f"\n> [!NOTE]\n> **{cut} of {len(rows)} rows were cut** to stay under GitHub's "
            f"{GITHUB_COMMENT_LIMIT:,}-character limit; run `reconciler compare` for all.\n"
        )
    return text
