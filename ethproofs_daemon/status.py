"""What the actors show ``/health`` and the metrics: the follower's and the prover's status.

Plain mutable values, written only by their actor (``node/``, ``prover/actor.py``) and read by
``health.py``, ``metrics.py`` and the admin status endpoint (``http/app.py``). A leaf module, so
that health and metrics need not import the actors. Times are Unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FollowerStatus:
    """What ``/health`` and metrics show about the chain side (mutated by the input generator).

    ``head`` is the last trusted head; ``untrusted_head`` a head waiting for the next poll to
    confirm it (``node/targets.py``: ``check_head``), else None. ``new_heads_live``: whether the
    ``newHeads`` WebSocket subscription is confirmed and open (None: no ``ETH_WS_URL``)."""

    head: int | None = None
    head_seen_at: float | None = None
    untrusted_head: int | None = None
    last_target_seen: int | None = None
    next_target: int | None = None
    rpc_ok: bool = True
    rpc_failing_since: float | None = None
    rpc_last_error: str | None = None
    witness_method_missing: bool = False
    skipped_targets: int = 0
    prepared_count: int = 0
    new_heads_live: bool | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class ProverStatus:
    """What ``/health`` shows about the prover (mutated by the prover actor only).

    ``reorg_count``: jobs sent back to be rebuilt because their block left the chain;
    ``last_reorg``: the latest of them, in words."""

    version: str | None = None
    current_block: int | None = None
    current_job_id: int | None = None
    current_kind: str | None = None
    proving_since: float | None = None
    phase: str | None = None
    proved_count: int = 0
    failed_count: int = 0
    last_failure: str | None = None
    reorg_count: int = 0
    last_reorg: str | None = None
