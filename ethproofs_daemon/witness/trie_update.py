"""Updates on a partial Merkle-Patricia trie, to check that a witness suffices (pure).

``PartialTrie`` holds a root and a node store (keccak → RLP) that may lack nodes: subtrees known
only by hash. ``put``/``delete`` rebuild the path to a key as the yellow paper's trie rules require
(appendix D), including the collapse of a branch left with one child into its neighbour, which
must read that neighbour. When an update needs a node the store lacks, it raises ``MissingNode``
naming its hash: exactly the node a stateless execution of the block would miss.
The trie is py-trie's ``HexaryTrie`` (``eth.mpt.partial_trie``); this module names its errors in
the witness code's terms.
"""

from __future__ import annotations

from trie.exceptions import MissingTrieNode

from ethproofs_daemon.eth.mpt import PY_TRIE_NODE_ERRORS, TrieError, partial_trie, trie_key


class MissingNode(LookupError):
    """An update needs the node ``node_hash`` (32 bytes), which the store does not hold."""

    def __init__(self, node_hash: bytes) -> None:
        super().__init__(f"trie node 0x{node_hash.hex()} is not in the witness")
        self.node_hash = node_hash


class PartialTrie:
    """A trie rooted at ``root`` (hash) over ``store`` (keccak → node RLP); updated in place
    (new nodes are written into ``store``)."""

    def __init__(self, root: bytes, store: dict[bytes, bytes]) -> None:
        self._trie = partial_trie(root, store)

    def put(self, path: tuple[int, ...], value: bytes) -> None:
        """Set ``path`` (64 nibbles) to ``value`` (non-empty).

        Raises:
            MissingNode: the update needs a node the store lacks.
            TrieError: a node on the path does not decode.
        """
        try:
            self._trie.set(trie_key(path), value)  # type: ignore[no-untyped-call]
        except MissingTrieNode as exc:
            raise MissingNode(exc.missing_node_hash) from exc
        except PY_TRIE_NODE_ERRORS as exc:
            raise TrieError(f"a node on the path does not decode: {exc}") from exc

    def delete(self, path: tuple[int, ...]) -> None:
        """Remove ``path`` (64 nibbles) if present.

        Raises:
            MissingNode: the update (e.g. a branch collapse) needs a node the store lacks.
            TrieError: a node on the path does not decode.
        """
        try:
            self._trie.delete(trie_key(path))  # type: ignore[no-untyped-call]
        except MissingTrieNode as exc:
            raise MissingNode(exc.missing_node_hash) from exc
        except PY_TRIE_NODE_ERRORS as exc:
            raise TrieError(f"a node on the path does not decode: {exc}") from exc

    def root_hash(self) -> bytes:
        """The root hash after the updates (``EMPTY_TRIE_ROOT`` when empty)."""
        root: bytes = self._trie.root_hash
        return root
