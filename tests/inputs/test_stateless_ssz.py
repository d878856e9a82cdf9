"""``statelessInputBytes`` for real mainnet blocks, read back with containers written here.

Data: the three post-BPO2 mainnet blocks of ``../shared/fixtures/zec-reth/`` (``block_<n>.json``,
``witness_<n>.json``; their README: ``requestsHash`` = sha256(""), no blob transactions). The
JSON goes through the project's RPC-edge parsers (``inputs.rpc_block``, ``inputs.rpc_witness``).

Independent of the code under test:
- an SSZ reader written here from the spec text (``execution-specs`` ``stateless_ssz.py``,
  consensus-specs ``ExecutionPayload``/``NewPayloadRequest``; fields and sizes below), which
  checks canonical offsets while splitting;
- each sender's public key, recovered here with coincurve (and eth_keys) from the transaction's
  signing hash (EIP-155 for legacy, ``keccak(type ‖ rlp(fields without y, r, s))`` for typed
  ones), checked against the block's ``from``;
- the expected values: the block and witness JSON, the schema id ``0x1401`` (BPO2, reth guest).

The package's ``NewPayloadRequest`` containers are checked against the 60 pyspec vectors and the
zkboost fixture in ``tests/ssz/test_new_payload_request.py``. No golden ``statelessInputBytes`` for
a mainnet block exists, so the whole input is checked by parts, not byte for byte.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import coincurve
import pytest
import rlp
from eth_keys.datatypes import Signature

from ethproofs_daemon.eth.types import Block
from ethproofs_daemon.eth.witness import ExecutionWitness
from ethproofs_daemon.hashing import keccak
from ethproofs_daemon.inputs.checks import tx_encoding
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.rpc_block import rpc_block_from_json
from ethproofs_daemon.inputs.rpc_witness import read_rpc_witness
from ethproofs_daemon.inputs.stateless_ssz import build_stateless_input, decode_stateless_input
from ethproofs_daemon.ssz.errors import SszError, SszLengthError
from ethproofs_daemon.ssz.requests import ExecutionRequests
from ethproofs_daemon.ssz.stateless import ProtocolFork, parse_stateless_output
from tests.conftest import SHARED_FIXTURES

#: The zec-reth vectors (README there): all after BPO2 on mainnet.
BLOCKS = (24628607, 24647140, 25229957)

# --- an SSZ reader from the spec text -------------------------------------------------------------
#: A container's fields: a byte count for a fixed-size field, None for a variable one (offset).
StatelessInputFields = [None, None, 8, None]  # new_payload_request, witness, chain_id, public_keys
WitnessFields = [None, None, None]  # state, codes, headers
RequestElectraFields = [None, None, 32, None]  # payload, versioned_hashes, beacon root, requests
PayloadDenebFields = [
    32, 20, 32, 32, 256, 32,  # parent_hash, fee_recipient, state_root, receipts_root, bloom, randao
    8, 8, 8, 8, None,  # block_number, gas_limit, gas_used, timestamp, extra_data
    32, 32, None, None,  # base_fee_per_gas (u256), block_hash, transactions, withdrawals
    8, 8,  # blob_gas_used, excess_blob_gas
]  # fmt: skip
RequestsFields = [None, None, None]  # deposits, withdrawals, consolidations


def u32(data: bytes, at: int) -> int:
    return int(struct.unpack_from("<I", data, at)[0])


def u64(data: bytes) -> int:
    assert len(data) == 8
    return int.from_bytes(data, "little")


def container(data: bytes, fields: Sequence[int | None]) -> list[bytes]:
    """Split a container into its fields' bytes (offsets must be canonical)."""
    fixed = sum(4 if f is None else f for f in fields)
    parts: list[Any] = []
    pos = 0
    offsets = []
    for f in fields:
        if f is None:
            offsets.append(u32(data, pos))
            parts.append(len(offsets) - 1)
            pos += 4
        else:
            parts.append(data[pos : pos + f])
            pos += f
    assert not offsets or offsets[0] == fixed
    assert offsets == sorted(offsets) and all(o <= len(data) for o in offsets)
    ends = [*offsets[1:], len(data)]
    return [data[offsets[p] : ends[p]] if isinstance(p, int) else p for p in parts]


