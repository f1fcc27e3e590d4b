"""The Markdown plan, for a pull-request comment. Reads only the Plan.

Layout: the summary line, a table by instance and action, a loud caution
when a replace changes remote ids that call flows reference, drift and
warnings, then one `<details>` block per change with the audio facts before
→ after. GitHub rejects comments over 65,536 characters, so the output is
kept under a budget: details that do not fit are cut, and the comment says
how many.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict

from reconciler.model import SoundFacts
from reconciler.plan import SYMBOLS, Action, AssetState, Change, Plan
from reconciler.render.facts import describe_master, describe_rendition, human_size
from reconciler.render.printable import printable
from reconciler.render.text import HEADLINES, REASONS, summary_line

GITHUB_COMMENT_LIMIT = 65_536
# room for what a CI job wraps around the plan (a marker, a header, a link)
DEFAULT_BUDGET = 60_000
MAX_LISTED = 100  # drift lines, remote-id changes, warnings: past this, "… and N more"
# each listing above the details may take this share of the budget at most
SECTION_SHARE = 0.15
TRUNCATION_RESERVE = 400

COLUMNS = (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE, Action.ADOPT, Action.MANUAL, Action.NOOP)
HEADERS = {Action.NOOP: "unchanged"}

# (label, field) in the order a reviewer of audio cares about
FACTS = (
    ("duration", "duration"),
    ("format", "format"),
    ("size", "size"),
    ("sample rate", "sample_rate"),
    ("channels", "channels"),
    ("name", "name"),
    ("description", "description"),
    ("sha256", "sha256"),
)


def size(text: str) -> int:
    """Length as GitHub counts it, conservatively: UTF-16 code units (an emoji is 2)."""
    return len(text.encode("utf-16-le")) // 2


def fit(pieces: list[str], used: int, budget: int) -> tuple[str, int]:
    """As many pieces, in order, as fit after `used` characters, keeping room
    for the truncation note; returns (joined text, number cut)."""
    kept = []
    for i, piece in enumerate(pieces):
        if used + size(piece) + TRUNCATION_RESERVE > budget:
            return "".join(kept), len(pieces) - i
        kept.append(piece)
        used += size(piece)
    return "".join(kept), 0


def cell(value: object) -> str:
    """Safe inside a table cell: no pipes, no HTML, one line."""
    text = html.escape(printable(str(value)), quote=False).replace("|", "\\|")
    return " ".join(text.split()) if text.strip() else text


def fact(field: str, value: object) -> str:
    if value is None:
        return "—"
    if field == "duration":
        return f"{value:.2f} s"
    if field == "size":
        return human_size(int(value))  # type: ignore[call-overload]
    if field == "sample_rate":
        return f"{value} Hz"
    if field == "format":
        return str(value).upper()
    if field == "sha256":
        return f"`{str(value)[:12]}`"
    if value == "":
        return "(empty)"
    return cell(value)


def changes_remote_id(change: Change) -> bool:
    return change.remote_id_changes


def _more(n: int, what: str) -> str:
    return f"- … and {n} more {what}"


def bounded(items: list[str], room: int, what: str, prefix: str = "") -> list[str]:
    """As many of `items` as fit in `room` characters (and MAX_LISTED), then a count of the rest."""
    out: list[str] = []
    used = 0
    for item in items[:MAX_LISTED]:
        if used + size(item) + 1 > room:
            break
        out.append(item)
        used += size(item) + 1
    if len(out) < len(items):
        out.append(prefix + _more(len(items) - len(out), what))
    return out


def summary_table(plan: Plan) -> list[str]:
    counts: dict[str, Counter[Action]] = defaultdict(Counter)
    for change in plan.changes:
        counts[change.instance][change.action] += 1
    if not counts:
        return []
    cols = [a for a in COLUMNS if a is not Action.MANUAL or any(c[Action.MANUAL] for c in counts.values())]
    lines = [
        "| instance | " + " | ".join(HEADERS.get(a, a.value) for a in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for instance in sorted(counts):
        row = counts[instance]
        lines.append(f"| `{cell(instance)}` | " + " | ".join(str(row[a]) for a in cols) + " |")
    return lines


def remote_id_caution(plan: Plan, room: int) -> list[str]:
    replaced = [c for c in plan.changes if changes_remote_id(c)]
    if not replaced:
        return []
    lines = [
        "> [!CAUTION]",
        f"> **{len(replaced)} change(s) will change remote ids.** Call flows and IVR definitions "
        "that reference these ids must be updated after apply:",
    ]
    items = [
        f"> - `{cell(c.address)}` ({c.action.value}): id `{cell(c.remote_id)}` → "
        + (f"`{cell(c.new_remote_id)}`" if c.new_remote_id else "a new id")
        for c in replaced
    ]
    return lines + bounded(items, room, "change(s)", "> ")


def refusal_section(plan: Plan) -> list[str]:
    if not plan.refused:
        return []
    return [
        "> [!CAUTION]",
        "> **This plan is refused by the mass-delete guard.** It shows what `--force` would do:",
        *[f"> - {cell(r)}" for r in plan.refused],
    ]


def drift_section(plan: Plan, room: int) -> list[str]:
    if not plan.drift:
        return []
    lines = ["#### Changed outside reconciler (drift)", "", "| address | kind | detail |", "|---|---|---|"]
    rows = [f"| `{cell(d.address)}` | {d.kind.replace('_', ' ')} | {cell(d.detail)} |" for d in plan.drift]
    shown = bounded(rows, room, "drift item(s); run `reconciler drift` for all")
    if shown and shown[-1].startswith("- …"):  # a list after a table needs a blank line
        shown.insert(-1, "")
    return lines + shown


def warnings_section(plan: Plan, room: int) -> list[str]:
    if not plan.warnings:
        return []
    return ["> [!WARNING]", *bounded([f"> - {cell(w)}" for w in plan.warnings], room, "warning(s)", "> ")]


def compact_audio(state: AssetState | None) -> str:
    """"WAV/ulaw 8 kHz 1 ch -16.0 LUFS" for a table cell; "—" when nothing is known."""
    if state is None:
        return "—"
    facts = state.audio or SoundFacts(format=state.format, sample_rate=state.sample_rate)
    parts = ["/".join(p for p in ((facts.format or "").upper(), facts.encoding or "") if p)]
    if facts.sample_rate:
        rate = facts.sample_rate / 1000
        parts.append(f"{rate:g} kHz")
    if facts.channels:
        parts.append(f"{facts.channels} ch")
    if facts.loudness is not None:
        parts.append(f"{facts.loudness:.1f} LUFS")
    if facts.true_peak is not None:
        parts.append(f"{facts.true_peak:.1f} dBTP")
    text = " ".join(p for p in parts if p)
    return cell(text) if text else "—"


def audio_section(plan: Plan, room: int) -> list[str]:
    """One row per change that uploads a rendition (or replaces one): the compact
    audio facts of what the remote holds and of what it will hold."""
    rows = [
        f"| `{cell(c.address)}` | {html.escape(SYMBOLS[c.action])} | {compact_audio(c.before)} | "
        f"{compact_audio(c.after)} |"
        for c in plan.changes
        if c.action in (Action.CREATE, Action.REPLACE, Action.ADOPT)
        and any(s is not None and s.master is not None for s in (c.before, c.after))
    ]
    if not rows:
        return []
    lines = ["#### Audio", "", "| address | | audio before | audio after |", "|---|---|---|---|"]
    shown = bounded(rows, room, "rendition(s)")
    if shown and shown[-1].startswith("- …"):
        shown.insert(-1, "")
    return lines + shown


def _audio_rows(change: Change) -> list[str]:
    rows = []
    before, after = change.before, change.after
    def master(s: AssetState | None) -> str:
        if s is None or s.master is None:
            return "—"
        name = f"`{cell(s.master.file)}` " if s.master.file else f"`{s.master.sha256[:12]}` "
        return name + cell(describe_master(s.master.facts))
    def rendition(s: AssetState | None) -> str:
        return cell(describe_rendition(s.audio)) if s is not None and s.master is not None and s.audio else "—"
    if any(s is not None and s.master is not None for s in (before, after)):
        rows.append(f"| master | {master(before)} | {master(after)} |")
        rows.append(f"| rendition | {rendition(before)} | {rendition(after)} |")
        recipe = lambda s: f"`{cell(s.recipe)}`" if s is not None and s.recipe else "—"  # noqa: E731
        rows.append(f"| recipe | {recipe(before)} | {recipe(after)} |")
    return rows


def change_details(change: Change) -> str:
    reason = REASONS.get(change.reason, change.reason)
    title = f"<code>{html.escape(SYMBOLS[change.action])} {html.escape(printable(change.address))}</code> "
    title += html.escape(HEADLINES.get(change.action, change.action.value))
    if reason:
        title += f" — {html.escape(reason)}"
    if change.protect:
        title += " (protected)"
    lines = ["<details>", f"<summary>{title}</summary>", ""]
    if change.remote_id:
        lines += [f"Remote id: `{cell(change.remote_id)}`", ""]
    before = change.before.model_dump() if change.before else {}
    after = change.after.model_dump() if change.after else {}
    rows = []
    for label, field in FACTS:
        old, new = before.get(field), after.get(field)
        if old is None and new is None:
            continue
        shown_new = fact(field, new)
        if change.before and change.after and old is not None and new is not None and old != new:
            shown_new = f"**{shown_new}**"
        rows.append(f"| {label} | {fact(field, old)} | {shown_new} |")
    rows += _audio_rows(change)
    if rows:
        lines += ["| | before | after |", "|---|---|---|", *rows, ""]
    for note in change.notes:
        loud = changes_remote_id(change) and "remote id" in note
        lines.append(f"- {'**' + cell(note) + '**' if loud else cell(note)}")
    if change.notes:
        lines.append("")
    lines.append("</details>")
    return "\n".join(lines) + "\n"


def render_markdown(plan: Plan, *, budget: int = DEFAULT_BUDGET) -> str:
    """The comment body, at most `budget` characters."""
    head: list[str] = ["### reconciler plan", ""]
    if plan.has_changes or plan.summary.manual:
        head += [f"**{summary_line(plan)}**", ""]
    else:
        head += ["**No changes.** Remote state matches the configuration.", ""]
    room = int(budget * SECTION_SHARE)
    sections = (
        refusal_section(plan), summary_table(plan), remote_id_caution(plan, room), audio_section(plan, room),
        drift_section(plan, room), warnings_section(plan, room),
    )
    for section in sections:
        if section:
            head += [*section, ""]
    out = "\n".join(head) + "\n"
    shown = [c for c in plan.changes if c.action is not Action.NOOP]
    if shown:
        out += "#### Changes\n\n"
    details, cut = fit([change_details(c) for c in shown], size(out), budget)
    out += details
    if cut:
        out += (
            f"\n> [!NOTE]\n> **{cut} of {len(shown)} change details were cut** to keep this comment "
            f"under GitHub's {GITHUB_COMMENT_LIMIT:,}-character limit. Every change is counted in "
            "the table above; run `reconciler plan` for the full plan.\n"
        )
    if size(out) > budget:  # a head alone over budget (thousands of instances): cut hard
        note = "\n\n_… cut to fit the comment size limit; run `reconciler plan` for the full plan._\n"
        out = out[: budget - size(note)]
        while size(out) + size(note) > budget:
            out = out[: len(out) - 256]
        out += note
    return out
