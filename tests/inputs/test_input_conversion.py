"""Node JSON → ProgramInput: real and adapted golden cases byte for byte; NIF rejections."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ethproofs_daemon.eth.rlp import header_rlp
from ethproofs_daemon.eth.witness import parse_witness
from ethproofs_daemon.inputs.build import (
    build_input,
    build_typed_input,
    chain_config_by_name,
    convert,
    unwrap_document,
)
from ethproofs_daemon.inputs.chain_config import MAINNET
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.profiles import get_profile
from ethproofs_daemon.inputs.rpc_block import block_from_json, header_from_json
from ethproofs_daemon.inputs.schema import encode_program_input
from ethproofs_daemon.inputs.typed_json import root_from_json
from ethproofs_daemon.inputs.types import GuestExecutionWitness, ProgramInput
from tests.helpers import ETHREX_014_PROFILE
from tests.inputs.inputs_fixtures import case_id, manifest_cases

PRIMARY = manifest_cases("ethrex-input")
EXTRA = manifest_cases("ethrex-input-extra")
REAL_OK = [c for c in PRIMARY if c["kind"] == "real" and c.get("rkyv")]
REJECTED = [c for c in PRIMARY if c["kind"] == "real" and not c.get("rkyv")]


def _load(root: Path, rel: str) -> Any:
    return json.loads((root / rel).read_text())


@pytest.mark.parametrize("case", REAL_OK, ids=[case_id(c) for c in REAL_OK])
def test_real_case_builds_byte_for_byte(shared_fixtures: Path, case: dict[str, Any]) -> None:
    block, witness = _load(shared_fixtures, case["block"]), _load(shared_fixtures, case["witness"])
    chain = chain_config_by_name(case["chain_config"])
    out = build_input(block, witness, get_profile(ETHREX_014_PROFILE), chain)
    assert hashlib.sha256(out).hexdigest() == case["sha256"]
    assert out == (shared_fixtures / "ethrex-input" / case["rkyv"]).read_bytes()
    if case.get("typed_json"):
        _, typed = root_from_json(_load(shared_fixtures / "ethrex-input", case["typed_json"]))
        assert convert(block, witness, chain).program_input == typed


@pytest.mark.parametrize("case", REAL_OK, ids=[case_id(c) for c in REAL_OK])
def test_typed_values_parsed_at_the_edge_build_byte_for_byte(
    shared_fixtures: Path, case: dict[str, Any]
) -> None:
    """The daemon's path: block and witness parsed once (the witness by ``parse_witness``, as
    ``witness.source`` does), then ``build_typed_input`` with every check."""
    block, witness = _load(shared_fixtures, case["block"]), _load(shared_fixtures, case["witness"])
    chain = chain_config_by_name(case["chain_config"])
    block_obj, rpc = unwrap_document(block, "block")
    typed_block = block_from_json(block_obj, rpc=rpc)
    typed_witness = parse_witness(unwrap_document(witness, "witness")[0])  # type: ignore[arg-type]
    claimed = convert(block, witness, chain).claimed_block_hash
    out = build_typed_input(
        typed_block, typed_witness, get_profile(ETHREX_014_PROFILE), chain,
        claimed_block_hash=claimed,
    )
    assert out == (shared_fixtures / "ethrex-input" / case["rkyv"]).read_bytes()


@pytest.mark.parametrize("case", REJECTED, ids=[case_id(c) for c in REJECTED])
def test_nif_rejected_case_is_refused_with_the_field(
    shared_fixtures: Path, case: dict[str, Any]
) -> None:
    block, witness = _load(shared_fixtures, case["block"]), _load(shared_fixtures, case["witness"])
    with pytest.raises(InputError) as info:
        build_input(block, witness, get_profile(ETHREX_014_PROFILE))
    if "BlockBodyWrapper" in case["error"]:
        assert info.value.field == "block.withdrawals"
        assert "missing" in info.value.reason
    else:
        assert info.value.field.startswith(("witness.headers", "witness.keys"))
        assert "geth" in info.value.reason


def _adapted_geth_witness(witness: dict[str, Any]) -> dict[str, Any]:
    headers = ["0x" + header_rlp(header_from_json(h, "h")).hex() for h in witness["headers"]]
    return {**witness, "headers": headers, "keys": []}


@pytest.mark.parametrize(
    "case",
    [c for c in PRIMARY if c["kind"] == "adapted"],
    ids=[case_id(c) for c in PRIMARY if c["kind"] == "adapted"],
)
def test_adapted_case_builds_byte_for_byte(shared_fixtures: Path, case: dict[str, Any]) -> None:
    block, witness = _load(shared_fixtures, case["block"]), _load(shared_fixtures, case["witness"])
    if "geth" in case["name"]:
        witness = _adapted_geth_witness(witness)
    if "withdrawals" not in block:  # adaptation: missing withdrawals → None instead of an error
        converted = convert({**block, "withdrawals": []}, witness)
        b = converted.block
        pi = dataclasses.replace(
            converted.program_input,
            blocks=(dataclasses.replace(b, body=dataclasses.replace(b.body, withdrawals=None)),),
        )
    else:
        pi = convert(block, witness).program_input
    assert (
        encode_program_input(pi) == (shared_fixtures / "ethrex-input" / case["rkyv"]).read_bytes()
    )


RPC_EXTRA = [c for c in EXTRA if c.get("sources")]


@pytest.mark.parametrize("case", RPC_EXTRA, ids=[case_id(c) for c in RPC_EXTRA])
def test_extra_rpc_case_builds_byte_for_byte(shared_fixtures: Path, case: dict[str, Any]) -> None:
    block = _load(shared_fixtures, case["sources"][0]["path"])
    if "patch" in case:
        block = {**block, "withdrawals": block.get("withdrawals", [])}
    expected = (shared_fixtures / "ethrex-input-extra" / case["rkyv"]).read_bytes()
    if len(case["sources"]) == 2:
        witness = _load(shared_fixtures, case["sources"][1]["path"])
        assert build_input(block, witness, get_profile(ETHREX_014_PROFILE)) == expected
        return
    typed_block = block_from_json(block)  # block-only: default witness, mainnet config
    witness_value = GuestExecutionWitness((), (), typed_block.header.number, MAINNET, None, {}, ())
    pi = ProgramInput((typed_block,), witness_value, 2, None)
    assert encode_program_input(pi) == expected


def test_jsonrpc_envelopes_are_unwrapped(shared_fixtures: Path) -> None:
    block = _load(shared_fixtures, "real-data/hive-chain/block_0x2d.json")
    witness = _load(shared_fixtures, "real-data/hive-chain/witness_0x2d.reth.json")
    wrapped_block = {"jsonrpc": "2.0", "id": 1, "result": block}
    wrapped_witness = {"jsonrpc": "2.0", "id": 2, "result": witness}
    profile = get_profile(ETHREX_014_PROFILE)
    assert build_input(wrapped_block, wrapped_witness, profile) == build_input(
        block, witness, profile
    )


def test_jsonrpc_error_response_is_an_input_error() -> None:
    err = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "boom"}}
    with pytest.raises(InputError, match="JSON-RPC error"):
        convert(err, err)


def test_chain_config_by_name_knows_networks_and_rejects_unknown(tmp_path: Path) -> None:
    assert chain_config_by_name("hoodi").chain_id == 560048
    assert chain_config_by_name("Sepolia").chain_id == 11155111
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps({"config": {"chainId": 7, "cancunTime": 0}}))
    cfg = chain_config_by_name(str(genesis))
    assert (cfg.chain_id, cfg.cancun_time, cfg.prague_time) == (7, 0, None)
    with pytest.raises(InputError) as info:
        chain_config_by_name("goerli")
    assert info.value.field == "chain"


def test_hoodi_chain_config_matches_golden_vector(shared_fixtures: Path) -> None:
    from ethproofs_daemon.inputs.schema import decode_program_input

    data = (shared_fixtures / "ethrex-input" / "hoodi_1265656_hoodi-config.rkyv.bin").read_bytes()
    assert decode_program_input(data).execution_witness.chain_config == chain_config_by_name(
        "hoodi"
    )
