"""``ProofNodeService``: the proving path behind the Proof Node API.

Per accepted ``(root, proof_type)`` (``submit``): skip it when cached or in flight (dedup), else
one task per root fetches the witness by block hash (``WitnessProvider``, ``witness_timeout_s``)
and builds the guest input (``GuestInputBuilder``, in a worker thread), then one task per type
hands the input to the shared prover (``ProvingBackend.prove`` with the operator's ``priority``
and ``proving_timeout_s``), moves the proof into the ``ProofCache`` and publishes
``proof_complete``; any failure publishes ``proof_failure`` with reason ``witness_timeout``,
``proving_timeout``, ``proving_error`` or ``internal_error``. Requests are keyed by root, not by
block hash as zkboost keys them (eth-act/zkboost@9be2085d:crates/server/src/proof.rs: a second,
different root for the same block hash is merged into the first and never gets events).

Work files: ``{work_dir}/{root}/input.bin`` and ``{work_dir}/{root}/{proof_type}/`` (the
backend's output dir), removed when the root's last job ends.

Requests in flight survive a restart as an answer: each accepted ``(root, proof_type)`` leaves
a marker in ``{work_dir}/../in-flight/`` until its proof is cached or its failure published. A
marker found by ``run`` (the daemon stopped or crashed with the job running) becomes a
``proof_failure`` (``internal_error``, "the daemon restarted …"), which subscribers of that root
get on (re)connection: never silently dropped.

Lifecycle: ``run`` (under the supervisor) owns the job tasks; ``submit`` before ``run`` has
started or after it ended raises ``ServiceNotRunning`` (the API answers 500). When ``run`` ends,
every job is cancelled and every SSE stream is ended.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import structlog
import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.ssz import DecodedNewPayloadRequest

from .backend import ProvingBackend, ProvingFailed, VerificationError, VerifyingBackend
from .cache import ProofCache, ProofCacheError
from .events import EventHub, EventName, ProofEvent
from .guest_input import GuestInputBuilder, GuestInputError
from .settings import ProofNodeSettings
from .witness import WitnessProvider, WitnessTimeout

log = structlog.get_logger(__name__)


class ServiceNotRunning(Exception):
    """``submit`` was called while ``run`` is not running (the API answers 500)."""


class UnknownProofType(Exception):
    """A proof type this node does not serve (verification: 404)."""


class JobPhase(enum.StrEnum):
    """Where a ``(root, proof_type)`` job is."""

    WITNESS = "witness"
    PROVING = "proving"


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    """What ``submit`` did: ``started`` types got a job; ``skipped`` were cached or in flight."""

    root: str
    started: tuple[str, ...]
    skipped: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProofTypeInfo:
    """One row of ``GET /v1/proof_types``."""

    proof_type: str
    kind: str
    can_prove: bool
    can_verify: bool


#: A root as the API writes it (``0x`` + 64 lower-case hex digits).
HASH256_RE: Final = re.compile(r"0x[0-9a-f]{64}")


@dataclass(slots=True)
class _RootWork:
    request: DecodedNewPayloadRequest
    directory: Path
    ready: trio.Event = field(default_factory=trio.Event)
    input_path: Path | None = None
    failure: tuple[FailureReason, str] | None = None
    types: set[str] = field(default_factory=set)


class ProofNodeService:
    """The proof node's state and workers. See the module docstring.

    Args:
        settings: ``ProofNodeSettings``.
        cache: the ``ProofCache`` (store's connection, proof directory, bound).
        prover: the shared ``ProvingBackend``; None makes this node verify-only.
        verifier: the ``VerifyingBackend``; None: verification answers 404 for every type.
        witness: a ``WitnessProvider`` (``RpcWitnessProvider`` with the daemon's fallbacks).
        input_builder: a ``GuestInputBuilder`` (``Eip8025InputBuilder`` with the rkyv encoder).
        work_dir: scratch directory for inputs and backend output.
    """

    def __init__(
        self,
        *,
        settings: ProofNodeSettings,
        cache: ProofCache,
        prover: ProvingBackend | None,
        verifier: VerifyingBackend | None,
        witness: WitnessProvider,
        input_builder: GuestInputBuilder,
        work_dir: Path,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.hub = EventHub(
            buffer=settings.subscriber_buffer, failure_entries=settings.failure_entries
        )
        self._prover = prover
        self._verifier = verifier
        self._witness = witness
        self._builder = input_builder
        self._work_dir = work_dir
        self._in_flight = work_dir.parent / "in-flight"
        self._nursery: trio.Nursery | None = None
        self._jobs: dict[tuple[str, str], JobPhase] = {}
        self._roots: dict[str, _RootWork] = {}
        self.completed_total = 0
        self.failed_total: Counter[FailureReason] = Counter()

    # ---- numbers for metrics and /health ----

    @property
    def queue_length(self) -> int:
        """Jobs accepted and not finished (fetching a witness, or waiting for/in the prover)."""
        return len(self._jobs)

    @property
    def proving_count(self) -> int:
        """Jobs handed to the prover backend (queued there or proving)."""
        return sum(1 for phase in self._jobs.values() if phase is JobPhase.PROVING)

    @property
    def cache_size(self) -> int:
        """Proofs in the cache."""
        return self.cache.size

    @property
    def subscriber_count(self) -> int:
        """Open SSE streams."""
        return self.hub.subscriber_count

    @property
    def running(self) -> bool:
        """True while ``run`` accepts work."""
        return self._nursery is not None

    # ---- configuration views ----

    def can_prove(self, proof_type: str) -> bool:
        """True when this node generates proofs of ``proof_type``."""
        return self._prover is not None and proof_type in self.settings.proof_types

    def can_verify(self, proof_type: str) -> bool:
        """True when this node verifies proofs of ``proof_type``."""
        return self._verifier is not None and proof_type in self.settings.proof_types

    def proof_types(self) -> list[ProofTypeInfo]:
        """The configured proof types, sorted by name (``GET /v1/proof_types``)."""
        return [
            ProofTypeInfo(t, self.settings.backend_kind, self.can_prove(t), self.can_verify(t))
            for t in sorted(self.settings.proof_types)
        ]

    # ---- lifecycle ----

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Accept and run jobs until cancelled; then cancel jobs and end SSE streams."""
        self.cache.directory.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self._work_dir, ignore_errors=True)  # leftovers of a previous run
        self._answer_interrupted()
        self._work_dir.mkdir(parents=True, exist_ok=True)
        dropped = self.cache.reconcile()
        if dropped:
            log.warning("proof_cache_rows_dropped", count=dropped)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            self.hub.close_all()

    # ---- requests ----

    def submit(
        self, request: DecodedNewPayloadRequest, proof_types: Sequence[str]
    ) -> SubmitOutcome:
        """Start jobs for ``proof_types`` (validated by the caller) of ``request``.

        Types already cached or in flight are skipped (no second proof, no new event). Past
        ``max_pending`` jobs the type fails at once with ``internal_error``.

        Raises:
            ServiceNotRunning: ``run`` is not running.
        """
        nursery = self._nursery
        if nursery is None:
            raise ServiceNotRunning("proof service is not running")
        root = request.root_hex
        started: list[str] = []
        skipped: list[str] = []
        for proof_type in proof_types:
            key = (root, proof_type)
            if key in self._jobs or self.cache.contains(root, proof_type):
                skipped.append(proof_type)
                continue
            self.hub.forget_failure(root, proof_type)
            if len(self._jobs) >= self.settings.max_pending:
                self._fail(root, proof_type, FailureReason.INTERNAL_ERROR,
                           f"proof queue full ({len(self._jobs)} jobs pending)")  # fmt: skip
                continue
            work = self._roots.get(root)
            if work is None:
                work = _RootWork(request=request, directory=self._work_dir / root)
                self._roots[root] = work
                nursery.start_soon(self._prepare, work)
            work.types.add(proof_type)
            self._jobs[key] = JobPhase.WITNESS
            self._mark(root, proof_type)
            nursery.start_soon(self._prove, work, proof_type)
            started.append(proof_type)
        log.info("proof_request_accepted", root=root, block_number=request.block_number,
                 started=started, skipped=skipped)  # fmt: skip
        return SubmitOutcome(root, tuple(started), tuple(skipped))

    async def verify(self, *, proof_type: str, proof: bytes, root: bytes) -> bool:
        """Verify ``proof`` for the 32-byte ``root``; a verifier that cannot run gives False.

        Raises:
            UnknownProofType: the type is not configured for verification here.
        """
        if self._verifier is None or not self.can_verify(proof_type):
            raise UnknownProofType(proof_type)
        try:
            return await self._verifier.verify(
                proof_type=proof_type, proof=proof, new_payload_request_root=root
            )
        except VerificationError as exc:
            log.warning("proof_verification_error", proof_type=proof_type, error=str(exc))
            return False

    def catch_up(self, root: str) -> list[ProofEvent]:
        """Events a new subscriber for ``root`` must see first: cached proofs, then remembered
        failures of jobs not running now."""
        events = [ProofEvent.complete(root, t) for t in self.cache.proof_types_for(root)]
        events += [e for e in self.hub.failures_for(root) if (root, e.proof_type) not in self._jobs]
        return events

    # ---- job tasks ----

    async def _prepare(self, work: _RootWork) -> None:
        request = work.request
        try:
            witness = await self._witness.fetch(
                block_hash=request.block_hash_hex,
                block_number=request.block_number,
                timeout_s=self.settings.witness_timeout_s,
            )
            data = await trio.to_thread.run_sync(self._builder.build, request, witness)
            work.directory.mkdir(parents=True, exist_ok=True)
            path = work.directory / "input.bin"
            await trio.Path(path).write_bytes(data)
            work.input_path = path
            log.info("proof_input_built", root=request.root_hex, size_bytes=len(data))
        except WitnessTimeout as exc:
            work.failure = (FailureReason.WITNESS_TIMEOUT, str(exc))
        except GuestInputError as exc:
            work.failure = (FailureReason.PROVING_ERROR, str(exc))
        except OSError as exc:
            work.failure = (FailureReason.INTERNAL_ERROR, f"cannot write the input: {exc}")
        finally:
            # the body (up to PROOF_NODE_MAX_BODY_BYTES) is in the input file now, or useless:
            # a job waiting in the prover queue keeps only the request's small fields
            work.request = dataclasses.replace(work.request, body=b"")
            work.ready.set()

    async def _prove(self, work: _RootWork, proof_type: str) -> None:
        root = work.request.root_hex
        key = (root, proof_type)
        try:
            await work.ready.wait()
            if work.failure is not None:
                self._fail(root, proof_type, *work.failure)
                return
            assert work.input_path is not None  # set whenever failure is None
            if self._prover is None:
                self._fail(root, proof_type, FailureReason.INTERNAL_ERROR,
                           f"no prover configured for proof type '{proof_type}'")  # fmt: skip
                return
            output_dir = work.directory / proof_type
            output_dir.mkdir(parents=True, exist_ok=True)
            self._jobs[key] = JobPhase.PROVING
            artifact = await self._prover.prove(
                proof_type=proof_type,
                input_path=work.input_path,
                output_dir=output_dir,
                priority=self.settings.priority,
                timeout_s=self.settings.proving_timeout_s,
            )
            self.cache.put(
                root,
                proof_type,
                artifact.proof_path,
                proving_time_ms=artifact.proving_time_ms,
                cycles=artifact.cycles,
            )
            self._jobs.pop(key, None)
            self.completed_total += 1
            log.info("proof_completed", root=root, proof_type=proof_type,
                     proving_time_ms=artifact.proving_time_ms, cycles=artifact.cycles)  # fmt: skip
            self.hub.publish(ProofEvent.complete(root, proof_type))
            self._unmark(root, proof_type)
        except ProvingFailed as exc:
            self._fail(root, proof_type, exc.reason, exc.message)
        except (ProofCacheError, OSError) as exc:
            self._fail(root, proof_type, FailureReason.INTERNAL_ERROR, str(exc))
        except Exception as exc:  # a bug: tell the clients, then crash to the supervisor
            self._fail(root, proof_type, FailureReason.INTERNAL_ERROR, f"{type(exc).__name__}")
            raise
        finally:
            self._jobs.pop(key, None)
            work.types.discard(proof_type)
            if not work.types and self._roots.get(root) is work:
                del self._roots[root]
                shutil.rmtree(work.directory, ignore_errors=True)

    def _marker(self, root: str, proof_type: str) -> Path:
        return self._in_flight / f"{root}.{proof_type}"

    def _mark(self, root: str, proof_type: str) -> None:
        try:
            self._in_flight.mkdir(parents=True, exist_ok=True)
            self._marker(root, proof_type).touch()
        except OSError as exc:  # a full disk must not refuse the request
            log.warning("proof_request_not_journaled", root=root, error=str(exc))

    def _unmark(self, root: str, proof_type: str) -> None:
        with contextlib.suppress(OSError):
            self._marker(root, proof_type).unlink(missing_ok=True)

    def _answer_interrupted(self) -> None:
        """Publish a ``proof_failure`` for each request a previous run left in flight."""
        try:
            markers = sorted(self._in_flight.iterdir()) if self._in_flight.is_dir() else []
        except OSError:
            markers = []
        for marker in markers[: self.settings.failure_entries]:
            root, _, proof_type = marker.name.partition(".")
            if HASH256_RE.fullmatch(root) and proof_type in self.settings.proof_types:
                self._fail(root, proof_type, FailureReason.INTERNAL_ERROR,
                           "the daemon restarted while this request was in flight; request it "
                           "again")  # fmt: skip
        for marker in markers:
            with contextlib.suppress(OSError):
                marker.unlink()

    def _fail(self, root: str, proof_type: str, reason: FailureReason, error: str) -> None:
        self._unmark(root, proof_type)
        self._jobs.pop((root, proof_type), None)
        event = ProofEvent.failure(root, proof_type, reason, error)
        assert event.name is EventName.PROOF_FAILURE and event.reason is not None
        self.failed_total[event.reason] += 1
        log.warning("proof_failed", root=root, proof_type=proof_type, reason=str(event.reason),
                    error=error)  # fmt: skip
        self.hub.publish(event)
