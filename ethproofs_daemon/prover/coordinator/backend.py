"""``CoordinatorBackend``: a ``ProverBackend`` that proves through a ZisK coordinator cluster
(``zisk.coordinator.v1`` gRPC; ZisK 1.1–1.3, proof layout D).

The flow follows ere's client (``eth-act/ere@8961a4e:crates/cluster-client/zisk/src/client.rs``)
with the daemon's own pacing:

1. Once: ``RegisterGuestProgram(ELF)`` → ``hash_id``; a setup job, waited up to
   ``setup_timeout_s``; its ``vk`` (32 bytes) is kept and every proof's program VK must equal it;
   its ``hash_mode`` must be ``""`` or ``expected_hash_mode``.
2. Per job, within the absolute deadline ``now + req.timeout_s``: submit the prove (framed input
   inline, streamed when larger than the client's inline limit) and wait with ``WaitJobResult``
   long polls of ``poll_hold_s``.
   - ``ClusterBusy`` (no queue on the server: another job runs, workers recover), transport
     errors and ``INTERNAL`` are retried with ``pacing`` until the deadline; never a failure.
   - ``SetupNeeded`` (the coordinator restarted) → setup again, then submit again.
   - ``JobNotFound`` while waiting (the coordinator restarted, the job is gone) → submit again.
   - Deadline passed → ``CancelJob`` (bounded by ``cancel_timeout_s``), ``ProverFailed``
     ``proving_timeout``. Abandoned by trio cancellation → ``CancelJob`` too, unless
     ``cancel_on_abandon`` is False (then the job keeps running and ``attach`` can collect it).
3. Result: ``proof.data`` decoded as layout D (``proof_files``), checked (kind, hash family,
   program VK), and its EthProofs bytes (``get_proof_u64`` LE, plus the 1.3 hash tag word when
   ``hash_tag``) written to ``req.output_dir/proof.bin``.

The whole ``prove`` is bounded by ``req.timeout_s + cancel_timeout_s`` even against a server
that accepts connections and never answers (every call has its own gRPC deadline, and the
overall deadline cancels whatever call is in flight).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog
import trio

from ethproofs_daemon.backoff import Backoff
from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover.backend import (
    ExecutionResult,
    JobLost,
    ProofResult,
    ProveRequest,
    ProverFailed,
    ProverUnavailable,
)
from ethproofs_daemon.prover.coordinator.client import CoordinatorClient, ProofDest
from ethproofs_daemon.prover.coordinator.errors import (
    ClusterBusy,
    CoordinatorError,
    CoordinatorInternal,
    CoordinatorUnreachable,
    JobNotFound,
    ProgramNotFound,
    RequestRejected,
    SetupNeeded,
)
from ethproofs_daemon.prover.coordinator.outcomes import (
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobOutcome,
    JobRunning,
    ProveOutput,
    SetupOutput,
    failure_reason,
)
from ethproofs_daemon.prover.proof_files import (
    ProofFileError,
    ProofKind,
    ProofLayout,
    check_program_vk,
    decode_proof_file,
    ethproofs_proof_bytes,
)
from ethproofs_daemon.prover.zisk_cli import ZiskVersion

log = structlog.get_logger(__name__)

#: The file ``prove`` writes: the EthProofs proof bytes.
PROOF_FILE: Final = "proof.bin"
#: The hash family of the 1.1 proving keys (ere's ``VADCOP_FINAL_HASH_FAMILY``,
#: ``eth-act/ere@8961a4e:crates/verifier/zisk/src/verifier/vk.rs``).
POSEIDON1: Final = "Poseidon1"
#: Paced retries of busy / unreachable answers: 5 s as ere and provoor, growing to 30 s.
DEFAULT_PACING: Final = Backoff(base_s=5.0, factor=1.5, cap_s=30.0, jitter=0.2)
#: Phase names given to ``on_progress`` (the real server reports no phases).
PHASE_SETUP: Final = "COORDINATOR_SETUP"
PHASE_SUBMITTING: Final = "COORDINATOR_SUBMITTING"
PHASE_PROVING: Final = "COORDINATOR_PROVING"

_RETRIED: Final = (ClusterBusy, CoordinatorUnreachable, CoordinatorInternal)

__all__ = ("CoordinatorBackend", "CoordinatorHealth", "JobLost")


@dataclass(frozen=True, slots=True)
class CoordinatorHealth:
    """What ``/health`` can show. ``reachable``: the last call got an answer (busy counts as an
    answer); ``last_error`` / ``last_error_at`` (Unix s): the last failed call; ``hash_id`` the
    registered program (None before registration); ``setup_done``: a setup VK is held."""

    reachable: bool
    last_error: str | None
    last_error_at: float | None
    hash_id: str | None
    setup_done: bool


def _unreadable(message: str) -> ProverFailed:
    return ProverFailed(FailureReason.PROOF_DATA_UNREADABLE, message)


class CoordinatorBackend:
    """Proves through a coordinator (module doc). One instance per guest ELF; ``prove`` calls
    may overlap when the cluster has room for several jobs (each waits its own job).

    Args:
        client: the coordinator client (owned by the caller, who closes it).
        elf_path: the guest ELF registered with the coordinator.
        version: what ``detect_version`` reports (the API has no version call; layout D needs
            1.1–1.3).
        proof_dest: ``proof_dest`` of every prove (EthProofs: STARK_MINIMAL).
        hash_tag: append the 1.3 hash tag word to the EthProofs bytes (wasm verifier ≥ 0.4.0).
        expected_hash_mode: the setup's ``hash_mode`` and the proof's hash family must be this
            (a 0.17/0.18 setup's ``""`` is accepted).
        setup_timeout_s: bound on registration + setup when no job deadline applies (``start``).
        poll_hold_s: ``WaitJobResult`` hold, seconds (1..3600).
        pacing: waits between retries of busy / unreachable answers.
        cancel_timeout_s: bound on the ``CancelJob`` sent at a deadline or abandonment.
        cancel_on_abandon: send ``CancelJob`` when trio cancels a ``prove``/``attach``.
    """

    def __init__(
        self,
        client: CoordinatorClient,
        elf_path: Path,
        *,
        version: ZiskVersion,
        proof_dest: ProofDest = ProofDest.STARK_MINIMAL,
        hash_tag: bool = False,
        expected_hash_mode: str = POSEIDON1,
        setup_timeout_s: float = 600.0,
        poll_hold_s: int = 5,
        pacing: Backoff = DEFAULT_PACING,
        cancel_timeout_s: float = 30.0,
        cancel_on_abandon: bool = True,
    ) -> None:
        self.client = client
        self.elf_path = elf_path
        self.version = version
        self.proof_dest = proof_dest
        self.hash_tag = hash_tag
        self.expected_hash_mode = expected_hash_mode
        self.setup_timeout_s = setup_timeout_s
        self.poll_hold_s = poll_hold_s
        self.pacing = pacing
        self.cancel_timeout_s = cancel_timeout_s
        self.cancel_on_abandon = cancel_on_abandon
        self._hash_id: str | None = None
        self._vk: bytes | None = None
        self._setup_generation = 0
        self._setup_lock = trio.Lock()
        self._reachable = False
        self._last_error: str | None = None
        self._last_error_at: float | None = None

    # ------------------------------------------------------------------ health

    def health(self) -> CoordinatorHealth:
        """A snapshot of the coordinator's state as this backend last saw it."""
        return CoordinatorHealth(self._reachable, self._last_error, self._last_error_at,
                                 self._hash_id, self._vk is not None)

    def _answered(self) -> None:
        self._reachable = True

    def _failed_call(self, what: str, exc: CoordinatorError) -> None:
        self._reachable = not isinstance(exc, CoordinatorUnreachable)
        self._last_error = f"{what}: {exc}"
        self._last_error_at = time.time()

    async def _pause(self, what: str, exc: CoordinatorError, attempt: int,
                     **fields: object) -> None:
        self._failed_call(what, exc)
        delay = self.pacing.delay_s(attempt)
        log.info("coordinator_retry_paced", call=what, error=str(exc), attempt=attempt,
                 delay_s=round(delay, 3), **fields)
        await trio.sleep(delay)

    # ------------------------------------------------------------------ setup

    async def detect_version(self) -> ZiskVersion:
        """The configured ``version`` (the coordinator API reports none)."""
        return self.version

    async def start(self) -> str:
        """Register the ELF and run its setup now (else the first ``prove`` does), bounded by
        ``setup_timeout_s``. Returns the program's ``hash_id``.

        Raises:
            ProverUnavailable: not done in time (coordinator unreachable or busy throughout), or
                the setup failed or returned an unusable VK.
        """
        with trio.move_on_after(self.setup_timeout_s):
            try:
                hash_id, _generation = await self._ensure_setup(None)
            except ProverFailed as exc:
                raise ProverUnavailable(f"coordinator setup failed: {exc.message}") from exc
            return hash_id
        raise ProverUnavailable(
            f"coordinator setup not done within {self.setup_timeout_s:g} s: "
            f"{self._last_error or 'no answer'}")

    async def _register(self) -> str:
        elf = await trio.Path(self.elf_path).read_bytes()
        attempt = 0
        while True:
            try:
                hash_id = await self.client.register(elf)
            except _RETRIED as exc:
                attempt += 1
                await self._pause("register", exc, attempt)
                continue
            except CoordinatorError as exc:
                self._failed_call("register", exc)
                raise ProverFailed(FailureReason.INTERNAL_ERROR,
                                   f"coordinator refused the ELF: {exc}") from exc
            self._answered()
            log.info("coordinator_program_registered", hash_id=hash_id)
            return hash_id

    async def _ensure_setup(self, on_progress: Callable[[str], None] | None) -> tuple[str, int]:
        """Register and set up once (again after ``SetupNeeded`` invalidated it). Returns
        ``(hash_id, setup generation)``. Retries busy/unreachable answers without bound: the
        caller's deadline ends it."""
        async with self._setup_lock:
            attempt = 0
            while self._vk is None or self._hash_id is None:
                if self._hash_id is None:
                    self._hash_id = await self._register()
                if on_progress is not None:
                    on_progress(PHASE_SETUP)
                try:
                    job_id = await self.client.setup(self._hash_id)
                except ProgramNotFound as exc:  # the coordinator's ELF cache was wiped
                    self._failed_call("setup", exc)
                    self._hash_id = None
                    continue
                except _RETRIED as exc:
                    attempt += 1
                    await self._pause("setup", exc, attempt)
                    continue
                except CoordinatorError as exc:
                    self._failed_call("setup", exc)
                    raise ProverFailed(FailureReason.INTERNAL_ERROR,
                                       f"coordinator refused the setup: {exc}") from exc
                self._answered()
                log.info("coordinator_setup_started", hash_id=self._hash_id, job_id=job_id)
                outcome = await self._wait_terminal(job_id, None, math.inf)
                if outcome is None:  # the setup job was lost (coordinator restarted)
                    continue
                self._vk = self._setup_vk(outcome)
                self._setup_generation += 1
                log.info("coordinator_setup_done", hash_id=self._hash_id, vk=self._vk.hex())
            return self._hash_id, self._setup_generation

    def _setup_vk(self, outcome: JobOutcome) -> bytes:
        if isinstance(outcome, JobFailed):
            raise ProverFailed(FailureReason.PROVING_ERROR,
                               f"coordinator setup failed: {outcome.message}")
        if not isinstance(outcome, JobCompleted) or not isinstance(outcome.result, SetupOutput):
            raise ProverFailed(FailureReason.PROVING_ERROR,
                               f"coordinator setup ended without a setup result: {outcome}")
        setup = outcome.result
        if len(setup.vk) != 32:
            raise ProverFailed(FailureReason.PROVING_ERROR,
                               f"coordinator setup VK is {len(setup.vk)} bytes, not 32")
        if setup.hash_mode not in ("", self.expected_hash_mode):
            raise ProverFailed(FailureReason.PROVING_ERROR,
                               f"coordinator setup hash mode {setup.hash_mode!r} is not "
                               f"{self.expected_hash_mode!r}")
        return setup.vk

    # ------------------------------------------------------------------ one job

    async def _submit(self, data: bytes, on_progress: Callable[[str], None] | None) -> str:
        """Submit until a job id comes back (the caller's deadline bounds the loop)."""
        attempt = 0
        setup_retries = 0
        while True:
            hash_id, generation = await self._ensure_setup(on_progress)
            if on_progress is not None:
                on_progress(PHASE_SUBMITTING)
            try:
                job_id = await self.client.prove(hash_id, data, self.proof_dest)
            except SetupNeeded as exc:
                self._failed_call("prove", exc)
                if self._setup_generation == generation:
                    self._vk = None
                setup_retries += 1
                log.warning("coordinator_setup_lost", error=str(exc), retries=setup_retries)
                if setup_retries > 1:  # set up again at once the first time only
                    await self._pause("prove", exc, setup_retries - 1)
                continue
            except _RETRIED as exc:
                attempt += 1
                await self._pause("prove", exc, attempt)
                continue
            except RequestRejected as exc:
                self._failed_call("prove", exc)
                reason = (FailureReason.INPUT_ERROR if exc.code == "OUT_OF_RANGE"
                          else FailureReason.INTERNAL_ERROR)
                raise ProverFailed(reason, f"coordinator refused the prove request: {exc}") \
                    from exc
            except CoordinatorError as exc:
                self._failed_call("prove", exc)
                raise ProverFailed(FailureReason.INTERNAL_ERROR,
                                   f"coordinator refused the prove request: {exc}") from exc
            self._answered()
            return job_id

    async def _wait_terminal(self, job_id: str, on_progress: Callable[[str], None] | None,
                             deadline: float) -> JobOutcome | None:
        """Long-poll ``job_id`` until it is terminal (None: the job is gone, ``NOT_FOUND``).
        Holds never run past ``deadline`` (trio time) by more than a second."""
        attempt = 0
        phase: str | None = None
        while True:
            remaining = deadline - trio.current_time()
            hold = (self.poll_hold_s if remaining >= self.poll_hold_s
                    else max(1, math.ceil(remaining)))
            try:
                outcome = await self.client.wait_result(job_id, hold)
            except JobNotFound as exc:
                self._failed_call("wait", exc)
                return None
            except _RETRIED as exc:
                attempt += 1
                await self._pause("wait", exc, attempt, job_id=job_id)
                continue
            except CoordinatorError as exc:
                self._failed_call("wait", exc)
                raise ProverFailed(FailureReason.INTERNAL_ERROR,
                                   f"coordinator refused to report job {job_id}: {exc}") from exc
            self._answered()
            attempt = 0
            if not isinstance(outcome, JobRunning):
                return outcome
            if outcome.phase is not None and outcome.phase != phase and on_progress is not None:
                phase = outcome.phase
                on_progress(phase)

    async def _collect(self, job_id: str, req: ProveRequest,
                       on_progress: Callable[[str], None] | None,
                       deadline: float) -> ProofResult | JobLost:
        """Wait for ``job_id`` and turn its result into ``ProofResult``; cancel the job when the
        deadline passes or the caller is cancelled (``cancel_on_abandon``)."""
        if on_progress is not None:
            on_progress(PHASE_PROVING)
        try:
            outcome = await self._wait_terminal(job_id, on_progress, deadline)
        except trio.Cancelled:
            if self.cancel_on_abandon or trio.current_time() >= deadline:
                cancelled: bool | None = None  # stays None when the cancel itself timed out
                with trio.CancelScope(shield=True, deadline=trio.current_time()
                                      + self.cancel_timeout_s):
                    cancelled = await self.client.cancel_quietly(job_id)
                log.warning("coordinator_job_cancelled", job_id=job_id, cancelled=cancelled,
                            block_number=req.block_number)
            raise
        if outcome is None:
            return JobLost(job_id)
        if isinstance(outcome, JobFailed):
            raise ProverFailed(failure_reason(outcome),
                               f"coordinator job {job_id} failed: {outcome.message}")
        if isinstance(outcome, JobCancelled):
            raise ProverFailed(FailureReason.PROVING_ERROR,
                               f"coordinator job {job_id} was cancelled on the coordinator")
        assert isinstance(outcome, JobCompleted)
        if not isinstance(outcome.result, ProveOutput):
            raise _unreadable(f"coordinator job {job_id} completed without a prove result")
        if self._vk is None:  # attached after a restart of the daemon: learn the setup VK
            await self._ensure_setup(None)
        return await self._write_result(job_id, req, outcome.result)

    async def _write_result(self, job_id: str, req: ProveRequest,
                            out: ProveOutput) -> ProofResult:
        want = (ProofKind.MINIMAL if self.proof_dest is ProofDest.STARK_MINIMAL
                else ProofKind.FINAL)
        try:
            proof = decode_proof_file(out.data, ProofLayout.V1_D)
            if proof.kind is not want:
                raise ProofFileError(f"a {proof.kind} proof, {want} asked for")
            if proof.hash_family != self.expected_hash_mode:
                raise ProofFileError(f"hash family {proof.hash_family!r}, "
                                     f"not {self.expected_hash_mode!r}")
            check_program_vk(proof, self._vk)
            data = ethproofs_proof_bytes(proof, hash_tag=self.hash_tag)
        except ProofFileError as exc:
            raise _unreadable(f"coordinator job {job_id}: proof.data: {exc}") from exc
        out_dir = trio.Path(req.output_dir)
        await out_dir.mkdir(parents=True, exist_ok=True)
        await (out_dir / PROOF_FILE).write_bytes(data)
        result = ProofResult(
            proof_path=req.output_dir / PROOF_FILE,
            proving_time_ms=out.duration_ms,
            cycles=out.steps,
            proof_id=job_id,
            output_dir=req.output_dir,
        )
        log.info("proving_finished", block_number=req.block_number, job_id=job_id,
                 proving_time_ms=result.proving_time_ms, cycles=result.cycles,
                 proof_bytes=len(data))
        return result

    # ------------------------------------------------------------------ ProverBackend

    async def prove(
        self,
        req: ProveRequest,
        *,
        on_spawn: Callable[[int], None] | None = None,
        on_progress: Callable[[str], None] | None = None,
        on_job_id: Callable[[str], None] | None = None,
    ) -> ProofResult:
        """Prove ``req`` on the cluster (module doc); ``req.input_path`` holds the framed input.

        ``on_spawn`` is never called (no local process). ``on_progress`` gets
        ``COORDINATOR_SETUP`` / ``COORDINATOR_SUBMITTING`` / ``COORDINATOR_PROVING`` (and a
        phase name should a server send one). ``on_job_id(job_id)`` is called with each
        coordinator job id as soon as it exists, before waiting (store it to ``attach`` after a
        daemon restart; a resubmission calls it again with the new id).

        Returns:
            ``proof_path`` = ``req.output_dir/proof.bin`` (EthProofs bytes), ``proving_time_ms``
            from ``stats.duration_nanos``, ``cycles`` = ``stats.steps``, ``proof_id`` = the
            coordinator job id.

        Raises:
            ProverFailed: ``input_error`` (input unreadable, not framed, or over the message
                limit), ``proving_timeout`` (deadline; the job is cancelled), the job's failure
                (``outcomes.failure_reason``), ``proof_data_unreadable`` (result not a valid
                layout-D proof of this program), ``internal_error`` (request refused).
        """
        deadline = trio.current_time() + req.timeout_s
        try:
            data = await trio.Path(req.input_path).read_bytes()
        except OSError as exc:
            raise ProverFailed(FailureReason.INPUT_ERROR, f"input unreadable: {exc}") from exc
        if not data or len(data) % 8:
            raise ProverFailed(FailureReason.INPUT_ERROR,
                               f"input of {len(data)} bytes is not framed (ZisK stdin frames "
                               "are multiples of 8 bytes)")
        bound = log.bind(block_number=req.block_number)
        bound.info("proving_started", coordinator=self.client.target, timeout_s=req.timeout_s,
                   input_bytes=len(data))
        with trio.move_on_at(deadline):
            while True:
                job_id = await self._submit(data, on_progress)
                bound.info("coordinator_job_submitted", job_id=job_id)
                if on_job_id is not None:
                    on_job_id(job_id)
                result = await self._collect(job_id, req, on_progress, deadline)
                if isinstance(result, ProofResult):
                    return result
                bound.warning("coordinator_job_lost", job_id=job_id)
        bound.warning("proving_failed", reason=str(FailureReason.PROVING_TIMEOUT),
                      last_error=self._last_error)
        raise ProverFailed(FailureReason.PROVING_TIMEOUT,
                           f"no proof from the coordinator within {req.timeout_s:g} s "
                           f"(last error: {self._last_error or 'none'})")

    async def attach(
        self,
        job_id: str,
        req: ProveRequest,
        *,
        on_progress: Callable[[str], None] | None = None,
    ) -> ProofResult | JobLost:
        """Collect the result of an existing coordinator job (e.g. stored through ``on_job_id``
        before a daemon restart) without submitting anything, within ``req.timeout_s``.

        Returns:
            The ``ProofResult`` (as ``prove``), or ``JobLost`` when the coordinator does not know
            the job: submit the block again with ``prove``.

        Raises:
            ProverFailed: as ``prove`` (``proving_timeout`` cancels the job).
        """
        deadline = trio.current_time() + req.timeout_s
        with trio.move_on_at(deadline):
            log.info("coordinator_job_attached", job_id=job_id, block_number=req.block_number)
            return await self._collect(job_id, req, on_progress, deadline)
        raise ProverFailed(FailureReason.PROVING_TIMEOUT,
                           f"coordinator job {job_id} not done within {req.timeout_s:g} s")

    async def execute(
        self, req: ProveRequest, *, on_spawn: Callable[[int], None] | None = None
    ) -> ExecutionResult:
        """Not offered: execute jobs' results sit at a field number that differs between
        coordinator versions (``JobKindResponse.execute`` 4 before 1.1, 5 from 1.1).

        Raises:
            ProverUnavailable: always (use the ``cargo-zisk`` driver or ziskemu to execute).
        """
        raise ProverUnavailable("execute-only runs are not offered through the ZisK coordinator")

    async def verify(self, proof_path: Path) -> bool:
        """Not offered: the coordinator has no verify call, and this backend runs no local
        verifier (the proof's program VK is checked against the setup's when it arrives).

        Raises:
            ProverFailed: always, reason ``proving_error``.
        """
        raise ProverFailed(FailureReason.PROVING_ERROR,
                           f"cannot verify {proof_path}: no STARK verifier with the coordinator "
                           "backend")
