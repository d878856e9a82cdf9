"""The archived layout of ethrex@891528d's ``ProgramInput``, declared with ``rkyv`` archivers.

A new ethrex revision is a new schema here (field lists, wrappers), not new serializer code.
Sizes (bytes): ``ProgramInput`` 521, ``Block`` 699, ``BlockHeader`` 674, ``Transaction`` 214,
``ExecutionWitness`` 496, ``ChainConfig`` 404, ``Node`` 51, ``NodeRef`` 34.

Sources: ``lambdaclass/ethrex@891528d:crates/common/rkyv_utils.rs`` (remote wrappers: ``H256``,
``H160``, ``Bloom``, ``U256`` as 4 LE u64 limbs, ``OptionH256Wrapper``/``OptionH160Wrapper`` with
Some = 0, access-list items as one byte blob), ``crates/common/trie/rkyv_utils.rs`` and the
``#[derive(Archive)]`` types of the files listed in ``types.py``, archived by rkyv 0.8.12's rules
(``rkyv.py``).
"""

from __future__ import annotations

import struct
from typing import Any, Final, cast

from . import types as t
from .errors import ArchiveError, InputError
from .rkyv import (
    Arc,
    Archiver,
    Array,
    BigInt,
    Bool,
    Box,
    ByteVec,
    Enum,
    FixedBytes,
    NibbleVec,
    Option,
    Reader,
    Scalar,
    Struct,
    Vec,
    from_bytes,
    to_bytes,
)
from .rkyv_btree import BTreeMap
from .trie_archive import NodeEnum

_KEY_COUNT: Final = struct.Struct("<Q")


class AccessListItemBlob(ByteVec):
    """``AccessListItemWrapper``: ``Vec<u8>`` = ``address ‖ u64 LE count ‖ 32-byte keys``."""

    name = "AccessListItem"

    def serialize(self, buf: bytearray, v: Any) -> Any:
        item = cast(t.AccessListItem, v)
        if len(item.address) != 20 or any(len(k) != 32 for k in item.storage_keys):
            raise InputError(self.name, "address must be 20 bytes and keys 32 bytes")
        start = len(buf)
        buf += item.address
        buf += _KEY_COUNT.pack(len(item.storage_keys))
        buf += b"".join(item.storage_keys)
        return start

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        item = cast(t.AccessListItem, v)
        return super().inline(28 * b"\0" + 32 * len(item.storage_keys) * b"\0", r, pos)

    def read(self, rd: Reader, pos: int) -> Any:
        blob: bytes = super().read(rd, pos)
        if len(blob) < 28:
            raise ArchiveError(f"@{pos}", f"access-list blob of {len(blob)} bytes is too short")
        n = _KEY_COUNT.unpack_from(blob, 20)[0]
        if len(blob) != 28 + 32 * n:
            raise ArchiveError(f"@{pos}", f"access-list blob length {len(blob)} != 28 + 32*{n}")
        keys = tuple(blob[28 + 32 * i : 60 + 32 * i] for i in range(n))
        return t.AccessListItem(blob[:20], keys)


class _InlineMemo(dict[bytes, bytes]):
    """RLP (≤ 31 bytes) → its 32 archived bytes; a hit is a C-level dict lookup."""

    def __missing__(self, rlp: bytes) -> bytes:
        n = len(rlp)
        if n > 31:
            raise InputError("Inline", f"inline node of {n} bytes exceeds 31")
        out = bytes(rlp) + bytes(31 - n) + bytes([n])
        if len(self) < 4096:
            self[bytes(rlp)] = out
        return out


_INLINE_MEMO: Final = _InlineMemo()


class InlineBytes(Archiver):
    """``([u8; 31], u8)`` of ``NodeHash::Inline``: RLP zero-padded to 31 bytes, then its length."""

    size = 32
    name = "Inline"

    def packer(self) -> Any:
        return _INLINE_MEMO.__getitem__

    def read(self, rd: Reader, pos: int) -> Any:
        n = rd.data[pos + 31]
        if n > 31:
            raise ArchiveError(f"@{pos}", f"inline node length {n} exceeds 31")
        return bytes(rd.data[pos : pos + n])


