"""Updates on a partial Merkle-Patricia trie, to check that a witness suffices (pure).

``PartialTrie`` holds a root and a node store (keccak → RLP) that may lack nodes: subtrees known
only by hash. ``put``/``delete`` rebuild the path to a key as the yellow paper's trie rules require
(appendix D), including the collapse of a branch left with one child into its neighbour, which
must read that neighbour. When an update needs a node the store lacks, it raises ``MissingNode``
naming its hash: exactly the node a stateless execution of the block would miss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

import rlp

from ethproofs_daemon.eth.mpt import (
    EMPTY_TRIE_ROOT,
    ChildRef,
    NodeKind,
    decode_node,
    encode_hex_prefix,
)
from ethproofs_daemon.hashing import keccak


class MissingNode(LookupError):
    """An update needs the node ``node_hash`` (32 bytes), which the store does not hold."""

    def __init__(self, node_hash: bytes) -> None:
        super().__init__(f"trie node 0x{node_hash.hex()} is not in the witness")
        self.node_hash = node_hash


@dataclass(slots=True)
class _Leaf:
    path: tuple[int, ...]
    value: bytes


@dataclass(slots=True)
class _Ext:
    path: tuple[int, ...]
    child: Ref


@dataclass(slots=True)
class _Branch:
    children: list[Ref] = field(default_factory=lambda: [None] * 16)


_Node: TypeAlias = "_Leaf | _Ext | _Branch"
#: A reference: None (empty), a 32-byte hash (node in the store, maybe absent) or a node.
Ref: TypeAlias = "bytes | _Leaf | _Ext | _Branch | None"


def _from_child(child: ChildRef | None) -> Ref:
    if child is None:
        return None
    if child.inline is not None:
        return _parse(child.inline)
    return child.hash


def _parse(raw: bytes) -> _Node:
    node = decode_node(raw)
    if node.kind is NodeKind.LEAF:
        return _Leaf(node.path, node.value)
    if node.kind is NodeKind.EXTENSION:
        return _Ext(node.path, _from_child(node.children[0]))
    return _Branch([_from_child(c) for c in node.children])


class PartialTrie:
    """A trie rooted at ``root`` (hash) over ``store`` (keccak → node RLP); updated in place."""

    def __init__(self, root: bytes, store: dict[bytes, bytes]) -> None:
        self._store = store
        self._root: Ref = None if root == EMPTY_TRIE_ROOT else root

    def _load(self, ref: Ref) -> _Node:
        if isinstance(ref, bytes):
            raw = self._store.get(ref)
            if raw is None:
                raise MissingNode(ref)
            return _parse(raw)
        assert ref is not None
        return ref

    def put(self, path: tuple[int, ...], value: bytes) -> None:
        """Set ``path`` (nibbles) to ``value`` (non-empty). Raises ``MissingNode``."""
        self._root = self._put(self._root, path, value)

    def delete(self, path: tuple[int, ...]) -> None:
        """Remove ``path`` if present. Raises ``MissingNode``."""
        self._root = self._delete(self._root, path)

    def root_hash(self) -> bytes:
        """The root hash after the updates (``EMPTY_TRIE_ROOT`` when empty)."""
        if self._root is None:
            return EMPTY_TRIE_ROOT
        if isinstance(self._root, bytes):
            return self._root
        return keccak(rlp.encode(self._item(self._root)))

    def _put(self, ref: Ref, path: tuple[int, ...], value: bytes) -> Ref:
        if ref is None:
            return _Leaf(path, value)
        node = self._load(ref)
        if isinstance(node, _Branch):
            node.children[path[0]] = self._put(node.children[path[0]], path[1:], value)
            return node
        common = _common(node.path, path)
        if isinstance(node, _Leaf) and common == len(path) == len(node.path):
            return _Leaf(path, value)
        if isinstance(node, _Ext) and common == len(node.path):
            return _Ext(node.path, self._put(node.child, path[common:], value))
        branch = _Branch()
        if isinstance(node, _Leaf):
            branch.children[node.path[common]] = _Leaf(node.path[common + 1 :], node.value)
        else:
            rest = node.path[common + 1 :]
            branch.children[node.path[common]] = _Ext(rest, node.child) if rest else node.child
        branch.children[path[common]] = _Leaf(path[common + 1 :], value)
        return _Ext(path[:common], branch) if common else branch

    def _delete(self, ref: Ref, path: tuple[int, ...]) -> Ref:
        if ref is None:
            return None
        node = self._load(ref)
        if isinstance(node, _Leaf):
            return None if node.path == path else ref
        if isinstance(node, _Ext):
            if path[: len(node.path)] != node.path:
                return ref
            child = self._delete(node.child, path[len(node.path) :])
            if child is node.child:
                return ref
            return self._join(node.path, child)
        old = node.children[path[0]]
        new = self._delete(old, path[1:])
        if new is old:
            return ref
        node.children[path[0]] = new
        remaining = [i for i, c in enumerate(node.children) if c is not None]
        if len(remaining) >= 2:
            return node
        if not remaining:
            return None
        only = remaining[0]
        return self._join((only,), node.children[only])

    def _join(self, prefix: tuple[int, ...], child: Ref) -> Ref:
        """``prefix`` followed by ``child``, merged the way the trie requires (reads ``child``)."""
        if child is None:
            return None
        node = self._load(child)
        if isinstance(node, _Leaf):
            return _Leaf(prefix + node.path, node.value)
        if isinstance(node, _Ext):
            return _Ext(prefix + node.path, node.child)
        return _Ext(prefix, child)

    def _item(self, node: _Node) -> object:
        if isinstance(node, _Leaf):
            return [encode_hex_prefix(node.path, leaf=True), node.value]
        if isinstance(node, _Ext):
            return [encode_hex_prefix(node.path, leaf=False), self._ref_item(node.child)]
        return [self._ref_item(c) for c in node.children] + [b""]

    def _ref_item(self, ref: Ref) -> object:
        if ref is None:
            return b""
        if isinstance(ref, bytes):
            return ref
        item = self._item(ref)
        encoded = rlp.encode(item)
        return item if len(encoded) < 32 else keccak(encoded)


def _common(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
