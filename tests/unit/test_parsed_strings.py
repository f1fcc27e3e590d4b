"""The string check after a parse may be skipped only when the text cannot
hold a NUL or a lone surrogate: the skip never lets one through."""

from __future__ import annotations

import json

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from reconciler.documents import check_strings, parse_json, parse_toml
from reconciler.inputs import InputError

# every character, NUL and lone surrogates included, and backslashes and 'u's often
chars = st.lists(st.sampled_from(["\x00", "\ud800", "\udfff", "\\", "u", "d8", "0", "a", "\u00e9"])
                 | st.characters(codec=None), max_size=8).map("".join)
values = st.recursive(st.none() | st.booleans() | st.integers() | chars,
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(chars, inner, max_size=4),
                      max_leaves=12)


def refused(fn, *args) -> bool:
    try:
        fn(*args)
    except InputError:
        return True
    return False


@given(value=values)
def test_json_refuses_exactly_what_the_full_walk_refuses(value):
    raw = json.dumps(value).encode()  # ASCII: every NUL and surrogate as an escape
    assert refused(parse_json, raw) == refused(check_strings, json.loads(raw))


@given(value=st.dictionaries(chars, chars | st.lists(chars, max_size=3), max_size=4))
def test_toml_refuses_exactly_what_the_full_walk_refuses(value):
    try:
        raw = tomli_w.dumps(value).encode()  # NUL as \u0000; a lone surrogate does not encode
    except (UnicodeEncodeError, ValueError):
        return
    assert refused(parse_toml, raw) == refused(check_strings, value)


@pytest.mark.parametrize("text", ['a = "\\U00000000"', 'a = "x\\u0000"', '"k\\u0000" = 1'])
def test_toml_escapes_of_nul_are_refused(text):
    with pytest.raises(InputError, match="NUL"):
        parse_toml(text.encode())