# -- scalars and wrappers -------------------------------------------------------------------------
U8: Final = Scalar("B", "u8")
U32: Final = Scalar("I", "u32")
U64: Final = Scalar("Q", "u64")
U128: Final = BigInt(16, "u128")
U256: Final = BigInt(32, "U256")
BOOL: Final = Bool()
H256: Final = FixedBytes(32, "H256")
H160: Final = FixedBytes(20, "H160")
BLOOM: Final = FixedBytes(256, "Bloom")
BYTES: Final = ByteVec()
VEC_BYTES: Final = Vec(BYTES)
OPT_U64: Final = Option(U64)
OPT_H256_W: Final = Option(H256, some_tag=0)  # OptionH256Wrapper { Some, None }
OPT_H160_W: Final = Option(H160, some_tag=0)  # OptionH160Wrapper { Some, None }
TX_KIND: Final = Option(H160, some_tag=0, variant_names=("Call", "Create"))  # TxKind
ACCESS_LIST: Final = Vec(AccessListItemBlob())


def _struct(cls: type, *fields: tuple[str, Archiver], **kw: Any) -> Struct:
    return Struct(cls, fields, **kw)


# -- block -----------------------------------------------------------------------------------------
HEADER: Final = _struct(
    t.BlockHeader,
    ("parent_hash", H256), ("ommers_hash", H256), ("coinbase", H160), ("state_root", H256),
    ("transactions_root", H256), ("receipts_root", H256), ("logs_bloom", BLOOM),
    ("difficulty", U256), ("number", U64), ("gas_limit", U64), ("gas_used", U64),
    ("timestamp", U64), ("extra_data", BYTES), ("prev_randao", H256), ("nonce", U64),
    ("base_fee_per_gas", OPT_U64), ("withdrawals_root", OPT_H256_W),
    ("blob_gas_used", OPT_U64), ("excess_blob_gas", OPT_U64),
    ("parent_beacon_block_root", OPT_H256_W), ("requests_hash", OPT_H256_W),
)  # fmt: skip
WITHDRAWAL: Final = _struct(
    t.Withdrawal, ("index", U64), ("validator_index", U64), ("address", H160), ("amount", U64)
)
AUTH_TUPLE: Final = _struct(
    t.AuthorizationTuple,
    ("chain_id", U256), ("address", H160), ("nonce", U64), ("y_parity", U256),
    ("r_signature", U256), ("s_signature", U256),
)  # fmt: skip
_FEES = (("max_priority_fee_per_gas", U64), ("max_fee_per_gas", U64))
_SIG = (("signature_y_parity", BOOL), ("signature_r", U256), ("signature_s", U256))
LEGACY_TX: Final = _struct(
    t.LegacyTransaction,
    ("nonce", U64), ("gas_price", U256), ("gas", U64), ("to", TX_KIND), ("value", U256),
    ("data", BYTES), ("v", U256), ("r", U256), ("s", U256),
)  # fmt: skip
EIP2930_TX: Final = _struct(
    t.EIP2930Transaction,
    ("chain_id", U64), ("nonce", U64), ("gas_price", U256), ("gas_limit", U64), ("to", TX_KIND),
    ("value", U256), ("data", BYTES), ("access_list", ACCESS_LIST), *_SIG,
)  # fmt: skip
EIP1559_TX: Final = _struct(
    t.EIP1559Transaction,
    ("chain_id", U64), ("nonce", U64), *_FEES, ("gas_limit", U64), ("to", TX_KIND),
    ("value", U256), ("data", BYTES), ("access_list", ACCESS_LIST), *_SIG,
)  # fmt: skip
EIP4844_TX: Final = _struct(
    t.EIP4844Transaction,
    ("chain_id", U64), ("nonce", U64), *_FEES, ("gas", U64), ("to", H160), ("value", U256),
    ("data", BYTES), ("access_list", ACCESS_LIST), ("max_fee_per_blob_gas", U256),
    ("blob_versioned_hashes", Vec(H256)), *_SIG,
)  # fmt: skip
EIP7702_TX: Final = _struct(
    t.EIP7702Transaction,
    ("chain_id", U64), ("nonce", U64), *_FEES, ("gas_limit", U64), ("to", H160),
    ("value", U256), ("data", BYTES), ("access_list", ACCESS_LIST),
    ("authorization_list", Vec(AUTH_TUPLE)), *_SIG,
)  # fmt: skip
PRIVILEGED_TX: Final = _struct(
    t.PrivilegedL2Transaction,
    ("chain_id", U64), ("nonce", U64), *_FEES, ("gas_limit", U64), ("to", TX_KIND),
    ("value", U256), ("data", BYTES), ("access_list", ACCESS_LIST), ("from_", H160),
    json_names={"from_": "from"},
)  # fmt: skip
FEE_TOKEN_TX: Final = _struct(
    t.FeeTokenTransaction,
    ("chain_id", U64), ("nonce", U64), *_FEES, ("gas_limit", U64), ("to", TX_KIND),
    ("value", U256), ("data", BYTES), ("access_list", ACCESS_LIST), ("fee_token", H160), *_SIG,
)  # fmt: skip
TRANSACTION: Final = Enum(
    "Transaction",
    [
        ("LegacyTransaction", (t.LegacyTransaction,), LEGACY_TX),
        ("EIP2930Transaction", (t.EIP2930Transaction,), EIP2930_TX),
        ("EIP1559Transaction", (t.EIP1559Transaction,), EIP1559_TX),
        ("EIP4844Transaction", (t.EIP4844Transaction,), EIP4844_TX),
        ("EIP7702Transaction", (t.EIP7702Transaction,), EIP7702_TX),
        ("PrivilegedL2Transaction", (t.PrivilegedL2Transaction,), PRIVILEGED_TX),
        ("FeeTokenTransaction", (t.FeeTokenTransaction,), FEE_TOKEN_TX),
    ],
)
BODY: Final = _struct(
    t.BlockBody,
    ("transactions", Vec(TRANSACTION)), ("ommers", Vec(HEADER)),
    ("withdrawals", Option(Vec(WITHDRAWAL))),
)  # fmt: skip
BLOCK: Final = _struct(t.Block, ("header", HEADER), ("body", BODY))

