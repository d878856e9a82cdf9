"""The Proof Node API as the daemon serves it (``PROOF_NODE_PORT``): wiring, not the service.

The service itself (SSE, cache, verification with a stand-in backend) is tested in
``tests/proofnode/``. Here the real daemon process serves the API beside its EthProofs work: the
zkboost fixture's ``NewPayloadRequest`` is accepted with its recorded root, and as no node serves a
witness for that block, the request ends in a ``proof_failure`` event with ``witness_timeout``,
replayed to a client that subscribes afterwards; an invalid body is a 400.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from tests.daemon_process import daemon_process, free_port
from tests.standins.replay_node import ReplayState, run_replay_node

ZKBOOST_ROOT = "0x2b1cf251"  # prefix of the recorded root (tests/ssz check the whole root)


async def _read_sse(port: int, target: str, until: str, timeout_s: float = 10) -> str:
    """Read an SSE stream over a raw TCP connection until ``until`` appears (or the timeout),
    then close it (a raw socket: closing mid-stream leaves no half-read client state)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    text = ""
    async with stream:
        await stream.send_all(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Accept: text/event-stream\r\n\r\n".encode())
        with trio.move_on_after(timeout_s):
            while until not in text:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                text += chunk.decode(errors="replace")
    return text


async def test_daemon_serves_proof_node_api_and_reports_witness_timeout(
    tmp_path: Path, shared_fixtures: Path
) -> None:
    body = (shared_fixtures / "ssz" / "zkboost_new_payload_request.ssz").read_bytes()
    port = free_port()
    async with run_replay_node(ReplayState()) as rpc_url:
        env = {
            "ETH_RPC_URL": rpc_url, "PROVER_BACKEND": "simulated",
            "STATE_DIR": str(tmp_path / "state"), "OUTPUT_DIR": str(tmp_path / "output"),
            "PROOF_NODE_PORT": str(port), "PROOF_NODE_WITNESS_TIMEOUT_SECONDS": "1",
            "WITNESS_SOURCE": "debug",
        }
        async with daemon_process(env, tmp_path) as daemon:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(timeout=10) as client:
                types = await client.get(f"{base}/v1/proof_types")
                assert types.status_code == 200 and "ethrex-zisk" in types.text
                bad = await client.post(f"{base}/v1/execution_proof_requests",
                                        params={"proof_types": "ethrex-zisk"},
                                        content=body[:-7])
                assert bad.status_code == 400 and "code" in bad.json()
                reply = await client.post(f"{base}/v1/execution_proof_requests",
                                          params={"proof_types": "ethrex-zisk"}, content=body)
                assert reply.status_code == 200, reply.text
                root = reply.json()["new_payload_request_root"]
                assert root.startswith(ZKBOOST_ROOT)
                await trio.sleep(3)  # past the 1 s witness budget: the failure is recorded
                text = await _read_sse(port, f"/v1/execution_proof_requests"
                                       f"?new_payload_request_root={root}", "witness_timeout")
            assert "proof_failure" in text and "witness_timeout" in text
            metrics = (await daemon.get("/metrics")).text
            assert ('ethproofs_daemon_proof_node_requests_total{route="/v1/proof_types",'
                    'status="200"} 1.0') in metrics
            assert ('ethproofs_daemon_proof_node_requests_total{'
                    'route="/v1/execution_proof_requests",status="400"} 1.0') in metrics
            health = (await daemon.get("/health")).json()
            assert "proof_node_api" in health["components"]
            assert await daemon.stop() == 0


async def test_daemon_passes_host_token_and_body_limit_to_the_proof_node_api(
    tmp_path: Path,
) -> None:
    port = free_port()
    token = "daemon-test-token"
    async with run_replay_node(ReplayState()) as rpc_url:
        env = {
            "ETH_RPC_URL": rpc_url, "PROVER_BACKEND": "simulated",
            "STATE_DIR": str(tmp_path / "state"), "OUTPUT_DIR": str(tmp_path / "output"),
            "PROOF_NODE_PORT": str(port), "PROOF_NODE_HOST": "127.0.0.1",
            "PROOF_NODE_TOKEN": token, "PROOF_NODE_MAX_BODY_BYTES": "100",
        }
        async with daemon_process(env, tmp_path) as daemon:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                anonymous = await client.get("/v1/proof_types")
                assert anonymous.status_code == 401
                good = {"Authorization": f"Bearer {token}"}
                types = await client.get("/v1/proof_types", headers=good)
                assert types.status_code == 200 and "ethrex-zisk" in types.text
                big = await client.post("/v1/execution_proof_requests", headers=good,
                                        params={"proof_types": "ethrex-zisk"},
                                        content=b"\x00" * 101)
                assert big.status_code == 413
            assert token not in (await daemon.get("/health")).text
            assert await daemon.stop() == 0
            assert token not in daemon.logs()
