"""Consistency checks before proving: catch a wrong input before it wastes a GPU run.

- block hash: ``keccak(rlp(header))`` equals the RPC ``hash`` (when the JSON carries one);
- transactions root: the ordered trie of the EIP-2718 encodings equals ``transactionsRoot``;
- state root: the rebuilt (embedded) state trie re-hashes to the parent header's ``stateRoot``.

Encodings: EIP-2718 typed envelopes (EIP-2930/1559/4844/7702), legacy RLP for type 0.
Each failure raises ``CheckFailed`` (an ``InputError``) naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence

from ethproofs_daemon.eth import rlp
from ethproofs_daemon.eth.rlp import enc_bytes, enc_list, enc_uint
from ethproofs_daemon.eth.types import (
    AccessListItem,
    Block,
    EIP1559Transaction,
    EIP2930Transaction,
    EIP4844Transaction,
    EIP7702Transaction,
    LegacyTransaction,
    Transaction,
)
from ethproofs_daemon.hashing import keccak

from .errors import CheckFailed
from .rpc_witness import parent_state_root
from .trie import node_hash, ordered_trie_root
from .types import GuestExecutionWitness


def _to(to: bytes | None) -> bytes:
    return enc_bytes(b"" if to is None else to)


def _access_list(items: Sequence[AccessListItem]) -> bytes:
    return enc_list(
        [
            enc_list([enc_bytes(a.address), enc_list([enc_bytes(k) for k in a.storage_keys])])
            for a in items
        ]
    )


def tx_encoding(tx: Transaction) -> bytes:
    """The canonical (EIP-2718) encoding whose keccak is the transaction hash."""
    if isinstance(tx, LegacyTransaction):
        return enc_list(
            [
                enc_uint(tx.nonce), enc_uint(tx.gas_price), enc_uint(tx.gas), _to(tx.to),
                enc_uint(tx.value), enc_bytes(tx.data), enc_uint(tx.v), enc_uint(tx.r),
                enc_uint(tx.s),
            ]
        )  # fmt: skip
    if isinstance(tx, EIP2930Transaction):
        return b"\x01" + enc_list(
            [
                enc_uint(tx.chain_id), enc_uint(tx.nonce), enc_uint(tx.gas_price),
                enc_uint(tx.gas_limit), _to(tx.to), enc_uint(tx.value), enc_bytes(tx.data),
                _access_list(tx.access_list), enc_uint(int(tx.signature_y_parity)),
                enc_uint(tx.signature_r), enc_uint(tx.signature_s),
            ]
        )  # fmt: skip
    if isinstance(tx, EIP1559Transaction):
        return b"\x02" + enc_list(
            [
                enc_uint(tx.chain_id), enc_uint(tx.nonce), enc_uint(tx.max_priority_fee_per_gas),
                enc_uint(tx.max_fee_per_gas), enc_uint(tx.gas_limit), _to(tx.to),
                enc_uint(tx.value), enc_bytes(tx.data), _access_list(tx.access_list),
                enc_uint(int(tx.signature_y_parity)), enc_uint(tx.signature_r),
                enc_uint(tx.signature_s),
            ]
        )  # fmt: skip
    if isinstance(tx, EIP4844Transaction):
        return b"\x03" + enc_list(
            [
                enc_uint(tx.chain_id), enc_uint(tx.nonce), enc_uint(tx.max_priority_fee_per_gas),
                enc_uint(tx.max_fee_per_gas), enc_uint(tx.gas), enc_bytes(tx.to),
                enc_uint(tx.value), enc_bytes(tx.data), _access_list(tx.access_list),
                enc_uint(tx.max_fee_per_blob_gas),
                enc_list([enc_bytes(h) for h in tx.blob_versioned_hashes]),
                enc_uint(int(tx.signature_y_parity)), enc_uint(tx.signature_r),
                enc_uint(tx.signature_s),
            ]
        )  # fmt: skip
    if isinstance(tx, EIP7702Transaction):
        auths = [
            enc_list(
                [
                    enc_uint(a.chain_id),
                    enc_bytes(a.address),
                    enc_uint(a.nonce),
                    enc_uint(a.y_parity),
                    enc_uint(a.r_signature),
                    enc_uint(a.s_signature),
                ]
            )
            for a in tx.authorization_list
        ]
        return b"\x04" + enc_list(
            [
                enc_uint(tx.chain_id), enc_uint(tx.nonce), enc_uint(tx.max_priority_fee_per_gas),
                enc_uint(tx.max_fee_per_gas), enc_uint(tx.gas_limit), enc_bytes(tx.to),
                enc_uint(tx.value), enc_bytes(tx.data), _access_list(tx.access_list),
                enc_list(auths), enc_uint(int(tx.signature_y_parity)),
                enc_uint(tx.signature_r), enc_uint(tx.signature_s),
            ]
        )  # fmt: skip
    raise CheckFailed("transactions", f"{type(tx).__name__} is L2-only; no L1 encoding")


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
    root = ordered_trie_root([tx_encoding(tx) for tx in block.body.transactions])
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
