"""End to end: the real daemon process, a replay node with real hive blocks and witnesses, the
real ethrex input codec, the stand-in cargo-zisk (v0.14 contract, ``tests/standins/cargo_zisk.py``)
and the stand-in EthProofs API (``tests/standins/ethproofs_api.py``).

cargo-zisk needs a GPU and EthProofs is remote, so those two are stand-ins that follow the
documented contracts (``../shared/docs/zisk.md``, ``../shared/docs/ethproofs-api.md``), failure
modes included. Everything else is real: processes, HTTP on 127.0.0.1, SQLite files, signals.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import trio

from tests.daemon_process import daemon_process
from tests.standins.ethproofs_api import EthProofsState, run_standin_ethproofs
from tests.standins.replay_node import ReplayState, run_replay_node
from tests.standins.zisk import end_pids, make_standin_cargo_zisk, pid_alive, read_pid

API_KEY = "test-key-0123456789abcdef"
CLUSTER = 7
HIVE_BLOCKS = (0x1, 0x2D)


def _env(tmp_path: Path, rpc_url: str, api_url: str | None, **extra: str) -> dict[str, str]:
    exe = make_standin_cargo_zisk(tmp_path)
    elf = tmp_path / "guest.elf"
    elf.write_bytes(b"\x7fELF stand-in guest for tests")
    env = {
        "ETH_RPC_URL": rpc_url,
        "ELF_PATH": str(elf),
        "ALLOW_UNKNOWN_ELF": "1",
        "CARGO_ZISK": str(exe),
        "STATE_DIR": str(tmp_path / "state"),
        "OUTPUT_DIR": str(tmp_path / "output"),
        "BLOCK_INTERVAL": "45",
        "START_BLOCK": "1",
        "POLL_INTERVAL_SECONDS": "0.05",
        "RETRY_BASE_SECONDS": "0.2",
        "SHUTDOWN_TIMEOUT_SECONDS": "5",
        "STANDIN_ZISK_DELAY_S": "0.1",
        "STANDIN_ZISK_HELPER_PIDFILE": str(tmp_path / "helper.pid"),
        "STANDIN_ZISK_HELPER_LIFETIME_S": "60",
    }
    if api_url is not None:
        env.update({"ETHPROOFS_RPC_URL": api_url, "ETHPROOFS_API_KEY": API_KEY,
                    "ETHPROOFS_CLUSTER_ID": str(CLUSTER)})
    env.update(extra)
    return env


async def _enqueue(url: str, *blocks: int) -> None:
    result = await trio.run_process(
        [sys.executable, "-m", "ethproofs_daemon", "enqueue", "--url", url,
         *map(str, blocks)], capture_stdout=True, capture_stderr=True, check=False)
    assert result.returncode == 0, result.stderr.decode()


def _proved(doc: dict[str, Any], blocks: tuple[int, ...]) -> bool:
    states = {j["block_number"]: j["state"] for j in doc["recent"]}
    return all(states.get(b) == "proved" for b in blocks)


def _reports_done(api: EthProofsState, blocks: tuple[int, ...]) -> bool:
    return all((b, "proved") in api.sequence() for b in blocks)


async def _wait_reports(api: EthProofsState, blocks: tuple[int, ...], timeout_s: float = 60
                        ) -> None:
    with trio.fail_after(timeout_s):
        while not _reports_done(api, blocks):
            await trio.sleep(0.1)


async def test_hive_blocks_are_proved_and_reported_in_order(
    tmp_path: Path, hive: ReplayState
) -> None:
    async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
        env = _env(tmp_path, rpc_url, api_url)
        async with daemon_process(env, tmp_path) as daemon:
            await _enqueue(daemon.url, 0x1)  # block 45 (0x2d) is a target: 45 % 45 == 0
            await daemon.wait_for(lambda d: _proved(d, HIVE_BLOCKS), timeout_s=90)
            await _wait_reports(api, HIVE_BLOCKS)
            assert await daemon.stop() == 0
    for block in HIVE_BLOCKS:
        kinds = [kind for (b, kind) in api.sequence() if b == block]
        assert kinds == ["queued", "proving", "proved"], (block, kinds)
        proved = next(r.body for r in api.accepted("proved") if r.body["block_number"] == block)
        out = tmp_path / "output" / str(block)
        proof_file = out / "vadcop_final_proof.compressed.bin"
        assert base64.b64decode(proved["proof"]) == proof_file.read_bytes()
        assert isinstance(proved["proving_time"], int) and proved["proving_time"] > 0
        assert proved["cluster_id"] == CLUSTER
        assert proved["verifier_id"] and proved.get("proving_cycles", 1) > 0
        assert (out / f"{block}.json").is_file() and (out / "result.json").is_file()
        assert all(r.authorization == f"Bearer {API_KEY}" for r in api.received)


async def test_kill_9_during_proof_resumes_and_reports_proved_once(
    tmp_path: Path, hive: ReplayState
) -> None:
    helper_pidfile = tmp_path / "helper.pid"
    pids: list[int] = []
    try:
        async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
            slow = _env(tmp_path, rpc_url, api_url, STANDIN_ZISK_DELAY_S="30",
                        BLOCK_INTERVAL="1000000")
            async with daemon_process(slow, tmp_path, "first") as daemon:
                await _enqueue(daemon.url, 0x2D)
                doc = await daemon.wait_for(
                    lambda d: d["current"] is not None and helper_pidfile.exists(), 120)
                assert doc["current"]["block_number"] == 0x2D
                helper = read_pid(helper_pidfile)
                assert helper is not None
                pids.append(helper)
                os.kill(daemon.process.pid, signal.SIGKILL)
                await daemon.process.wait()
            assert pid_alive(helper), "the stand-in's helper outlives a SIGKILL of the daemon"
            helper_pidfile.unlink()
            fast = {**slow, "STANDIN_ZISK_DELAY_S": "0.1"}
            async with daemon_process(fast, tmp_path, "second") as daemon:
                await daemon.wait_for(lambda d: _proved(d, (0x2D,)), timeout_s=60)
                await _wait_reports(api, (0x2D,))
                assert await daemon.stop() == 0
            with trio.fail_after(30):
                while pid_alive(helper):
                    await trio.sleep(0.05)
        proved = [b for (b, kind) in api.sequence() if kind == "proved"]
        assert proved == [0x2D]
        orphan = [json.loads(line) for line in (tmp_path / "second.log").read_text().splitlines()
                  if '"orphan_prover_killed"' in line]
        assert [o["killed"] for o in orphan] == [True]
    finally:
        new_helper = read_pid(helper_pidfile)
        end_pids(pids + ([new_helper] if new_helper else []))


async def test_reports_survive_api_500_and_429_and_arrive_in_order(
    tmp_path: Path, hive: ReplayState
) -> None:
    state = EthProofsState(fail_next_500=4, fail_next_429=2, retry_after="1")
    async with (
        run_replay_node(hive) as rpc_url,
        run_standin_ethproofs(state) as (api_url, api),
        daemon_process(_env(tmp_path, rpc_url, api_url), tmp_path) as daemon,
    ):
        await _enqueue(daemon.url, 0x1)
        await daemon.wait_for(lambda d: _proved(d, HIVE_BLOCKS), timeout_s=90)
        await _wait_reports(api, HIVE_BLOCKS, timeout_s=120)
        assert await daemon.stop() == 0
    assert 500 in api.statuses() and 429 in api.statuses()
    for block in HIVE_BLOCKS:
        assert [k for (b, k) in api.sequence() if b == block] == ["queued", "proving", "proved"]


async def test_hung_prover_is_killed_with_its_group_and_retried_within_budget(
    tmp_path: Path, hive: ReplayState
) -> None:
    helper_pidfile = tmp_path / "helper.pid"
    env = _env(tmp_path, "http://127.0.0.1:9/", None, STANDIN_ZISK_HANG="1",
               PROVING_TIMEOUT_SECONDS="1.5", MAX_ATTEMPTS="2", BLOCK_INTERVAL="1000000")
    hive.head = hive.max_head
    async with run_replay_node(hive) as rpc_url:
        env["ETH_RPC_URL"] = rpc_url
        async with daemon_process(env, tmp_path) as daemon:
            await _enqueue(daemon.url, 0x2D)
            doc = await daemon.wait_for(
                lambda d: (j := daemon.job(d, 0x2D)) is not None and j["state"] == "failed"
                and j["attempts"] == 2 and j["next_attempt_at"] is None, timeout_s=60)
            job = daemon.job(doc, 0x2D)
            assert job is not None and job["failure_reason"] == "proving_timeout", job["error"]
            helper = read_pid(helper_pidfile)
            try:
                assert helper is not None and not pid_alive(helper)
            finally:
                end_pids([helper] if helper else [])
            failures = [line for line in daemon.logs().splitlines()
                        if '"proving_failed"' in line and "prover.actor" in line]
            assert len(failures) == 2
            assert await daemon.stop() == 0


async def test_no_ethproofs_settings_proves_and_reports_nothing(
    tmp_path: Path, hive: ReplayState
) -> None:
    async with (
        run_replay_node(hive) as rpc_url,
        daemon_process(_env(tmp_path, rpc_url, None), tmp_path) as daemon,
    ):
        await daemon.wait_for(lambda d: _proved(d, (0x2D,)), timeout_s=60)
        health = (await daemon.get("/health")).json()
        assert health["components"]["reporter"]["enabled"] is False
        assert await daemon.stop() == 0
    assert '"level": "error"' not in daemon.logs()


async def test_execute_mode_ends_jobs_executed_never_proved_and_reports_nothing(
    tmp_path: Path, hive: ReplayState
) -> None:
    """Issue 11: ``ZISK_ACTION=execute`` runs ``cargo-zisk execute``; the job ends in its own
    state ``executed`` with its cycles, and nothing (status, metrics, health, EthProofs) counts
    it as proved."""
    from prometheus_client.parser import text_string_to_metric_families

    async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
        env = _env(tmp_path, rpc_url, api_url, ZISK_ACTION="execute")
        async with daemon_process(env, tmp_path) as daemon:
            doc = await daemon.wait_for(
                lambda d: (daemon.job(d, 0x2D) or {}).get("state") == "executed", timeout_s=60)
            metrics_text = (await daemon.get("/metrics")).text
            health = (await daemon.get("/health")).json()
            assert await daemon.stop() == 0
    job = daemon.job(doc, 0x2D)
    assert job is not None and job["cycles"] and job["cycles"] > 0
    assert doc["counts"]["executed"] >= 1 and doc["counts"]["proved"] == 0
    samples = [s for family in text_string_to_metric_families(metrics_text)
               for s in family.samples]
    jobs_gauge = {s.labels["state"]: s.value for s in samples
                  if s.name == "ethproofs_daemon_jobs"}
    assert jobs_gauge["executed"] >= 1 and jobs_gauge["proved"] == 0
    assert not [s for s in samples if s.name == "ethproofs_daemon_last_proved_block"]
    assert health["components"]["prover"]["proved_count"] == 0
    assert health["components"]["jobs"]["executed"] >= 1
    assert api.received == []


def test_invalid_configuration_exits_2_listing_every_problem(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETH", "ZISK"))}
    env.update({"HEALTH_PORT": "70000", "BLOCK_INTERVAL": "zero", "ETHPROOFS_API_KEY": "k"})
    proc = subprocess.run([sys.executable, "-m", "ethproofs_daemon", "run"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    for name in ("HEALTH_PORT", "BLOCK_INTERVAL", "ETH_RPC_URL", "ELF_PATH",
                 "ETHPROOFS_RPC_URL"):
        assert name in proc.stderr
    assert not (tmp_path / "state").exists(), "nothing starts on a configuration error"
