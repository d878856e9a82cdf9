"""Transaction senders: the secp256k1 public key and address behind each signature (pure).

Signing hash per type (alloy-rs/alloy@v2.0.0:crates/consensus/src/transaction/{legacy,eip2930,
eip1559,eip4844,eip7702}.rs ``encode_for_signing``; EIP-155, EIP-2718, EIP-2930, EIP-1559,
EIP-4844, EIP-7702):

- legacy, ``v`` 27/28: ``keccak(rlp([nonce, gasPrice, gas, to, value, data]))``, recovery id
  ``v - 27``;
- legacy, EIP-155 ``v >= 35``: the same list plus ``[chainId, 0, 0]`` with
  ``chainId = (v - 35) // 2``, recovery id ``(v - 35) % 2``;
- typed: ``keccak(type ‖ rlp(unsigned fields))`` (the signed encoding without
  ``[yParity, r, s]``), recovery id ``yParity``.

``to`` is the empty string for a contract creation. Validity (EIP-2, Homestead): ``1 <= r < n``,
``1 <= s <= n/2``. The key is recovered with libsecp256k1 (coincurve) and returned uncompressed
(65 bytes, ``0x04 ‖ X ‖ Y``: what the zec-reth guest reads as ``UncompressedPublicKey``,
paradigmxyz/stateless ``crates/stateless/src/recover_block.rs``); the address is
``keccak(X ‖ Y)[12:]``. Every failure is ``InputError`` naming the transaction's field.
EIP-7702 authorization signatures are not recovered here (the guest input does not carry them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from coincurve import PublicKey

from ethproofs_daemon.hashing import keccak

from .errors import InputError
from .rlp import enc_list, enc_uint
from .tx_encoding import legacy_fields, typed_unsigned
from .types import (
    EIP1559Transaction,
    EIP2930Transaction,
    EIP4844Transaction,
    EIP7702Transaction,
    LegacyTransaction,
    Transaction,
)

#: Order of the secp256k1 group (SEC 2 §2.4.1).
SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N: Final = SECP256K1_N // 2


@dataclass(frozen=True, slots=True)
class RecoveredSender:
    """One transaction's signer: ``public_key`` is 65 bytes ``0x04 ‖ X ‖ Y``, ``address`` 20."""

    public_key: bytes
    address: bytes


@dataclass(frozen=True, slots=True)
class SignatureParts:
    """What recovery needs from a transaction: the 32-byte signing hash, the recovery id (0/1),
    ``r`` and ``s``, and the chain id the signature commits to (None: pre-EIP-155 legacy)."""

    signing_hash: bytes
    recovery_id: int
    r: int
    s: int
    chain_id: int | None


def _legacy_parts(tx: LegacyTransaction, field: str) -> SignatureParts:
    base = legacy_fields(tx)
    if tx.v in (27, 28):
        return SignatureParts(keccak(enc_list(base)), tx.v - 27, tx.r, tx.s, None)
    if tx.v < 35:
        raise InputError(f"{field}.v", f"{tx.v} is neither 27/28 nor an EIP-155 value (>= 35)")
    chain_id, recovery_id = divmod(tx.v - 35, 2)
    payload = enc_list([*base, enc_uint(chain_id), b"\x80", b"\x80"])
    return SignatureParts(keccak(payload), recovery_id, tx.r, tx.s, chain_id)


def signature_parts(tx: Transaction, field: str = "transaction") -> SignatureParts:
    """The signing hash, recovery id, ``r``, ``s`` and signed chain id of ``tx``.

    Raises:
        InputError: ``{field}.v`` for a legacy ``v`` that is neither 27/28 nor >= 35;
            ``field`` for an L2-only type (no L1 signature rules).
    """
    if isinstance(tx, LegacyTransaction):
        return _legacy_parts(tx, field)
    if not isinstance(
        tx, EIP2930Transaction | EIP1559Transaction | EIP4844Transaction | EIP7702Transaction
    ):
        raise InputError(field, f"{type(tx).__name__} is L2-only: no L1 signature to recover")
    prefix, fields = typed_unsigned(tx)
    return SignatureParts(
        keccak(prefix + enc_list(fields)),
        int(tx.signature_y_parity),
        tx.signature_r,
        tx.signature_s,
        tx.chain_id,
    )


def recover_sender(
    tx: Transaction,
    field: str = "transaction",
    *,
    expected: bytes | None = None,
    chain_id: int | None = None,
    allow_high_s: bool = False,
) -> RecoveredSender:
    """Recover the signer of one transaction.

    Args:
        field: the dotted path errors name (e.g. ``block.transactions[3]``).
        expected: the node's ``from`` (20 bytes), compared with the recovered address.
        chain_id: when given, the chain id the signature commits to must be this one (a
            pre-EIP-155 legacy transaction commits to none and passes).
        allow_high_s: accept ``s > n/2`` (only Frontier blocks may; EIP-2).

    Raises:
        InputError: ``{field}.r``/``.s`` out of range, ``{field}.v`` not a valid legacy ``v``,
            ``{field}.chainId`` (or ``.v``) for another chain, ``{field}.signature`` when no key
            recovers, ``{field}.from`` when the recovered address is not ``expected``.
    """
    parts = signature_parts(tx, field)
    if not 1 <= parts.r < SECP256K1_N:
        raise InputError(f"{field}.r", f"0x{parts.r:x} is outside [1, n)")
    if not 1 <= parts.s < SECP256K1_N:
        raise InputError(f"{field}.s", f"0x{parts.s:x} is outside [1, n)")
    if parts.s > _HALF_N and not allow_high_s:
        raise InputError(f"{field}.s", f"0x{parts.s:x} is above n/2 (EIP-2 forbids high s)")
    if chain_id is not None and parts.chain_id is not None and parts.chain_id != chain_id:
        where = f"{field}.v" if isinstance(tx, LegacyTransaction) else f"{field}.chainId"
        raise InputError(where, f"signed for chain {parts.chain_id}, the chain is {chain_id}")
    signature = parts.r.to_bytes(32, "big") + parts.s.to_bytes(32, "big")
    try:
        key = PublicKey.from_signature_and_message(
            signature + bytes([parts.recovery_id]), parts.signing_hash, hasher=None
        ).format(compressed=False)
    except ValueError as exc:
        raise InputError(f"{field}.signature", f"no public key recovers: {exc}") from None
    address = keccak(key[1:])[12:]
    if expected is not None and address != expected:
        raise InputError(
            f"{field}.from",
            f"the node says 0x{expected.hex()}, the signature recovers 0x{address.hex()}",
        )
    return RecoveredSender(key, address)


def recover_senders(
    transactions: Sequence[Transaction],
    expected: Sequence[bytes] | None = None,
    *,
    chain_id: int | None = None,
    field: str = "block.transactions",
) -> tuple[RecoveredSender, ...]:
    """``recover_sender`` for each transaction, in order (errors name ``{field}[i]``).

    Args:
        expected: the node's ``from`` per transaction (20 bytes each), or None / empty to skip
            the comparison.

    Raises:
        InputError: as ``recover_sender``; ``{field}`` when ``expected`` has another length.
    """
    if expected and len(expected) != len(transactions):
        raise InputError(
            field, f"{len(expected)} senders given for {len(transactions)} transactions"
        )
    return tuple(
        recover_sender(
            tx, f"{field}[{i}]", expected=expected[i] if expected else None, chain_id=chain_id
        )
        for i, tx in enumerate(transactions)
    )
