"""ADMIN_ALLOWED_HOSTS reaches the running daemon's admin API: a configured name is accepted as
``Host`` for a mutation, a name not configured is refused (real daemon process, loopback)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.daemon_process import daemon_process
from tests.standins.replay_node import ReplayState, run_replay_node


async def test_admin_allowed_hosts_setting_is_used_by_the_daemon(
    tmp_path: Path, hive: ReplayState
) -> None:
    async with run_replay_node(hive) as node_url:
        env = {
            "ETH_RPC_URL": node_url,
            "PROVER_BACKEND": "simulated",
            "STATE_DIR": str(tmp_path / "state"),
            "OUTPUT_DIR": str(tmp_path / "output"),
            "BLOCK_INTERVAL": "1000000",
            "ADMIN_ALLOWED_HOSTS": "prover.internal,127.0.0.1",
        }
        async with daemon_process(env, tmp_path) as daemon, httpx.AsyncClient() as http:
            body = {"blocks": [1]}
            ok = await http.post(f"{daemon.url}/admin/jobs", json=body,
                                 headers={"Host": "prover.internal"})
            foreign = await http.post(f"{daemon.url}/admin/jobs", json=body,
                                      headers={"Host": "localhost"})
            assert await daemon.stop() == 0
    assert ok.status_code == 201, ok.text
    assert foreign.status_code == 403, foreign.text
