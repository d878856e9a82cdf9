"""Transaction encodings: the EIP-2718 envelope whose keccak is the transaction hash, and the
payload a sender signs.

- Legacy (type 0): ``rlp([nonce, gasPrice, gas, to, value, data, v, r, s])``; it signs
  ``rlp([nonce, gasPrice, gas, to, value, data])`` (pre-EIP-155) or the same list with
  ``chainId, 0, 0`` appended (EIP-155).
- Typed: ``type ‖ rlp([fields…, yParity, r, s])`` for EIP-2930 (1), EIP-1559 (2), EIP-4844 (3)
  and EIP-7702 (4); it signs ``type ‖ rlp([fields…])``. Field orders from each EIP's
  "Specification" section.

L2-only types of the data model have no L1 encoding (``ValueError``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .rlp import enc_bytes, enc_list, enc_uint
from .types import (
    AccessListItem,
    EIP1559Transaction,
    EIP2930Transaction,
    EIP4844Transaction,
    EIP7702Transaction,
    LegacyTransaction,
    Transaction,
)


def _to(to: bytes | None) -> bytes:
    return enc_bytes(b"" if to is None else to)


def _access_list(items: Sequence[AccessListItem]) -> bytes:
    return enc_list(
        [
            enc_list([enc_bytes(a.address), enc_list([enc_bytes(k) for k in a.storage_keys])])
            for a in items
        ]
    )


def legacy_fields(tx: LegacyTransaction) -> list[bytes]:
    """The six RLP-encoded fields a legacy transaction signs before any EIP-155 suffix."""
    return [
        enc_uint(tx.nonce), enc_uint(tx.gas_price), enc_uint(tx.gas), _to(tx.to),
        enc_uint(tx.value), enc_bytes(tx.data),
    ]  # fmt: skip


def typed_unsigned(tx: Transaction) -> tuple[bytes, list[bytes]]:
    """``(type byte, RLP-encoded fields)`` a typed transaction signs (no ``yParity, r, s``).

    Raises:
        ValueError: a legacy or L2-only transaction.
    """
    if isinstance(tx, EIP2930Transaction):
        return b"\x01", [
            enc_uint(tx.chain_id), enc_uint(tx.nonce), enc_uint(tx.gas_price),
            enc_uint(tx.gas_limit), _to(tx.to), enc_uint(tx.value), enc_bytes(tx.data),
            _access_list(tx.access_list),
        ]  # fmt: skip
    if isinstance(tx, EIP1559Transaction):
        return b"\x02", [
            enc_uint(tx.chain_id), enc_uint(tx.nonce), enc_uint(tx.max_priority_fee_per_gas),
            enc_uint(tx.max_fee_per_gas), enc_uint(tx.gas_limit), _to(tx.to),
            enc_uint(tx.value), enc_bytes(tx.data), _access_list(tx.access_list),
        ]  # fmt: skip
    if isinstance(tx, EIP4844Transaction):
        return b"\x03", [
            enc_uint(tx.chain_id), enc_uint(tx.nonce), enc_uint(tx.max_priority_fee_per_gas),
            enc_uint(tx.max_fee_per_gas), enc_uint(tx.gas), enc_bytes(tx.to),
            enc_uint(tx.value), enc_bytes(tx.data), _access_list(tx.access_list),
            enc_uint(tx.max_fee_per_blob_gas),
            enc_list([enc_bytes(h) for h in tx.blob_versioned_hashes]),
        ]  # fmt: skip
    if isinstance(tx, EIP7702Transaction):
        auths = [
            enc_list([
                enc_uint(a.chain_id), enc_bytes(a.address), enc_uint(a.nonce),
                enc_uint(a.y_parity), enc_uint(a.r_signature), enc_uint(a.s_signature),
            ])
            for a in tx.authorization_list
        ]  # fmt: skip
        return b"\x04", [
            enc_uint(tx.chain_id), enc_uint(tx.nonce), enc_uint(tx.max_priority_fee_per_gas),
            enc_uint(tx.max_fee_per_gas), enc_uint(tx.gas_limit), enc_bytes(tx.to),
            enc_uint(tx.value), enc_bytes(tx.data), _access_list(tx.access_list),
            enc_list(auths),
        ]  # fmt: skip
    raise ValueError(f"{type(tx).__name__} has no typed L1 encoding")


def tx_encoding(tx: Transaction) -> bytes:
    """The canonical (EIP-2718) encoding whose keccak is the transaction hash.

    Raises:
        ValueError: an L2-only transaction (no L1 encoding).
    """
    if isinstance(tx, LegacyTransaction):
        return enc_list([*legacy_fields(tx), enc_uint(tx.v), enc_uint(tx.r), enc_uint(tx.s)])
    if not isinstance(
        tx, EIP2930Transaction | EIP1559Transaction | EIP4844Transaction | EIP7702Transaction
    ):
        raise ValueError(f"{type(tx).__name__} is L2-only: no L1 encoding")
    prefix, fields = typed_unsigned(tx)
    signature = [
        enc_uint(int(tx.signature_y_parity)), enc_uint(tx.signature_r), enc_uint(tx.signature_s),
    ]  # fmt: skip
    return prefix + enc_list([*fields, *signature])
