"""Helpers for proof node tests: a served proof node with a real SQLite file, real hypercorn on
127.0.0.1 port 0, a real JSON-RPC stand-in node on 127.0.0.1 port 0, and the stand-in prover
(``standin_backend.py``)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ethproofs_daemon.http.server import hypercorn_config
from ethproofs_daemon.node.rpc import JsonRpcClient, JsonValue, RpcEndpoint
from ethproofs_daemon.proofnode.app import Decoder, serve_proof_node
from ethproofs_daemon.proofnode.cache import PROOF_CACHE_SCHEMA, ProofCache
from ethproofs_daemon.proofnode.guest_input import Eip8025InputBuilder
from ethproofs_daemon.proofnode.service import ProofNodeService
from ethproofs_daemon.proofnode.settings import ProofNodeSettings
from ethproofs_daemon.proofnode.witness import RpcWitnessProvider
from ethproofs_daemon.ssz import DecodedNewPayloadRequest, decode_new_payload_request

from .standin_backend import StandinProver


def json_witness_encoder(witness: JsonValue, request: DecodedNewPayloadRequest) -> bytes:
    """Test stand-in for the rkyv ``ExecutionWitness`` encoder (owned by the inputs package):
    the witness JSON as bytes. Raises ``ValueError`` for a non-object witness."""
    if not isinstance(witness, dict):
        raise ValueError(f"witness is a {type(witness).__name__}, not an object")
    return json.dumps(witness, sort_keys=True).encode()


@dataclass
class FakeNode:
    """JSON-RPC ``debug_executionWitnessByBlockHash`` served from a dict; ``nulls`` first replies
    are ``null`` (witness not ready), ``method_missing`` answers -32601."""

    witnesses: dict[str, JsonValue] = field(default_factory=dict)
    nulls: int = 0
    method_missing: bool = False
    calls: int = 0

    def app(self) -> Starlette:
        async def rpc(request: Request) -> JSONResponse:
            doc: dict[str, Any] = await request.json()
            self.calls += 1
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": doc["id"]}
            if self.method_missing or doc["method"] != "debug_executionWitnessByBlockHash":
                reply["error"] = {"code": -32601, "message": "the method does not exist"}
            elif self.calls <= self.nulls:
                reply["result"] = None
            else:
                reply["result"] = self.witnesses.get(doc["params"][0])
            return JSONResponse(reply)

        return Starlette(routes=[Route("/", rpc, methods=["POST"])])


@dataclass
class Node:
    service: ProofNodeService
    prover: StandinProver
    fake_el: FakeNode
    client: httpx.AsyncClient
    url: str
    conn: sqlite3.Connection
    tmp: Path
    rpc: JsonRpcClient


def witness_for_tests(shared: Path) -> JsonValue:
    """A real witness (hive chain block 0x1, reth form) used for any block hash in tests."""
    doc: JsonValue = json.loads(
        (shared / "real-data" / "hive-chain" / "witness_0x1.reth.json").read_text()
    )
    return doc


async def start_node(
    nursery: trio.Nursery, tmp: Path, *, settings: ProofNodeSettings | None = None,
    fake_el: FakeNode | None = None, prover: StandinProver | None = None,
    decoder: Decoder = decode_new_payload_request, headers: dict[str, str] | None = None,
) -> Node:  # fmt: skip
    """Start the fake EL, the service and the API server in ``nursery``; return a client
    (sending ``headers`` with every request)."""
    from hypercorn.trio import serve

    fake_el = fake_el or FakeNode()
    el_urls = await nursery.start(serve, fake_el.app(), hypercorn_config("127.0.0.1", 0))
    rpc = JsonRpcClient(RpcEndpoint(el_urls[0], timeout_s=5.0))
    settings = settings or ProofNodeSettings(
        port=0, witness_timeout_s=2.0, proving_timeout_s=30.0, keepalive_s=15.0, priority=7
    )
    await trio.Path(tmp).mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(tmp / "store.sqlite3")
    conn.executescript(PROOF_CACHE_SCHEMA)
    prover = prover or StandinProver()
    service = ProofNodeService(
        settings=settings,
        cache=ProofCache(conn, tmp / "proofs", settings.cache_entries),
        prover=prover,
        verifier=prover,
        witness=RpcWitnessProvider(rpc, retry_interval_s=0.05),
        input_builder=Eip8025InputBuilder(json_witness_encoder, framed=True),
        work_dir=tmp / "work",
    )
    await nursery.start(service.run)
    urls = await nursery.start(lambda task_status: serve_proof_node(
        service, host="127.0.0.1", decoder=decoder, graceful_timeout_s=0.5,
        task_status=task_status))  # fmt: skip
    client = httpx.AsyncClient(base_url=urls[0], timeout=10.0, headers=headers)
    return Node(service, prover, fake_el, client, urls[0], conn, tmp, rpc)


ZKBOOST_ROOT = "0x2b1cf251b5b8cabf41828761b5105b307544c6280b5c8e66fd30170f7fe7ddbf"
ZKBOOST_BLOCK_HASH = "0xd476edae3156bde084857720103e5d5b58fbe2e0e23fa5e65e95888cdfd7e3c6"
REQUESTS = "/v1/execution_proof_requests"


def zkboost_body(shared: Path) -> bytes:
    """zkboost's 602-byte Electra request (block 1200 of a devnet), read in place."""
    return (shared / "ssz" / "zkboost_new_payload_request.ssz").read_bytes()


async def post(
    node: Node, body: bytes, proof_types: str | None = "ethrex-zisk"
) -> tuple[int, dict[str, Any]]:
    """POST a proof request; (status, JSON body)."""
    params = {} if proof_types is None else {"proof_types": proof_types}
    reply = await node.client.post(REQUESTS, params=params, content=body)
    doc: dict[str, Any] = reply.json()
    return reply.status_code, doc


async def stop_node(node: Node, *, settle_s: float = 5.0) -> None:
    """Let jobs in flight finish (bounded: ``settle_s``), then close clients and the store.

    Cancelling a job in the middle of an httpx request leaves httpx's request-body generator
    half-read (a ResourceWarning, an error under ``filterwarnings = error``), so tests end idle.
    """
    if node.prover.gate is not None:
        node.prover.gate.set()
    with trio.move_on_after(settle_s):
        while node.service.queue_length:
            await trio.sleep(0.02)
    await node.client.aclose()
    await node.rpc.aclose()
    node.conn.close()
