"""The `directory` index file, rendered from each entry's line: byte for byte
what json.dumps of the whole sorted index writes (the file a person reads,
and diffs, stays the same)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from reconciler.providers.directory import index_line, render_index

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


def reference(index: dict[str, str]) -> bytes:
    return (json.dumps(dict(sorted(index.items())), indent=2, ensure_ascii=False) + "\n").encode()


@given(st.dictionaries(TEXT, TEXT, max_size=12))
def test_the_index_is_json_dumps_of_the_sorted_index(index):
    assert render_index({name: index_line(name, text) for name, text in index.items()}) == reference(index)


def test_edge_cases():
    for index in ({}, {"a.wav": ""}, {"b.wav": 'say "hi"\n\\', "a.wav": "é\u202e\x1b", "A.wav": "x"}):
        assert render_index({n: index_line(n, t) for n, t in index.items()}) == reference(index)
