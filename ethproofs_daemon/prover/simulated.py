"""A SIMULATED prover for the demo on machines without a GPU. It proves nothing.

``SimulatedProver`` has the ``ProverBackend`` interface. ``prove`` sleeps ``delay_s`` seconds (in
three phases, each reported to ``on_progress``), then writes into ``output_dir``:

- ``simulated_proof.bin``: a placeholder, NOT a proof. Shape (UTF-8)::

      SIMULATED-PROOF v1 - NOT A ZERO-KNOWLEDGE PROOF - proves nothing\\n
      {"block_number": N, "input_sha256": "<hex>", "input_size": <bytes>,
       "simulated": true, "binding": "<hex>"}\\n

  where ``binding = sha256(magic ‖ canonical JSON of the other fields)``.
- ``result.json``: ``{"cycles": null, "id": "<sha256 hex of the placeholder>", "time": <s>,
  "simulated": true}`` (written for inspection; ``prove`` returns the same values directly).

``verify`` recomputes the binding, so a placeholder whose fields were edited (or truncated)
verifies INVALID; ``placeholder_valid(data, input_bytes)`` also checks it was made over those input
bytes. This is an integrity check, not authenticity: anyone can write a valid placeholder. Cycles
are unknown (None): a simulated run executes nothing, and inventing a number would mislead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

import structlog
import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover.backend import (
    ExecutionResult,
    ProofResult,
    ProveRequest,
    ProverFailed,
)
from ethproofs_daemon.prover.zisk_cli import ZiskVersion, parse_version

log = structlog.get_logger(__name__)

MAGIC: Final = b"SIMULATED-PROOF v1 - NOT A ZERO-KNOWLEDGE PROOF - proves nothing\n"
PROOF_FILE: Final = "simulated_proof.bin"
RESULT_FILE: Final = "result.json"



def simulated_version(stands_for: str = "0.14.0") -> ZiskVersion:
    """What ``detect_version`` reports: the ZisK release it stands for (the guest profile's,
    ``"1.1.0-alpha"``), with ``raw`` saying it is simulated."""
    parsed = parse_version(f"cargo-zisk {stands_for}")
    raw = f"simulated-prover (no ZisK; proves nothing) standing for cargo-zisk {stands_for}"
    return dataclasses.replace(parsed, raw=raw)


_PHASES: Final = ("SIMULATED_SETUP", "SIMULATED_PROVING", "SIMULATED_WRITING")


def _binding(fields: Mapping[str, object]) -> str:
    canonical = json.dumps(dict(fields), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(MAGIC + canonical).hexdigest()


def placeholder_bytes(block_number: int, input_bytes: bytes) -> bytes:
    """The placeholder proof for ``block_number`` over ``input_bytes`` (format: module doc)."""
    fields: dict[str, object] = {
        "block_number": block_number,
        "input_sha256": hashlib.sha256(input_bytes).hexdigest(),
        "input_size": len(input_bytes),
        "simulated": True,
    }
    body = {**fields, "binding": _binding(fields)}
    return MAGIC + json.dumps(body, sort_keys=True).encode() + b"\n"


def placeholder_valid(data: bytes, input_bytes: bytes | None = None) -> bool:
    """True when ``data`` is an untampered placeholder (and, if ``input_bytes`` is given, one made
    over exactly those bytes). Never raises on malformed data."""
    if not data.startswith(MAGIC):
        return False
    try:
        body = json.loads(data[len(MAGIC) :])
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    if not isinstance(body, dict) or set(body) != {
        "block_number", "input_sha256", "input_size", "simulated", "binding"
    }:
        return False
    binding = body.pop("binding")
    if body.get("simulated") is not True or binding != _binding(body):
        return False
    if input_bytes is not None:
        return bool(
            body["input_sha256"] == hashlib.sha256(input_bytes).hexdigest()
            and body["input_size"] == len(input_bytes)
        )
    return True


class SimulatedProver:
    """A ``ProverBackend`` that sleeps instead of proving (demo without GPU; proves nothing).

    No process is spawned, so ``on_spawn`` is never called.

    Args:
        delay_s: how long ``prove`` sleeps, in seconds.
        execute_delay_s: how long ``execute`` sleeps, in seconds.
        failures: block number → the ``FailureReason`` its ``prove`` raises after sleeping (for
            demos of the failure path).
        stands_for: the ZisK release ``detect_version`` reports (the guest profile's).
    """

    def __init__(
        self,
        *,
        delay_s: float = 2.0,
        execute_delay_s: float = 0.2,
        failures: Mapping[int, FailureReason] | None = None,
        stands_for: str = "0.14.0",
    ) -> None:
        self.version = simulated_version(stands_for)
        self.delay_s = delay_s
        self.execute_delay_s = execute_delay_s
        self.failures = dict(failures or {})

    async def detect_version(self) -> ZiskVersion:
        """``simulated_version(stands_for)``, with ``raw`` saying it is simulated."""
        return self.version

    async def prove(
        self,
        req: ProveRequest,
        *,
        on_spawn: Callable[[int], None] | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> ProofResult:
        """Sleep ``delay_s`` in three phases, then write the placeholder and ``result.json``
        (module doc).

        Returns:
            The placeholder's path, ``proving_time_ms`` the measured sleep, ``cycles`` None,
            ``proof_id`` the placeholder's sha256 hex.

        Raises:
            ProverFailed: ``input_error`` when the input file cannot be read;
                ``proving_timeout`` when ``delay_s`` is longer than ``req.timeout_s``, raised
                after sleeping ``timeout_s`` in all (as a real run is killed at its deadline);
                or the reason configured in ``failures`` for this block, after the full sleep.
        """
        try:
            input_bytes = await trio.Path(req.input_path).read_bytes()
        except OSError as exc:
            raise ProverFailed(FailureReason.INPUT_ERROR, f"input unreadable: {exc}") from exc
        log.info("simulated_proving_started", block_number=req.block_number, delay_s=self.delay_s)
        started = time.monotonic()
        with trio.move_on_after(req.timeout_s) as deadline:
            for phase in _PHASES:
                if on_progress is not None:
                    on_progress(phase)
                await trio.sleep(self.delay_s / len(_PHASES))
        if deadline.cancelled_caught:
            raise ProverFailed(
                FailureReason.PROVING_TIMEOUT,
                f"simulated run of {self.delay_s:g} s ran past the {req.timeout_s:g} s timeout",
            )
        if req.block_number in self.failures:
            raise ProverFailed(
                self.failures[req.block_number],
                f"simulated failure configured for block {req.block_number}",
            )
        elapsed_ms = int((time.monotonic() - started) * 1000)
        proof = placeholder_bytes(req.block_number, input_bytes)
        proof_id = hashlib.sha256(proof).hexdigest()
        out = trio.Path(req.output_dir)
        await out.mkdir(parents=True, exist_ok=True)
        await (out / PROOF_FILE).write_bytes(proof)
        result = {"cycles": None, "id": proof_id, "time": elapsed_ms / 1000, "simulated": True}
        await (out / RESULT_FILE).write_text(json.dumps(result, indent=2))
        log.info(
            "simulated_proving_finished", block_number=req.block_number,
            proving_time_ms=elapsed_ms, proof_id=proof_id,
        )
        return ProofResult(
            proof_path=req.output_dir / PROOF_FILE,
            proving_time_ms=elapsed_ms,
            cycles=None,
            proof_id=proof_id,
            output_dir=req.output_dir,
        )

    async def execute(
        self, req: ProveRequest, *, on_spawn: Callable[[int], None] | None = None
    ) -> ExecutionResult:
        """Sleep ``execute_delay_s``; cycles are None (nothing is executed).

        Raises:
            ProverFailed: ``input_error`` when the input file does not exist;
                ``proving_timeout`` when ``execute_delay_s > req.timeout_s`` (after sleeping
                ``timeout_s``).
        """
        if not await trio.Path(req.input_path).is_file():
            raise ProverFailed(FailureReason.INPUT_ERROR, f"input not found: {req.input_path}")
        started = time.monotonic()
        with trio.move_on_after(req.timeout_s) as deadline:
            await trio.sleep(self.execute_delay_s)
        if deadline.cancelled_caught:
            raise ProverFailed(
                FailureReason.PROVING_TIMEOUT,
                f"simulated execution of {self.execute_delay_s:g} s ran past the "
                f"{req.timeout_s:g} s timeout",
            )
        return ExecutionResult(cycles=None, time_ms=int((time.monotonic() - started) * 1000))

    async def verify(self, proof_path: Path) -> bool:
        """True when ``proof_path`` holds an untampered placeholder (its binding hash matches its
        fields), whatever input it was made over.

        Raises:
            ProverFailed: reason ``proof_data_unreadable`` when the file cannot be read.
        """
        try:
            data = await trio.Path(proof_path).read_bytes()
        except OSError as exc:
            raise ProverFailed(
                FailureReason.PROOF_DATA_UNREADABLE, f"proof unreadable: {exc}"
            ) from exc
        return placeholder_valid(data)
