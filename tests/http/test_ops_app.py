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
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:4000")


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
    reply = await _client(store, state, "127.0.0.1").post(
        "/admin/jobs", content=body, headers={"content-type": "application/json"})
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


async def test_health_shows_an_untrusted_head_and_reorgs(parts: tuple[Store, DaemonState]) -> None:
    store, state = parts
    state.follower.head, state.follower.untrusted_head = 100, 10**18
    state.prover.reorg_count, state.prover.last_reorg = 1, "block 96: 0xaa replaced by 0xbb"
    doc = (await _client(store, state, "127.0.0.1").get("/health")).json()["components"]
    assert doc["input_generator"]["head"] == 100
    assert doc["input_generator"]["untrusted_head"] == 10**18
    assert doc["prover"]["reorg_count"] == 1
    assert doc["prover"]["last_reorg"] == "block 96: 0xaa replaced by 0xbb"


# ------------------------------------------------------------------ browsers and proxies

QUEUED = "ethrex-zisk"


@pytest.mark.parametrize("headers", [
    {"content-type": "text/plain"},  # a no-cors fetch
    {"content-type": "application/x-www-form-urlencoded"},  # an HTML form
    {"content-type": "multipart/form-data; boundary=x"},
    {},
])
async def test_a_mutation_that_is_not_json_is_415_and_enqueues_nothing(
    parts: tuple[Store, DaemonState], headers: dict[str, str],
) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    reply = await client.post("/admin/jobs", content=b'{"blocks": [7]}', headers=headers)
    assert reply.status_code == 415 and "error" in reply.json()
    assert store.job_for_block(7, QUEUED) is None


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:4001",
                                    "https://127.0.0.1:4000"])
async def test_a_foreign_origin_is_403_and_enqueues_nothing(
    parts: tuple[Store, DaemonState], origin: str,
) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    reply = await client.post("/admin/jobs", json={"blocks": [7]}, headers={"origin": origin})
    assert reply.status_code == 403 and "error" in reply.json()
    assert store.job_for_block(7, QUEUED) is None


async def test_the_servers_own_origin_is_accepted(parts: tuple[Store, DaemonState]) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    reply = await client.post("/admin/jobs", json={"blocks": [7]},
                              headers={"origin": "http://127.0.0.1:4000"})
    assert reply.status_code == 201


@pytest.mark.parametrize("host", ["evil.example", "evil.example:4000", "127.0.0.1.nip.io:4000"])
async def test_a_foreign_host_is_403_and_enqueues_nothing(
    parts: tuple[Store, DaemonState], host: str,
) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    reply = await client.post("/admin/jobs", json={"blocks": [7]}, headers={"host": host})
    assert reply.status_code == 403
    assert store.job_for_block(7, QUEUED) is None


@pytest.mark.parametrize("host", ["localhost:4000", "[::1]:4000", "127.0.0.1"])
async def test_loopback_host_names_are_accepted(
    parts: tuple[Store, DaemonState], host: str,
) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    reply = await client.post("/admin/jobs", json={"blocks": [7]}, headers={"host": host})
    assert reply.status_code == 201


async def test_configured_hosts_replace_the_defaults(parts: tuple[Store, DaemonState]) -> None:
    store, state = parts
    lifecycle = Lifecycle(store, reporting=None, retry=RetryPolicy(), clock=time.time)
    app = create_ops_app(store=store, lifecycle=lifecycle, state=state,
                         metrics=DaemonMetrics(store, state), stuck_threshold_s=3600,
                         admin_token=TOKEN, allowed_hosts=frozenset({"prover.example"}))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://prover.example:4000") as c:
        assert (await c.post("/admin/jobs", json={"blocks": [7]})).status_code == 201
        refused = await c.post("/admin/jobs", json={"blocks": [8]}, headers={"host": "localhost"})
        assert refused.status_code == 403


