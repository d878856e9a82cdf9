"""The proving-backend interface shared by the real ZisK driver and the simulated prover.

Used by the prover actor and the Proof Node API: ``prove(req) -> ProofResult``,
``execute(req) -> ExecutionResult``, ``verify(proof_path) -> bool`` and ``detect_version()`` at
start.

Errors form one hierarchy:

- ``ProverError``: base.
- ``ProverUnavailable``: the backend cannot run at all (``cargo-zisk`` missing, not executable,
  ``--version`` failing or unreadable). Fix the installation; retrying does not help.
- ``UnsupportedZiskVersion``: ``cargo-zisk`` runs but is a version this daemon does not drive.
- ``ProverFailed``: one run failed; ``reason`` is the job's ``FailureReason``.

``ProverMisconfigured`` is not a backend error but what the prover actor raises at start when the
installed ``cargo-zisk`` cannot serve this daemon and guest profile: a ``supervisor.Fatal`` with
exit status 2 (a configuration error: systemd's ``RestartPreventExitStatus=2`` stops restarting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover.zisk_cli import ZiskVersion
from ethproofs_daemon.supervisor import Fatal

#: Exit status of a configuration error (the same as an invalid setting at ``run``).
EXIT_MISCONFIGURED: Final = 2


@dataclass(frozen=True, slots=True)
class ProveRequest:
    """One block to prove (or execute): ``input_path`` is the guest input file, ``output_dir``
    receives what the prover writes (``output/{block}``), ``timeout_s`` bounds the run (s);
    ``elf_path`` the guest to run when not the backend's own (the Proof Node API's guest)."""

    block_number: int
    input_path: Path
    output_dir: Path
    timeout_s: float
    elf_path: Path | None = None


@dataclass(frozen=True, slots=True)
class ProofResult:
    """A finished proof. ``proof_path`` is the file EthProofs gets (base64 of its bytes);
    ``proving_time_ms`` is the prover's own time in ms (``trunc(result.json time * 1000)``);
    ``cycles`` executed steps (None when unknown); ``proof_id`` the verifier id (hex);
    ``native_proof_path`` the file as the prover wrote it, what its ``verify`` reads (None: the
    same as ``proof_path``)."""

    proof_path: Path
    proving_time_ms: int
    cycles: int | None
    proof_id: str
    output_dir: Path
    native_proof_path: Path | None = None


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """An execution without proof: ``cycles`` executed steps (None when not printed), ``time_ms``
    the execution time the tool printed, or the wall time of the run in ms."""

    cycles: int | None
    time_ms: int


class ProverError(Exception):
    """Base of every error a proving backend raises."""


class ProverUnavailable(ProverError):
    """The backend cannot run (binary missing or broken); the message says what to fix."""


class UnsupportedZiskVersion(ProverUnavailable):
    """``cargo-zisk --version`` names a version this daemon does not drive."""

    def __init__(self, version: ZiskVersion, message: str) -> None:
        super().__init__(message)
        self.version = version


class ProverMisconfigured(Fatal):
    """The installed prover cannot serve this daemon and guest profile: its version is of a
    series the daemon does not know or does not drive, does not match the guest profile's ZisK
    series, or cannot be read. Stops the daemon at start with exit status 2
    (``EXIT_MISCONFIGURED``); ``message`` says what was found and what is supported."""

    exit_status = EXIT_MISCONFIGURED


class ProverFailed(ProverError):
    """One run failed. ``reason`` is recorded on the job; ``message`` is one human line;
    ``exit_code`` is Python's returncode (negative = signal) or None when there was no exit
    (timeout before spawn, simulated); ``stderr_tail`` the last KiB of stderr ("" if none)."""

    def __init__(
        self,
        reason: FailureReason,
        message: str,
        exit_code: int | None = None,
        stderr_tail: str = "",
    ) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class ProverBackend(Protocol):
    """What the prover actor and the Proof Node API need from a prover. One job at a time: the
    caller must not overlap ``prove``/``execute`` calls on one backend (one GPU)."""

    async def detect_version(self) -> ZiskVersion:
        """The prover's version; raises ``ProverUnavailable`` / ``UnsupportedZiskVersion``."""
        ...

    async def prove(
        self,
        req: ProveRequest,
        *,
        on_spawn: Callable[[int], None] | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> ProofResult:
        """Prove ``req``. ``on_spawn(pid)`` gets the process-group leader's pid right after the
        spawn (never called by backends without a process); ``on_progress(phase)`` gets each
        phase name as it starts. Raises ``ProverFailed`` (reason set) or ``ProverUnavailable``."""
        ...

    async def execute(
        self, req: ProveRequest, *, on_spawn: Callable[[int], None] | None = None
    ) -> ExecutionResult:
        """Execute the guest on ``req``'s input without proving. Raises like ``prove``."""
        ...

    async def verify(self, proof_path: Path) -> bool:
        """True when ``proof_path`` verifies, False when it does not; ``ProverFailed`` when the
        check itself could not run (unreadable file, tool error)."""
        ...


@dataclass(frozen=True, slots=True)
class JobLost:
    """``attach`` found no such job on the prover (the ZisK coordinator restarted, or the
    result aged out): prove the block again."""

    job_id: str


@runtime_checkable
class ResumableBackend(ProverBackend, Protocol):
    """A backend whose proofs run outside this process (the ZisK coordinator) and outlive it:
    several may run at once, each gets an id before the caller waits on it, and a restarted
    daemon collects a running one by that id instead of proving the block again."""

    async def start(self) -> str:
        """Get ready to prove (register the guest program, run its setup) and return the
        prover's id of the program. Raises ``ProverUnavailable`` when not ready in time (call
        again later)."""
        ...

    async def prove(
        self,
        req: ProveRequest,
        *,
        on_spawn: Callable[[int], None] | None = None,
        on_progress: Callable[[str], None] | None = None,
        on_job_id: Callable[[str], None] | None = None,
    ) -> ProofResult:
        """As ``ProverBackend.prove``; ``on_job_id(id)`` gets the prover's id of the proof as
        soon as it exists, before waiting (again with the new id after a resubmission)."""
        ...

    async def attach(
        self, job_id: str, req: ProveRequest, *, on_progress: Callable[[str], None] | None = None
    ) -> ProofResult | JobLost:
        """Collect the proof of the running ``job_id`` within ``req.timeout_s`` without
        submitting anything. Returns ``JobLost`` when the prover does not know the job.
        Raises ``ProverFailed`` like ``prove``."""
        ...


class ProverQueue(Protocol):
    """The shared prover as other actors reach it (the Proof Node API): a queue in front of the
    one GPU. ``prover.actor.ProverActor`` implements it; callers depend on this alone."""

    async def submit(self, request: ProveRequest, *, priority: int) -> ProofResult:
        """Prove ``request`` when its turn comes (higher ``priority`` first; EthProofs jobs have
        their own priority, 0 by default).

        Raises:
            ProverFailed: the run failed (reason set).
        """
        ...
