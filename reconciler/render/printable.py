"""Text from outside (names, descriptions, remote ids from a config, a lockfile
or a provider's listing) made safe to print: every control or format character
is shown as an escape (`\\x1b`, `\\n`, `\\u202e`), so a name can neither drive
the terminal (colours, cursor, window title), nor fake a line of the plan, nor
reorder text with bidirectional overrides. JSON never goes through here: it
stays exact (json.dumps escapes control characters by itself)."""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` with every character Python does not call printable (controls,
    format characters, separators other than the space) escaped; one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


# our own SGR colour codes (click.style) and line breaks survive `printable_lines`
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def printable_lines(text: str, *, keep_colour: bool = False) -> str:
    """A whole rendered message: its line breaks kept, anything else escaped.
    The last line of defence for what reaches the terminal; values should have
    gone through `printable` already (a raw newline inside a name still splits
    a line here)."""
    if not keep_colour:
        return "\n".join(printable(line) for line in text.split("\n"))
    out = []
    for line in text.split("\n"):
        pos, parts = 0, []
        for m in _SGR.finditer(line):
            parts.append(printable(line[pos:m.start()]) + m.group())
            pos = m.end()
        parts.append(printable(line[pos:]))
        out.append("".join(parts))
    return "\n".join(out)
