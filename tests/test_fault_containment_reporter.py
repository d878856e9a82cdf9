"""Issue 10: a reporter crash does not touch a running proof (the root supervisor is
``one_for_one``), and the crash is logged once with its traceback and its block.

Real daemon process (``tests/ops/faulty_daemon.py``: the reporter raises an unexpected exception
the first time it posts a ``proving`` report, i.e. while the proof runs), replay node with real
hive data, stand-in cargo-zisk and stand-in EthProofs API.
"""

from __future__ import annotations

from pathlib import Path

from tests.ops.faults import faulty_daemon, log_records
from tests.standins.ethproofs_api import run_standin_ethproofs
from tests.standins.replay_node import ReplayState, run_replay_node
from tests.test_end_to_end import _enqueue, _env, _proved, _wait_reports

BLOCK = 0x2D


async def test_reporter_crash_during_a_proof_leaves_the_proof_running(
    tmp_path: Path, hive: ReplayState
) -> None:
    async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
        env = _env(tmp_path, rpc_url, api_url, STANDIN_ZISK_DELAY_S="4",
                   SHUTDOWN_TIMEOUT_SECONDS="1", BLOCK_INTERVAL="1000000",
                   FAULT_RAISE_ON_REPORT="proving")
        async with faulty_daemon(env, tmp_path) as daemon:
            await _enqueue(daemon.url, BLOCK)
            await daemon.wait_for(lambda d: _proved(d, (BLOCK,)), timeout_s=90)
            await _wait_reports(api, (BLOCK,))
            assert await daemon.stop() == 0

    assert [k for (b, k) in api.sequence() if b == BLOCK] == ["queued", "proving", "proved"]
    records = log_records(daemon)
    restarts = [r for r in records if r["event"] == "child_restarting"]
    assert [r["child"] for r in restarts] == ["reporter"]
    assert restarts[0]["restarting"] == ["reporter"]
    started = [r for r in records if r["event"] == "proving_started"
               and r["logger"] == "ethproofs_daemon.prover.actor"]
    assert len(started) == 1, "the proof ran once, uninterrupted"
    assert not any(r["event"] == "proving_interrupted_by_shutdown" for r in records)


async def test_a_crash_is_logged_once_with_its_traceback_and_block(
    tmp_path: Path, hive: ReplayState
) -> None:
    async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
        env = _env(tmp_path, rpc_url, api_url, BLOCK_INTERVAL="1000000",
                   FAULT_RAISE_ON_REPORT="queued")
        async with faulty_daemon(env, tmp_path) as daemon:
            await _enqueue(daemon.url, BLOCK)
            await daemon.wait_for(lambda d: _proved(d, (BLOCK,)), timeout_s=90)
            await _wait_reports(api, (BLOCK,))
            assert await daemon.stop() == 0

    records = log_records(daemon)
    with_traceback = [r for r in records if "injected fault" in r.get("exception", "")]
    assert len(with_traceback) == 1, "logged once"
    crash = with_traceback[0]
    assert crash["event"] == "child_restarting" and crash["child"] == "reporter"
    assert crash["exception"].startswith("Traceback (most recent call last):")
    assert "post_status" in crash["exception"]
    assert crash["block_number"] == BLOCK and crash["report_kind"] == "queued"
    assert isinstance(crash["row_id"], int)
    assert [k for (b, k) in api.sequence() if b == BLOCK] == ["queued", "proving", "proved"]
