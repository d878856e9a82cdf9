"""Mutation of real-looking values: JSON documents and byte strings (hypothesis strategies).

``mutated_json(seed)`` applies 0–4 edits to a copy of a JSON document: a leaf (or a whole
subtree) replaced by another JSON value or by a near-miss hex string, a key removed or added, a
list item removed or duplicated, a value wrapped in a list. ``mutated_bytes(seed)`` flips,
inserts, deletes, truncates and splices bytes. Both shrink towards the unmutated seed, so a
failure is reported as the seed plus the fewest edits that break it.
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import strategies as st

#: Hex strings that are almost right: wrong length, odd digits, no or upper-case prefix, bad
#: digits, whitespace, negative, non-ASCII digits, very long.
_HEXISH = st.one_of(
    st.binary(max_size=40).map(lambda b: "0x" + b.hex()),
    st.binary(max_size=40).map(lambda b: b.hex()),
    st.text(alphabet="0123456789abcdefABCDEFx", max_size=70).map(lambda s: "0x" + s),
    st.sampled_from(["", "0x", "0X", "0x0", "0x00", "0x-1", "-0x1", "0x 1", " 0x1", "0x1 ",
                     "0x_1", "0xg", "0x\u0661", "\u0661", "0x0x1", "0x" + "f" * 64,
                     "0x" + "f" * 65, "0x1" + "0" * 64, "0x" + "0" * 5000 + "1",
                     "0x" + "ff" * 4096, "1e3", "NaN", "null", "true"]),
    st.integers(min_value=0, max_value=2**300).map(hex),
)

#: Any JSON scalar, with the numbers nodes really get wrong (negative, huge, floats, NaN).
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=2**250, max_value=2**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    _HEXISH,
)

#: Any JSON value, nested a little.
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(string.ascii_letters, max_size=12), inner, max_size=4),
    ),
    max_leaves=10,
)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _keys_of(value: Any, out: set[str]) -> set[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(k)
            _keys_of(v, out)
    elif isinstance(value, list):
        for v in value[:8]:
            _keys_of(v, out)
    return out


@st.composite
def _edit(draw: st.DrawFn, doc: Any, keys: tuple[str, ...]) -> Any:
    """One edit somewhere in ``doc`` (mutated in place; the new root is returned)."""
    # Walk down from the root: at each container, maybe stop, else step into one child.
    parent: Any = None
    slot: Any = None
    node = doc
    for _ in range(12):  # bounded depth
        children = list(node.keys()) if isinstance(node, dict) else (
            list(range(len(node))) if isinstance(node, list) else [])
        if not children or draw(st.integers(0, 3)) == 0:
            break
        parent, slot = node, draw(st.sampled_from(children))
        node = node[slot]
    op = draw(st.sampled_from(["replace", "hex", "delete", "add", "dup", "wrap", "swap_type"]))
    if op == "replace":
        new = draw(JSON_VALUES)
    elif op == "hex":
        new = draw(_HEXISH)
    elif op == "swap_type":
        new = draw(st.sampled_from([None, [], {}, 0, -1, True, "", 1.5]))
    elif op == "wrap":
        new = [node]
    elif op == "delete" and parent is not None:
        del parent[slot]
        return doc
    elif op == "add" and isinstance(node, dict):
        node[draw(st.sampled_from(keys) if keys else st.text(max_size=8))] = draw(JSON_VALUES)
        return doc
    elif op == "dup" and isinstance(node, list) and node:
        node.append(_copy(node[draw(st.integers(0, len(node) - 1))]))
        return doc
    else:
        new = draw(JSON_VALUES)
    if parent is None:
        return new
    parent[slot] = new
    return doc


def mutated_json(seed: Any, *, max_edits: int = 4) -> st.SearchStrategy[Any]:
    """``seed`` with 0..``max_edits`` edits (a fresh copy each time; the seed is not changed)."""
    keys = tuple(sorted(_keys_of(seed, set())))

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        doc = _copy(seed)
        for _ in range(draw(st.integers(0, max_edits))):
            doc = draw(_edit(doc, keys))
        return doc

    return build()


def one_of_mutated(seeds: list[Any], *, max_edits: int = 4) -> st.SearchStrategy[Any]:
    """A mutated copy of one of ``seeds``."""
    return st.one_of(*(mutated_json(s, max_edits=max_edits) for s in seeds))


@st.composite
def _byte_edit(draw: st.DrawFn, data: bytes) -> bytes:
    op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice", "set"]))
    n = len(data)
    at = draw(st.integers(0, max(n, 1) - 1)) if n else 0
    if op == "flip" and n:
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    if op == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    if op == "delete" and n:
        return data[:at] + data[at + draw(st.integers(1, 8)):]
    if op == "truncate":
        return data[:at]
    if op == "splice" and n:
        start = draw(st.integers(0, n - 1))
        return data[:at] + data[start:start + draw(st.integers(1, 64))] + data[at:]
    if op == "set" and n:
        return data[:at] + bytes([draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))]) + data[at + 1:]
    return data + draw(st.binary(min_size=1, max_size=8))


def mutate_bytes_with(draw: st.DrawFn, data: bytes, *, max_edits: int = 4) -> bytes:
    """``data`` with 0..``max_edits`` byte edits drawn with ``draw``."""
    for _ in range(draw(st.integers(0, max_edits))):
        data = draw(_byte_edit(data))
    return data


def mutated_bytes(seed: bytes, *, max_edits: int = 4) -> st.SearchStrategy[bytes]:
    """``seed`` with 0..``max_edits`` byte edits."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        return mutate_bytes_with(draw, seed, max_edits=max_edits)

    return build()


def deeply_nested_json(depth: int) -> bytes:
    """A JSON array nested ``depth`` deep (what breaks a recursive decoder)."""
    return b"[" * depth + b"]" * depth


def to_json_bytes(value: Any) -> bytes:
    """``value`` as JSON bytes (``NaN``/``Infinity`` written as Python's ``json`` does)."""
    return json.dumps(value).encode()
