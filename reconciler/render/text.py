"""The text plan, shaped like Terraform's."""

from __future__ import annotations

import click

from reconciler.plan import SYMBOLS, Action, Change, Plan
from reconciler.render.facts import (
    attribute_diff,
    audio_diff,
    master_line,
    present,
    rendition_line,
    show,
    show_audio,
)
from reconciler.render.printable import printable

COLOURS = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "red",
    Action.DELETE: "red",
    Action.ADOPT: "cyan",
    Action.MANUAL: "magenta",
}

HEADLINES = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.REPLACE: "must be replaced",
    Action.DELETE: "will be destroyed",
    Action.ADOPT: "will be adopted (already there with the same content; no upload)",
    Action.MANUAL: "needs manual action (the provider's API cannot do it)",
}

REASONS = {
    "not_recorded": "",
    "remote_missing": "it was deleted outside reconciler",
    "content_changed": "the audio content changed",
    "remote_content_changed": "the remote content changed outside reconciler",
    "attributes_changed": "",
    "cannot_update_in_place": "the provider cannot update this in place",
    "not_declared": "it is no longer declared",
    "unmanaged_prune": "unmanaged, and prune = true",
    "superseded": "left over from a replace",
    "protect_changed": "protect changed; only the lockfile record is updated",
    "record_outdated": "the remote already matches; only the lockfile record is updated",
    "master_changed": "the master audio changed",
    "recipe_changed": "the audio recipe changed",
    "master_and_recipe_changed": "the master audio and the audio recipe changed",
}


def summary_line(plan: Plan) -> str:
    s = plan.summary
    line = f"Plan: {s.create} to add, {s.update} to change, {s.replace} to replace, {s.delete} to destroy"
    if s.adopt:
        line += f", {s.adopt} to adopt"
    line += "."
    if s.manual:
        line += f" {s.manual} manual action(s) need a person."
    return line


def _change_lines(change: Change, style) -> list[str]:
    symbol = SYMBOLS[change.action]
    headline = HEADLINES[change.action]
    reason = REASONS.get(change.reason, change.reason)
    address = printable(change.address)  # an unmanaged one carries a provider's remote id
    rid = f" [id={printable(change.remote_id)}]" if change.remote_id else ""
    lines = [f"  # {address} {headline}{rid}" + (f" ({reason})" if reason else "")]
    lines.append(style(f"{symbol:>3} {address}", change.action) + (" (protected)" if change.protect else ""))
    lines += _rendition_lines(change)
    if change.action in (Action.CREATE, Action.ADOPT) and change.before is None:
        for field, value in present(change.after):
            lines.append(style(f"      + {field:<11} = {show(field, value)}", Action.CREATE))
    elif change.action in (Action.DELETE, Action.MANUAL) and change.after is None:
        for field, value in present(change.before):
            lines.append(style(f"      - {field:<11} = {show(field, value)}", Action.DELETE))
    else:
        for field, old, new in attribute_diff(change.before, change.after):
            lines.append(style(f"      ~ {field:<11} = {show(field, old)} -> {show(field, new)}", Action.UPDATE))
        for field, old, new in audio_diff(change.before, change.after):
            lines.append(style(f"      ~ {field:<11} = {show_audio(field, old)} -> {show_audio(field, new)}", Action.UPDATE))
    for note in change.notes:
        loud = "remote id" in note and "will change" in note
        lines.append(("      ! " if loud else "      # ") + printable(note))
    return lines


def _rendition_lines(change: Change) -> list[str]:
    """master -> rendition, and the rendition it replaces."""
    if change.action not in (Action.CREATE, Action.ADOPT, Action.REPLACE):
        return []
    after, before = change.after, change.before
    lines = []
    if after is not None and (master := master_line(after)):
        lines.append(f"      {master}")
        lines.append(f"      → {rendition_line(after)}")
        was = rendition_line(before) if before is not None else None
        if change.action is Action.REPLACE and was and was != rendition_line(after):
            lines.append(f"        (was {was.removeprefix('rendition ')})")
        elif change.action is Action.REPLACE and before is not None and before.master is None:
            lines.append("        (was the file uploaded as it is)")
    elif change.action is Action.REPLACE and before is not None and before.master is not None:
        lines.append(f"      (was {rendition_line(before) or 'a rendition'}; now the file is uploaded as it is)")
    return lines


def render_text(plan: Plan, *, color: bool = False, show_noop: bool = False) -> str:
    def style(text: str, action: Action) -> str:
        return click.style(text, fg=COLOURS.get(action)) if color else text

    out: list[str] = []
    drift = [d for d in plan.drift if d.kind != "unmanaged"]
    unmanaged = [d for d in plan.drift if d.kind == "unmanaged"]
    if drift:
        out.append("Note: Objects have changed outside of reconciler")
        out.append("")
        for d in drift:
            out.append(f"  {printable(d.address)}: {d.kind.replace('_', ' ')}: {printable(d.detail)}")
        out.append("")
    shown = [c for c in plan.changes if c.action is not Action.NOOP or show_noop]
    if plan.has_changes or any(c.action is Action.MANUAL for c in plan.changes):
        out.append("reconciler will perform the following actions:")
        out.append("")
        for change in shown:
            if change.action is Action.NOOP:
                continue
            out.extend(_change_lines(change, style))
            out.append("")
        out.append(summary_line(plan))
        if plan.refused:
            out.append("")
            out.append("This plan is refused by the mass-delete guard: it shows what --force would do.")
            out.extend(f"  - {printable(r)}" for r in plan.refused)
    else:
        out.append("No changes. Remote state matches the configuration.")
    if unmanaged:
        out.append("")
        out.append("Unmanaged remote assets (neither declared nor recorded; left untouched unless the instance sets `prune = true`):")
        for d in unmanaged:
            out.append(f"  {printable(d.address)}: {printable(d.detail)}")
    for warning in plan.warnings:
        out.append("")
        out.append(("Warning: " if not color else click.style("Warning: ", fg="yellow", bold=True)) + printable(warning))
    return "\n".join(out) + "\n"
