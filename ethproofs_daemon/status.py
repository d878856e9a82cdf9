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
class ProofInFlight:
    """One proof the prover is running: ``job_id`` None for Proof Node API work; ``kind``
    ``prove`` / ``execute`` / ``external`` / ``attach`` (collected after a restart); ``since``
    Unix s; ``phase`` the backend's last phase name; ``prover_job_id`` the coordinator's job id
    once known."""

    block_number: int
    job_id: int | None
    kind: str
    since: float
    phase: str | None = None
    prover_job_id: str | None = None


@dataclass
class ProverStatus:
    """What ``/health`` shows about the prover (mutated by the prover actor only).

    ``in_flight``: every proof running now, by slot token; ``current_*``, ``proving_since`` and
    ``phase`` mirror the oldest of them (``sync_current``). ``slots``: proofs allowed at once.
    ``reorg_count``: jobs sent back to be rebuilt because their block left the chain;
    ``last_reorg``: the latest of them, in words. ``backend_reachable`` / ``backend_error``:
    the ZisK coordinator's state as the backend last saw it (None: no remote backend)."""

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
    slots: int = 1
    in_flight: dict[int, ProofInFlight] = field(default_factory=dict)
    backend_reachable: bool | None = None
    backend_error: str | None = None

    def sync_current(self) -> None:
        """Point ``current_*`` at the oldest proof in flight (all None when there is none)."""
        oldest = min(self.in_flight.values(), key=lambda p: p.since, default=None)
        if oldest is None:
            self.current_job_id = self.current_block = None
            self.current_kind = self.proving_since = self.phase = None
            return
        self.current_job_id, self.current_block = oldest.job_id, oldest.block_number
        self.current_kind, self.proving_since = oldest.kind, oldest.since
        self.phase = oldest.phase
