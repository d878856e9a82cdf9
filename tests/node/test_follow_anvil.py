"""The daemon following a real anvil node (npm ``@foundry-rs/anvil-linux-amd64``, 127.0.0.1).

anvil does not serve ``debug_executionWitness``: with ``WITNESS_SOURCE=debug`` the daemon must
say so clearly (job state, ``/health``, logs) without a crash loop; with ``auto`` it falls back to
synthesized witnesses and proves (with the simulated prover: no GPU here).
"""

from __future__ import annotations

import json
from pathlib import Path

import trio

from ethproofs_daemon.demo.anvil import ANVIL_GENESIS_CONFIG, AnvilNode
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from tests.daemon_process import daemon_process


def _env(tmp_path: Path, anvil: AnvilNode, **extra: str) -> dict[str, str]:
    genesis = tmp_path / "anvil-genesis.json"
    genesis.write_text(json.dumps({"config": ANVIL_GENESIS_CONFIG}))
    return {
        "ETH_RPC_URL": anvil.url,
        "PROVER_BACKEND": "simulated",
        "SIMULATED_PROVING_SECONDS": "0.1",
        "STATE_DIR": str(tmp_path / "state"),
        "OUTPUT_DIR": str(tmp_path / "output"),
        "BLOCK_INTERVAL": "4",
        "POLL_INTERVAL_SECONDS": "0.1",
        "RETRY_BASE_SECONDS": "60",
        "CHAIN": str(genesis),
        **extra,
    }


async def _mine(anvil: AnvilNode, blocks: int) -> int:
    async with JsonRpcClient(RpcEndpoint(anvil.url)) as rpc:
        await rpc.call("anvil_mine", [hex(blocks)])
        return await rpc.block_number()


async def test_targets_follow_anvil_head_and_missing_witness_method_is_reported(
    tmp_path: Path, anvil: AnvilNode
) -> None:
    await _mine(anvil, 2)
    env = _env(tmp_path, anvil, WITNESS_SOURCE="debug", START_BLOCK="4")
    async with daemon_process(env, tmp_path) as daemon:
        head = await _mine(anvil, 10)
        targets = list(range(4, head + 1, 4))
        doc = await daemon.wait_for(
            lambda d: sum(j["state"] == "failed" for j in d["recent"]) >= len(targets),
            timeout_s=30)
        failed = sorted(j["block_number"] for j in doc["recent"] if j["state"] == "failed")
        assert failed == targets
        assert all(j["failure_reason"] == "witness_unavailable" for j in doc["recent"])
        assert all("debug_executionWitness" in (j["error"] or "") for j in doc["recent"])
        health = await daemon.get("/health")
        body = health.json()
        assert health.status_code == 503 and body["status"] == "degraded"
        generator = body["components"]["input_generator"]
        assert generator["head"] >= head
        assert any("execution witnesses" in w for w in generator["warnings"])
        assert (await daemon.get("/health/live")).status_code == 200
        assert await daemon.stop() == 0
    logs = daemon.logs()
    assert '"input_generation_failed"' in logs and '"witness_unavailable"' in logs
    assert "child_restarting" not in logs, "a missing method is not a crash loop"


async def test_auto_witness_source_falls_back_to_synthesis_and_proves(
    tmp_path: Path, anvil: AnvilNode
) -> None:
    await _mine(anvil, 2)
    env = _env(tmp_path, anvil, WITNESS_SOURCE="auto", START_BLOCK="4")
    async with daemon_process(env, tmp_path) as daemon:
        await _mine(anvil, 9)
        with trio.fail_after(60):
            doc = await daemon.wait_for(
                lambda d: {j["block_number"]: j["state"] for j in d["recent"]}.get(8)
                == "proved", timeout_s=60)
        states = {j["block_number"]: j["state"] for j in doc["recent"]}
        assert states[4] == "proved", doc["recent"]
        assert await daemon.stop() == 0
    assert (tmp_path / "output" / "8" / "simulated_proof.bin").is_file()


async def test_eth_ws_url_new_heads_drive_the_daemon_without_polling(
    tmp_path: Path, anvil: AnvilNode
) -> None:
    await _mine(anvil, 2)
    ws_url = anvil.url.replace("http://", "ws://", 1)
    # polling once an hour: only the newHeads subscription can make the targets appear in time
    env = _env(tmp_path, anvil, WITNESS_SOURCE="synthesize", START_BLOCK="4",
               ETH_WS_URL=ws_url, POLL_INTERVAL_SECONDS="3600")
    async with daemon_process(env, tmp_path) as daemon:
        for _ in range(6):
            await _mine(anvil, 1)
            await trio.sleep(0.3)
        with trio.fail_after(60):
            doc = await daemon.wait_for(
                lambda d: {j["block_number"]: j["state"] for j in d["recent"]}.get(8)
                == "proved", timeout_s=60)
        assert {j["block_number"] for j in doc["recent"]} >= {4, 8}
        assert await daemon.stop() == 0