async def test_a_local_proxy_needs_the_token_when_one_is_set(
    parts: tuple[Store, DaemonState],
) -> None:
    store, state = parts
    sidecar = _client(store, state, "127.0.0.6")  # e.g. Istio's inbound proxy
    assert (await sidecar.post("/admin/jobs", json={"blocks": [7]})).status_code == 403
    ok = await sidecar.post("/admin/jobs", json={"blocks": [7]},
                            headers={"authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 201
    v6 = _client(store, state, "::1")
    assert (await v6.post("/admin/jobs", json={"blocks": [8]})).status_code == 201


async def test_retry_needs_json_too(parts: tuple[Store, DaemonState]) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    plain = await client.post("/admin/jobs/7/retry", content=b"", headers={"content-type":
                                                                          "text/plain"})
    assert plain.status_code == 415
    assert (await client.post("/admin/jobs/7/retry", json={})).status_code == 409  # no job


# ------------------------------------------------------------------ query bounds


@pytest.mark.parametrize("query", ["-1", "0", "1001", "abc", "1e3", "", "99999999999999999999999"])
async def test_bad_limits_are_400_json(parts: tuple[Store, DaemonState], query: str) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    await client.post("/admin/jobs", json={"blocks": [7]})
    for path in ("/admin/status", "/admin/jobs/7"):
        reply = await client.get(path, params={"limit": query})
        assert reply.status_code == 400, (path, query)
        assert "limit" in reply.json()["error"]


async def test_limit_bounds_the_recent_jobs(parts: tuple[Store, DaemonState]) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    await client.post("/admin/jobs", json={"blocks": list(range(1, 31))})
    assert len((await client.get("/admin/status", params={"limit": 1000})).json()["recent"]) == 30
    assert len((await client.get("/admin/status", params={"limit": 5})).json()["recent"]) == 5
    assert len((await client.get("/admin/status")).json()["recent"]) == 20


@pytest.mark.parametrize("body", [b'{"blocks": [9223372036854775808]}', b'{"blocks": [1e999]}',
                                  b'{"blocks": [1], "priority": 1e999}',
                                  b'{"blocks": [1], "priority": 99999999999999999999999}'])
async def test_huge_numbers_are_400_not_500(parts: tuple[Store, DaemonState], body: bytes) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    reply = await client.post("/admin/jobs", content=body,
                              headers={"content-type": "application/json"})
    assert reply.status_code == 400 and "error" in reply.json()


async def test_a_huge_block_in_the_path_is_400(parts: tuple[Store, DaemonState]) -> None:
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    huge = "99999999999999999999999"
    assert (await client.get(f"/admin/jobs/{huge}")).status_code == 400
    assert (await client.post(f"/admin/jobs/{huge}/retry", json={})).status_code == 400


async def test_a_block_of_thousands_of_digits_in_the_path_is_400(
    parts: tuple[Store, DaemonState],
) -> None:
    # Found by fuzz/admin_api.py: starlette's int convertor raised ValueError (CPython refuses
    # int() past 4300 digits) while routing: a 500.
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    huge = "1" * 4400
    assert (await client.get(f"/admin/jobs/{huge}")).status_code == 400
    assert (await client.post(f"/admin/jobs/{huge}/retry", json={})).status_code == 400
    assert (await client.get(f"/admin/jobs/{'0' * 5000}7")).status_code == 404  # block 7: no job


async def test_a_limit_of_thousands_of_digits_is_400(parts: tuple[Store, DaemonState]) -> None:
    # Found by fuzz/admin_api.py: parse_limit called int() on 4400 digits (ValueError: a 500).
    store, state = parts
    client = _client(store, state, "127.0.0.1")
    for path in ("/admin/status", "/admin/jobs/7"):
        reply = await client.get(path, params={"limit": "1" * 4400})
        assert reply.status_code == 400 and "limit" in reply.json()["error"]


async def test_a_deeply_nested_enqueue_body_is_400(parts: tuple[Store, DaemonState]) -> None:
    # Found by fuzz/admin_api.py: json.loads raised RecursionError (a 500).
    store, state = parts
    reply = await _client(store, state, "127.0.0.1").post(
        "/admin/jobs", content=b"[" * 100_000 + b"]" * 100_000,
        headers={"content-type": "application/json"})
    assert reply.status_code == 400 and "nested too deep" in reply.json()["error"]
