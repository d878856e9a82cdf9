"""The stand-in EthProofs API follows ethproofs-api.md §1.2–§1.5 (raw HTTP, no daemon code)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.standins.ethproofs_api import EthProofsState, run_standin_ethproofs

KEY = "test-key-0123456789abcdef"


@pytest.fixture
async def api() -> AsyncIterator[tuple[httpx.AsyncClient, EthProofsState]]:
    async with (
        run_standin_ethproofs() as (base_url, state),
        httpx.AsyncClient(
            base_url=base_url + "/", headers={"Authorization": f"Bearer {KEY}"}
        ) as http,
    ):
        yield http, state


async def test_auth_missing_and_token_word_not_checked(
    api: tuple[httpx.AsyncClient, EthProofsState],
) -> None:
    http, _ = api
    body = {"block_number": 1, "cluster_id": 7}
    r = await http.post("proofs/queued", json=body, headers={"Authorization": ""})
    assert (r.status_code, r.text) == (401, "No API key provided")
    r = await http.post("proofs/queued", json=body, headers={"Authorization": f"Token {KEY}"})
    assert r.status_code == 200  # withAuth takes split(" ")[1] only


async def test_zod_like_validation(api: tuple[httpx.AsyncClient, EthProofsState]) -> None:
    http, _ = api
    bad = [
        ("queued", {"cluster_id": 7}),
        ("queued", {"block_number": -1, "cluster_id": 7}),
        ("queued", {"block_number": "1", "cluster_id": 7}),
        ("proved", {"block_number": 1, "cluster_id": 7, "proof": "x"}),
        ("proved", {"block_number": 1, "cluster_id": 7, "proving_time": 5}),
        (
            "proved",
            {
                "block_number": 1,
                "cluster_id": 7,
                "proving_time": 5,
                "proof": "x",
                "proving_cycles": 0,
            },
        ),
        (
            "proved",
            {
                "block_number": 1,
                "cluster_id": 7,
                "proving_time": 5,
                "proof": "x",
                "proving_cycles": 1.5,
            },
        ),
        (
            "proved",
            {
                "block_number": 1,
                "cluster_id": 7,
                "proving_time": 5,
                "proof": "x",
                "verifier_id": None,
            },
        ),
    ]
    for kind, body in bad:
        r = await http.post(f"proofs/{kind}", json=body)
        assert r.status_code == 400, body
        assert r.headers["content-type"].startswith("text/plain")
        assert r.text.startswith("Invalid request: ")


async def test_unknown_fields_are_stripped_and_proof_id_is_stable(
    api: tuple[httpx.AsyncClient, EthProofsState],
) -> None:
    http, state = api
    r1 = await http.post("proofs/queued", json={"block_number": 5, "cluster_id": 7, "extra": 1})
    r2 = await http.post("proofs/proving", json={"block_number": 5, "cluster_id": 7})
    assert r1.json() == r2.json() == {"proof_id": 1}
    assert state.proof_status(5, 7) == "proving"


async def test_malformed_json_is_500_and_missing_cluster_version_404(
    api: tuple[httpx.AsyncClient, EthProofsState],
) -> None:
    http, state = api
    r = await http.post("proofs/queued", content=b"{not json")
    assert (r.status_code, r.text) == (500, "Internal server error")
    state.clusters[(1, 8)] = 0
    r = await http.post("proofs/queued", json={"block_number": 5, "cluster_id": 8})
    assert (r.status_code, r.text) == (404, "Cluster version not found")


async def test_proved_needs_a_block_row_and_then_409s(
    api: tuple[httpx.AsyncClient, EthProofsState],
) -> None:
    http, _ = api
    proved = {"block_number": 9, "cluster_id": 7, "proving_time": 5, "proof": "AAAA"}
    assert (await http.post("proofs/proved", json=proved)).status_code == 500
    assert (
        await http.post("proofs/queued", json={"block_number": 9, "cluster_id": 7})
    ).status_code == 200
    assert (await http.post("proofs/proved", json=proved)).status_code == 200
    r = await http.post("proofs/proving", json={"block_number": 9, "cluster_id": 7})
    assert (r.status_code, r.text) == (409, "Proof already proved")


async def test_injected_429_and_real_sliding_window(
    api: tuple[httpx.AsyncClient, EthProofsState],
) -> None:
    http, state = api
    body = {"block_number": 1, "cluster_id": 7}
    state.fail_next_429 = 1
    r = await http.post("proofs/queued", json=body)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "1"
    assert "x-ratelimit-reset" in r.headers
    assert json.loads(r.text)["error"] == "Rate limit exceeded"
    state.limit_per_minute = 2
    codes = [(await http.post("proofs/queued", json=body)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert state.statuses() == [429, 200, 200, 429]