def variable_list(data: bytes) -> list[bytes]:
    """Items of a list of variable-size items (offset table first)."""
    if not data:
        return []
    count = u32(data, 0) // 4
    offsets = [u32(data, 4 * i) for i in range(count)]
    assert offsets == sorted(offsets)
    return [data[a:b] for a, b in zip(offsets, [*offsets[1:], len(data)], strict=True)]


def fixed_list(data: bytes, size: int) -> list[bytes]:
    assert len(data) % size == 0
    return [data[i : i + size] for i in range(0, len(data), size)]


# --- the block, witness and keys ------------------------------------------------------------------


@functools.cache
def _json(kind: str, number: int) -> Any:
    return json.loads((SHARED_FIXTURES / "zec-reth" / f"{kind}_{number}.json").read_text())


def _typed(number: int) -> tuple[Block, ExecutionWitness]:
    return rpc_block_from_json(_json("block", number)).block, read_rpc_witness(
        _json("witness", number)
    )


def _b(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text[2:])


def _q(hex_text: str) -> int:
    return int(hex_text, 16)


def _signing_hash_and_signature(raw: bytes) -> tuple[bytes, int, int, int]:
    """``(hash, recovery id, r, s)`` of a signed EIP-2718 transaction."""
    if raw[0] >= 0xC0:  # legacy RLP list
        items = rlp.decode(raw)
        v = int.from_bytes(items[6], "big")
        if v in (27, 28):
            return keccak(rlp.encode(items[:6])), v - 27, *_rs(items[7:9])
        chain_id = (v - 35) // 2
        unsigned = [
            *items[:6],
            chain_id.to_bytes((chain_id.bit_length() + 7) // 8, "big"),
            b"",
            b"",
        ]
        return keccak(rlp.encode(unsigned)), (v - 35) % 2, *_rs(items[7:9])
    items = rlp.decode(raw[1:])
    y = int.from_bytes(items[-3], "big")
    return keccak(raw[:1] + rlp.encode(items[:-3])), y, *_rs(items[-2:])


def _rs(items: list[bytes]) -> tuple[int, int]:
    return int.from_bytes(items[0], "big"), int.from_bytes(items[1], "big")


def _recover(raw: bytes) -> bytes:
    """The signer's uncompressed SEC1 key (65 bytes), with coincurve."""
    digest, recid, r, s = _signing_hash_and_signature(raw)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([recid])
    key = coincurve.PublicKey.from_signature_and_message(signature, digest, hasher=None)
    return bytes(key.format(compressed=False))


def _recover_eth_keys(raw: bytes) -> bytes:
    """The signer's key as ``X ‖ Y`` (64 bytes), with eth_keys."""
    digest, recid, r, s = _signing_hash_and_signature(raw)
    key = Signature(vrs=(recid, r, s)).recover_public_key_from_msg_hash(digest)
    return key.to_bytes()


@functools.cache
def _keys(number: int) -> tuple[bytes, ...]:
    block, _ = _typed(number)
    txs = _json("block", number)["transactions"]
    out = []
    for tx, tx_json in zip(block.body.transactions, txs, strict=True):
        raw = tx_encoding(tx)
        assert keccak(raw) == _b(tx_json["hash"])
        out.append(_recover(raw))
    return tuple(out)


def _address(key: bytes) -> bytes:
    return keccak(key[1:])[12:]


@functools.cache
def _input(number: int) -> bytes:
    block, witness = _typed(number)
    return build_stateless_input(block, witness, chain_id=1, public_keys=_keys(number))


def _parts(data: bytes) -> dict[str, Any]:
    """The input split with the containers above."""
    npr, witness, chain_id, keys = container(data[2:], StatelessInputFields)
    payload, hashes, beacon_root, requests = container(npr, RequestElectraFields)
    p = container(payload, PayloadDenebFields)
    state, codes, headers = container(witness, WitnessFields)
    return {
        "schema_id": data[:2],
        "payload": p,
        "versioned_hashes": fixed_list(hashes, 32),
        "parent_beacon_block_root": beacon_root,
        "requests": container(requests, RequestsFields),
        "witness": (variable_list(state), variable_list(codes), variable_list(headers)),
        "chain_id": u64(chain_id),
        "public_keys": fixed_list(keys, 65),
    }


# --- real blocks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", BLOCKS)
def test_schema_id_is_bpo2_and_chain_id_mainnet(shared_fixtures: Path, number: int) -> None:
    parts = _parts(_input(number))
    assert parts["schema_id"] == b"\x14\x01"
    assert parts["chain_id"] == 1


@pytest.mark.parametrize("number", BLOCKS)
def test_payload_fields_are_the_blocks(shared_fixtures: Path, number: int) -> None:
    j = _json("block", number)
    p = _parts(_input(number))["payload"]
    assert p[0:6] == [
        _b(j["parentHash"]), _b(j["miner"]), _b(j["stateRoot"]), _b(j["receiptsRoot"]),
        _b(j["logsBloom"]), _b(j["mixHash"]),
    ]  # fmt: skip
    assert [u64(x) for x in p[6:10]] == [
        _q(j["number"]), _q(j["gasLimit"]), _q(j["gasUsed"]), _q(j["timestamp"]),
    ]  # fmt: skip
    assert p[10] == _b(j["extraData"])
    assert int.from_bytes(p[11], "little") == _q(j["baseFeePerGas"])
    assert p[12] == _b(j["hash"])
    assert (u64(p[15]), u64(p[16])) == (_q(j["blobGasUsed"]), _q(j["excessBlobGas"]))


@pytest.mark.parametrize("number", BLOCKS)
def test_each_transaction_is_its_eip2718_bytes(shared_fixtures: Path, number: int) -> None:
    txs = variable_list(_parts(_input(number))["payload"][13])
    expected = [_b(t["hash"]) for t in _json("block", number)["transactions"]]
    assert [keccak(tx) for tx in txs] == expected


@pytest.mark.parametrize("number", BLOCKS)
def test_withdrawals_are_the_blocks(shared_fixtures: Path, number: int) -> None:
    got = [
        (u64(w[0:8]), u64(w[8:16]), w[16:36], u64(w[36:44]))
        for w in fixed_list(_parts(_input(number))["payload"][14], 44)
    ]
    expected = [
        (_q(w["index"]), _q(w["validatorIndex"]), _b(w["address"]), _q(w["amount"]))
        for w in _json("block", number)["withdrawals"]
    ]
    assert got == expected
    assert len(got) == 16


@pytest.mark.parametrize("number", BLOCKS)
def test_beacon_root_blob_hashes_and_empty_requests(shared_fixtures: Path, number: int) -> None:
    j = _json("block", number)
    parts = _parts(_input(number))
    assert parts["parent_beacon_block_root"] == _b(j["parentBeaconBlockRoot"])
    blob_hashes = [_b(h) for t in j["transactions"] for h in t.get("blobVersionedHashes", [])]
    assert parts["versioned_hashes"] == blob_hashes
    assert parts["requests"] == [b"", b"", b""]
    assert j["requestsHash"] == "0x" + hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("number", BLOCKS)
def test_one_public_key_per_transaction_of_its_sender(shared_fixtures: Path, number: int) -> None:
    keys = _parts(_input(number))["public_keys"]
    senders = [_b(t["from"]) for t in _json("block", number)["transactions"]]
    assert len(keys) == len(senders)
    assert all(k[0] == 0x04 for k in keys)
    assert [_address(k) for k in keys] == senders


@pytest.mark.parametrize("number", BLOCKS)
def test_witness_lists_are_the_nodes(shared_fixtures: Path, number: int) -> None:
    w = _json("witness", number)
    state, codes, headers = _parts(_input(number))["witness"]
    assert state == [_b(x) for x in w["state"]]
    assert codes == [_b(x) for x in w["codes"]]
    assert headers == [_b(x) for x in w["headers"]]
    assert keccak(headers[-1]) == _b(_json("block", number)["parentHash"])


def test_keys_in_the_64_byte_form_give_the_same_input(shared_fixtures: Path) -> None:
    number = BLOCKS[1]  # has EIP-7702 transactions
    block, witness = _typed(number)
    raw_keys = [_recover_eth_keys(tx_encoding(tx)) for tx in block.body.transactions]
    assert all(len(k) == 64 for k in raw_keys)
    built = build_stateless_input(block, witness, chain_id=1, public_keys=raw_keys)
    assert built == _input(number)


def test_the_input_reads_back_with_its_counts(shared_fixtures: Path) -> None:
    number = BLOCKS[2]
    j, w = _json("block", number), _json("witness", number)
    data = _input(number)
    decoded = decode_stateless_input(data)
    assert (decoded.schema_id, decoded.fork, decoded.chain_id) == (0x1401, ProtocolFork.BPO2, 1)
    assert decoded.new_payload_request.block_hash == _b(j["hash"])
    assert decoded.new_payload_request.block_number == number
    assert decoded.new_payload_request.transaction_count == len(j["transactions"])
    assert decoded.state == tuple(_b(x) for x in w["state"])
    assert decoded.codes == tuple(_b(x) for x in w["codes"])
    assert decoded.headers == tuple(_b(x) for x in w["headers"])
    assert [_address(k) for k in decoded.public_keys] == [_b(t["from"]) for t in j["transactions"]]
    assert decoded.size == len(data)
    assert "schema id: 0x1401 (BPO2)" in decoded.lines()


# --- execution requests ---------------------------------------------------------------------------

#: One withdrawal request (76 bytes: address 20, pubkey 48, amount u64 LE) and one
#: consolidation (116 bytes), written from consensus-specs Electra's containers.
WITHDRAWAL_REQUEST = b"\x11" * 20 + b"\x22" * 48 + struct.pack("<Q", 1_000_000_000)
CONSOLIDATION_REQUEST = b"\x33" * 20 + b"\x44" * 48 + b"\x55" * 48


def _eip7685_hash(*typed: bytes) -> bytes:
    return hashlib.sha256(b"".join(hashlib.sha256(r).digest() for r in typed)).digest()


def _with_requests_hash(block: Block, value: bytes) -> Block:
    return dataclasses.replace(block, header=dataclasses.replace(block.header, requests_hash=value))


def test_requests_that_hash_to_the_header_go_into_the_request(shared_fixtures: Path) -> None:
    number = BLOCKS[0]
    block, witness = _typed(number)
    header_hash = _eip7685_hash(b"\x01" + WITHDRAWAL_REQUEST, b"\x02" + CONSOLIDATION_REQUEST)
    requests = ExecutionRequests(
        withdrawals=WITHDRAWAL_REQUEST, consolidations=CONSOLIDATION_REQUEST
    )
    data = build_stateless_input(
        _with_requests_hash(block, header_hash), witness, chain_id=1, public_keys=_keys(number),
        execution_requests=requests,
    )  # fmt: skip
    assert _parts(data)["requests"] == [b"", WITHDRAWAL_REQUEST, CONSOLIDATION_REQUEST]


def test_a_block_with_requests_needs_a_beacon_node(shared_fixtures: Path) -> None:
    number = BLOCKS[0]
    block, witness = _typed(number)
    carrying = _with_requests_hash(block, _eip7685_hash(b"\x01" + WITHDRAWAL_REQUEST))
    with pytest.raises(InputError, match="BEACON_API_URL") as info:
        build_stateless_input(carrying, witness, chain_id=1, public_keys=_keys(number))
    assert info.value.field == "execution_requests"


def test_requests_that_do_not_hash_to_the_header_are_refused(shared_fixtures: Path) -> None:
    number = BLOCKS[0]
    block, witness = _typed(number)
    with pytest.raises(InputError, match="requestsHash") as info:
        build_stateless_input(
            block, witness, chain_id=1, public_keys=_keys(number),
            execution_requests=ExecutionRequests(withdrawals=WITHDRAWAL_REQUEST),
        )  # fmt: skip
    assert info.value.field == "execution_requests"


def test_a_request_list_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(InputError) as info:
        ExecutionRequests(deposits=b"\x00" * 191)
    assert info.value.field == "execution_requests.deposits"


# --- what is refused ------------------------------------------------------------------------------

Change = Callable[[Block, ExecutionWitness, list[bytes]], tuple[Block, ExecutionWitness, Any]]


def _no_headers(b: Block, w: ExecutionWitness, k: list[bytes]) -> Any:
    return b, dataclasses.replace(w, headers=()), k


def _not_parent(b: Block, w: ExecutionWitness, k: list[bytes]) -> Any:
    return b, dataclasses.replace(w, headers=(w.headers[0][:-1] + b"\x00",)), k


def _one_key_short(b: Block, w: ExecutionWitness, k: list[bytes]) -> Any:
    return b, w, k[:-1]


def _compressed_key(b: Block, w: ExecutionWitness, k: list[bytes]) -> Any:
    return b, w, [b"\x02" + k[0][1:33], *k[1:]]


def _no_beacon_root(b: Block, w: ExecutionWitness, k: list[bytes]) -> Any:
    header = dataclasses.replace(b.header, parent_beacon_block_root=None)
    return dataclasses.replace(b, header=header), w, k


def _huge_node(b: Block, w: ExecutionWitness, k: list[bytes]) -> Any:
    return b, dataclasses.replace(w, state=(*w.state[:2], b"\x00" * 1025)), k


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_no_headers, "witness.headers"),
        (_not_parent, "witness.headers[0]"),
        (_one_key_short, "public_keys"),
        (_compressed_key, "public_keys[0]"),
        (_no_beacon_root, "block.parentBeaconBlockRoot"),
        (_huge_node, "witness.state[2]"),
    ],
)
def test_a_bad_part_is_refused_naming_its_field(
    shared_fixtures: Path, change: Change, field: str
) -> None:
    number = BLOCKS[0]
    block, witness, keys = change(*_typed(number), list(_keys(number)))
    with pytest.raises(InputError) as info:
        build_stateless_input(block, witness, chain_id=1, public_keys=keys)
    assert info.value.field == field


