"""Merkle-Patricia trie primitives shared by ``chain.trie`` and ``inputs.trie`` (pure).

Key → nibbles, hex-prefix encoding and decoding, and the empty-trie root. Each caller keeps its own
node representation and its own validation and error types (``chain.trie`` is strict about the pad
nibble and raises ``TrieError``; ``inputs.trie`` reads paths the way ethrex does and raises
``InputError``): this module only does the arithmetic and never raises on its own account.
Source: Ethereum yellow paper, appendix C (hex-prefix encoding) and appendix D (trie).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ethproofs_daemon.hashing import keccak

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
