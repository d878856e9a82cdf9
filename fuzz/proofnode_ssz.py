"""Fuzz target: SSZ ``NewPayloadRequest`` bodies posted to the Proof Node API.

Real HTTP semantics through the real app: ``POST /v1/execution_proof_requests?proof_types=…``
sent with ``httpx.ASGITransport`` to ``proofnode.app.create_proof_node_app`` over a running
``ProofNodeService`` (real SQLite proof cache in a temporary directory; its witness source
answers ``WitnessTimeout`` at once, so accepted requests end as ``proof_failure`` events and never
reach a prover). Asserted: the answer is 200 (with the ``hash_tree_root`` the pure decoder gives)
or 400/413 with a ``{code, message}`` body, never 5xx; and the pure decoder
``ssz.decode_new_payload_request`` raises only ``SszError``.

Bodies: the pyspec vectors and zkboost's request (``../shared/fixtures/ssz``) when present, and
values generated from the fork's own sedes (every fork), byte-mutated.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import trio
from hypothesis import strategies as st
from ssz.sedes.byte_list import ByteList
from ssz.sedes.byte_vector import ByteVector
from ssz.sedes.container import Container
from ssz.sedes.list import List
from ssz.sedes.uint import UInt

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.proofnode.app import create_proof_node_app
from ethproofs_daemon.proofnode.backend import ProvedArtifact, ProvingFailed
from ethproofs_daemon.proofnode.cache import PROOF_CACHE_SCHEMA, ProofCache
from ethproofs_daemon.proofnode.service import ProofNodeService
from ethproofs_daemon.proofnode.settings import KNOWN_PROOF_TYPES, ProofNodeSettings
from ethproofs_daemon.proofnode.witness import WitnessTimeout
from ethproofs_daemon.ssz import (
    DecodedNewPayloadRequest,
    Fork,
    SszError,
    decode_new_payload_request,
    encode_new_payload_request,
)
from ethproofs_daemon.ssz.types import NEW_PAYLOAD_REQUEST, Sedes

from . import runner
from .mutation import mutated_bytes
from .seeds import FIXTURES, fixture_json

MAX_BODY_BYTES = 1 << 16


def _value(sedes: Sedes) -> st.SearchStrategy[Any]:
    """Values of ``sedes`` (py-ssz's nested tuples), small lists."""
    if isinstance(sedes, ByteVector):
        size = sedes.get_fixed_size()
        return st.binary(min_size=size, max_size=size)
    if isinstance(sedes, UInt):
        return st.integers(0, 2 ** (sedes.get_fixed_size() * 8) - 1)
    if isinstance(sedes, ByteList):
        return st.binary(max_size=min(sedes.max_length, 40))
    if isinstance(sedes, List):
        return st.lists(_value(sedes.element_sedes), max_size=min(sedes.max_length, 3)).map(tuple)
    if isinstance(sedes, Container):
        return st.tuples(*(_value(f) for f in sedes.field_sedes))
    raise TypeError(f"no strategy for {sedes!r}")


def _generated(fork: Fork) -> st.SearchStrategy[bytes]:
    return _value(NEW_PAYLOAD_REQUEST[fork]).map(lambda v: encode_new_payload_request(v, fork))


def _fixture_bodies() -> list[bytes]:
    vectors = fixture_json("ssz/npr_pyspec_vectors.json")
    out = [bytes.fromhex(c["ssz"]) for c in vectors["cases"]] if vectors else []
    zkboost = FIXTURES / "ssz" / "zkboost_new_payload_request.ssz"
    if zkboost.is_file():
        out.append(zkboost.read_bytes())
    return [b for b in out if len(b) <= 4096]


def _one_of_fixtures() -> list[st.SearchStrategy[bytes]]:
    bodies = _fixture_bodies()
    if not bodies:
        return []
    # An index, not sampled_from(bodies): hypothesis would repr every body in messages.
    return [st.integers(0, len(bodies) - 1).map(bodies.__getitem__).flatmap(mutated_bytes)]


_BODIES = st.one_of(
    st.sampled_from(list(Fork)).flatmap(_generated).flatmap(mutated_bytes),
    *_one_of_fixtures(),
    st.binary(max_size=64),
    st.builds(lambda: b"\0" * (MAX_BODY_BYTES + 1)),
)
_PROOF_TYPES = st.one_of(
    st.just("ethrex-zisk"), st.none(), st.sampled_from(KNOWN_PROOF_TYPES),
    st.sampled_from(["", ",", "ethrex-zisk,ethrex-zisk", " ethrex-zisk ", "ETHREX-ZISK",
                     "ethrex-zisk,reth-sp1", "\u0000", "%", "a" * 500]),
    st.text(max_size=20),
)
STRATEGY = st.tuples(_BODIES, _PROOF_TYPES)


class _NoWitness:
    """A witness source that has nothing: every accepted request fails ``witness_timeout``."""

    async def fetch(self, *, block_hash: str, block_number: int, timeout_s: float) -> Any:
        raise WitnessTimeout(f"no witness for {block_hash} (fuzzing)")


class _NoProver:
    """A prover that is never reached (the witness step fails first)."""

    async def prove(self, **_: Any) -> ProvedArtifact:
        raise ProvingFailed(FailureReason.PROVING_ERROR, "not a prover")

    async def verify(self, **_: Any) -> bool:
        return False


class _NoBuilder:
    def build(self, request: DecodedNewPayloadRequest, witness: Any) -> bytes:
        raise AssertionError("unreachable: the witness source never answers")


@asynccontextmanager
async def session() -> AsyncIterator[runner.Check]:
    with tempfile.TemporaryDirectory(prefix="fuzz-proofnode-") as tmp_name:
        tmp = Path(tmp_name)
        conn = sqlite3.connect(tmp / "store.sqlite3")
        conn.executescript(PROOF_CACHE_SCHEMA)
        settings = ProofNodeSettings(port=0, max_body_bytes=MAX_BODY_BYTES,
                                     max_pending=1 << 20, witness_timeout_s=1.0)
        prover = _NoProver()
        service = ProofNodeService(
            settings=settings, cache=ProofCache(conn, tmp / "proofs", settings.cache_entries),
            prover=prover, verifier=prover, witness=_NoWitness(), input_builder=_NoBuilder(),
            work_dir=tmp / "work",
        )
        app = create_proof_node_app(service)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        try:
            async with (trio.open_nursery() as nursery,
                        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000")
                        as client):
                await nursery.start(service.run)

                async def check(case: tuple[bytes, str | None]) -> None:
                    body, proof_types = case
                    try:
                        decoded: DecodedNewPayloadRequest | None = decode_new_payload_request(
                            body, max_bytes=MAX_BODY_BYTES)
                    except SszError:
                        decoded = None
                    params = {} if proof_types is None else {"proof_types": proof_types}
                    reply = await client.post("/v1/execution_proof_requests", params=params,
                                              content=body)
                    assert reply.status_code in (200, 400, 413), (reply.status_code, reply.text)
                    doc = reply.json()
                    if reply.status_code == 200:
                        assert decoded is not None and doc == {
                            "new_payload_request_root": decoded.root_hex}
                    else:
                        assert doc["code"] == reply.status_code and doc["message"]

                yield check
                nursery.cancel_scope.cancel()
        finally:
            conn.close()


TARGET = runner.Target("proofnode_ssz", STRATEGY, session)

if __name__ == "__main__":
    sys.exit(runner.main(TARGET))
