"""`reconciler drift` output: text, JSON, Markdown. Reads only the DriftReport."""

from __future__ import annotations

from reconciler.drift import KINDS, DriftReport
from reconciler.render.json import dumps
from reconciler.render.markdown import (
    DEFAULT_BUDGET,
    GITHUB_COMMENT_LIMIT,
    cell,
    fit,
    size,
)
from reconciler.render.printable import printable


def drift_summary(report: DriftReport) -> str:
    counts = [f"{n} {kind.replace('_', ' ')}" for kind, n in report.summary.items() if n]
    return f"Drift: {len(report.drift)} item(s): {', '.join(counts)}." if counts else "No drift."


def render_drift_text(report: DriftReport) -> str:
    out: list[str] = []
    if report.drift:
        out += ["Objects have changed outside of reconciler:", ""]
        for d in report.drift:
            out.append(f"  {printable(d.address)}: {d.kind.replace('_', ' ')}: {printable(d.detail)}")
        out += ["", drift_summary(report)]
        out.append("Run `reconciler plan` to see how apply would put it back.")
    else:
        checked = sum(report.checked.values())
        out.append(f"No drift. {checked} recorded asset(s) match what the providers list.")
    for warning in report.warnings:
        out += ["", f"Warning: {printable(warning)}"]
    return "\n".join(out) + "\n"


def render_drift_json(report: DriftReport) -> str:
    return dumps(report.model_dump(mode="json"))


def render_drift_markdown(report: DriftReport, *, budget: int = DEFAULT_BUDGET) -> str:
    out = ["### reconciler drift", ""]
    if not report.drift:
        out += [f"**No drift.** {sum(report.checked.values())} recorded asset(s) checked.", ""]
    else:
        out += [f"**{drift_summary(report)}**", "", "| kind | count |", "|---|---:|"]
        out += [f"| {k.replace('_', ' ')} | {report.summary[k]} |" for k in KINDS if report.summary[k]]
        out += ["", "| address | kind | detail |", "|---|---|---|"]
    if report.warnings:
        warn = ["> [!WARNING]", *(f"> - {cell(w)}" for w in report.warnings[:50]), ""]
        out = out[:2] + warn + out[2:]
    text = "\n".join(out) + "\n"
    rows = [f"| `{cell(d.address)}` | {d.kind.replace('_', ' ')} | {cell(d.detail)} |\n" for d in report.drift]
    kept, cut = fit(rows, size(text), budget)
    text += kept
    if cut:
        text += (
            f"\n> [!NOTE]\n> **{cut} of {len(report.drift)} drift rows were cut** to stay under "
            f"GitHub's {GITHUB_COMMENT_LIMIT:,}-character limit; run `reconciler drift` for all.\n"
        )
    return text
