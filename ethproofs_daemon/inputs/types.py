"""Typed values of ethrex's guest ``ProgramInput`` at lambdaclass/ethrex@891528d (no ``l2``).

One frozen dataclass per Rust struct or enum variant, fields in Rust declaration order, skip fields
(cached hashes) left out. Python shapes: hashes/addresses/bloom are ``bytes`` of exactly 32/20/256;
``U256``/``u128``/``u64`` are ``int``; ``Vec<u8>``/``Bytes`` are ``bytes``; other ``Vec`` are
``tuple``; ``Option`` is ``None`` or the value; ``TxKind`` is ``None`` (Create) or a 20-byte address
(Call); ``Nibbles.data`` is ``bytes`` with one nibble (0..16) per byte.

Sources: ``…@891528d:crates/l2/prover/src/guest_program/src/input.rs``,
``crates/common/types/{block,transaction,genesis,block_execution_witness}.rs``,
``crates/common/types/l2/fee_config.rs``, ``crates/common/trie/node*.rs``.
"""

from __future__ import annotations

from collections.abc import Mapping
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


@dataclass(frozen=True, slots=True)
class ForkBlobSchedule:
    """``ForkBlobSchedule`` (16 bytes)."""

    base_fee_update_fraction: int
    max: int
    target: int


@dataclass(frozen=True, slots=True)
class BlobSchedule:
    """``BlobSchedule`` (131 bytes)."""

    cancun: ForkBlobSchedule
    prague: ForkBlobSchedule
    osaka: ForkBlobSchedule
    bpo1: ForkBlobSchedule
    bpo2: ForkBlobSchedule
    bpo3: ForkBlobSchedule | None
    bpo4: ForkBlobSchedule | None
    bpo5: ForkBlobSchedule | None


@dataclass(frozen=True, slots=True)
class ChainConfig:
    """``ChainConfig`` (404 bytes). Block numbers and unix times (s)."""

    chain_id: int
    homestead_block: int | None
    dao_fork_block: int | None
    dao_fork_support: bool
    eip150_block: int | None
    eip155_block: int | None
    eip158_block: int | None
    byzantium_block: int | None
    constantinople_block: int | None
    petersburg_block: int | None
    istanbul_block: int | None
    muir_glacier_block: int | None
    berlin_block: int | None
    london_block: int | None
    arrow_glacier_block: int | None
    gray_glacier_block: int | None
    merge_netsplit_block: int | None
    shanghai_time: int | None
    cancun_time: int | None
    prague_time: int | None
    verkle_time: int | None
    osaka_time: int | None
    bpo1_time: int | None
    bpo2_time: int | None
    bpo3_time: int | None
    bpo4_time: int | None
    bpo5_time: int | None
    terminal_total_difficulty: int | None
    terminal_total_difficulty_passed: bool
    blob_schedule: BlobSchedule
    deposit_contract_address: bytes
    enable_verkle_at_genesis: bool


@dataclass(frozen=True, slots=True)
class Nibbles:
    """Trie path, one nibble per byte (leaf paths end with 16)."""

    data: bytes
    already_consumed: bytes = b""


@dataclass(frozen=True, slots=True)
class Hashed:
    """``NodeHash::Hashed``: keccak of a child's RLP (32 bytes)."""

    hash: bytes


@dataclass(frozen=True, slots=True)
class InlineHash:
    """``NodeHash::Inline``: a child's raw RLP shorter than 32 bytes (empty = no child)."""

    rlp: bytes


@dataclass(frozen=True, slots=True)
class LeafNode:
    """``Node::Leaf``."""

    partial: Nibbles
    value: bytes


@dataclass(frozen=True, slots=True)
class ExtensionNode:
    """``Node::Extension``; ``child`` is an embedded node or a hash."""

    prefix: Nibbles
    child: NodeRef


@dataclass(frozen=True, slots=True)
class BranchNode:
    """``Node::Branch(Box<BranchNode>)``; 16 children."""

    choices: tuple[NodeRef, ...]
    value: bytes


Node = BranchNode | ExtensionNode | LeafNode
NodeHash = Hashed | InlineHash
#: ``NodeRef::Node(Arc<Node>)`` is a node value; ``NodeRef::Hash`` is a ``NodeHash``.
NodeRef = BranchNode | ExtensionNode | LeafNode | Hashed | InlineHash

EMPTY_REF: InlineHash = InlineHash(b"")


@dataclass(frozen=True, slots=True)
class ExecutionWitness:
    """``ExecutionWitness`` (496 bytes); ``storage_trie_roots`` maps 20-byte address → root."""

    codes: tuple[bytes, ...]
    block_headers_bytes: tuple[bytes, ...]
    first_block_number: int
    chain_config: ChainConfig
    state_trie_root: Node | None
    storage_trie_roots: Mapping[bytes, Node]
    keys: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class OperatorFeeConfig:
    """L2 operator fee."""

    operator_fee_vault: bytes
    operator_fee_per_gas: int


@dataclass(frozen=True, slots=True)
class L1FeeConfig:
    """L2 L1 fee."""

    l1_fee_vault: bytes
    l1_fee_per_blob_gas: int


@dataclass(frozen=True, slots=True)
class FeeConfig:
    """``FeeConfig`` (79 bytes, L2 only)."""

    base_fee_vault: bytes | None
    operator_fee_config: OperatorFeeConfig | None
    l1_fee_config: L1FeeConfig | None


@dataclass(frozen=True, slots=True)
class ProgramInput:
    """``ProgramInput`` (521 bytes), the guest's single input."""

    blocks: tuple[Block, ...]
    execution_witness: ExecutionWitness
    elasticity_multiplier: int
    fee_configs: tuple[FeeConfig, ...] | None
