"""A stand-in ``ProverBackend`` (``ethproofs_daemon/prover/backend.py``) without a process: for
unit tests of the prover actor under trio's ``MockClock``. It proves nothing.

Contract followed: ``detect_version`` returns a supported ``ZiskVersion``; ``prove`` reports each
phase through ``on_progress``, takes ``prove_s`` seconds of trio time (so cancellation lands in
it like in a real run), writes a proof file and ``result.json`` into ``req.output_dir`` and
returns their ``ProofResult``; ``on_spawn`` is never called (no process); a failure is
``ProverFailed`` with its reason. ``execute`` likewise returns an ``ExecutionResult``. ``verify``
checks the proof file's bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover.backend import (
    ExecutionResult,
    ProofResult,
    ProveRequest,
    ProverFailed,
)
from ethproofs_daemon.prover.zisk_cli import ZiskVersion

VERSION = ZiskVersion(0, 14, 0, raw="stand-in backend standing for cargo-zisk 0.14.0")
PROOF_BYTES = b"stand-in proof: proves nothing"


@dataclass
class StandinBackend:
    """``calls`` records ``(method, block_number)`` when each run starts; ``finished`` the blocks
    whose run completed; ``fail_with`` makes the next run raise it after ``prove_s``."""

    prove_s: float = 10.0
    cycles: int | None = 1234
    calls: list[tuple[str, int]] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)
    fail_with: ProverFailed | None = None

    async def detect_version(self) -> ZiskVersion:
        return VERSION

    async def prove(
        self,
        req: ProveRequest,
        *,
        on_spawn: Callable[[int], None] | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> ProofResult:
        self.calls.append(("prove", req.block_number))
        if on_progress is not None:
            on_progress("STANDIN_PROVING")
        await trio.sleep(self.prove_s)
        self._maybe_fail()
        # Synchronous on purpose: no thread, so MockClock cannot jump while the files are written.
        req.output_dir.mkdir(parents=True, exist_ok=True)
        proof = req.output_dir / "proof.bin"
        proof.write_bytes(PROOF_BYTES)
        (req.output_dir / "result.json").write_text(json.dumps(
            {"cycles": self.cycles, "id": "0xstandin", "time": self.prove_s}))
        self.finished.append(req.block_number)
        return ProofResult(proof, int(self.prove_s * 1000), self.cycles, "0xstandin",
                           req.output_dir)

    async def execute(
        self, req: ProveRequest, *, on_spawn: Callable[[int], None] | None = None
    ) -> ExecutionResult:
        self.calls.append(("execute", req.block_number))
        await trio.sleep(self.prove_s)
        self._maybe_fail()
        self.finished.append(req.block_number)
        return ExecutionResult(self.cycles, int(self.prove_s * 1000))

    async def verify(self, proof_path: Path) -> bool:
        try:
            return await trio.Path(proof_path).read_bytes() == PROOF_BYTES
        except OSError as exc:
            raise ProverFailed(FailureReason.PROOF_DATA_UNREADABLE, str(exc)) from exc

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error

