"""Block, header, transaction and withdrawal values: what ``eth_getBlockByNumber(n, true)`` becomes.

One frozen dataclass per Rust struct or enum variant of lambdaclass/ethrex@891528d
(``crates/common/types/{block,transaction}.rs``), fields in Rust declaration order, cached hashes
left out. Python shapes: hashes/addresses/bloom are ``bytes`` of exactly 32/20/256; ``U256``/
``u128``/``u64`` are ``int``; ``Bytes`` is ``bytes``; ``Vec`` is ``tuple``; ``Option`` is ``None``
or the value; ``TxKind`` is ``None`` (Create) or a 20-byte address (Call).
Parsed from node JSON by ``inputs.rpc_block`` (ethrex serde rules); encoded by ``eth.rlp``
(header RLP), ``inputs.checks`` (EIP-2718 transaction encodings) and ``inputs.schema`` (rkyv);
read by ``node.input_source``, ``witness.source``, ``witness.synthesis_block`` and
``witness.verify``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """``BlockHeader`` (archived 674 bytes)."""

    parent_hash: bytes
    ommers_hash: bytes
    coinbase: bytes
    state_root: bytes
    transactions_root: bytes
    receipts_root: bytes
    logs_bloom: bytes
    difficulty: int
    number: int
    gas_limit: int
    gas_used: int
    timestamp: int
    extra_data: bytes
    prev_randao: bytes
    nonce: int
    base_fee_per_gas: int | None
    withdrawals_root: bytes | None
    blob_gas_used: int | None
    excess_blob_gas: int | None
    parent_beacon_block_root: bytes | None
    requests_hash: bytes | None


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """``Withdrawal`` (44 bytes); ``amount`` in gwei."""

    index: int
    validator_index: int
    address: bytes
    amount: int


@dataclass(frozen=True, slots=True)
class AccessListItem:
    """``(Address, Vec<H256>)``, archived as one opaque byte blob."""

    address: bytes
    storage_keys: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class AuthorizationTuple:
    """EIP-7702 ``AuthorizationTuple`` (156 bytes)."""

    chain_id: int
    address: bytes
    nonce: int
    y_parity: int
    r_signature: int
    s_signature: int


@dataclass(frozen=True, slots=True)
class LegacyTransaction:
    """Type 0 (tag 0)."""

    nonce: int
    gas_price: int
    gas: int
    to: bytes | None
    value: int
    data: bytes
    v: int
    r: int
    s: int


@dataclass(frozen=True, slots=True)
class EIP2930Transaction:
    """Type 1 (tag 1)."""

    chain_id: int
    nonce: int
    gas_price: int
    gas_limit: int
    to: bytes | None
    value: int
    data: bytes
    access_list: tuple[AccessListItem, ...]
    signature_y_parity: bool
    signature_r: int
    signature_s: int


@dataclass(frozen=True, slots=True)
class EIP1559Transaction:
    """Type 2 (tag 2)."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas_limit: int
    to: bytes | None
    value: int
    data: bytes
    access_list: tuple[AccessListItem, ...]
    signature_y_parity: bool
    signature_r: int
    signature_s: int


@dataclass(frozen=True, slots=True)
class EIP4844Transaction:
    """Type 3 (tag 3); ``to`` is a plain address."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas: int
    to: bytes
    value: int
    data: bytes
    access_list: tuple[AccessListItem, ...]
    max_fee_per_blob_gas: int
    blob_versioned_hashes: tuple[bytes, ...]
    signature_y_parity: bool
    signature_r: int
    signature_s: int


@dataclass(frozen=True, slots=True)
class EIP7702Transaction:
    """Type 4 (tag 4); ``to`` is a plain address."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas_limit: int
    to: bytes
    value: int
    data: bytes
    access_list: tuple[AccessListItem, ...]
    authorization_list: tuple[AuthorizationTuple, ...]
    signature_y_parity: bool
    signature_r: int
    signature_s: int


@dataclass(frozen=True, slots=True)
class PrivilegedL2Transaction:
    """Type 0x7e (tag 5), L2 only; ``from_`` is Rust ``from``."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas_limit: int
    to: bytes | None
    value: int
    data: bytes
    access_list: tuple[AccessListItem, ...]
    from_: bytes


@dataclass(frozen=True, slots=True)
class FeeTokenTransaction:
    """Type 0x7d (tag 6), L2 only."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas_limit: int
    to: bytes | None
    value: int
    data: bytes
    access_list: tuple[AccessListItem, ...]
    fee_token: bytes
    signature_y_parity: bool
    signature_r: int
    signature_s: int


Transaction = (
    LegacyTransaction
    | EIP2930Transaction
    | EIP1559Transaction
    | EIP4844Transaction
    | EIP7702Transaction
    | PrivilegedL2Transaction
    | FeeTokenTransaction
)


@dataclass(frozen=True, slots=True)
class BlockBody:
    """``BlockBody`` (25 bytes)."""

    transactions: tuple[Transaction, ...]
    ommers: tuple[BlockHeader, ...]
    withdrawals: tuple[Withdrawal, ...] | None


@dataclass(frozen=True, slots=True)
class Block:
    """``Block`` (699 bytes)."""

    header: BlockHeader
    body: BlockBody
