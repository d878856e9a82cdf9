"""Operating the daemon (issue 5): metrics after a proof, logs, Slack, graceful shutdown.

Real daemon process, replay node with real hive data, stand-in cargo-zisk, stand-in EthProofs API
and stand-in Slack webhook (``tests/standins/``; the real ones are remote or need a GPU).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import trio
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon_process import daemon_process
from tests.standins.ethproofs_api import run_standin_ethproofs
from tests.standins.replay_node import ReplayState, run_replay_node
from tests.standins.slack import run_standin_slack
from tests.test_end_to_end import API_KEY, _enqueue, _env, _proved, _wait_reports

ADMIN_TOKEN = "admin-token-5f2c9d7e"
BLOCK = 0x2D


async def test_metrics_logs_and_slack_after_a_proved_block(
    tmp_path: Path, hive: ReplayState
) -> None:
    async with (
        run_replay_node(hive) as rpc_url,
        run_standin_ethproofs() as (api_url, api),
        run_standin_slack() as (slack_url, slack),
    ):
        env = _env(tmp_path, rpc_url, api_url, SLACK_WEBHOOK=slack_url, ADMIN_TOKEN=ADMIN_TOKEN,
                   BLOCK_INTERVAL="1000000")
        async with daemon_process(env, tmp_path) as daemon:
            await _enqueue(daemon.url, BLOCK)
            await daemon.wait_for(lambda d: _proved(d, (BLOCK,)), timeout_s=60)
            await _wait_reports(api, (BLOCK,))
            with trio.fail_after(30):
                while not any("proved and submitted" in h for h in slack.headlines()):
                    await trio.sleep(0.1)
            metrics_text = (await daemon.get("/metrics")).text
            assert await daemon.stop() == 0

    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(metrics_text)
        for s in family.samples
    }
    def value(name: str, **labels: str) -> float:
        for family in text_string_to_metric_families(metrics_text):
            for s in family.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return float(s.value)
        raise AssertionError(f"{name}{labels} missing")

    assert value("ethproofs_daemon_chain_head_block") >= BLOCK
    assert value("ethproofs_daemon_last_proved_block") == BLOCK
    assert value("ethproofs_daemon_jobs", state="proved") == 1
    assert value("ethproofs_daemon_proving_duration_seconds_count") == 1
    assert value("ethproofs_daemon_proof_size_bytes_sum") > 0
    assert value("ethproofs_daemon_input_size_bytes_sum") > 1000
    assert value("ethproofs_daemon_input_build_duration_seconds_count") == 1
    assert value("ethproofs_daemon_witness_fetch_duration_seconds_count") == 1
    assert value("ethproofs_daemon_ethproofs_requests_total", endpoint="proved",
                 outcome="delivered") == 1
    assert value("ethproofs_daemon_prover_exits_total", reason="ok") == 1
    assert value("ethproofs_daemon_process_resident_memory_bytes") > 10 * 2**20
    assert not any("block_number" in name for name in samples)

    lines = daemon.logs().splitlines()
    records = [json.loads(line) for line in lines]  # every line is JSON
    text = "\n".join(lines)
    for secret in (API_KEY, ADMIN_TOKEN, slack_url):
        assert secret not in text
    job_events = [r for r in records if r["event"] in {"proving_started", "block_proved",
                                                      "input_ready", "zisk_prove_started"}]
    assert {"proving_started", "block_proved", "input_ready"} <= {r["event"] for r in job_events}
    for record in job_events:
        assert record["block_number"] == BLOCK and record["proof_type"] == "ethrex-zisk"
        assert isinstance(record["job_id"], int)

    proved_message = next(i for i, h in enumerate(slack.headlines()) if "proved and submitted" in h)
    fields = slack.fields(proved_message)
    assert "Proving time" in fields and "Gas used" in fields and "Tx count" in fields


async def test_sigterm_during_proof_exits_0_and_the_job_resumes(
    tmp_path: Path, hive: ReplayState
) -> None:
    async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
        slow = _env(tmp_path, rpc_url, api_url, STANDIN_ZISK_DELAY_S="30",
                    SHUTDOWN_TIMEOUT_SECONDS="1", BLOCK_INTERVAL="1000000")
        async with daemon_process(slow, tmp_path, "first") as daemon:
            await _enqueue(daemon.url, BLOCK)
            await daemon.wait_for(lambda d: d["current"] is not None, timeout_s=60)
            started = time.monotonic()
            assert await daemon.stop(timeout_s=30) == 0
            assert time.monotonic() - started < 20
        assert "proving_interrupted_by_shutdown" in daemon.logs()
        fast = {**slow, "STANDIN_ZISK_DELAY_S": "0.1"}
        async with daemon_process(fast, tmp_path, "second") as daemon:
            await daemon.wait_for(lambda d: _proved(d, (BLOCK,)), timeout_s=60)
            await _wait_reports(api, (BLOCK,))
            assert await daemon.stop() == 0
    kinds = [k for (b, k) in api.sequence() if b == BLOCK]
    assert kinds[0] == "queued" and kinds.count("proved") == 1 and kinds[-1] == "proved"
    assert "proving" in kinds[:-1]


async def test_sigterm_lets_a_short_proof_finish_and_drains_its_report(
    tmp_path: Path, hive: ReplayState
) -> None:
    async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
        env = _env(tmp_path, rpc_url, api_url, STANDIN_ZISK_DELAY_S="2",
                   SHUTDOWN_TIMEOUT_SECONDS="15", BLOCK_INTERVAL="1000000")
        async with daemon_process(env, tmp_path) as daemon:
            await _enqueue(daemon.url, BLOCK)
            await daemon.wait_for(lambda d: d["current"] is not None, timeout_s=60)
            assert await daemon.stop(timeout_s=40) == 0
    assert [k for (b, k) in api.sequence() if b == BLOCK] == ["queued", "proving", "proved"]


async def test_child_that_cannot_start_fails_the_tree_with_exit_1(tmp_path: Path) -> None:
    """The HTTP port is taken: the supervisor cannot start its http child and the daemon exits
    1 (not 0, not a hang) so that systemd or Kubernetes restarts it."""
    import os
    import socket
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ETH", "ZISK"))}
        env.update({"ETH_RPC_URL": "http://127.0.0.1:9/", "PROVER_BACKEND": "simulated",
                    "HEALTH_HOST": "127.0.0.1", "HEALTH_PORT": str(port), "LOG_FORMAT": "json",
                    "STATE_DIR": str(tmp_path / "state"), "OUTPUT_DIR": str(tmp_path / "out")})
        with trio.fail_after(60):
            result = await trio.run_process(
                [sys.executable, "-m", "ethproofs_daemon", "run"], env=env, check=False,
                capture_stdout=True, capture_stderr=True, cwd=tmp_path)
    assert result.returncode == 1
    assert b"child_start_failed" in result.stderr and b"daemon_failed" in result.stderr
