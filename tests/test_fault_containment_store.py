"""Issue 10: ``database is locked`` past the busy timeout neither kills the daemon nor costs a
finished proof.

Real daemon process, real SQLite: the test takes the database's write lock itself
(``BEGIN IMMEDIATE`` on its own connection) while the stand-in cargo-zisk proves, and holds it
past the daemon's busy timeout (5 s). Replay node with hive data, stand-in EthProofs API.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import trio

from tests.daemon_process import DaemonProcess, daemon_process
from tests.standins.ethproofs_api import run_standin_ethproofs
from tests.standins.replay_node import ReplayState, run_replay_node
from tests.test_end_to_end import _enqueue, _env, _proved, _wait_reports
from tests.test_fault_containment_disk import BLOCK, assert_proved_once, wait_log


async def store_status(daemon: DaemonProcess) -> dict[str, Any]:
    """``/health``'s store component. A generous timeout: while the database is locked, each of
    the daemon's (synchronous) store writes holds its event loop for the busy timeout."""
    async with httpx.AsyncClient(timeout=60) as client:
        doc = (await client.get(f"{daemon.url}/health")).json()
    store: dict[str, Any] = doc["components"]["store"]
    return store


async def wait_store(daemon: DaemonProcess, status: str, timeout_s: float = 90
                     ) -> dict[str, Any]:
    with trio.fail_after(timeout_s):
        while (store := await store_status(daemon))["status"] != status:
            await trio.sleep(0.2)
    return store


async def test_locked_database_after_a_proof_keeps_the_proof_and_records_it_later(
    tmp_path: Path, hive: ReplayState
) -> None:
    async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
        env = _env(tmp_path, rpc_url, api_url, STANDIN_ZISK_DELAY_S="2",
                   BLOCK_INTERVAL="1000000")
        async with daemon_process(env, tmp_path) as daemon:
            await _enqueue(daemon.url, BLOCK)
            with trio.fail_after(60):
                while (BLOCK, "proving") not in api.sequence():
                    await trio.sleep(0.05)
            lock = sqlite3.connect(tmp_path / "state" / "ethproofs-daemon.sqlite", timeout=10,
                                   isolation_level=None)
            try:
                lock.execute("BEGIN IMMEDIATE")
                failed = await wait_log(daemon, "job_outcome_not_stored", outcome="proved")
                assert "database is locked" in failed["error"]
                assert (await wait_store(daemon, "down"))["error"] == "database is locked"
                assert daemon.process.returncode is None
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            await daemon.wait_for(lambda d: _proved(d, (BLOCK,)), timeout_s=90)
            await _wait_reports(api, (BLOCK,))
            await wait_store(daemon, "up")
            assert await daemon.stop() == 0
    assert_proved_once(daemon, api)