def test_the_fork_must_be_the_mainnet_blocks(shared_fixtures: Path) -> None:
    block, witness = _typed(BLOCKS[0])
    for fork in (ProtocolFork.OSAKA, ProtocolFork.AMSTERDAM):
        with pytest.raises(InputError) as info:
            build_stateless_input(
                block, witness, chain_id=1, public_keys=_keys(BLOCKS[0]), fork=fork
            )
        assert info.value.field == "fork"


def test_another_chain_needs_its_fork_and_gets_its_chain_id(shared_fixtures: Path) -> None:
    block, witness = _typed(BLOCKS[0])
    keys = _keys(BLOCKS[0])
    with pytest.raises(InputError) as info:
        build_stateless_input(block, witness, chain_id=560048, public_keys=keys)
    assert info.value.field == "fork"
    data = build_stateless_input(
        block, witness, chain_id=560048, public_keys=keys, fork=ProtocolFork.PRAGUE
    )
    assert data[:2] == b"\x11\x01"
    assert _parts(data)["chain_id"] == 560048


@pytest.mark.parametrize(
    ("mangle", "field", "words"),
    [
        (lambda d: b"", "input.schema_id", "cannot hold"),
        (lambda d: b"\x14\x02" + d[2:], "input.schema_id", "revision"),
        (lambda d: b"\x0d\x01" + d[2:], "input.schema_id", "unknown fork"),
        (lambda d: d[:-1], "input", "input.public_keys"),
        (lambda d: d + b"\x00", "input", "input.public_keys"),
        (lambda d: d[:2] + struct.pack("<I", 24) + d[6:], "input", "skips bytes"),
        (lambda d: d[:2], "input", "shorter than the fixed part"),
    ],
)
def test_a_malformed_input_is_refused_naming_the_place(
    shared_fixtures: Path, mangle: Callable[[bytes], bytes], field: str, words: str
) -> None:
    with pytest.raises(InputError) as info:
        decode_stateless_input(mangle(_input(BLOCKS[0])))
    assert info.value.field == field
    assert words in info.value.reason


# --- the guest's output ---------------------------------------------------------------------------


def test_output_layout_of_the_reth_guest() -> None:
    # paradigmxyz/stateless@0aa0c19d output.rs, test validation_result_has_fixed_v08_layout.
    data = b"\xaa" * 32 + b"\x01" + (0x0102_0304_0506_0708).to_bytes(8, "little") + b"\x01\x15"
    out = parse_stateless_output(data)
    assert out.new_payload_request_root == b"\xaa" * 32
    assert out.successful_validation is True
    assert out.chain_id == 0x0102_0304_0506_0708
    assert out.schema_id == 0x1501
    assert not out.is_decode_failure


def test_43_zero_bytes_are_the_decode_failure_sentinel() -> None:
    out = parse_stateless_output(bytes(43))
    assert out.is_decode_failure and not out.successful_validation


def test_a_malformed_output_is_refused() -> None:
    with pytest.raises(SszLengthError):
        parse_stateless_output(bytes(42))
    with pytest.raises(SszError, match="boolean"):
        parse_stateless_output(bytes(32) + b"\x02" + bytes(10))
