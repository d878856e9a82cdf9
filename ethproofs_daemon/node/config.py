"""Settings of the input generator (``node/follower.py``) and its head loop (``node/head.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class FollowerConfig:
    """Settings of the generator: ``*_s`` in seconds, ``block_interval``, ``lookback_blocks``
    and ``confirmations`` in blocks, ``max_prepared`` in jobs."""

    proof_type: str
    block_interval: int
    lookback_blocks: int
    poll_interval_s: float
    start_block: int | None
    inputs_dir: Path
    max_prepared: int = 2
    input_retention_s: float = 14 * 86400.0
    confirmations: int = 0
