"""What the Proof Node API needs from the prover and the verifier (Protocols the lead wires).

The prover is shared with EthProofs work (``ethproofs_daemon/prover/``, the ZisK driver). The
proof node reaches it only through ``ProvingBackend``; a test stand-in must follow the same
contract, failure modes included:

- ``prove`` takes a guest input file (bytes as the guest reads them, see ``guest_input.py``) and
  a fresh ``output_dir`` the backend may write into, waits its turn in the shared prover queue
  (``priority``: larger goes first, the operator sets it against EthProofs work), proves with a
  wall-clock limit of ``timeout_s`` seconds counted **from the start of proving** (queue time not
  counted, as zkboost), and returns a ``ProvedArtifact`` whose ``proof_path`` lies in
  ``output_dir``. The proof node moves that file into its cache.
- Every failure is a ``ProvingFailed`` carrying a ``FailureReason``: ``PROVING_TIMEOUT`` when the
  limit passed, ``PROVING_ERROR`` for a failed prover run (message: the tail of stderr),
  ``INTERNAL_ERROR`` for anything else. Cancellation propagates (trio ``Cancelled``) and the
  backend ends its subprocess.
- ``verify`` returns True/False for proof bytes against the expected ``new_payload_request_root``
  (zkboost's ``POST /v1/execution_proof_verifications`` at eth-act/zkboost@9be2085d: VALID iff
  the proof's public values are the sha256 of the guest's committed output for that root). A
  verifier that could not run raises ``VerificationError``; the API reports that as ``INVALID``
  like zkboost. ``VerificationBusy`` (too many waiting: 503) and
  ``public_values.VerificationUnconfirmed`` (the public values cannot be checked for this guest:
  501, never ``VALID``) pass through to the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ethproofs_daemon.jobs import FailureReason


@dataclass(frozen=True, slots=True)
class ProvedArtifact:
    """A proof on disk: ``proof_path`` (raw proof bytes, e.g. a ZisK ``vadcop_final_proof.bin``),
    ``proving_time_ms`` (int ms of proving, queue excluded), ``cycles`` (guest steps, or None)."""

    proof_path: Path
    proving_time_ms: int
    cycles: int | None = None


class ProvingFailed(Exception):
    """A proof could not be produced; ``reason`` decides the ``proof_failure`` event's reason."""

    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class VerificationError(Exception):
    """The verifier could not run (missing binary, unreadable proof); reported as INVALID."""


class VerificationBusy(Exception):
    """Too many verifications are waiting for the one verifier; the API answers 503."""


class ProvingBackend(Protocol):
    """The shared prover, as the proof node sees it (contract in the module docstring)."""

    async def prove(
        self,
        *,
        proof_type: str,
        input_path: Path,
        output_dir: Path,
        priority: int,
        timeout_s: float,
    ) -> ProvedArtifact:
        """Prove ``input_path`` for ``proof_type`` (contract in the module docstring).

        Raises:
            ProvingFailed: with ``PROVING_TIMEOUT``, ``PROVING_ERROR`` or ``INTERNAL_ERROR``.
        """
        ...


class VerifyingBackend(Protocol):
    """Checks proof bytes against a ``NewPayloadRequest`` root (32 bytes)."""

    async def verify(
        self, *, proof_type: str, proof: bytes, new_payload_request_root: bytes
    ) -> bool:
        """True when the proof is valid for that root.

        Raises:
            VerificationError: the verifier could not run.
        """
        ...
