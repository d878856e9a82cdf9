"""Property: random typed values survive encode → validating read unchanged."""

from __future__ import annotations

import contextlib
import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ethproofs_daemon.inputs import types as t
from ethproofs_daemon.inputs.chain_config import MAINNET
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.rkyv import from_bytes, to_bytes
from ethproofs_daemon.inputs.schema import (
    BLOCK,
    NODE,
    TRANSACTION,
    WITNESS,
    decode_program_input,
    encode_program_input,
)

U64 = st.integers(0, 2**64 - 1)
U256 = st.integers(0, 2**256 - 1)
SMALL = st.binary(max_size=40)
U256_FIELDS = {
    "difficulty", "gas_price", "value", "v", "r", "s", "signature_r", "signature_s",
    "max_fee_per_blob_gas", "y_parity", "r_signature", "s_signature",
}  # fmt: skip
H256_FIELDS = {
    "parent_hash", "ommers_hash", "state_root", "transactions_root", "receipts_root",
    "prev_randao", "withdrawals_root", "parent_beacon_block_root", "requests_hash", "hash",
}  # fmt: skip
ADDRESS_FIELDS = {
    "coinbase", "address", "to", "from_", "fee_token", "deposit_contract_address",
    "base_fee_vault", "operator_fee_vault", "l1_fee_vault",
}  # fmt: skip


def _nibbles() -> st.SearchStrategy[t.Nibbles]:
    nib = st.lists(st.integers(0, 16), max_size=10).map(bytes)
    return st.builds(t.Nibbles, nib, nib)


HASH_REF = st.builds(t.Hashed, st.binary(min_size=32, max_size=32)) | st.builds(
    t.InlineHash, st.binary(max_size=31)
)
LEAF = st.builds(t.LeafNode, _nibbles(), SMALL)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    ref = HASH_REF | children
    return st.builds(t.ExtensionNode, _nibbles(), ref) | st.builds(
        t.BranchNode, st.lists(ref, min_size=16, max_size=16).map(tuple), SMALL
    )


NODES: st.SearchStrategy[Any] = st.recursive(LEAF, _extend, max_leaves=6)


def _scalar(cls: type, name: str, tp: Any) -> st.SearchStrategy[Any]:
    if tp is bool:
        return st.booleans()
    if tp is int:
        if name in U256_FIELDS or (cls is t.AuthorizationTuple and name == "chain_id"):
            return U256
        if cls is t.ForkBlobSchedule and name in ("max", "target"):
            return st.integers(0, 2**32 - 1)
        if name == "terminal_total_difficulty":
            return st.integers(0, 2**128 - 1)
        return U64
    if tp is bytes:
        if name == "logs_bloom":
            return st.binary(min_size=256, max_size=256)
        if name in H256_FIELDS:
            return st.binary(min_size=32, max_size=32)
        if name in ADDRESS_FIELDS:
            return st.binary(min_size=20, max_size=20)
        if name == "data" and cls is t.Nibbles:
            return st.lists(st.integers(0, 16), max_size=10).map(bytes)
        return SMALL
    return _for_type(cls, name, tp)


def _for_type(cls: type, name: str, tp: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        node_union = set(members) >= {t.BranchNode, t.LeafNode}
        inner = (
            (NODES | HASH_REF if t.Hashed in members else NODES)
            if node_union
            else st.one_of([_scalar(cls, name, a) for a in members])
        )
        return st.none() | inner if type(None) in args else inner
    if origin is tuple:
        if name == "choices":
            return st.lists(HASH_REF, min_size=16, max_size=16).map(tuple)
        if name == "storage_keys" or name == "blob_versioned_hashes":
            return st.lists(st.binary(min_size=32, max_size=32), max_size=3).map(tuple)
        return st.lists(_scalar(cls, name, args[0]), max_size=2).map(tuple)
    if origin is Mapping or tp is Mapping:
        return st.dictionaries(st.binary(min_size=20, max_size=20), NODES, max_size=6)
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    raise AssertionError(f"no strategy for {cls.__name__}.{name}: {tp}")


def _dataclass(cls: Any) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls, vars(t))
    return st.builds(
        cls, **{f.name: _scalar(cls, f.name, hints[f.name]) for f in dataclasses.fields(cls)}
    )


TRANSACTIONS = st.one_of([_dataclass(c) for c in typing.get_args(t.Transaction)])
PROGRAM_INPUTS = _dataclass(t.ProgramInput)
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAM_INPUTS)
def test_program_input_round_trips(value: t.ProgramInput) -> None:
    data = encode_program_input(value)
    assert decode_program_input(data) == value
    assert encode_program_input(decode_program_input(data)) == data


@FAST
@given(TRANSACTIONS)
def test_transaction_round_trips_at_214_bytes(value: Any) -> None:
    data = to_bytes(TRANSACTION, value)
    assert from_bytes(TRANSACTION, data) == value
    assert TRANSACTION.size == 214


@FAST
@given(NODES)
def test_trie_node_round_trips(value: Any) -> None:
    assert from_bytes(NODE, to_bytes(NODE, value)) == value


@settings(max_examples=8, deadline=None)
@given(st.dictionaries(st.binary(min_size=20, max_size=20), LEAF, min_size=30, max_size=260))
def test_large_storage_btrees_round_trip(roots: dict[bytes, Any]) -> None:
    witness = t.GuestExecutionWitness((), (), 1, MAINNET, None, roots, ())
    assert from_bytes(WITNESS, to_bytes(WITNESS, witness)) == witness


@FAST
@given(_dataclass(t.Block), st.integers(0, 520))
def test_corrupted_root_never_raises_anything_but_archive_errors(block: Any, at: int) -> None:
    data = bytearray(to_bytes(BLOCK, block))
    data[len(data) - 1 - at % len(data)] ^= 0xFF
    with contextlib.suppress(InputError):  # anything else fails the test
        from_bytes(BLOCK, bytes(data))
