"""A stand-in for the ZisK prover and verifier that follows ``ProvingBackend``/``VerifyingBackend``.

Contract followed (``ethproofs_daemon/proofnode/backend.py``): ``prove`` reads the input file,
writes the proof into ``output_dir`` and returns a ``ProvedArtifact``; failures are
``ProvingFailed`` with ``PROVING_TIMEOUT`` (proving took longer than ``timeout_s``, counted from
the start of proving, queue wait excluded), ``PROVING_ERROR`` (the "guest" could not read the
input) or whatever ``fail_with`` says. Jobs are proved one at a time, larger ``priority`` first,
like the shared prover queue.

The "guest" here reads the EIP-8025 input (ZisK frame ‖ u32 LE SSZ length ‖ SSZ request ‖ witness),
decodes the request and commits its ``hash_tree_root``. The proof is::

    b"STANDIN1" ‖ root (32 B) ‖ 0x01 ‖ zero padding (pad_bytes) ‖ sha256(everything before) (32 B)

``verify`` returns True only when the checksum holds and the committed root equals the expected
one, so any tampered byte gives INVALID. ``VerificationError`` for a proof too short to parse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.proofnode.backend import ProvedArtifact, ProvingFailed, VerificationError
from ethproofs_daemon.ssz import SszError, decode_new_payload_request

MAGIC = b"STANDIN1"


@dataclass(frozen=True, slots=True)
class ProveCall:
    proof_type: str
    input_path: Path
    priority: int
    timeout_s: float


@dataclass
class StandinProver:
    """Stand-in prover + verifier (see module docstring). ``proving_s``: simulated proving time."""

    proving_s: float = 0.0
    pad_bytes: int = 64
    fail_with: ProvingFailed | None = None
    calls: list[ProveCall] = field(default_factory=list)
    gate: trio.Event | None = None  # when set, proving waits for it (to hold jobs in flight)
    _lock: trio.Lock = field(default_factory=trio.Lock)

    async def prove(
        self,
        *,
        proof_type: str,
        input_path: Path,
        output_dir: Path,
        priority: int,
        timeout_s: float,
    ) -> ProvedArtifact:
        self.calls.append(ProveCall(proof_type, input_path, priority, timeout_s))
        async with self._lock:  # the shared prover proves one job at a time
            if self.gate is not None:
                await self.gate.wait()
            if self.fail_with is not None:
                raise self.fail_with
            data = await trio.Path(input_path).read_bytes()
            root = guest_root(data)
            if self.proving_s > timeout_s:
                await trio.sleep(timeout_s)
                raise ProvingFailed(
                    FailureReason.PROVING_TIMEOUT,
                    f"proving timed out after {timeout_s:.2f} seconds",
                )
            await trio.sleep(self.proving_s)
            body = MAGIC + root + b"\x01" + b"\x00" * self.pad_bytes
            proof = body + hashlib.sha256(body).digest()
            path = output_dir / "proof.bin"
            await trio.Path(path).write_bytes(proof)
            return ProvedArtifact(path, proving_time_ms=int(self.proving_s * 1000), cycles=1234)

    async def verify(
        self, *, proof_type: str, proof: bytes, new_payload_request_root: bytes
    ) -> bool:
        if len(proof) < len(MAGIC) + 33 + 32:
            raise VerificationError(f"proof of {len(proof)} bytes is too short")
        body, checksum = proof[:-32], proof[-32:]
        if hashlib.sha256(body).digest() != checksum or not body.startswith(MAGIC):
            return False
        committed = body[len(MAGIC) : len(MAGIC) + 32]
        return committed == new_payload_request_root and body[len(MAGIC) + 32] == 1


def guest_root(data: bytes) -> bytes:
    """What the stand-in guest commits: the root of the SSZ request inside a framed input."""
    try:
        frame_len = int.from_bytes(data[:8], "little")
        inner = data[8 : 8 + frame_len]
        ssz_len = int.from_bytes(inner[:4], "little")
        return decode_new_payload_request(inner[4 : 4 + ssz_len]).root
    except (SszError, ValueError) as exc:
        raise ProvingFailed(FailureReason.PROVING_ERROR, f"guest rejected input: {exc}") from exc
