"""Settings of the input generator (``node/follower.py``) and its head loop (``node/head.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ethproofs_daemon.backoff import Backoff


@dataclass(frozen=True, slots=True)
class NewHeadsConfig:
    """The ``eth_subscribe("newHeads")`` subscription (``node/new_heads.py``): ``url`` is the
    node's WebSocket endpoint (``ws://`` or ``wss://``, ``ETH_WS_URL``); ``*_s`` in seconds,
    ``max_message_bytes`` in bytes (a larger message closes the socket, which is then reopened);
    ``reconnect`` is the wait before each new connection after a drop."""

    url: str
    max_message_bytes: int = 64 * 1024
    connect_timeout_s: float = 10.0
    subscribe_timeout_s: float = 10.0
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 10.0
    reconnect: Backoff = field(
        default_factory=lambda: Backoff(base_s=0.5, factor=2.0, cap_s=30.0, jitter=0.2))


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
    #: When set, a new head announced over WebSocket wakes the head loop at once; polling every
    #: ``poll_interval_s`` goes on regardless (``node/head.py``).
    new_heads: NewHeadsConfig | None = None
