"""Synthesized anvil witnesses feed the ethrex input codec (``ethproofs_daemon.inputs``) without
error, for blocks with each transaction kind. anvil's chain config: ``ANVIL_GENESIS_CONFIG``."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from eth_utils import to_checksum_address

from ethproofs_daemon.config import WitnessSourceMode
from ethproofs_daemon.demo.anvil import ANVIL_DEV_KEYS, ANVIL_GENESIS_CONFIG
from ethproofs_daemon.inputs.chain_config import chain_config_from_genesis
from ethproofs_daemon.inputs.rpc_block import block_from_json
from ethproofs_daemon.inputs.rpc_witness import witness_from_json
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from ethproofs_daemon.witness.source import fetch_witness
from ethproofs_daemon.witness.verify import verify_witness_json
from tests.anvil_node import (
    BLOCKHASH_RUNTIME,
    STORE_RUNTIME,
    Chain,
    init_code,
    running_anvil,
    word,
)
from tests.helpers import ETHREX_014_PROFILE

ANVIL_CHAIN = chain_config_from_genesis({"config": ANVIL_GENESIS_CONFIG}, "anvil")


@pytest.fixture
async def blocks() -> AsyncIterator[tuple[Chain, dict[str, int]]]:
    """One anvil chain with a block of each kind; yields (chain, kind → block number)."""
    async with running_anvil() as node, JsonRpcClient(RpcEndpoint(node.url)) as rpc:
        chain = Chain(rpc)
        await rpc.call("evm_mine", [])  # anvil's genesis stateRoot is the empty root; skip it
        kinds: dict[str, int] = {}
        store, kinds["deploy (1559)"] = await chain.deploy(STORE_RUNTIME)
        hasher, kinds["deploy (legacy)"] = await chain.deploy(BLOCKHASH_RUNTIME, kind=0)

        async def mined(receipt: dict[str, Any]) -> int:
            return int(receipt["blockNumber"], 16)

        kinds["transfer (legacy)"] = await mined(await chain.send(0, to="0x" + "ab" * 20, value=5))
        kinds["storage write (1559)"] = await mined(
            await chain.send(2, to=store, data=word(1) + word(7))
        )
        listed = [{"address": to_checksum_address(store), "storageKeys": ["0x" + word(2).hex()]}]
        kinds["storage write (2930)"] = await mined(
            await chain.send(1, to=store, data=word(2) + word(8), access_list=listed)
        )
        # No SSTORE of zero: anvil keeps such slots in its trie, a block no guest can prove.
        kinds["storage overwrite (1559)"] = await mined(
            await chain.send(2, to=store, data=word(1) + word(11))
        )
        kinds["blockhash"] = await mined(await chain.send(2, to=hasher, data=word(2)))
        await rpc.call("evm_setAutomine", [False])
        other = Chain(rpc, ANVIL_DEV_KEYS[1])
        await chain.send(2, to=store, data=word(3) + word(3), automine=False)
        await other.send(0, to="0x" + "cd" * 20, value=7, automine=False)
        await other.send(2, to=None, data=init_code(STORE_RUNTIME), automine=False)
        await rpc.call("evm_mine", [])
        kinds["mixed"] = await rpc.block_number()
        yield chain, kinds


async def test_synthesized_witnesses_convert_for_every_transaction_kind(
    blocks: tuple[Chain, dict[str, int]],
) -> None:
    chain, kinds = blocks
    for kind, number in kinds.items():
        block = await chain.block(number)
        witness = await fetch_witness(chain.rpc, number, block, WitnessSourceMode.AUTO)
        verify_witness_json(witness, block)  # type: ignore[arg-type]
        converted = witness_from_json(witness, block_number=number, chain_config=ANVIL_CHAIN)
        assert converted.state_trie_root is not None, kind
        block_from_json(block)


@pytest.fixture
def input_builder() -> tuple[Any, Any]:
    """(``build_input``, the default guest profile); skips while the input builder is absent."""
    try:
        build = importlib.import_module("ethproofs_daemon.inputs.build")
        profiles = importlib.import_module("ethproofs_daemon.inputs.profiles")
    except ModuleNotFoundError as exc:
        pytest.skip(f"ethproofs_daemon.inputs.build is not there yet ({exc})")
    return build.build_input, profiles.load_profiles()[ETHREX_014_PROFILE]


async def test_synthesized_witnesses_build_a_guest_input(
    input_builder: tuple[Any, Any], blocks: tuple[Chain, dict[str, int]]
) -> None:
    build_input, profile = input_builder
    chain, kinds = blocks
    for kind, number in kinds.items():
        block = await chain.block(number)
        witness = await fetch_witness(chain.rpc, number, block, WitnessSourceMode.AUTO)
        data = build_input(block, witness, profile, ANVIL_CHAIN)
        assert isinstance(data, bytes) and len(data) > 1000, kind
