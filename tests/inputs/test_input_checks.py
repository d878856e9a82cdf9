"""Pre-proving checks: block hash, transactions root and parent state root."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from ethproofs_daemon.eth.rlp import keccak
from ethproofs_daemon.inputs import checks
from ethproofs_daemon.inputs.build import build_input, convert
from ethproofs_daemon.inputs.errors import CheckFailed, InputError
from ethproofs_daemon.inputs.profiles import get_profile
from ethproofs_daemon.inputs.rpc_block import block_from_json
from ethproofs_daemon.inputs.rpc_witness import parent_state_root
from ethproofs_daemon.inputs.types import LeafNode, Nibbles
from tests.helpers import ETHREX_014_PROFILE


def _hive(root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    hive = root / "real-data" / "hive-chain"
    return (
        json.loads((hive / "block_0x2d.json").read_text()),
        json.loads((hive / "witness_0x2d.reth.json").read_text()),
    )


@pytest.mark.parametrize(
    "rel", ["mainnet-blocks/block_19900000.full.json", "mainnet-blocks/block_16000000.full.json"]
)
def test_real_mainnet_blocks_pass_hash_and_tx_root(shared_fixtures: Path, rel: str) -> None:
    doc = json.loads((shared_fixtures / "real-data" / rel).read_text())
    block = block_from_json({**doc, "withdrawals": doc.get("withdrawals", [])})
    checks.check_block_hash(block, bytes.fromhex(doc["hash"][2:]))
    checks.check_transactions_root(block)


def test_tampered_header_fails_the_block_hash_check(shared_fixtures: Path) -> None:
    block, witness = _hive(shared_fixtures)
    block["gasUsed"] = hex(int(block["gasUsed"], 16) + 1)
    with pytest.raises(CheckFailed) as info:
        build_input(block, witness, get_profile(ETHREX_014_PROFILE))
    assert info.value.field == "block.hash"


def test_reordered_transactions_fail_the_transactions_root_check(shared_fixtures: Path) -> None:
    block, witness = _hive(shared_fixtures)
    converted = convert(block, witness)
    b = converted.block
    swapped = dataclasses.replace(
        b, body=dataclasses.replace(b.body, transactions=b.body.transactions[::-1])
    )
    with pytest.raises(CheckFailed) as info:
        checks.check_transactions_root(swapped)
    assert info.value.field == "block.transactionsRoot"


def test_altered_state_trie_fails_the_state_root_check(shared_fixtures: Path) -> None:
    block, witness = _hive(shared_fixtures)
    w = convert(block, witness).program_input.execution_witness
    checks.check_state_root(w)
    bad = dataclasses.replace(w, state_trie_root=LeafNode(Nibbles(b"\x01\x10"), b"x"))
    with pytest.raises(CheckFailed) as info:
        checks.check_state_root(bad)
    assert info.value.field == "witness.state"


def test_missing_state_root_node_is_an_input_error(shared_fixtures: Path) -> None:
    block, witness = _hive(shared_fixtures)
    headers = [bytes.fromhex(h[2:]) for h in witness["headers"]]
    root = parent_state_root(headers, int(block["number"], 16), "witness")
    pruned = [s for s in witness["state"] if keccak(bytes.fromhex(s[2:])) != root]
    assert len(pruned) == len(witness["state"]) - 1
    with pytest.raises(InputError, match="RootNotFound"):
        convert(block, {**witness, "state": pruned})
