"""Consistency checks before proving: catch a wrong input before it wastes a GPU run.

- block hash: ``keccak(rlp(header))`` equals the RPC ``hash`` (when the JSON carries one);
- transactions root: the ordered trie of the EIP-2718 encodings equals ``transactionsRoot``;
- state root: the rebuilt (embedded) state trie re-hashes to the parent header's ``stateRoot``.

Encodings: EIP-2718 typed envelopes (EIP-2930/1559/4844/7702), legacy RLP for type 0.
Each failure raises ``CheckFailed`` (an ``InputError``) naming the field.
"""

from __future__ import annotations

from ethproofs_daemon.eth import rlp
from ethproofs_daemon.eth.tx_encoding import tx_encoding
from ethproofs_daemon.eth.types import (
    Block,
)
from ethproofs_daemon.hashing import keccak

from .errors import CheckFailed
from .rpc_witness import parent_state_root
from .trie import node_hash, ordered_trie_root
from .types import GuestExecutionWitness


def block_hash(block: Block) -> bytes:
    """``keccak(rlp(header))``."""
    return keccak(rlp.header_rlp(block.header))


def check_block_hash(block: Block, expected: bytes | None) -> None:
    """The header recomputes to ``expected`` (skipped when the JSON had no ``hash``)."""
    if expected is None:
        return
    got = block_hash(block)
    if got != expected:
        raise CheckFailed(
            "block.hash", f"header hashes to 0x{got.hex()}, the JSON says 0x{expected.hex()}"
        )


def check_transactions_root(block: Block) -> None:
    """The transactions trie root equals the header's ``transactions_root``."""
    try:
        root = ordered_trie_root([tx_encoding(tx) for tx in block.body.transactions])
    except ValueError as exc:  # an L2-only transaction type
        raise CheckFailed("transactions", f"{exc}") from None
    if root != block.header.transactions_root:
        raise CheckFailed(
            "block.transactionsRoot",
            f"transactions hash to 0x{root.hex()}, the header says "
            f"0x{block.header.transactions_root.hex()}",
        )


def check_state_root(witness: GuestExecutionWitness) -> None:
    """The embedded state trie re-hashes to the parent header's state root."""
    expected = parent_state_root(
        list(witness.block_headers_bytes), witness.first_block_number, "witness"
    )
    got = node_hash(witness.state_trie_root)
    if got != expected:
        raise CheckFailed(
            "witness.state",
            f"rebuilt state trie hashes to 0x{got.hex()}, parent state root is 0x{expected.hex()}",
        )


def check_all(
    block: Block, witness: GuestExecutionWitness, expected_hash: bytes | None
) -> None:
    """All three checks; raises ``CheckFailed`` on the first failure."""
    check_block_hash(block, expected_hash)
    check_transactions_root(block)
    check_state_root(witness)
