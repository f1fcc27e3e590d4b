"""TOML and JSON documents from bytes reconciler does not trust.

`parse_toml` and `parse_json` raise `InputError` (reasons written for the
terminal) for anything the standard parsers would choke on, so the config,
the lockfile, a saved plan or a cache file ends in one `Error:` paragraph,
never in a traceback or a hang.

- TOML is pre-scanned before `tomllib` sees it (`toml_prescan`): nesting
  depth, parts of one dotted key and the length of a number are bounded,
  because tomllib recurses per nesting level (RecursionError), grows
  quadratically with the parts of a dotted key, and calls `int()` on numbers
  of any length (ValueError past 4,300 digits).
- Every key and string of a parsed document is checked (`check_strings`),
  unless its text holds no NUL and no escape that could make one.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from reconciler.inputs import InputError

# Limits, each far above anything real (the README lists them):
MAX_NESTING = 64  # arrays/inline tables inside each other; a config uses 2
MAX_KEY_PARTS = 64  # parts of one dotted key or table header; a config uses 4
MAX_NUMBER_CHARS = 100  # one number (or digit-led bare key); a date-time is 35


def decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line})") from None


# Tokens that matter to the pre-scan; everything else (letters, spaces) is skipped.
# Strings and comments are consumed whole so their content counts for nothing.
_TOML_TOKEN = re.compile(
    r'"""(?:[^\\]|\\.)*?"""'  # multi-line basic string
    r"|'''.*?'''"  # multi-line literal string
    r'|"(?:[^"\\\n]|\\.)*"'  # basic string
    r"|'[^'\n]*'"  # literal string
    r"|#[^\n]*"  # comment
    r"|(?<![A-Za-z0-9_+\-:.])[0-9+\-][A-Za-z0-9_+\-:]*"  # a number, date or digit-led bare key
    r"|[\[{]|[\]}]|\."  # nesting and dots
    r"|[,=\n]",  # what ends a dotted key
    re.S,
)


def toml_prescan(text: str) -> None:
    """Bound what would make tomllib recurse, grow or raise: nesting depth,
    parts of one dotted key, length of a number. Linear, before parsing."""
    depth = 0
    dots = 0
    for m in _TOML_TOKEN.finditer(text):
        tok = m.group()
        first = tok[0]
        if first in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise InputError(_at(text, m.start(), f"nests arrays or tables more than {MAX_NESTING} deep"))
            dots = 0
        elif first in "]}":
            depth = max(0, depth - 1)
            dots = 0
        elif first == ".":
            dots += 1
            if dots >= MAX_KEY_PARTS:
                raise InputError(_at(text, m.start(), f"has a dotted key of more than {MAX_KEY_PARTS} parts"))
        elif first in ",=\n":
            dots = 0
        elif first in "0123456789+-" and len(tok) > MAX_NUMBER_CHARS:
            raise InputError(
                _at(text, m.start(), f"has a number {len(tok):,} characters long (at most {MAX_NUMBER_CHARS})")
            )


def _at(text: str, pos: int, what: str) -> str:
    return f"{what} at line {text.count(chr(10), 0, pos) + 1}"


def parse_toml(raw: bytes) -> dict[str, Any]:
    """A TOML document, guarded: InputError for anything tomllib cannot take."""
    text = decode_utf8(raw)
    toml_prescan(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"is malformed TOML: {exc}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # what the pre-scan should have stopped
        raise InputError(f"cannot be parsed as TOML ({type(exc).__name__}: {str(exc)[:200]})") from None
    check_parsed_strings(text, data)
    return data


def parse_json(raw: bytes) -> Any:
    """A JSON document, guarded like `parse_toml`."""
    text = decode_utf8(raw)
    try:
        data = json.loads(text)
    except RecursionError:
        raise InputError("is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int() past 4,300 digits
        raise InputError(f"is not valid JSON: {str(exc)[:200]}") from None
    except MemoryError:
        raise InputError("is too large to parse") from None
    check_parsed_strings(text, data)
    return data


# A NUL or a lone surrogate reaches a parsed string only through the text: a raw
# NUL, or an escape (\u0000, \U00000000, TOML 1.1's \x00; \ud800-\udfff, \U0000d800-...);
# text decoded from UTF-8 holds no surrogate of its own. Text with none of these
# cannot yield a bad string, so the walk over every value (0.1 s of a 10,000-entry
# lockfile) is skipped. An escaped backslash before a `u` only costs the walk.
_BAD_ESCAPE = re.compile(r"\\(?:x00|u0000|U00000000|u[dD][89a-fA-F]|U0000[dD][89a-fA-F])")


def check_parsed_strings(text: str, data: Any) -> None:
    """`check_strings(data)` for `data` parsed from `text`, skipped when `text`
    cannot hold a bad string (`in` scans at memchr speed; most files have no backslash)."""
    if "\x00" in text or ("\\" in text and _BAD_ESCAPE.search(text) is not None):
        check_strings(data)


def check_strings(data: Any, where: str = "") -> None:
    """No NUL byte and no lone surrogate in any key or string: every one may
    end up in a path, a URL, a header or a file we write, where the OS or a
    library would refuse it later, far from the line that caused it."""
    stack: list[tuple[str, Any]] = [(where, data)]
    while stack:
        at, value = stack.pop()
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                raise InputError(f"has {problem} in the value of {at[:200] or 'the document'}")
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _string_problem(key)
                if problem:
                    raise InputError(f"has {problem} in a key{' under ' + at[:200] if at else ''}")
                stack.append((f"{at}.{key}" if at else key, item))
        elif isinstance(value, list):
            stack.extend((f"{at}[{i}]", item) for i, item in enumerate(value))


def _string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "a NUL byte"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a JSON "\ud800" escape
        return "an unpaired surrogate (not a Unicode character)"
    return None
