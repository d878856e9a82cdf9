"""What actors tell the operator: typed notices and the one-method ``Notifier`` (pure, no I/O).

Actors build a notice and call ``notifier.notify(notice)``; the call returns at once and never
raises. With ``SLACK_WEBHOOK`` unset they get a ``NullNotifier``; otherwise ``slack.SlackNotifier``
turns each notice into a Slack message (wording: ``events.py``). This module imports no
transport code, so an actor depends on it alone.

``BlockNoted`` is not a message: it gives the notifier a block's gas used and transaction count,
which later messages about that block carry (as the original client did: it cached them from
the block JSON, lambdaclass/ethrex-ethproofs@c667f9b, branch ``slack_notifications``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting.rpc_health import RpcDown, RpcRecovered

__all__ = [
    "BlockNoted",
    "EthProofsRequestFailed",
    "InputGenerationFailed",
    "Notice",
    "Notifier",
    "NullNotifier",
    "ProofDataUnreadable",
    "ProofFailed",
    "ProofSubmitted",
]


@dataclass(frozen=True, slots=True)
class BlockNoted:
    """A block's ``gasUsed`` and transaction count (from ``eth_getBlockByNumber``), remembered for
    later notices about it. Sends nothing by itself."""

    block_number: int
    gas_used: int
    tx_count: int


@dataclass(frozen=True, slots=True)
class InputGenerationFailed:
    """Input generation for the block failed at ``step`` (e.g. ``witness_fetch``)."""

    block_number: int
    step: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProofFailed:
    """The prover failed (non-zero exit, signal, timeout); ``reason`` says which."""

    block_number: int
    reason: str


@dataclass(frozen=True, slots=True)
class ProofDataUnreadable:
    """The prover exited 0 but its result or proof file could not be read."""

    block_number: int
    reason: str


@dataclass(frozen=True, slots=True)
class EthProofsRequestFailed:
    """A report to ``POST /proofs/{kind}`` was rejected (400/401/404) or keeps failing."""

    block_number: int
    kind: ReportKind
    error: str


@dataclass(frozen=True, slots=True)
class ProofSubmitted:
    """The block's ``proved`` report was delivered; ``proving_time_ms`` in milliseconds."""

    block_number: int
    proving_time_ms: int


#: Everything a ``Notifier`` accepts. ``RpcDown``/``RpcRecovered`` come from ``rpc_health``.
Notice = (
    BlockNoted
    | InputGenerationFailed
    | ProofFailed
    | ProofDataUnreadable
    | EthProofsRequestFailed
    | ProofSubmitted
    | RpcDown
    | RpcRecovered
)


class Notifier(Protocol):
    """What actors call."""

    def notify(self, notice: Notice) -> None:
        """Hand over one notice; returns at once and never raises."""
        ...


class NullNotifier:
    """The ``Notifier`` used when ``SLACK_WEBHOOK`` is unset: does nothing."""

    def notify(self, notice: Notice) -> None:
        """Does nothing."""
