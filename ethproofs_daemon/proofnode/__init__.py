"""The Proof Node API (EIP-8025 execution proofs on request for consensus clients).

Spec ``../shared/specs/proof-node-api.openapi.json``; reference behaviour and formats
``../shared/docs/proof-node-api.md``. Wiring (the daemon's supervisor)::

    cache = ProofCache(store_conn, state_dir / "proof-node", settings.cache_entries)
    service = ProofNodeService(settings=settings, cache=cache, prover=zisk_backend,
                               verifier=zisk_backend, witness=RpcWitnessProvider(rpc, ...),
                               input_builder=Eip8025InputBuilder(encode_witness), work_dir=...)
    nursery.start(service.run); nursery.start(serve_proof_node, service)

Modules: ``settings`` (``ProofNodeSettings``), ``backend`` (prover/verifier Protocols),
``cache`` (``PROOF_CACHE_SCHEMA``, ``ProofCache``), ``events`` (SSE events, ``EventHub``),
``witness`` (witness by block hash), ``guest_input`` (EIP-8025 input), ``service``
(``ProofNodeService``), ``app`` (``create_proof_node_app``, ``serve_proof_node``).
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
