"""rkyv 0.8 ``ArchivedBTreeMap<K, V, E = 5>`` for the ``rkyv`` writer/reader (used by
``ExecutionWitness.storage_trie_roots``).

Node layouts and the streaming builder are rkyv/rkyv@0.8.12 (ef1d1b5):
rkyv/src/collections/btree/map/mod.rs (``serialize_from_ordered_iter``): the nodes come out in key
order, a subtree before the inner node that points to it, every inner node full, only the deepest
level partly filled; invalid child pointers are ``1``; an empty map has root offset ``1``. The
reader follows bytecheck's subtree ranges (children, then entry values) and also checks that keys
are strictly increasing.
"""

from __future__ import annotations

import itertools
from typing import Any, Final

from .errors import ArchiveError, InputError
from .rkyv import _REL, _REL_LEN, _U32, INVALID_OFFSET, Archiver, Reader


class BTreeMap(Archiver):
    """``BTreeMap<K, V>`` as rkyv's ``ArchivedBTreeMap<K, V, E = 5>``: root pointer + u32 length.

    Nodes (written out of line by ``serialize_from_ordered_iter``, ported from
    rkyv/rkyv@0.8.12:rkyv/src/collections/btree/map/mod.rs):
    leaf = ``kind 0 | keys[5] | values[5] | len u32``;
    inner = ``kind 1 | keys[5] | values[5] | lesser[5] ptr | greater ptr``. Keys sorted by bytes.
    """

    E: Final[int] = 5
    size = 8
    has_deps = True

    def __init__(self, key: Archiver, value: Archiver) -> None:
        self.key = key
        self.value = value
        self.name = f"BTreeMap<{key.name}, {value.name}>"
        e = self.E
        self._vals_off = 1 + e * key.size
        self._tail_off = self._vals_off + e * value.size
        self.leaf_size = self._tail_off + 4
        self.inner_size = self._tail_off + 4 * (e + 1)

    # -- writing -------------------------------------------------------------------------------
    def _close(
        self,
        buf: bytearray,
        entries: list[tuple[Any, Any, int | None]],
        inner: bool,
        greater: int | None,
    ) -> int:
        key, value = self.key, self.value
        rs = [
            (key.serialize(buf, k) if key.has_deps else None, value.serialize(buf, v))
            for k, v, _ in entries
        ]
        pos = len(buf)
        ks, vs, vo, to, e = key.size, value.size, self._vals_off, self._tail_off, self.E
        n = len(entries)
        parts = [b"\x01" if inner else b"\x00"]
        parts += [
            key.inline(k, rk, pos + 1 + ks * i)
            for i, ((k, _, _), (rk, _)) in enumerate(zip(entries, rs, strict=True))
        ]
        parts.append(bytes(ks * (e - n)))
        parts += [
            value.inline(v, rv, pos + vo + vs * i)
            for i, ((_, v, _), (_, rv)) in enumerate(zip(entries, rs, strict=True))
        ]
        parts.append(bytes(vs * (e - n)))
        if inner:
            children = [entries[i][2] if i < n else None for i in range(e)] + [greater]
            for i, child in enumerate(children):
                slot = pos + to + 4 * i
                parts.append(_REL.pack(INVALID_OFFSET if child is None else child - slot))
        else:
            parts.append(_U32.pack(n))
        node = b"".join(parts)
        if len(node) != (self.inner_size if inner else self.leaf_size):
            raise InputError(self.name, "a B-tree entry does not have its archived size")
        buf += node
        return pos

    def serialize(self, buf: bytearray, v: Any) -> Any:
        items = sorted(v.items(), key=lambda kv: kv[0])
        n = len(items)
        if n == 0:
            return None
        e, b = self.E, self.E + 1
        height = 1
        while b**height <= n:
            height += 1
        ll = n - (b ** (height - 1) - 1)
        it = iter(items)
        open_inners: list[list[tuple[Any, Any, int | None]]] = [[] for _ in range(height - 1)]
        leaf: list[tuple[Any, Any, int | None]] = []
        child: int | None = None
        leaf_entries = 0
        for k, val in it:
            leaf.append((k, val, None))
            leaf_entries += 1  # noqa: SIM113  (the loop body also draws from `it`)
            if leaf_entries == ll or len(leaf) == e:
                child = self._close(buf, leaf, False, None)
                leaf = []
                if leaf_entries == ll and open_inners:
                    inner = open_inners.pop()
                    while len(inner) < e:
                        nxt = next(it, None)
                        if nxt is None:
                            break
                        inner.append((nxt[0], nxt[1], child))
                        child = None
                    child = self._close(buf, inner, True, child)
                popped = 0
                while open_inners:
                    last = open_inners[-1]
                    if len(last) == e:
                        child = self._close(buf, last, True, child)
                        open_inners.pop()
                        popped += 1
                    else:
                        k2, v2 = next(it)
                        last.append((k2, v2, child))
                        child = None
                        open_inners.extend([] for _ in range(popped))
                        break
        if leaf:
            child = self._close(buf, leaf, False, None)
        while open_inners:
            child = self._close(buf, open_inners.pop(), True, child)
        return child

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        return _REL_LEN.pack(INVALID_OFFSET if r is None else r - pos, len(v))

    # -- reading -------------------------------------------------------------------------------
    def _read_node(self, rd: Reader, t: int, out: list[tuple[Any, Any]]) -> None:
        data = rd.data
        if t < 0 or t >= len(data):
            raise ArchiveError(f"@{t}", "B-tree node pointer out of bounds")
        kind = data[t]
        if kind > 1:
            raise ArchiveError(f"@{t}", f"B-tree node kind {kind} is not 0 or 1")
        inner = kind == 1
        saved = rd.push(t, t + (self.inner_size if inner else self.leaf_size), "B-tree node")
        ks, vs, vo, to = self.key.size, self.value.size, self._vals_off, self._tail_off
        if inner:
            count = self.E
            children: list[list[tuple[Any, Any]]] = []
            for i in range(self.E + 1):
                slot = t + to + 4 * i
                off = _REL.unpack_from(data, slot)[0]
                sub: list[tuple[Any, Any]] = []
                if off != INVALID_OFFSET:
                    self._read_node(rd, slot + off, sub)
                children.append(sub)
        else:
            count = _U32.unpack_from(data, t + to)[0]
            if count > self.E:
                raise ArchiveError(f"@{t}", f"B-tree leaf len {count} > {self.E}")
        entries = [
            (self.key.read(rd, t + 1 + ks * i), self.value.read(rd, t + vo + vs * i))
            for i in range(count)
        ]
        rd.pop(saved)
        if inner:
            for i in range(self.E):
                out.extend(children[i])
                out.append(entries[i])
            out.extend(children[self.E])
        else:
            out.extend(entries)

    def read(self, rd: Reader, pos: int) -> Any:
        off, n = _REL_LEN.unpack_from(rd.data, pos)
        if n == 0:
            return {}
        out: list[tuple[Any, Any]] = []
        self._read_node(rd, pos + off, out)
        if len(out) != n:
            raise ArchiveError(f"@{pos}", f"B-tree holds {len(out)} entries, header says {n}")
        for (a, _), (b, _) in itertools.pairwise(out):
            if not a < b:
                raise ArchiveError(f"@{pos}", "B-tree keys are not strictly increasing")
        return dict(out)
