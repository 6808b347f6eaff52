"""router/core/fastjson.py writes and reads the documents the standard library does."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.core import fastjson

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), TEXT)
DOCS = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(TEXT, inner, max_size=4)), max_leaves=20)


@given(DOCS)
def test_same_documents_both_ways(doc):
    assert json.loads(fastjson.dumps(doc)) == doc
    assert fastjson.loads(json.dumps(doc)) == doc
    assert fastjson.loads(fastjson.dumps(doc).encode()) == doc


@given(st.dictionaries(TEXT, SCALARS, max_size=6))
def test_sorted_keys_are_the_standard_librarys_compact_form(doc):
    written = fastjson.dumps(doc, sort_keys=True)
    assert list(json.loads(written)) == sorted(doc) and json.loads(written) == doc
    if not any(isinstance(v, float) for v in doc.values()):   # floats: 1e-07 there, 1e-7 here
        assert written == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_what_orjson_cannot_do_goes_to_the_standard_library():
    assert json.loads(fastjson.dumps({"big": 2**80, 1: "int key"})) == {"big": 2**80, "1": "int key"}
    assert fastjson.loads('{"x": NaN}')["x"] != fastjson.loads('{"x": NaN}')["x"]   # an old document's NaN
    assert fastjson.dumps({"x": float("nan")}) == '{"x":null}'
    with pytest.raises(TypeError):
        fastjson.dumps({"x": object()})
    with pytest.raises(ValueError):
        fastjson.loads(b'{"x": ')
