"""The zec-reth guest's input (zisk-eth-client v0.11.0, ZisK 1.1.0-alpha): build and read back.

The file is two ZisK stdin frames, ``u64 LE length ‖ data ‖ zero padding to a multiple of 8``
(0xPolygonHermez/zisk-eth-client@b9aa34a:crates/clients/reth/input/src/lib.rs ``build_stdin``,
two ``ZiskStdin::write_slice`` calls), each bincode 2 standard (``inputs.bincode2``):

1. ``RethInputPublic`` (``crates/clients/reth/guest/src/lib.rs:111-123``): the full block RLP as
   serde bytes (``BlockRlp``: ``rlp([header, [txs], [ommers], [withdrawals]])``, legacy
   transactions as lists, typed ones as byte strings ``type ‖ rlp(fields)``; the bytes
   ``debug_getRawBlock`` returns); the chain configuration (``inputs.zec_reth_chains``); one
   ``0x41 ‖ 0x04 ‖ X ‖ Y`` public key per transaction, in order (``eth.senders``).
2. ``RethInputWitness``: alloy ``ExecutionWitness``, four ``Vec<Bytes>`` (``state``, ``codes``,
   ``keys``, ``headers``) copied in the node's order (reth's default ``legacy`` witness mode is
   what the golden inputs hold; sorting or deduplicating would change the bytes).

Built from the typed block (``eth.types.Block``, RLP re-encoded here rather than taken from
``debug_getRawBlock``, which would give the same bytes at the cost of one more RPC call) and the
typed witness (``eth.witness.ExecutionWitness``). Every failure is ``InputError`` naming the field.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ethproofs_daemon.eth import rlp
from ethproofs_daemon.eth.rlp import enc_bytes, enc_list, enc_uint, header_rlp
from ethproofs_daemon.eth.senders import recover_senders
from ethproofs_daemon.eth.tx_encoding import tx_encoding
from ethproofs_daemon.eth.types import Block, LegacyTransaction, Withdrawal
from ethproofs_daemon.eth.witness import ExecutionWitness
from ethproofs_daemon.hashing import keccak

from .bincode2 import BincodeReader, bincode_bytes, bincode_bytes_seq, bincode_varint
from .errors import InputError
from .zec_reth_chains import RethChainConfig, encode_reth_chain_config, read_reth_chain_config

_LEN: Final = struct.Struct("<Q")
#: ``UncompressedPublicKey``: SEC1 uncompressed point, 65 bytes.
PUBLIC_KEY_BYTES: Final = 65
_WITNESS_LISTS: Final = ("state", "codes", "keys", "headers")


def _withdrawal_rlp(w: Withdrawal) -> bytes:
    return enc_list(
        [enc_uint(w.index), enc_uint(w.validator_index), enc_bytes(w.address), enc_uint(w.amount)]
    )


def full_block_rlp(block: Block) -> bytes:
    """The consensus encoding of the whole block (its header's keccak is the block hash).

    ``rlp([header, [tx…], [ommer header…], [withdrawal…]])``; the withdrawals list is left out
    for a pre-Shanghai block (``withdrawals`` None). Transactions: EIP-2718 encodings
    (``eth.tx_encoding.tx_encoding``), a legacy one inlined as its list, a typed one as a byte
    string.

    Raises:
        InputError: an L2-only transaction type.
    """
    txs = []
    for tx in block.body.transactions:
        enc = tx_encoding(tx)
        txs.append(enc if isinstance(tx, LegacyTransaction) else enc_bytes(enc))
    parts = [
        header_rlp(block.header),
        enc_list(txs),
        enc_list([header_rlp(h) for h in block.body.ommers]),
    ]
    if block.body.withdrawals is not None:
        parts.append(enc_list([_withdrawal_rlp(w) for w in block.body.withdrawals]))
    return enc_list(parts)


def _frame(data: bytes) -> bytes:
    return _LEN.pack(len(data)) + data + bytes(-len(data) % 8)


def _check_witness(block: Block, witness: ExecutionWitness) -> tuple[bytes, ...]:
    """The witness keys; refuses what the guest cannot use."""
    if witness.keys is None:
        raise InputError(
            "witness.keys",
            "missing (a geth-form witness): the zec-reth input needs the node's key list",
        )
    if not witness.headers:
        raise InputError(
            "witness.headers", "empty: the guest needs at least the parent block's header"
        )
    parent = block.header.parent_hash
    if not any(keccak(h) == parent for h in witness.headers):
        raise InputError(
            "witness.headers",
            f"no header hashes to the block's parentHash 0x{parent.hex()} "
            f"({len(witness.headers)} headers)",
        )
    return witness.keys


def _public_keys(
    block: Block,
    chain: RethChainConfig,
    senders: Sequence[bytes] | None,
    public_keys: Sequence[bytes] | None,
) -> Sequence[bytes]:
    txs = block.body.transactions
    if public_keys is None:
        recovered = recover_senders(txs, senders, chain_id=chain.chain_id)
        return [r.public_key for r in recovered]
    if len(public_keys) != len(txs):
        raise InputError(
            "public_keys", f"{len(public_keys)} keys given for {len(txs)} transactions"
        )
    for i, key in enumerate(public_keys):
        if len(key) != PUBLIC_KEY_BYTES or key[0] != 4:
            raise InputError(f"public_keys[{i}]", "not a 65-byte uncompressed key (0x04 ‖ X ‖ Y)")
    return public_keys


def build_zec_reth_input(
    block: Block,
    witness: ExecutionWitness,
    chain: RethChainConfig,
    *,
    senders: Sequence[bytes] | None = None,
    public_keys: Sequence[bytes] | None = None,
) -> bytes:
    """The zec-reth guest's stdin file for one block (both frames).

    Args:
        block: the typed block (``inputs.rpc_block.rpc_block_from_json(...).block``).
        witness: the node's witness, lists in the node's order; ``keys`` must be known.
        chain: the guest chain configuration (``zec_reth_chains.zec_reth_chain_config``); each
            transaction's signed chain id must be its ``chain_id``.
        senders: the node's ``from`` per transaction (``RpcBlock.senders``), compared with the
            recovered signers; None or empty skips the comparison.
        public_keys: the 65-byte keys, when already recovered (skips recovery and ``senders``).

    Returns:
        ``frame(RethInputPublic) ‖ frame(RethInputWitness)`` (module docstring).

    Raises:
        InputError: ``witness.keys`` missing, ``witness.headers`` empty or without the parent
            header, a signature that does not recover or does not match ``senders``
            (``block.transactions[i].…``), a transaction signed for another chain, bad
            ``public_keys``, an L2-only transaction.
    """
    keys = _check_witness(block, witness)
    block_bytes = full_block_rlp(block)
    pubkeys = _public_keys(block, chain, senders, public_keys)
    public = b"".join(
        [
            bincode_bytes(block_bytes),
            encode_reth_chain_config(chain),
            bincode_varint(len(pubkeys)),
            *(b"\x41" + k for k in pubkeys),
        ]
    )
    private = b"".join(
        bincode_bytes_seq(items) for items in (witness.state, witness.codes, keys, witness.headers)
    )
    return _frame(public) + _frame(private)


# -- reading back ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ZecRethInput:
    """A zec-reth input file, decoded: the block RLP, chain configuration, public keys (65 bytes
    each) and the witness (every list in file order)."""

    block_rlp: bytes
    chain: RethChainConfig
    public_keys: tuple[bytes, ...]
    witness: ExecutionWitness


def split_zisk_frames(data: bytes, field: str = "input") -> list[bytes]:
    """The frames of a ZisK stdin file (``u64 LE len ‖ data ‖ zero pad to 8`` each).

    Raises:
        InputError: a length running past the end, non-zero padding, or a truncated length.
    """
    frames: list[bytes] = []
    pos = 0
    while pos < len(data):
        where = f"{field}.frames[{len(frames)}]"
        if pos + 8 > len(data):
            raise InputError(where, f"truncated length at offset {pos}")
        (n,) = _LEN.unpack_from(data, pos)
        end = pos + 8 + n
        padded = end + (-n % 8)
        if padded > len(data):
            raise InputError(where, f"length {n} at offset {pos} runs past the {len(data)} bytes")
        if any(data[end:padded]):
            raise InputError(where, "non-zero padding")
        frames.append(data[pos + 8 : end])
        pos = padded
    return frames


def decode_zec_reth_input(data: bytes) -> ZecRethInput:
    """Read a zec-reth input file back (validating the framing and both bincode values).

    The block RLP is returned as bytes, not decoded (``inspect_zec_reth_input`` looks inside).

    Raises:
        InputError: not exactly two frames, truncated or malformed bincode, trailing bytes in a
            frame, a public key that is not 65 bytes (``input.public.…`` / ``input.witness.…``).
    """
    frames = split_zisk_frames(data)
    if len(frames) != 2:
        raise InputError("input.frames", f"{len(frames)} frames, the zec-reth input has 2")
    r = BincodeReader(frames[0], "input.public")
    block_bytes = r.byte_string("block")
    chain = read_reth_chain_config(r)
    keys = tuple(
        r.fixed_bytes(PUBLIC_KEY_BYTES, f"public_keys[{i}]")
        for i in range(r.count("public_keys", PUBLIC_KEY_BYTES + 1))
    )
    r.finish()
    w = BincodeReader(frames[1], "input.witness")
    lists = [tuple(w.byte_strings(name)) for name in _WITNESS_LISTS]
    w.finish()
    return ZecRethInput(block_bytes, chain, keys, ExecutionWitness(*lists))


@dataclass(frozen=True, slots=True)
class ZecRethSummary:
    """What a zec-reth input holds (sizes in bytes): ``frame_bytes`` per frame, the block's
    number, recomputed hash (32 bytes), transaction counts by EIP-2718 type (0 = legacy),
    withdrawals (None before Shanghai), ommers, the chain id, the number of public keys and the
    witness list counts and byte totals."""

    file_bytes: int
    frame_bytes: tuple[int, int]
    block_rlp_bytes: int
    block_number: int
    block_hash: bytes
    tx_counts: dict[int, int]
    withdrawals: int | None
    ommers: int
    chain_id: int
    chain_config_bytes: int
    public_keys: int
    witness_counts: dict[str, int]
    witness_bytes: dict[str, int]

    def lines(self) -> list[str]:
        """Human-readable lines for ``inspect-input``."""
        txs = ", ".join(f"type {t}: {n}" for t, n in sorted(self.tx_counts.items())) or "none"
        wit = ", ".join(
            f"{k} {self.witness_counts[k]} ({self.witness_bytes[k]} B)" for k in _WITNESS_LISTS
        )
        return [
            f"zec-reth input: {self.file_bytes} bytes, frames {self.frame_bytes[0]} + "
            f"{self.frame_bytes[1]} bytes",
            f"block {self.block_number} 0x{self.block_hash.hex()} ({self.block_rlp_bytes} B RLP)",
            f"transactions: {sum(self.tx_counts.values())} ({txs}); public keys "
            f"{self.public_keys}; withdrawals {self.withdrawals}; ommers {self.ommers}",
            f"chain id {self.chain_id} (config {self.chain_config_bytes} B)",
            f"witness: {wit}",
        ]


def inspect_zec_reth_input(data: bytes) -> ZecRethSummary:
    """Decode a zec-reth input file and summarize it (``decode_zec_reth_input`` plus a look
    inside the block RLP).

    Raises:
        InputError: as ``decode_zec_reth_input``; ``input.block`` when the block RLP is not
            ``[header, [txs], [ommers](, [withdrawals])]`` or the key count differs from the
            transaction count.
    """
    decoded = decode_zec_reth_input(data)
    frames = split_zisk_frames(data)
    field = "input.block"
    parts = rlp.list_items(rlp.decode_one(decoded.block_rlp, field), field)
    if len(parts) not in (3, 4):
        raise InputError(field, f"block RLP has {len(parts)} items, expected 3 or 4")
    header = parts[0].raw
    number, _ = rlp.header_number_and_state_root(header, f"{field}.header")
    tx_counts: Counter[int] = Counter()
    txs = rlp.list_items(parts[1], f"{field}.transactions")
    for i, tx in enumerate(txs):
        if tx.is_list:
            tx_counts[0] += 1
        else:
            envelope = rlp.as_bytes(tx, f"{field}.transactions[{i}]")
            if not envelope:
                raise InputError(f"{field}.transactions[{i}]", "empty typed transaction")
            tx_counts[envelope[0]] += 1
    if len(txs) != len(decoded.public_keys):
        raise InputError(
            "input.public.public_keys",
            f"{len(decoded.public_keys)} keys for {len(txs)} transactions",
        )
    w = decoded.witness
    lists = {"state": w.state, "codes": w.codes, "keys": w.keys or (), "headers": w.headers}
    return ZecRethSummary(
        file_bytes=len(data),
        frame_bytes=(len(frames[0]), len(frames[1])),
        block_rlp_bytes=len(decoded.block_rlp),
        block_number=number,
        block_hash=keccak(header),
        tx_counts=dict(tx_counts),
        withdrawals=len(rlp.list_items(parts[3], f"{field}.withdrawals"))
        if len(parts) == 4
        else None,
        ommers=len(rlp.list_items(parts[2], f"{field}.ommers")),
        chain_id=decoded.chain.chain_id,
        chain_config_bytes=len(encode_reth_chain_config(decoded.chain)),
        public_keys=len(decoded.public_keys),
        witness_counts={k: len(v) for k, v in lists.items()},
        witness_bytes={k: sum(map(len, v)) for k, v in lists.items()},
    )
