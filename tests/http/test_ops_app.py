"""The operations HTTP app in-process (httpx's ASGI transport): health shape, admin rules.

The ASGI transport lets a test choose the client address, which a real loopback server cannot:
that is how the non-loopback refusal is checked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ethproofs_daemon.health import DaemonState
from ethproofs_daemon.http.app import create_ops_app
from ethproofs_daemon.jobs import RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.store import Store

TOKEN = "tok-8c1e0f3a"


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[Store, DaemonState]]:
    store = Store(tmp_path / "db.sqlite")
    state = DaemonState(started_at=time.time(), store_open=True)
    yield store, state
    store.close()


def _client(store: Store, state: DaemonState, host: str, token: str | None = TOKEN
            ) -> httpx.AsyncClient:
    lifecycle = Lifecycle(store, reporting=None, retry=RetryPolicy(), clock=time.time)
    app = create_ops_app(store=store, lifecycle=lifecycle, state=state,
                         metrics=DaemonMetrics(store, state), stuck_threshold_s=3600,
                         admin_token=token)
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://daemon")


async def test_enqueue_from_loopback_needs_no_token(parts: tuple[Store, DaemonState]) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    reply = await client.post("/admin/jobs", json={"blocks": [100, 200]})
    assert reply.status_code == 201
    assert [j["block_number"] for j in reply.json()["jobs"]] == [100, 200]
    assert store.job_for_block(200, "ethrex-zisk") is not None


async def test_enqueue_from_elsewhere_is_refused_without_the_token(
    parts: tuple[Store, DaemonState],
) -> None:
    store, state = parts
    client = _client(store, state, "10.1.2.3")
    assert (await client.post("/admin/jobs", json={"blocks": [1]})).status_code == 403
    wrong = await client.post("/admin/jobs", json={"blocks": [1]},
                        headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = await client.post("/admin/jobs", json={"blocks": [1]},
                     headers={"authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 201
    no_token_configured = _client(store, state, "10.1.2.3", token=None)
    assert (await no_token_configured.post("/admin/jobs", json={"blocks": [2]})).status_code == 403
    assert store.job_for_block(2, "ethrex-zisk") is None


@pytest.mark.parametrize("body", [b"{", b'{"blocks": []}', b'{"blocks": [-1]}',
                                  b'{"blocks": ["x"]}', b'{"blocks": 5}', b"[]"])
async def test_bad_enqueue_bodies_are_400(parts: tuple[Store, DaemonState], body: bytes) -> None:
    store, state = parts
    reply = await _client(store, state, "127.0.0.1").post("/admin/jobs", content=body)
    assert reply.status_code == 400 and "error" in reply.json()


async def test_health_is_unhealthy_until_components_are_up(
    parts: tuple[Store, DaemonState],
) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    first = await client.get("/health")
    assert first.status_code == 503 and first.json()["status"] == "unhealthy"
    state.components_up.update(prover=True, input_generator=True, reporter=True)
    state.heartbeat_at = time.time()
    healthy = await client.get("/health")
    assert healthy.status_code == 200 and healthy.json()["status"] == "healthy"
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/health/ready")).status_code == 503  # HTTP not marked bound here


async def test_stuck_prover_makes_health_degraded(parts: tuple[Store, DaemonState]) -> None:
    store, state = parts
    state.components_up.update(prover=True, input_generator=True, reporter=True)
    state.prover.current_block, state.prover.proving_since = 100, time.time() - 4000
    reply = await _client(store, state, "127.0.0.1").get("/health")
    assert reply.status_code == 503
    prover = reply.json()["components"]["prover"]
    assert reply.json()["status"] == "degraded" and prover["warning"] == "potentially_stuck"
    assert prover["state"] == "proving_100"
