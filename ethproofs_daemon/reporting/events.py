"""Operator notifications as values, and their Slack Block Kit form (pure functions, no I/O).

The events and their wording are the original client's (lambdaclass/ethrex-ethproofs@c667f9b,
branch ``slack_notifications``, not merged into main): a ``header`` block with the headline and
one ``section`` block with ``*Label:* `value``` lines. Block events also carry the block's gas
used and transaction count; every event carries the host's GPU, CPU and RAM.

Two additions of ours: a ``Reason``/``Error`` field on failures (the original sent the headline
only), and a ``suppressed`` summary when the rate limit coalesced events (``ratelimit.py``).
"""

from __future__ import annotations

import enum
import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import urlsplit

from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting.notices import (
    BlockNoted,
    EthProofsRequestFailed,
    InputGenerationFailed,
    Notice,
    ProofDataUnreadable,
    ProofFailed,
    ProofSubmitted,
)
from ethproofs_daemon.reporting.rpc_health import RpcDown, RpcRecovered

#: Slack limits: header text 150 characters, section text 3000 (api.slack.com/reference/block-kit).
HEADER_MAX: Final = 150
SECTION_MAX: Final = 3000
#: Longest value shown in one field (characters); longer values end in "…".
VALUE_MAX: Final = 500


class EventKind(enum.StrEnum):
    """What happened. One Slack message per event (unless rate-limited)."""

    INPUT_GENERATION_FAILED = "input_generation_failed"
    PROOF_FAILED = "proof_failed"
    PROOF_DATA_UNREADABLE = "proof_data_unreadable"
    ETHPROOFS_REQUEST_FAILED = "ethproofs_request_failed"
    PROOF_SUBMITTED = "proof_submitted"
    RPC_DOWN = "rpc_down"
    RPC_RECOVERED = "rpc_recovered"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class HostInfo:
    """The machine, as shown in every message. None: not known here (no GPU, no /proc)."""

    hostname: str | None = None
    gpu: str | None = None
    cpu: str | None = None
    ram: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One notification: ``kind``, Slack ``headline`` (with emoji shortcode), ``fields`` as
    ``(label, value)`` pairs in display order, and the block it is about (None for RPC events)."""

    kind: EventKind
    headline: str
    fields: tuple[tuple[str, str], ...] = ()
    block_number: int | None = None

    def field(self, label: str) -> str | None:
        """The value of the field ``label``, or None."""
        for name, value in self.fields:
            if name == label:
                return value
        return None


def _block_event(kind: EventKind, block_number: int, what: str, *fields: tuple[str, str]) -> Event:
    emoji = ":white_check_mark:" if kind is EventKind.PROOF_SUBMITTED else ":warning:"
    return Event(kind, f"{emoji} Block {block_number} {what}", tuple(fields), block_number)


def input_generation_failed(block_number: int, step: str, reason: str) -> Event:
    """``:warning: Block N input generation failed.`` with ``Step`` (e.g. ``witness_fetch``) and
    ``Reason``."""
    return _block_event(
        EventKind.INPUT_GENERATION_FAILED,
        block_number,
        "input generation failed.",
        ("Step", step),
        ("Reason", reason),
    )


def proof_failed(block_number: int, reason: str) -> Event:
    """``:warning: Block N proof generation failed.`` (cargo-zisk exited non-zero, was killed or
    timed out) with ``Reason``."""
    return _block_event(
        EventKind.PROOF_FAILED, block_number, "proof generation failed.", ("Reason", reason)
    )


def proof_data_unreadable(block_number: int, reason: str) -> Event:
    """``:warning: Block N proof data read failed.`` (exit 0 but result/proof files unreadable)."""
    return _block_event(
        EventKind.PROOF_DATA_UNREADABLE, block_number, "proof data read failed.", ("Reason", reason)
    )


def ethproofs_request_failed(block_number: int, kind: ReportKind, error: str) -> Event:
    """``:warning: Block N EthProofs <kind> request failed.`` with ``Error`` (status and body)."""
    return _block_event(
        EventKind.ETHPROOFS_REQUEST_FAILED,
        block_number,
        f"EthProofs {kind} request failed.",
        ("Error", error),
    )


def proof_submitted(block_number: int, proving_time_ms: int) -> Event:
    """``:white_check_mark: Block N proved and submitted to EthProofs.`` with ``Proving time``
    as ``X.XXs`` (``proving_time_ms`` is milliseconds)."""
    return _block_event(
        EventKind.PROOF_SUBMITTED,
        block_number,
        "proved and submitted to EthProofs.",
        ("Proving time", f"{proving_time_ms / 1000:.2f}s"),
    )


def rpc_down(rpc_url: str, down_since: float, last_error: str) -> Event:
    """``:x: ETH RPC down: <url>`` with ``RPC URL``, ``Down since`` (Unix s → UTC) and
    ``Last error``. The URL is redacted to scheme and host (``redact_url``)."""
    url = redact_url(rpc_url)
    return Event(
        EventKind.RPC_DOWN,
        f":x: ETH RPC down: {url}",
        (("RPC URL", url), ("Down since", format_utc(down_since)), ("Last error", last_error)),
    )


def rpc_recovered(rpc_url: str, down_since: float, recovered_at: float) -> Event:
    """``:white_check_mark: ETH RPC recovered: <url>`` with ``Down since``, ``Recovered at``
    (Unix s → UTC) and ``Downtime`` (``1h 02m 03s``)."""
    url = redact_url(rpc_url)
    return Event(
        EventKind.RPC_RECOVERED,
        f":white_check_mark: ETH RPC recovered: {url}",
        (
            ("Down since", format_utc(down_since)),
            ("Recovered at", format_utc(recovered_at)),
            ("Downtime", format_duration(recovered_at - down_since)),
        ),
    )


def suppressed_summary(events: Iterable[Event]) -> Event:
    """``:mute: N notifications suppressed (rate limit)`` with a count per kind and the last
    headline. ``events`` in arrival order, not empty."""
    items = list(events)
    counts = Counter(e.kind for e in items)
    fields = [(str(kind), str(n)) for kind, n in counts.items()]
    if items:
        fields.append(("Last", items[-1].headline))
    return Event(
        EventKind.SUPPRESSED,
        f":mute: {len(items)} more notifications suppressed (rate limit)",
        tuple(fields),
    )


def message(notice: Notice) -> Event | None:
    """The message for ``notice`` (without block facts and host), or None for ``BlockNoted``."""
    match notice:
        case BlockNoted():
            return None
        case InputGenerationFailed(block_number, step, reason):
            return input_generation_failed(block_number, step, reason)
        case ProofFailed(block_number, reason):
            return proof_failed(block_number, reason)
        case ProofDataUnreadable(block_number, reason):
            return proof_data_unreadable(block_number, reason)
        case EthProofsRequestFailed(block_number, kind, error):
            return ethproofs_request_failed(block_number, kind, error)
        case ProofSubmitted(block_number, proving_time_ms):
            return proof_submitted(block_number, proving_time_ms)
        case RpcDown(url, down_since, last_error):
            return rpc_down(url, down_since, last_error)
        case RpcRecovered(url, down_since, recovered_at):
            return rpc_recovered(url, down_since, recovered_at)


def with_context(event: Event, facts: BlockNoted | None, host: HostInfo) -> Event:
    """``event`` plus ``Gas used``/``Tx count`` (block events; ``unknown`` when not cached) and
    ``Host``/``GPU``/``CPU``/``RAM`` (every event except the suppression summary)."""
    if event.kind is EventKind.SUPPRESSED:
        return event
    extra: list[tuple[str, str]] = []
    if event.block_number is not None:
        extra.append(("Gas used", f"{facts.gas_used:,}" if facts else "unknown"))
        extra.append(("Tx count", str(facts.tx_count) if facts else "unknown"))
    if host.hostname:
        extra.append(("Host", host.hostname))
    extra.append(("GPU", host.gpu or "none"))
    extra.append(("CPU", host.cpu or "unknown"))
    extra.append(("RAM", host.ram or "unknown"))
    return replace(event, fields=event.fields + tuple(extra))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_escape(text: str) -> str:
    """``text`` with ``&``, ``<`` and ``>`` escaped as Slack's mrkdwn requires, so text a node or
    a prover wrote cannot mention ``<!channel>`` or carry a ``<http://…|link>``
    (api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _field_value(value: str) -> str:
    return slack_escape(_clip(value.replace("`", "'"), VALUE_MAX))


def block_kit_json(event: Event) -> str:
    """The webhook body as a JSON string: ``{"text": headline, "blocks": [header, section]}``.

    The blocks are the original client's; ``text`` (Slack's fallback for notifications) is ours.
    Values are wrapped in backticks (a backtick inside a value becomes ``'``), clipped to
    ``VALUE_MAX`` characters and escaped (``slack_escape``); the header to ``HEADER_MAX``, the
    section to ``SECTION_MAX``. An event without fields has no section block.
    """
    lines = [f"*{slack_escape(label)}:* `{_field_value(value)}`" for label, value in event.fields]
    blocks: list[dict[str, object]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _clip(event.headline, HEADER_MAX),
                "emoji": True,
            },
        }
    ]
    if lines:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip("\n".join(lines), SECTION_MAX)},
            }
        )
    fallback = slack_escape(_clip(event.headline, HEADER_MAX))  # the fallback is mrkdwn
    return json.dumps({"text": fallback, "blocks": blocks})


def redact_url(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: RPC URLs often carry an API key in the path, query or
    user info, none of which may reach Slack or a log."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return "<rpc>"
    host = parts.hostname
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def format_utc(unix_s: float) -> str:
    """``2026-11-21 10:00:00 UTC`` for Unix seconds."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(unix_s))


def format_duration(seconds: float) -> str:
    """``45s``, ``1m 05s``, ``2h 03m 04s``, ``1d 02h 03m 04s`` (rounded down to the second)."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m {secs:02d}s"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
