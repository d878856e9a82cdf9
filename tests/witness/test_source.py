"""``fetch_witness`` against the replay node stand-in (real hive witnesses, a node that serves
``debug_executionWitness`` but no tracing): which source is used, and what each failure says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ethproofs_daemon.config import WitnessSourceMode
from ethproofs_daemon.eth.witness import WitnessFormatError
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from ethproofs_daemon.witness.source import (
    WitnessUnavailable,
    fetch_witness,
)
from ethproofs_daemon.witness.verify import verify_witness_json
from tests.standins.replay_node import load_hive_chain, run_replay_node


async def test_reth_form_witness_from_the_node_is_passed_through(shared_fixtures: Path) -> None:
    state = load_hive_chain(shared_fixtures)
    state.head = 0x2D
    async with run_replay_node(state) as url, JsonRpcClient(RpcEndpoint(url)) as rpc:
        for mode in (WitnessSourceMode.DEBUG, WitnessSourceMode.AUTO):
            witness = await fetch_witness(rpc, 0x2D, state.blocks[0x2D], mode)
            assert witness == state.witnesses[0x2D]
            verify_witness_json(witness, state.blocks[0x2D])  # type: ignore[arg-type]
    assert "debug_traceBlockByNumber" not in state.calls


async def test_geth_form_witness_needs_a_trace_for_its_keys(shared_fixtures: Path) -> None:
    state = load_hive_chain(shared_fixtures)
    hive = shared_fixtures / "real-data/hive-chain"
    state.witnesses[0x1] = json.loads((hive / "witness_0x1.geth.json").read_text())
    state.head = 0x1
    async with run_replay_node(state) as url, JsonRpcClient(RpcEndpoint(url)) as rpc:
        with pytest.raises(WitnessUnavailable, match="has no keys, and they cannot be recovered"):
            await fetch_witness(rpc, 0x1, state.blocks[0x1], WitnessSourceMode.AUTO)
    assert state.calls[-1] == "debug_traceBlockByNumber"


async def test_node_without_witness_or_trace_methods_is_unavailable(shared_fixtures: Path) -> None:
    state = load_hive_chain(shared_fixtures)
    state.head, state.witness_method = 0x2D, False
    async with run_replay_node(state) as url, JsonRpcClient(RpcEndpoint(url)) as rpc:
        with pytest.raises(WitnessUnavailable, match="serves neither debug_executionWitness"):
            await fetch_witness(rpc, 0x2D, state.blocks[0x2D], WitnessSourceMode.AUTO)
        with pytest.raises(WitnessUnavailable, match="does not serve debug_executionWitness"):
            await fetch_witness(rpc, 0x2D, state.blocks[0x2D], WitnessSourceMode.DEBUG)


async def test_node_error_for_a_block_is_unavailable(shared_fixtures: Path) -> None:
    state = load_hive_chain(shared_fixtures)
    state.head = 0x2D
    async with run_replay_node(state) as url, JsonRpcClient(RpcEndpoint(url)) as rpc:
        with pytest.raises(WitnessUnavailable, match="no witness for block 5"):
            await fetch_witness(rpc, 5, state.blocks[0x2D], WitnessSourceMode.DEBUG)


async def test_malformed_node_witness_is_an_input_error(shared_fixtures: Path) -> None:
    state = load_hive_chain(shared_fixtures)
    state.head = 0x2D
    state.witnesses[0x2D] = {**state.witnesses[0x2D], "state": ["0xzz"]}
    async with run_replay_node(state) as url, JsonRpcClient(RpcEndpoint(url)) as rpc:
        with pytest.raises(WitnessFormatError, match=r"state\[0\]: not hex"):
            await fetch_witness(rpc, 0x2D, state.blocks[0x2D], WitnessSourceMode.DEBUG)
