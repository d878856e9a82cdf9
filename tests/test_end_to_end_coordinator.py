"""End to end with ``PROVER_BACKEND=zisk-coordinator``: the real daemon process, the replay node
with the real hive blocks and witnesses, the real ethrex codec (framed for ZisK 1.1 by an
operator manifest), the stand-in ZisK coordinator (a real gRPC server on 127.0.0.1,
``tests/standins/zisk_coordinator.py``) and the stand-in EthProofs API.

- every block is proved once, reports arrive in order, the ELF is registered once and set up
  once, and the ``proved`` report carries the documented transform of ``get_proof_u64``, the
  coordinator's ``duration`` (ms), ``steps`` and job id;
- ``kill -9`` of the daemon while both blocks prove on the coordinator: the restarted daemon
  collects the two results, sends no second prove request, reports each block proved once.
"""

from __future__ import annotations

import base64
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.daemon_process import daemon_process
from tests.standins import zisk_proof_encoders as enc
from tests.standins.ethproofs_api import run_standin_ethproofs
from tests.standins.replay_node import ReplayState, run_replay_node
from tests.standins.zisk_coordinator import StandinSettings, ZiskCoordinatorStandin
from tests.test_end_to_end import API_KEY, CLUSTER, HIVE_BLOCKS, _enqueue, _proved, _wait_reports
from tests.test_end_to_end_series import _framed_manifest


@pytest.fixture
def coordinator() -> Iterator[ZiskCoordinatorStandin]:
    standin = ZiskCoordinatorStandin(StandinSettings(partitions=2, setup_s=0.2, prove_s=0.3,
                                                     recovery_s=0.05))
    standin.start()
    yield standin
    standin.stop()


def _env(tmp_path: Path, rpc_url: str, api_url: str, target: str, **extra: str
         ) -> dict[str, str]:
    elf = tmp_path / "guest.elf"
    elf.write_bytes(b"\x7fELF stand-in guest for tests")
    return {
        "ETH_RPC_URL": rpc_url,
        "PROVER_BACKEND": "zisk-coordinator",
        "ZISK_COORDINATOR_URL": f"http://{target}",
        "ZISK_COORDINATOR_RETRY_SECONDS": "0.1",
        "ELF_PATH": str(elf),
        "ALLOW_UNKNOWN_ELF": "1",
        "ETHPROOFS_GUEST_MANIFEST": str(_framed_manifest(tmp_path, "1.1.0-alpha")),
        "GUEST_PROFILE": "ethrex-framed",
        "STATE_DIR": str(tmp_path / "state"),
        "OUTPUT_DIR": str(tmp_path / "output"),
        "BLOCK_INTERVAL": "45",
        "START_BLOCK": "1",
        "POLL_INTERVAL_SECONDS": "0.05",
        "RETRY_BASE_SECONDS": "0.2",
        "SHUTDOWN_TIMEOUT_SECONDS": "2",
        "ETHPROOFS_RPC_URL": api_url,
        "ETHPROOFS_API_KEY": API_KEY,
        "ETHPROOFS_CLUSTER_ID": str(CLUSTER),
        **extra,
    }


def _in_flight(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc.get("in_flight") or [])


async def test_hive_blocks_are_proved_once_on_the_coordinator_and_reported_in_order(
    tmp_path: Path, hive: ReplayState, coordinator: ZiskCoordinatorStandin
) -> None:
    async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
        env = _env(tmp_path, rpc_url, api_url, coordinator.target)
        async with daemon_process(env, tmp_path) as daemon:
            await _enqueue(daemon.url, 0x1)
            await daemon.wait_for(lambda d: _proved(d, HIVE_BLOCKS), timeout_s=90)
            await _wait_reports(api, HIVE_BLOCKS)
            health = (await daemon.get("/health")).json()
            assert health["components"]["prover"]["coordinator"]["reachable"] is True
            assert await daemon.stop() == 0
    assert len(coordinator.calls("RegisterGuestProgram")) == 1
    assert len(coordinator.setup_requests()) == 1
    assert len(coordinator.prove_requests()) == len(HIVE_BLOCKS)
    for block in HIVE_BLOCKS:
        kinds = [kind for (b, kind) in api.sequence() if b == block]
        assert kinds == ["queued", "proving", "proved"], (block, kinds)
        proved = next(r.body for r in api.accepted("proved") if r.body["block_number"] == block)
        parts = coordinator.proof_parts(proved["verifier_id"])  # the coordinator's job id
        expected = enc.ethproofs_bytes_v1_d(parts.proof_words, parts.zisk_vk, parts.kind,
                                            parts.publics_full)  # 1.1: no hash tag
        assert base64.b64decode(proved["proof"]) == expected
        assert proved["proving_cycles"] == coordinator.settings.steps
        assert proved["proving_time"] >= int(coordinator.settings.prove_s * 1000) - 10  # ms


async def test_kill_9_while_the_coordinator_proves_collects_the_results_after_restart(
    tmp_path: Path, hive: ReplayState
) -> None:
    standin = ZiskCoordinatorStandin(StandinSettings(partitions=2, setup_s=0.2, prove_s=6.0,
                                                     recovery_s=0.05))
    standin.start()
    try:
        async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
            env = _env(tmp_path, rpc_url, api_url, standin.target, MAX_CONCURRENT_PROOFS="2")
            async with daemon_process(env, tmp_path, "first") as daemon:
                await _enqueue(daemon.url, 0x1)
                doc = await daemon.wait_for(
                    lambda d: len([p for p in _in_flight(d) if p["prover_job_id"]]) == 2, 60)
                assert sorted(p["block_number"] for p in _in_flight(doc)) == list(HIVE_BLOCKS)
                health = (await daemon.get("/health")).json()
                assert len(health["components"]["prover"]["in_flight"]) == 2
                os.kill(daemon.process.pid, signal.SIGKILL)
                await daemon.process.wait()
            assert len(standin.running_jobs()) == 2  # the GPU time goes on
            async with daemon_process(env, tmp_path, "second") as daemon:
                await daemon.wait_for(lambda d: _proved(d, HIVE_BLOCKS), timeout_s=60)
                await _wait_reports(api, HIVE_BLOCKS)
                assert await daemon.stop() == 0
        assert len(standin.prove_requests()) == 2  # no second prove request
        assert standin.calls("CancelJob") == []
        proved = [b for (b, kind) in api.sequence() if kind == "proved"]
        assert sorted(proved) == list(HIVE_BLOCKS)
        for block in HIVE_BLOCKS:
            kinds = [kind for (b, kind) in api.sequence() if b == block]
            assert kinds == ["queued", "proving", "proved"], (block, kinds)
        assert (tmp_path / "second.log").read_text().count('"job_reattaching"') == 2
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(standin.stop)


async def test_an_unreachable_coordinator_degrades_health_and_is_tried_again(
    tmp_path: Path, hive: ReplayState
) -> None:
    closed = "127.0.0.1:9"  # discard port: nothing listens on loopback
    async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, _api):
        env = _env(tmp_path, rpc_url, api_url, closed)
        async with daemon_process(env, tmp_path) as daemon:
            with trio.fail_after(60):
                while True:  # bounded by fail_after
                    reply = await daemon.get("/health")
                    doc = reply.json()
                    if "coordinator_unreachable" in str(doc):
                        break
                    await trio.sleep(0.2)
            assert reply.status_code == 503 and doc["status"] == "degraded"
            metrics = (await daemon.get("/metrics")).text
            assert "ethproofs_daemon_coordinator_up 0.0" in metrics
            assert await daemon.stop() == 0
