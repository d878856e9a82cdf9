"""The Proof Node API (EIP-8025 execution proofs on request for consensus clients).

Spec: the "Proof Node API" OpenAPI 3.1 document, version 0.1.0, published with the reference
server as ``eth-act/zkboost@9be2085d:openapi.json``. Reference behaviour: that server,
``eth-act/zkboost@9be2085d:crates/server/src/``. Wiring (``proofnode.daemon.build_proof_node``;
the daemon's supervisor runs the two children, see ``app.py``)::

    cache = ProofCache(store.conn, state_dir / "proof-node" / "cache", settings.cache_entries)
    service = ProofNodeService(settings=settings, cache=cache, prover=shared, verifier=shared,
                               witness=RpcWitnessProvider(rpc, ...),
                               input_builder=Eip8025InputBuilder(encode_witness), work_dir=...)
    children: service.run, and create_proof_node_app(service) served on settings.port

Modules: ``settings`` (``ProofNodeSettings``), ``backend`` (prover/verifier Protocols),
``cache`` (``PROOF_CACHE_SCHEMA``, ``ProofCache``), ``events`` (SSE events, ``EventHub``),
``witness`` (witness by block hash), ``guest_input`` (EIP-8025 input), ``service``
(``ProofNodeService``), ``app`` (``create_proof_node_app``, ``serve_proof_node``), ``daemon``
(``build_proof_node``: the service on the daemon's store, RPC and prover).
"""

from __future__ import annotations

from .app import create_proof_node_app, serve_proof_node
from .backend import (
    ProvedArtifact,
    ProvingBackend,
    ProvingFailed,
    VerificationError,
    VerifyingBackend,
)
from .cache import PROOF_CACHE_SCHEMA, ProofCache, ProofCacheError
from .events import EventHub, EventName, ProofEvent
from .guest_input import Eip8025InputBuilder, GuestInputBuilder, GuestInputError
from .service import ProofNodeService, ServiceNotRunning, SubmitOutcome, UnknownProofType
from .settings import KNOWN_PROOF_TYPES, ProofNodeSettings, SettingsError
from .witness import (
    FallbackWitnessSource,
    RpcWitnessProvider,
    WitnessProvider,
    WitnessTimeout,
)

__all__ = [
    "KNOWN_PROOF_TYPES",
    "PROOF_CACHE_SCHEMA",
    "Eip8025InputBuilder",
    "EventHub",
    "EventName",
    "FallbackWitnessSource",
    "GuestInputBuilder",
    "GuestInputError",
    "ProofCache",
    "ProofCacheError",
    "ProofEvent",
    "ProofNodeService",
    "ProofNodeSettings",
    "ProvedArtifact",
    "ProvingBackend",
    "ProvingFailed",
    "RpcWitnessProvider",
    "ServiceNotRunning",
    "SettingsError",
    "SubmitOutcome",
    "UnknownProofType",
    "VerificationError",
    "VerifyingBackend",
    "WitnessProvider",
    "WitnessTimeout",
    "create_proof_node_app",
    "serve_proof_node",
]
