"""Wiring of the Proof Node API (``proofnode/``) to the daemon's prover, store and witnesses.

- ``SharedProver``: the proof node's ``ProvingBackend`` and ``VerifyingBackend`` over the one GPU:
  requests wait in the prover actor's queue with the operator's priority
  (``PROOF_NODE_PRIORITY`` against EthProofs work at 0) and are proved with the proof node's own
  guest ELF (``PROOF_NODE_ELF_PATH``); verification runs the backend's ``verify``
  (``cargo-zisk verify``), one at a time, then requires the proof's public values to commit to
  the requested root and the configured guest (``public_values.py``; 501 where that cannot be
  confirmed).
- ``make_witness_encoder``: the execution witness as the EIP-8025 ethrex guest reads it (rkyv
  ``ExecutionWitness`` in the lambdaclass/ethrex@891528d layout,
  ``crates/common/types/block_execution_witness.rs``; the guest is ethrex's
  ``crates/guest-program/bin/zisk/src/main.rs`` built with the ``experimental-devnet`` feature).
- ``SynthesizedWitnessSource``: the daemon's own witness sources (``witness/source.py``)
  as a fallback when the node has no ``debug_executionWitnessByBlockHash``.
- ``build_proof_node``: the ``ProofNodeService`` from ``Settings``.

"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import structlog
import trio

from ethproofs_daemon.config import Settings, WitnessSourceMode
from ethproofs_daemon.eth.witness import ExecutionWitness
from ethproofs_daemon.inputs.build import chain_config_by_name
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.profiles import get_profile
from ethproofs_daemon.inputs.rpc_witness import guest_witness, witness_from_json
from ethproofs_daemon.inputs.schema import encode_execution_witness
from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcError
from ethproofs_daemon.proofnode.backend import (
    ProvedArtifact,
    ProvingFailed,
    VerificationBusy,
    VerificationError,
)
from ethproofs_daemon.proofnode.cache import PROOF_CACHE_SCHEMA, ProofCache
from ethproofs_daemon.proofnode.guest_input import Eip8025InputBuilder, NodeWitness, WitnessEncoder
from ethproofs_daemon.proofnode.public_values import (
    PublicValuesLayout,
    VerificationUnconfirmed,
    check_public_values,
    require_confirmed,
)
from ethproofs_daemon.proofnode.service import ProofNodeService
from ethproofs_daemon.proofnode.settings import ProofNodeSettings
from ethproofs_daemon.proofnode.witness import RpcWitnessProvider
from ethproofs_daemon.prover import proof_files
from ethproofs_daemon.prover.backend import ProverBackend, ProveRequest, ProverFailed, ProverQueue
from ethproofs_daemon.prover.simulated import SimulatedProver
from ethproofs_daemon.ssz.new_payload_request import DecodedNewPayloadRequest
from ethproofs_daemon.store import Store
from ethproofs_daemon.witness.source import WitnessUnavailable, fetch_execution_witness

log = structlog.get_logger(__name__)


#: Verifications waiting for the one verifier at most; more are answered 503.
MAX_WAITING_VERIFICATIONS: Final = 16


@dataclass
class SharedProver:
    """``ProvingBackend`` + ``VerifyingBackend`` for the proof node over the daemon's prover:
    ``actor`` is its queue (the ``ProverActor``), ``backend`` verifies (one ``verify`` at a time,
    at most ``MAX_WAITING_VERIFICATIONS`` waiting). ``elf_path``: the proof node's guest (None:
    the prover's own); ``layout`` and ``program_vk``: what the public values must show
    (``public_values.check_public_values``)."""

    actor: ProverQueue
    backend: ProverBackend
    elf_path: Path | None = None
    layout: PublicValuesLayout = PublicValuesLayout.UNCONFIRMED
    program_vk: bytes | None = None
    _verifier: trio.CapacityLimiter = field(default_factory=lambda: trio.CapacityLimiter(1))
    _waiting: int = 0

    async def prove(self, *, proof_type: str, input_path: Path, output_dir: Path,
                    priority: int, timeout_s: float) -> ProvedArtifact:
        """Wait for the GPU in the prover actor's queue, prove, return the proof file.

        Args:
            proof_type: the requested type (the daemon's one prover serves it).
            input_path: the guest input file.
            output_dir: created when missing; the proof file is written there.
            priority: larger goes first; EthProofs work has 0.
            timeout_s: proving limit in seconds, counted from the start of proving.

        Returns:
            The proof file, proving time (ms) and cycles.

        Raises:
            ProvingFailed: ``proving_timeout`` or ``proving_error`` as the prover reported it,
                ``internal_error`` for any other prover failure.
        """
        await trio.Path(output_dir).mkdir(parents=True, exist_ok=True)
        request = ProveRequest(0, input_path, output_dir, timeout_s, elf_path=self.elf_path)
        try:
            result = await self.actor.submit(request, priority=priority)
        except ProverFailed as exc:
            reason = exc.reason if exc.reason in {
                FailureReason.PROVING_TIMEOUT, FailureReason.PROVING_ERROR,
            } else FailureReason.INTERNAL_ERROR
            raise ProvingFailed(reason, exc.message) from exc
        # the prover's own file: what its verifier reads back (``verify`` below)
        native = result.native_proof_path or result.proof_path
        return ProvedArtifact(native, result.proving_time_ms, result.cycles)

    async def verify(self, *, proof_type: str, proof: bytes,
                     new_payload_request_root: bytes) -> bool:
        """True when the prover's verifier (``cargo-zisk verify``) accepts ``proof`` *and* its
        public values commit to ``new_payload_request_root`` and the configured guest program.

        Raises:
            VerificationUnconfirmed: the public values cannot be checked (layout or program key
                unconfirmed, or a simulated prover): checked before anything runs.
            VerificationBusy: ``MAX_WAITING_VERIFICATIONS`` are already waiting.
            VerificationError: the verifier could not run.
        """
        if isinstance(self.backend, SimulatedProver):
            raise VerificationUnconfirmed("the simulated prover's placeholders commit to nothing")
        require_confirmed(self.layout, self.program_vk)  # before any work
        if self._waiting >= MAX_WAITING_VERIFICATIONS:
            raise VerificationBusy(f"{self._waiting} verifications are waiting")
        self._waiting += 1
        try:
            async with self._verifier:
                return await self._verify_one(proof, new_payload_request_root)
        finally:
            self._waiting -= 1

    async def _verify_one(self, proof: bytes, root: bytes) -> bool:
        version = await self.backend.detect_version()
        try:
            layout = proof_files.layout_for_release(version.major, version.minor)
            decoded = proof_files.decode_proof_file(proof, layout)
        except proof_files.ProofFileError as exc:
            log.info("proof_rejected", reason=f"not a proof of cargo-zisk {version}: {exc}")
            return False
        verdict = check_public_values(
            program_vk=decoded.program_vk, outputs=decoded.outputs, root=root,
            layout=self.layout, expected_program_vk=self.program_vk,
        )
        if not verdict.valid:
            log.info("proof_rejected", reason=verdict.reason)
            return False
        with tempfile.TemporaryDirectory(prefix="ethproofs-verify-") as tmp:
            path = Path(tmp) / "proof.bin"
            path.write_bytes(proof)
            try:
                return await self.backend.verify(path)
            except ProverFailed as exc:
                raise VerificationError(exc.message) from exc


def make_witness_encoder(chain: str) -> WitnessEncoder:
    """``WitnessEncoder`` for the EIP-8025 guest: witness → rkyv ``ExecutionWitness`` bytes.

    A typed witness (the daemon's own sources) is converted as is; node JSON (reth form) is read
    once with ethrex's rules. The encoder raises ``ValueError`` when the witness is unusable.

    Args:
        chain: the chain name whose config goes into the witness (e.g. ``mainnet``).
    """
    config = chain_config_by_name(chain)

    def encode(witness: NodeWitness, request: DecodedNewPayloadRequest) -> bytes:
        try:
            if isinstance(witness, ExecutionWitness):
                typed = guest_witness(witness, block_number=request.block_number,
                                      chain_config=config)
            else:
                typed = witness_from_json(witness, block_number=request.block_number,
                                          chain_config=config)
            return encode_execution_witness(typed)
        except InputError as exc:
            raise ValueError(str(exc)) from exc

    return encode


@dataclass
class SynthesizedWitnessSource:
    """Fallback witness source: the block by hash, then the daemon's configured witness source
    (``debug_executionWitness`` by number, or synthesis). None when it has nothing yet."""

    rpc: JsonRpcClient
    mode: WitnessSourceMode

    async def witness(self, *, block_hash: str, block_number: int) -> ExecutionWitness | None:
        try:
            block = await self.rpc.call("eth_getBlockByHash", [block_hash, True])
            if not isinstance(block, dict):
                return None
            return await fetch_execution_witness(self.rpc, block_number, block, self.mode)
        except (WitnessUnavailable, RpcError):
            return None


def build_proof_node(settings: Settings, store: Store, rpc: JsonRpcClient, actor: ProverQueue,
                     backend: ProverBackend) -> ProofNodeService:
    """The Proof Node service for ``PROOF_NODE_*`` settings, sharing the store and the GPU.

    Creates the proof cache's table in ``store`` (``apply_schema``); its files go under
    ``{state_dir}/proof-node/``. ``settings.proof_node_port`` must be set.
    """
    assert settings.proof_node_port is not None
    node_settings = ProofNodeSettings(
        port=settings.proof_node_port,
        host=settings.proof_node_host,
        token=(None if settings.proof_node_token is None
               else settings.proof_node_token.get_secret_value()),
        max_body_bytes=settings.proof_node_max_body_bytes,
        max_subscribers=settings.proof_node_max_subscribers,
        proof_types=tuple(t.strip() for t in settings.proof_node_proof_types.split(",")
                          if t.strip()),
        witness_timeout_s=settings.proof_node_witness_timeout_seconds,
        proving_timeout_s=settings.proving_timeout_seconds,
        priority=settings.proof_node_priority,
    )
    store.apply_schema(PROOF_CACHE_SCHEMA)
    directory = settings.state_dir / "proof-node"
    cache = ProofCache(store.conn, directory / "cache", node_settings.cache_entries)
    profile = get_profile(settings.proof_node_guest_profile)
    shared = SharedProver(
        actor, backend, elf_path=settings.proof_node_elf_path,
        layout=settings.proof_node_public_values, program_vk=profile.program_vk,
    )
    witness = RpcWitnessProvider(
        rpc, fallbacks=[SynthesizedWitnessSource(rpc, settings.witness_source)],
        retry_interval_s=node_settings.witness_retry_interval_s,
    )
    builder = Eip8025InputBuilder(make_witness_encoder(settings.chain))
    return ProofNodeService(settings=node_settings, cache=cache, prover=shared, verifier=shared,
                            witness=witness, input_builder=builder, work_dir=directory / "work")
