"""Real-time proving through the coordinator (issue 13): the real daemon following a real anvil
node with ``BLOCK_INTERVAL=1`` (every block a target), synthesized witnesses, the ethrex codec
framed for ZisK 1.1 (an operator manifest), the stand-in coordinator (real gRPC on 127.0.0.1)
and the stand-in EthProofs API: every block proved once, reports in order, register once, setup
once."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from ethproofs_daemon.demo.anvil import ANVIL_GENESIS_CONFIG, AnvilNode
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from tests.daemon_process import daemon_process
from tests.standins.ethproofs_api import run_standin_ethproofs
from tests.standins.zisk_coordinator import ZiskCoordinatorStandin
from tests.test_end_to_end import API_KEY, CLUSTER, _proved, _wait_reports
from tests.test_end_to_end_coordinator import coordinator  # noqa: F401  (fixture)
from tests.test_end_to_end_series import _framed_manifest


async def test_every_anvil_block_is_proved_once_through_the_coordinator(
    tmp_path: Path, anvil: AnvilNode, coordinator: ZiskCoordinatorStandin  # noqa: F811
) -> None:
    async with JsonRpcClient(RpcEndpoint(anvil.url)) as rpc:
        await rpc.call("anvil_mine", ["0x2"])
        start = await rpc.block_number() + 1
        genesis = tmp_path / "genesis.json"
        genesis.write_text(json.dumps({"config": ANVIL_GENESIS_CONFIG}))
        elf = tmp_path / "guest.elf"
        elf.write_bytes(b"\x7fELF stand-in guest for tests")
        async with run_standin_ethproofs() as (api_url, api):
            env = {
                "ETH_RPC_URL": anvil.url, "PROVER_BACKEND": "zisk-coordinator",
                "ZISK_COORDINATOR_URL": f"http://{coordinator.target}",
                "ZISK_COORDINATOR_RETRY_SECONDS": "0.1", "MAX_CONCURRENT_PROOFS": "2",
                "ELF_PATH": str(elf), "ALLOW_UNKNOWN_ELF": "1",
                "ETHPROOFS_GUEST_MANIFEST": str(_framed_manifest(tmp_path, "1.1.0-alpha")),
                "GUEST_PROFILE": "ethrex-framed", "CHAIN": str(genesis),
                "WITNESS_SOURCE": "synthesize", "BLOCK_INTERVAL": "1", "START_BLOCK": str(start),
                "POLL_INTERVAL_SECONDS": "0.05", "RETRY_BASE_SECONDS": "0.2",
                "STATE_DIR": str(tmp_path / "state"), "OUTPUT_DIR": str(tmp_path / "output"),
                "ETHPROOFS_RPC_URL": api_url, "ETHPROOFS_API_KEY": API_KEY,
                "ETHPROOFS_CLUSTER_ID": str(CLUSTER), "SHUTDOWN_TIMEOUT_SECONDS": "2",
            }  # fmt: skip
            async with daemon_process(env, tmp_path) as daemon:
                for _ in range(5):  # five new heads, one block each
                    await rpc.call("evm_mine", [])
                    await trio.sleep(0.2)
                blocks = tuple(range(start, start + 5))
                await daemon.wait_for(lambda d: _proved(d, blocks), timeout_s=120)
                await _wait_reports(api, blocks)
                assert await daemon.stop() == 0
    for block in blocks:
        kinds = [kind for (b, kind) in api.sequence() if b == block]
        assert kinds == ["queued", "proving", "proved"], (block, kinds)
    assert len(coordinator.calls("RegisterGuestProgram")) == 1
    assert len(coordinator.setup_requests()) == 1
    assert len(coordinator.prove_requests()) == len(blocks)  # each block proved once