# -- chain config ----------------------------------------------------------------------------------
FORK_BLOB: Final = _struct(
    t.ForkBlobSchedule, ("base_fee_update_fraction", U64), ("max", U32), ("target", U32)
)
BLOB_SCHEDULE: Final = _struct(
    t.BlobSchedule,
    ("cancun", FORK_BLOB), ("prague", FORK_BLOB), ("osaka", FORK_BLOB), ("bpo1", FORK_BLOB),
    ("bpo2", FORK_BLOB), ("bpo3", Option(FORK_BLOB)), ("bpo4", Option(FORK_BLOB)),
    ("bpo5", Option(FORK_BLOB)),
)  # fmt: skip
_FORK_FIELDS = (
    "eip150_block", "eip155_block", "eip158_block", "byzantium_block", "constantinople_block",
    "petersburg_block", "istanbul_block", "muir_glacier_block", "berlin_block", "london_block",
    "arrow_glacier_block", "gray_glacier_block", "merge_netsplit_block", "shanghai_time",
    "cancun_time", "prague_time", "verkle_time", "osaka_time", "bpo1_time", "bpo2_time",
    "bpo3_time", "bpo4_time", "bpo5_time",
)  # fmt: skip
CHAIN_CONFIG: Final = _struct(
    t.ChainConfig,
    ("chain_id", U64), ("homestead_block", OPT_U64), ("dao_fork_block", OPT_U64),
    ("dao_fork_support", BOOL), *((f, OPT_U64) for f in _FORK_FIELDS),
    ("terminal_total_difficulty", Option(U128)), ("terminal_total_difficulty_passed", BOOL),
    ("blob_schedule", BLOB_SCHEDULE), ("deposit_contract_address", H160),
    ("enable_verkle_at_genesis", BOOL),
)  # fmt: skip

