"""Fast writer for ethrex's archived trie ``Node`` (the bulk of a real input).

Same bytes as the generic ``rkyv.Enum`` declaration in ``schema.py`` (which it subclasses and
which still does reading and typed JSON), but with the layout precomputed and inlined:
``Node`` (51) = tag 0 ``Branch`` → ptr to ``BranchNode`` (552 = 16 × ``NodeRef`` 34 + value
``Vec<u8>``), tag 1 ``Extension`` (prefix ``Nibbles`` 16 + child ``NodeRef`` 34), tag 2 ``Leaf``
(partial ``Nibbles`` 16 + value ``Vec<u8>`` 8). ``NodeRef`` = tag 0 ``Arc<Node>`` ptr | tag 1
``NodeHash`` (tag 0 ``Hashed`` 32 | tag 1 ``Inline`` 31 + len). Out-of-line order: Branch = each
embedded child's data then its 51-byte node, then the value bytes, then the ``BranchNode``;
Extension = prefix data, already_consumed, child; Leaf = data, already_consumed, value
(lambdaclass/ethrex@891528d:crates/common/trie/{node.rs,node/branch.rs,node/extension.rs,
node/leaf.rs,node_hash.rs,nibbles.rs} and ``crates/common/trie/rkyv_utils.rs``).
"""

from __future__ import annotations

import struct
from typing import Any, Final

from .errors import InputError
from .rkyv import Enum
from .types import BranchNode, ExtensionNode, Hashed, InlineHash, LeafNode, NodeRef

_REL: Final = struct.Struct("<i")
_REL_LEN: Final = struct.Struct("<iI")
_TWO_VECS: Final = struct.Struct("<iIiI")
_THREE_VECS: Final = struct.Struct("<iIiIiI")
_Z29: Final = bytes(29)
_Z46: Final = bytes(46)
_Z26: Final = bytes(26)


class _InlineMemo(dict[bytes, bytes]):
    """Inline child RLP → its 34 archived ``NodeRef`` bytes."""

    def __missing__(self, rlp: bytes) -> bytes:
        n = len(rlp)
        if n > 31:
            raise InputError("Inline", f"inline node of {n} bytes exceeds 31")
        out = b"\x01\x01" + bytes(rlp) + bytes(31 - n) + bytes((n,))
        if len(self) < 4096:
            self[bytes(rlp)] = out
        return out


_INLINE: Final = _InlineMemo()


def _hash_ref(c: Any) -> bytes:
    """34 bytes of a ``NodeRef::Hash``."""
    if type(c) is Hashed:
        h = c.hash
        if len(h) != 32:
            raise InputError("Hashed", f"expected 32 bytes, got {len(h)}")
        return b"\x01\x00" + h
    return _INLINE[c.rlp]


class NodeEnum(Enum):
    """``Node`` with a hand-inlined writer; the resolver is a position tuple per variant."""

    def serialize(self, buf: bytearray, v: Any) -> Any:
        tv = type(v)
        if tv is BranchNode:
            return self._branch(buf, v)
        if tv is ExtensionNode:
            p = v.prefix
            d = len(buf)
            buf += p.data
            a = len(buf)
            buf += p.already_consumed
            return d, a, self._child(buf, v.child)
        if tv is LeafNode:
            p = v.partial
            d = len(buf)
            buf += p.data
            a = len(buf)
            buf += p.already_consumed
            val = len(buf)
            buf += v.value
            return d, a, val
        raise InputError(self.name, f"{tv.__name__} is not a variant")

    def _child(self, buf: bytearray, c: NodeRef) -> int | None:
        tc = type(c)
        if tc is Hashed or tc is InlineHash:
            return None
        r = self.serialize(buf, c)
        pos = len(buf)
        buf += self.inline(c, r, pos)
        return pos

    def _branch(self, buf: bytearray, v: BranchNode) -> int:
        choices = v.choices
        if len(choices) != 16:
            raise InputError("BranchNode", f"expected 16 choices, got {len(choices)}")
        rs = [self._child(buf, c) for c in choices]
        vpos = len(buf)
        value = v.value
        buf += value
        bpos = len(buf)
        parts = []
        slot = bpos + 1
        for c, r in zip(choices, rs, strict=True):
            parts.append(_hash_ref(c) if r is None else b"\x00" + _REL.pack(r - slot) + _Z29)
            slot += 34
        parts.append(_REL_LEN.pack(vpos - (bpos + 544), len(value)))
        buf += b"".join(parts)
        return bpos

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        tv = type(v)
        if tv is BranchNode:
            return b"\x00" + _REL.pack(r - (pos + 1)) + _Z46
        if tv is ExtensionNode:
            d, a, child = r
            p = v.prefix
            head = _TWO_VECS.pack(
                d - (pos + 1), len(p.data), a - (pos + 9), len(p.already_consumed)
            )
            ref = (
                _hash_ref(v.child)
                if child is None
                else (b"\x00" + _REL.pack(child - (pos + 18)) + _Z29)
            )
            return b"\x01" + head + ref
        d, a, val = r
        p = v.partial
        return (
            b"\x02"
            + _THREE_VECS.pack(
                d - (pos + 1), len(p.data), a - (pos + 9), len(p.already_consumed),
                val - (pos + 17), len(v.value),
            )
            + _Z26
        )  # fmt: skip
