"""The Merkle-Patricia trie: paths, nodes, accounts and lookups over a witness node map (pure).

The one MPT of the package. Primitives (key → nibbles, hex-prefix encoding, the empty root) are
shared with the ethrex node layout of ``inputs.trie``, which keeps only what rkyv's ``Node`` needs
(embedded children, ethrex's looser path rules, ``InputError``). Nodes here are read the way
witnesses and ``eth_getProof`` give them, strictly (pad nibble checked; ``TrieError``).

Why not py-trie (PyPI ``trie``): its ``HexaryTrie`` works on a hash → RLP database and answers
``get``/``set``/``delete`` with ``MissingTrieNode`` for a partial trie, but the witness code needs
more than that: the node RLPs on a key's path (``Lookup.path_nodes``, for ``branch_collapse``), a
reachability walk over every node that counts open references (``witness.verify``), strict
hex-prefix pad checks, and decoding of inline children in place. Those would be written against
its private node helpers, so the few small functions below stay in-house (not benchmarked).

A node is the RLP of a 17-item list (branch: 16 children + value) or a 2-item list (leaf or
extension: hex-prefix path + value or child). A child reference is a 32-byte keccak hash, the empty
string (no child) or, when the child's RLP is shorter than 32 bytes, the child node itself, inline.
Source: Ethereum yellow paper, appendix D (modified Merkle-Patricia trie) and appendix C (hex-prefix
encoding); ethrex's reading of the same: ``../shared/docs/ethrex-input.md §3.3``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import rlp

from ethproofs_daemon.hashing import keccak as keccak

#: keccak(rlp(b"")): the root of an empty trie.
EMPTY_TRIE_ROOT: Final[bytes] = keccak(b"\x80")

#: ``NIBBLE_PAIRS[b]``: the two nibbles of byte ``b``, high first, as a 2-byte string.
NIBBLE_PAIRS: Final = [bytes((b >> 4, b & 15)) for b in range(256)]


def key_nibbles(key: bytes) -> bytes:
    """The nibble path of a byte key, one nibble (0–15) a byte, high nibble first (32 → 64)."""
    return b"".join([NIBBLE_PAIRS[b] for b in key])


def hex_prefix_nibbles(encoded: bytes) -> tuple[bytes, bool]:
    """Decode a hex-prefix path to ``(nibbles, is_leaf)`` (nibbles one a byte).

    ``encoded`` must be non-empty with a flag nibble 0–3: callers check that (and the pad nibble,
    if they care) and raise their own error; the pad nibble of an even path is not looked at.
    """
    first = encoded[0]
    flag = first >> 4
    head = bytes((first & 15,)) if flag & 1 else b""
    return head + b"".join([NIBBLE_PAIRS[b] for b in encoded[1:]]), flag >= 2


def encode_hex_prefix(path: Sequence[int], *, leaf: bool) -> bytes:
    """Hex-prefix encode the nibbles ``path`` (``bytes`` or ints) as a leaf or extension path."""
    flag = 2 if leaf else 0
    if len(path) % 2:
        head = bytes(((flag + 1) << 4 | path[0],))
        rest = path[1:]
    else:
        head = bytes((flag << 4,))
        rest = path
    return head + bytes([rest[i] << 4 | rest[i + 1] for i in range(0, len(rest), 2)])


#: An RLP item as the ``rlp`` package decodes it: bytes or a list of items.
RlpItem: TypeAlias = "bytes | list[RlpItem]"

#: keccak(b""): the code hash of an account without code.
EMPTY_CODE_HASH: Final = bytes.fromhex(
    "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
)


class TrieError(ValueError):
    """Bytes that are not a valid trie node or account (message says what is wrong)."""


class NodeKind(enum.StrEnum):
    """The three kinds of trie node."""

    BRANCH = "branch"
    EXTENSION = "extension"
    LEAF = "leaf"


@dataclass(frozen=True, slots=True)
class ChildRef:
    """A reference to a child node: by ``hash`` (32 bytes) or ``inline`` (the child's RLP)."""

    hash: bytes | None = None
    inline: bytes | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """A decoded trie node.

    ``path`` is the node's own nibbles (leaf and extension; empty for a branch); ``children`` has 16
    entries for a branch (None: empty slot) and one for an extension; ``value`` is the leaf's value
    (or a branch's 17th item, empty in Ethereum's secure tries).
    """

    kind: NodeKind
    path: tuple[int, ...]
    children: tuple[ChildRef | None, ...]
    value: bytes


@dataclass(frozen=True, slots=True)
class Account:
    """An account leaf value: ``rlp([nonce, balance, storageRoot, codeHash])``."""

    nonce: int
    balance: int
    storage_root: bytes
    code_hash: bytes


def nibbles(data: bytes) -> tuple[int, ...]:
    """The nibbles of ``data``, high nibble first (a 32-byte key gives 64 nibbles)."""
    return tuple(key_nibbles(data))


def decode_hex_prefix(encoded: bytes) -> tuple[tuple[int, ...], bool]:
    """Decode a hex-prefix path: (nibbles, is_leaf).

    Raises:
        TrieError: empty, or a flag nibble other than 0–3, or a non-zero pad nibble.
    """
    if not encoded:
        raise TrieError("empty hex-prefix path")
    flag = encoded[0] >> 4
    if flag > 3:
        raise TrieError(f"hex-prefix flag nibble {flag} is not 0-3")
    if not flag & 1 and encoded[0] & 0x0F:
        raise TrieError("hex-prefix pad nibble is not zero")
    path, is_leaf = hex_prefix_nibbles(encoded)
    return tuple(path), is_leaf


def _child_ref(item: RlpItem, where: str) -> ChildRef | None:
    if isinstance(item, list):
        encoded = rlp.encode(item)
        if len(encoded) >= 32:
            raise TrieError(f"{where}: inline child of {len(encoded)} bytes (must be < 32)")
        return ChildRef(inline=encoded)
    if item == b"":
        return None
    if len(item) != 32:
        raise TrieError(f"{where}: child reference of {len(item)} bytes (must be 32 or inline)")
    return ChildRef(hash=item)


def decode_node(raw: bytes) -> Node:
    """Decode a node's RLP.

    Raises:
        TrieError: not RLP, not a 2- or 17-item list, or a malformed path or child reference.
    """
    try:
        item: RlpItem = rlp.decode(raw)
    except rlp.exceptions.DecodingError as exc:
        raise TrieError(f"node is not RLP: {exc}") from exc
    return node_from_item(item)


def node_from_item(item: RlpItem) -> Node:
    """A node from its decoded RLP item (used for inline children). Raises ``TrieError``."""
    if not isinstance(item, list):
        raise TrieError("node is an RLP string, not a list")
    if len(item) == 17:
        value = item[16]
        if isinstance(value, list):
            raise TrieError("branch value is a list")
        children = tuple(_child_ref(c, f"branch child {i:x}") for i, c in enumerate(item[:16]))
        return Node(NodeKind.BRANCH, (), children, value)
    if len(item) == 2:
        encoded_path, second = item
        if isinstance(encoded_path, list):
            raise TrieError("leaf/extension path is a list")
        path, is_leaf = decode_hex_prefix(encoded_path)
        if is_leaf:
            if isinstance(second, list):
                raise TrieError("leaf value is a list")
            return Node(NodeKind.LEAF, path, (), second)
        child = _child_ref(second, "extension child")
        if child is None or not path:
            raise TrieError("extension without child or without path")
        return Node(NodeKind.EXTENSION, path, (child,), b"")
    raise TrieError(f"node is a list of {len(item)} items (must be 2 or 17)")


def decode_account(value: bytes) -> Account:
    """Decode an account leaf value.

    Raises:
        TrieError: not a 4-item RLP list with 32-byte storage root and code hash.
    """
    try:
        item = rlp.decode(value)
    except rlp.exceptions.DecodingError as exc:
        raise TrieError(f"account is not RLP: {exc}") from exc
    if not isinstance(item, list) or len(item) != 4 or any(isinstance(x, list) for x in item):
        raise TrieError("account is not a list of 4 strings")
    nonce, balance, storage_root, code_hash = item
    if len(storage_root) != 32 or len(code_hash) != 32:
        raise TrieError("account storage root or code hash is not 32 bytes")
    return Account(
        int.from_bytes(nonce, "big"), int.from_bytes(balance, "big"), storage_root, code_hash
    )


def resolve(ref: ChildRef, nodes: dict[bytes, bytes]) -> bytes | None:
    """The RLP of the node ``ref`` points at: inline bytes, or ``nodes[hash]``; None if unknown."""
    if ref.inline is not None:
        return ref.inline
    assert ref.hash is not None
    return nodes.get(ref.hash)


@dataclass(frozen=True, slots=True)
class Lookup:
    """Result of walking a key's path: ``value`` (None: absent or unknown), ``complete`` (False:
    the walk hit a hash not among the nodes) and the node RLPs on the path, root first."""

    value: bytes | None
    complete: bool
    path_nodes: tuple[bytes, ...]


def lookup(root: bytes, key_path: tuple[int, ...], nodes: dict[bytes, bytes]) -> Lookup:
    """Walk ``key_path`` (nibbles) from ``root`` (hash) through ``nodes`` (keccak → RLP).

    Raises:
        TrieError: a node on the path does not decode.
    """
    if root == EMPTY_TRIE_ROOT:
        return Lookup(None, True, ())
    raw = nodes.get(root)
    seen: list[bytes] = []
    depth = 0
    for _ in range(len(key_path) + 2):
        if raw is None:
            return Lookup(None, False, tuple(seen))
        seen.append(raw)
        node = decode_node(raw)
        rest = key_path[depth:]
        if node.kind is NodeKind.LEAF:
            return Lookup(node.value if node.path == rest else None, True, tuple(seen))
        if node.kind is NodeKind.EXTENSION:
            if rest[: len(node.path)] != node.path:
                return Lookup(None, True, tuple(seen))
            depth += len(node.path)
            child = node.children[0]
        else:
            if not rest:
                return Lookup(node.value or None, True, tuple(seen))
            child = node.children[rest[0]]
            depth += 1
            if child is None:
                return Lookup(None, True, tuple(seen))
        assert child is not None
        raw = resolve(child, nodes)
    raise TrieError("path longer than the key")
