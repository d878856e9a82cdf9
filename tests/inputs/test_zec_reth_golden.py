"""zec-reth guest input: the golden files of zisk-eth-client v0.11.0 rebuilt byte for byte from
node JSON, read back, and bad input refused as ``InputError`` naming the field.

Golden vectors: ``../shared/fixtures/zec-reth/`` (``manifest.json``; the ``.bin`` files are
0xPolygonHermez/zisk-eth-client@b9aa34a:bin/guests/stateless-validator-reth/inputs/…).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import keccak as pycryptodome_keccak

from ethproofs_daemon.eth.rlp import header_rlp
from ethproofs_daemon.eth.witness import ExecutionWitness, parse_witness
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.rpc_block import RpcBlock, rpc_block_from_json
from ethproofs_daemon.inputs.rpc_witness import read_rpc_witness
from ethproofs_daemon.inputs.zec_reth import (
    build_zec_reth_input,
    decode_zec_reth_input,
    inspect_zec_reth_input,
)
from ethproofs_daemon.inputs.zec_reth_chains import (
    RETH_HOODI,
    RETH_MAINNET,
    encode_reth_chain_config,
    zec_reth_chain_config,
)
from tests.conftest import SHARED_FIXTURES

FOLDER = SHARED_FIXTURES / "zec-reth"


def _manifest() -> dict[str, Any]:
    path = FOLDER / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {"vectors": []}


VECTORS: list[dict[str, Any]] = _manifest()["vectors"]
IDS = [str(v["block_number"]) for v in VECTORS]
WITNESS_PARSERS: dict[str, Callable[[Any], ExecutionWitness]] = {
    "ethrex-serde": read_rpc_witness,  # the build-input CLI's reader
    "daemon": parse_witness,  # witness.source's reader
}


def keccak(data: bytes) -> bytes:
    digest: bytes = pycryptodome_keccak.new(data=data, digest_bits=256).digest()
    return digest


@cache
def _json(name: str) -> Any:
    return json.loads((FOLDER / name).read_text())


def _block(vector: dict[str, Any]) -> RpcBlock:
    return rpc_block_from_json(_json(vector["block_json"]))


def _golden(vector: dict[str, Any]) -> bytes:
    data: bytes = (FOLDER / str(vector["bin"])).read_bytes()
    assert hashlib.sha256(data).hexdigest() == vector["bin_sha256"]
    return data


@pytest.mark.parametrize("parser", sorted(WITNESS_PARSERS))
@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_node_json_builds_the_golden_file(
    shared_fixtures: Path, vector: dict[str, Any], parser: str
) -> None:
    rpc = _block(vector)
    witness = WITNESS_PARSERS[parser](_json(vector["witness_json"]))
    out = build_zec_reth_input(rpc.block, witness, zec_reth_chain_config(1), senders=rpc.senders)
    expected = _golden(vector)
    assert len(out) == len(expected)
    assert out == expected


def test_golden_vectors_are_present(shared_fixtures: Path) -> None:
    assert len(VECTORS) >= 3


def test_mainnet_chain_config_is_the_golden_constant(shared_fixtures: Path) -> None:
    assert encode_reth_chain_config(RETH_MAINNET).hex() == _manifest()["chain_config_hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_golden_file_reads_back(shared_fixtures: Path, vector: dict[str, Any]) -> None:
    golden = _golden(vector)
    decoded = decode_zec_reth_input(golden)
    assert decoded.chain == RETH_MAINNET
    doc = _json(vector["block_json"])
    senders = ["0x" + keccak(k[1:])[12:].hex() for k in decoded.public_keys]
    assert senders == [t["from"].lower() for t in doc["transactions"]]
    assert all(k[0] == 4 for k in decoded.public_keys)
    wj = _json(vector["witness_json"])
    for name in ("state", "codes", "keys", "headers"):
        assert ["0x" + x.hex() for x in getattr(decoded.witness, name)] == wj[name]
    # keys given instead of recovered: same bytes
    rpc = _block(vector)
    rebuilt = build_zec_reth_input(
        rpc.block, decoded.witness, RETH_MAINNET, public_keys=decoded.public_keys
    )
    assert rebuilt == golden


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_inspect_summarizes_the_golden_file(shared_fixtures: Path, vector: dict[str, Any]) -> None:
    s = inspect_zec_reth_input(_golden(vector))
    assert s.block_number == vector["block_number"]
    assert "0x" + s.block_hash.hex() == vector["block_hash"]
    assert s.frame_bytes == tuple(vector["frame_lengths"])
    assert s.block_rlp_bytes == vector["block_rlp_length"]
    assert s.witness_counts == vector["witness_counts"]
    assert {f"0x{t:x}": n for t, n in s.tx_counts.items()} == vector["tx_types"]
    assert s.public_keys == vector["tx_count"]
    assert (s.chain_id, s.chain_config_bytes, s.withdrawals, s.ommers) == (1, 254, 16, 0)
    assert s.lines()[0].startswith("zec-reth input: ")


# -- refusals --------------------------------------------------------------------------------------
def _first() -> dict[str, Any]:
    if not VECTORS:
        pytest.skip(f"zec-reth fixtures not found at {FOLDER}")
    return VECTORS[0]


def _typed(vector: dict[str, Any]) -> tuple[RpcBlock, ExecutionWitness]:
    return _block(vector), read_rpc_witness(_json(vector["witness_json"]))


def test_a_from_that_does_not_match_the_signature_is_refused(shared_fixtures: Path) -> None:
    vector = _first()
    rpc, witness = _typed(vector)
    senders = list(rpc.senders)
    senders[5] = bytes.fromhex("ab" * 20)
    with pytest.raises(InputError) as info:
        build_zec_reth_input(rpc.block, witness, RETH_MAINNET, senders=senders)
    assert info.value.field == "block.transactions[5].from"
    assert "ab" * 20 in info.value.reason and rpc.senders[5].hex() in info.value.reason


def test_a_witness_without_headers_is_refused(shared_fixtures: Path) -> None:
    rpc, witness = _typed(_first())
    with pytest.raises(InputError) as info:
        build_zec_reth_input(rpc.block, replace(witness, headers=()), RETH_MAINNET)
    assert info.value.field == "witness.headers"


def test_a_witness_without_the_parent_header_is_refused(shared_fixtures: Path) -> None:
    rpc, witness = _typed(_first())
    other = replace(witness, headers=(header_rlp(rpc.block.header),))  # the block's own
    with pytest.raises(InputError, match="parentHash") as info:
        build_zec_reth_input(rpc.block, other, RETH_MAINNET)
    assert info.value.field == "witness.headers"


def test_a_geth_form_witness_without_keys_is_refused(shared_fixtures: Path) -> None:
    rpc, witness = _typed(_first())
    with pytest.raises(InputError) as info:
        build_zec_reth_input(rpc.block, replace(witness, keys=None), RETH_MAINNET)
    assert info.value.field == "witness.keys"


def test_a_block_built_for_the_wrong_chain_is_refused(shared_fixtures: Path) -> None:
    rpc, witness = _typed(_first())
    with pytest.raises(InputError, match="the chain is 560048") as info:
        build_zec_reth_input(rpc.block, witness, RETH_HOODI)
    assert info.value.field.startswith("block.transactions[0].")


@pytest.mark.parametrize(
    ("path", "bad", "field"),
    [
        (("transactions", 2, "r"), "0xzz", "block.transactions[2].r"),
        (("transactions", 0, "from"), "0x1234", "block.transactions[0].from"),
        (("withdrawals", 1, "amount"), None, "block.withdrawals[1].amount"),
        (("gasUsed",), [], "block.gasUsed"),
    ],
)
def test_malformed_block_json_names_the_field(
    shared_fixtures: Path, path: tuple[Any, ...], bad: Any, field: str
) -> None:
    doc = json.loads(json.dumps(_json(_first()["block_json"])))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    with pytest.raises(InputError) as info:
        rpc_block_from_json(doc)
    assert info.value.field == field


def test_malformed_witness_json_names_the_field(shared_fixtures: Path) -> None:
    doc = dict(_json(_first()["witness_json"]))
    doc["codes"] = ["0x12", "0xabc"]
    with pytest.raises(InputError) as info:
        read_rpc_witness(doc)
    assert info.value.field == "witness.codes[1]"


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d[:-8], "runs past"),
        (lambda d: d[:-3], "runs past|truncated"),
        (lambda d: d + bytes(8), "3 frames"),
        (lambda d: d[: 8 + 37233] + b"\x01" + d[8 + 37234 :], "padding"),
        (lambda d: d[:8] + b"\xff" + d[9:], "invalid varint tag"),
    ],
)
def test_a_damaged_file_is_refused(
    shared_fixtures: Path, mutate: Callable[[bytes], bytes], match: str
) -> None:
    vector = _first()
    assert vector["frame_lengths"][0] == 37233  # the padding case's offsets
    with pytest.raises(InputError, match=match):
        inspect_zec_reth_input(mutate(_golden(vector)))


def test_an_unknown_chain_is_refused_by_id_and_name() -> None:
    for chain in (31337, 5, "holesky"):
        with pytest.raises(InputError, match="no zec-reth chain configuration") as info:
            zec_reth_chain_config(chain)
        assert info.value.field == "chain"


def test_unconfirmed_chains_need_an_explicit_opt_in() -> None:
    with pytest.raises(InputError, match="unconfirmed"):
        zec_reth_chain_config("hoodi")
    assert zec_reth_chain_config(560048, allow_unconfirmed=True) == RETH_HOODI
    assert zec_reth_chain_config("MAINNET") == RETH_MAINNET
