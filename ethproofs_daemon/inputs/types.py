"""Typed values of ethrex's guest ``ProgramInput`` at lambdaclass/ethrex@891528d (no ``l2``).

Block, header and transaction types are ``eth.types`` (re-exported here for the schema).
One frozen dataclass per Rust struct or enum variant, fields in Rust declaration order, skip fields
(cached hashes) left out. Python shapes: hashes/addresses/bloom are ``bytes`` of exactly 32/20/256;
``U256``/``u128``/``u64`` are ``int``; ``Vec<u8>``/``Bytes`` are ``bytes``; other ``Vec`` are
``tuple``; ``Option`` is ``None`` or the value; ``TxKind`` is ``None`` (Create) or a 20-byte address
(Call); ``Nibbles.data`` is ``bytes`` with one nibble (0..16) per byte.

Sources: lambdaclass/ethrex@891528d:crates/l2/prover/src/guest_program/src/input.rs,
``crates/common/types/{block,transaction,genesis,block_execution_witness}.rs``,
``crates/common/types/l2/fee_config.rs``, ``crates/common/trie/node*.rs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ethproofs_daemon.eth.types import (
    AccessListItem as AccessListItem,
)
from ethproofs_daemon.eth.types import (
    AuthorizationTuple as AuthorizationTuple,
)
from ethproofs_daemon.eth.types import (
    Block as Block,
)
from ethproofs_daemon.eth.types import (
    BlockBody as BlockBody,
)
from ethproofs_daemon.eth.types import (
    BlockHeader as BlockHeader,
)
from ethproofs_daemon.eth.types import (
    EIP1559Transaction as EIP1559Transaction,
)
from ethproofs_daemon.eth.types import (
    EIP2930Transaction as EIP2930Transaction,
)
from ethproofs_daemon.eth.types import (
    EIP4844Transaction as EIP4844Transaction,
)
from ethproofs_daemon.eth.types import (
    EIP7702Transaction as EIP7702Transaction,
)
from ethproofs_daemon.eth.types import (
    FeeTokenTransaction as FeeTokenTransaction,
)
from ethproofs_daemon.eth.types import (
    LegacyTransaction as LegacyTransaction,
)
from ethproofs_daemon.eth.types import (
    PrivilegedL2Transaction as PrivilegedL2Transaction,
)
from ethproofs_daemon.eth.types import (
    Transaction as Transaction,
)
from ethproofs_daemon.eth.types import (
    Withdrawal as Withdrawal,
)


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
class GuestExecutionWitness:
    """Rust ``ExecutionWitness`` (496 bytes): the guest's form, tries embedded.

    Built from the node's ``eth.witness.ExecutionWitness`` by ``inputs.rpc_witness``;
    ``storage_trie_roots`` maps 20-byte address → root.
    """

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
    execution_witness: GuestExecutionWitness
    elasticity_multiplier: int
    fee_configs: tuple[FeeConfig, ...] | None
