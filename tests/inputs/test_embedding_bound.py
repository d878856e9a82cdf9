"""Building an input is bounded by the witness's size (issue 10, "Bounded work").

A crafted witness whose branches share children (6 nodes, 2.8 KB) embeds to 16^5 leaves: hashing
it took ~8 s and encoding it hundreds of MB. The embedder refuses it (``InputError``); real
witnesses (the golden vectors, ``test_rkyv_golden.py``) stay far under the bound.
"""

from __future__ import annotations

import pytest
import rlp

from ethproofs_daemon.eth.mpt import EMPTY_TRIE_ROOT, encode_hex_prefix
from ethproofs_daemon.eth.witness import ExecutionWitness
from ethproofs_daemon.hashing import keccak
from ethproofs_daemon.inputs.chain_config import MAINNET
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.rpc_witness import guest_witness, node_map
from ethproofs_daemon.inputs.trie import EMBED_FACTOR, EMBED_SLACK_NODES, Embedder


def shared_children_witness(levels: int) -> tuple[list[bytes], bytes]:
    """``levels`` branches, each with all 16 children the next one, over one account leaf;
    returns the nodes (leaf first) and the root hash."""
    account = rlp.encode([0, 0, EMPTY_TRIE_ROOT, keccak(b"")])
    leaf = rlp.encode([encode_hex_prefix(bytes([1] * (64 - levels)), leaf=True), account])
    nodes, child = [leaf], keccak(leaf)
    for _ in range(levels):
        branch = rlp.encode([child] * 16 + [b""])
        nodes.append(branch)
        child = keccak(branch)
    return nodes, child


def _header(number: int, state_root: bytes) -> bytes:
    fields: list[object] = [b"\0" * 32, b"\0" * 32, b"\0" * 20, state_root, b"\0" * 32,
                            b"\0" * 32, b"\0" * 256, 0, number, 30_000_000, 0, 1, b"",
                            b"\0" * 32, b"\0" * 8]
    return rlp.encode(fields)


def test_the_crafted_shared_children_witness_is_refused() -> None:
    nodes, root = shared_children_witness(5)
    assert (len(nodes), sum(map(len, nodes))) == (6, 2765)
    witness = ExecutionWitness(state=tuple(nodes), codes=(), keys=(), headers=(_header(9, root),))
    with pytest.raises(InputError, match="children shared by many parents"):
        guest_witness(witness, block_number=10, chain_config=MAINNET)


def test_a_small_shared_children_witness_is_embedded_within_the_bound() -> None:
    nodes, root = shared_children_witness(2)  # 1 + 16 + 256 nodes embedded
    embedded = Embedder(node_map(nodes, "witness.state")).embed_hash(root)
    assert embedded is not None
    assert EMBED_FACTOR * len(nodes) + EMBED_SLACK_NODES >= 1 + 16 + 256


def test_the_bound_counts_every_embedding_of_a_shared_subtree() -> None:
    nodes, root = shared_children_witness(2)
    embedder = Embedder(node_map(nodes, "witness.state"))
    budget = EMBED_FACTOR * len(nodes) + EMBED_SLACK_NODES
    with pytest.raises(InputError):
        for _ in range(budget // 273 + 1):  # one storage root shared by many accounts
            embedder.embed_hash(root)