# -- trie ------------------------------------------------------------------------------------------
NIBBLES: Final = _struct(t.Nibbles, ("data", NibbleVec()), ("already_consumed", NibbleVec()))
NODE_HASH: Final = Enum(
    "NodeHash",
    [
        ("Hashed", (t.Hashed,), _struct(t.Hashed, ("hash", H256), newtype=True)),
        ("Inline", (t.InlineHash,), _struct(t.InlineHash, ("rlp", InlineBytes()), newtype=True)),
    ],
)
_NODE_CLASSES = (t.BranchNode, t.ExtensionNode, t.LeafNode)
# Node and NodeRef refer to each other: declare Node, build NodeRef, then define Node's variants.
NODE: Final = NodeEnum("Node")
NODE_REF: Final = Enum(
    "NodeRef",
    [("Node", _NODE_CLASSES, Arc(NODE)), ("Hash", (t.Hashed, t.InlineHash), NODE_HASH)],
)
BRANCH: Final = _struct(t.BranchNode, ("choices", Array(NODE_REF, 16)), ("value", BYTES))
EXTENSION: Final = _struct(t.ExtensionNode, ("prefix", NIBBLES), ("child", NODE_REF))
LEAF: Final = _struct(t.LeafNode, ("partial", NIBBLES), ("value", BYTES))
NODE.define(
    [
        ("Branch", (t.BranchNode,), Box(BRANCH)),
        ("Extension", (t.ExtensionNode,), EXTENSION),
        ("Leaf", (t.LeafNode,), LEAF),
    ]
)

# -- witness and root ------------------------------------------------------------------------------
WITNESS: Final = _struct(
    t.GuestExecutionWitness,
    ("codes", VEC_BYTES), ("block_headers_bytes", VEC_BYTES), ("first_block_number", U64),
    ("chain_config", CHAIN_CONFIG), ("state_trie_root", Option(NODE)),
    ("storage_trie_roots", BTreeMap(H160, NODE)), ("keys", VEC_BYTES),
    name="ExecutionWitness",
)  # fmt: skip
FEE_CONFIG: Final = _struct(
    t.FeeConfig,
    ("base_fee_vault", OPT_H160_W),
    ("operator_fee_config", Option(_struct(
        t.OperatorFeeConfig, ("operator_fee_vault", H160), ("operator_fee_per_gas", U64)))),
    ("l1_fee_config", Option(_struct(
        t.L1FeeConfig, ("l1_fee_vault", H160), ("l1_fee_per_blob_gas", U64)))),
)  # fmt: skip
PROGRAM_INPUT: Final = _struct(
    t.ProgramInput,
    ("blocks", Vec(BLOCK)), ("execution_witness", WITNESS), ("elasticity_multiplier", U64),
    ("fee_configs", Option(Vec(FEE_CONFIG))),
)  # fmt: skip

#: Root archivers by the ``root_type`` names of the golden vectors.
ROOTS: Final[dict[str, Archiver]] = {
    "ProgramInput": PROGRAM_INPUT,
    "Block": BLOCK,
    "BlockHeader": HEADER,
    "Transaction": TRANSACTION,
    "ExecutionWitness": WITNESS,
    "ChainConfig": CHAIN_CONFIG,
    "Node": NODE,
}


def encode_program_input(value: t.ProgramInput) -> bytes:
    """``rkyv::to_bytes(&ProgramInput)``: raw bytes (no framing), 521-byte root last.

    Raises:
        InputError: a value does not fit its archived type.
    """
    return to_bytes(PROGRAM_INPUT, value)


def decode_program_input(data: bytes) -> t.ProgramInput:
    """Validating read of raw (unframed) ``ProgramInput`` bytes.

    Raises:
        ArchiveError: the bytes break a bytecheck rule.
    """
    return cast(t.ProgramInput, from_bytes(PROGRAM_INPUT, data))


def encode_execution_witness(value: t.GuestExecutionWitness) -> bytes:
    """``rkyv::to_bytes(&ExecutionWitness)`` (ethrex@891528d layout, 496-byte root last).

    For guests that take the witness on its own (the Proof Node API's, ``proofnode.daemon``).

    Raises:
        InputError: a value does not fit its archived type.
    """
    return to_bytes(WITNESS, value)
