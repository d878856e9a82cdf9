"""Proving backends: the ZisK driver (``cargo-zisk`` subprocess) and a simulated stand-in.

- ``backend``: the ``ProverBackend`` protocol, request/result values and errors.
- ``zisk_cli``: pure parsing and argv building for ``cargo-zisk`` (formats read from
  ``0xPolygonHermez/zisk@v0.14.0``; sources per format in its module docstring).
- ``proof_files``: pure decoders of every ZisK proof file (0.14 raw words … 1.x bincode-2 ``Proof``)
  and the bytes EthProofs' ZisK verifier takes (``ethproofs_proof_bytes``).
- ``process``: one subprocess in its own session; process-group termination.
- ``driver``: ``ZiskDriver`` (v0.14.x / v0.15.x).
- ``simulated``: ``SimulatedProver`` for the demo without GPU (proves nothing).
- ``actor``: the prover actor (one proof at a time); ``external``: its queue of Proof Node API
  requests waiting for the GPU.
"""

from __future__ import annotations

from ethproofs_daemon.prover.backend import (
    ExecutionResult,
    ProofResult,
    ProverBackend,
    ProveRequest,
    ProverError,
    ProverFailed,
    ProverUnavailable,
    UnsupportedZiskVersion,
)
from ethproofs_daemon.prover.driver import ZiskDriver
from ethproofs_daemon.prover.process import kill_process_group
from ethproofs_daemon.prover.simulated import SimulatedProver
from ethproofs_daemon.prover.zisk_cli import ZiskVersion

__all__ = [
    "ExecutionResult",
    "ProofResult",
    "ProveRequest",
    "ProverBackend",
    "ProverError",
    "ProverFailed",
    "ProverUnavailable",
    "SimulatedProver",
    "UnsupportedZiskVersion",
    "ZiskDriver",
    "ZiskVersion",
    "kill_process_group",
]
