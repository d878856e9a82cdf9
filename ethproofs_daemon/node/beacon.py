"""A small Beacon API client: a block's execution requests, which the execution node does not serve.

``GET {base}/eth/v2/beacon/blocks/{block_id}`` (``ethereum/beacon-APIs``, ``getBlockV2``) answers
``{"version", "execution_optimistic", "finalized", "data": {"message": BeaconBlock, "signature"}}``;
from Electra on ``data.message.body.execution_requests`` is ``{deposits, withdrawals,
consolidations}`` (``ethereum/beacon-APIs@8aed6fc1:types/electra/execution_requests.yaml`` and the
``deposit``/``withdrawal``/``consolidation`` types there): byte fields as ``0x`` hex of their exact
size, ``amount``/``index`` as decimal strings (``Gwei``/``Uint64``). They become the SSZ lists of
``ssz.requests.ExecutionRequests``.

``block_id`` is ``head``/``finalized``/…, a slot, or a ``0x`` block root. The beacon block
holding execution block N is at the slot of N's timestamp (``slot_at``); passing
``expected_block_hash`` checks that its ``execution_payload.block_hash`` is N's.

Errors (callers decide by class): ``BeaconTransportError`` (connect, timeout, HTTP status other
than 200 and 404: retry), ``BeaconBlockNotFound`` (404), ``BeaconMalformedResponse`` (not JSON, or
a field missing or malformed: ``field`` names it), ``BeaconBlockMismatch`` (the block holds
another execution payload).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Final

import httpx
import trio

from ethproofs_daemon.eth.errors import InputError
from ethproofs_daemon.eth.types import Block
from ethproofs_daemon.inputs.checks import block_hash
from ethproofs_daemon.ssz.requests import ExecutionRequests

#: Mainnet beacon chain genesis time (Unix seconds) and slot length (seconds)
#: (``GET /eth/v1/beacon/genesis`` on mainnet; ``SECONDS_PER_SLOT`` in
#: ``ethereum/consensus-specs@a08d8a6e:configs/mainnet.yaml``).
MAINNET_GENESIS_TIME: Final = 1_606_824_023
SECONDS_PER_SLOT: Final = 12

#: Seconds one block request may take (connect, send, the whole reply).
DEFAULT_TIMEOUT_S: Final = 30.0

_REQUESTS_PATH: Final = "data.message.body.execution_requests"
_UINT64_MAX: Final = (1 << 64) - 1


class BeaconError(Exception):
    """Base of every error of the Beacon API client."""


class BeaconTransportError(BeaconError):
    """No usable reply: connect or read failure, timeout, HTTP status other than 200 and 404."""


class BeaconBlockNotFound(BeaconError):
    """404: the node has no block with this id (e.g. a missed slot, or pruned)."""


class BeaconMalformedResponse(BeaconError):
    """A 200 reply that is not JSON or lacks a field; ``field`` is its dotted path."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class BeaconBlockMismatch(BeaconError):
    """The beacon block's execution payload is not the execution block asked for."""


def slot_at(
    timestamp: int, *, genesis_time: int = MAINNET_GENESIS_TIME, seconds: int = SECONDS_PER_SLOT
) -> int:
    """The slot whose start is ``timestamp`` (Unix seconds), as a post-merge execution block's
    timestamp is its slot's (``compute_timestamp_at_slot``, consensus-specs bellatrix)."""
    return (timestamp - genesis_time) // seconds


def _obj(value: object, field: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise BeaconMalformedResponse(field, f"expected an object, got {type(value).__name__}")
    return value


def _member(o: dict[str, object], key: str, field: str) -> object:
    if key not in o:
        raise BeaconMalformedResponse(f"{field}.{key}", "missing")
    return o[key]


def _hex(value: object, size: int, field: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 2 + 2 * size:
        raise BeaconMalformedResponse(field, f"expected 0x + {2 * size} hex digits")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise BeaconMalformedResponse(field, "not hex") from None


def _uint64(value: object, field: str) -> bytes:
    """A decimal-string u64 as 8 little-endian bytes (its SSZ form)."""
    if not isinstance(value, str) or not value.isdigit() or not value.isascii():
        raise BeaconMalformedResponse(field, f"expected a decimal string, got {value!r:.40}")
    number = int(value)
    if number > _UINT64_MAX:
        raise BeaconMalformedResponse(field, f"{value} is not a u64")
    return number.to_bytes(8, "little")


#: Per list: its JSON name and the members of an item with their SSZ encoders, in field order.
_ITEM_FIELDS: Final = (
    ("deposits", (("pubkey", 48), ("withdrawal_credentials", 32), ("amount", 0),
                  ("signature", 96), ("index", 0))),
    ("withdrawals", (("source_address", 20), ("validator_pubkey", 48), ("amount", 0))),
    ("consolidations", (("source_address", 20), ("source_pubkey", 48), ("target_pubkey", 48))),
)  # fmt: skip


def execution_requests_from_json(value: object, field: str = _REQUESTS_PATH) -> ExecutionRequests:
    """Beacon API ``ExecutionRequests`` JSON → the SSZ request lists.

    Raises:
        BeaconMalformedResponse: a list or member missing or malformed (e.g.
            ``data.message.body.execution_requests.deposits[0].amount``), or a list over its
            limit.
    """
    o = _obj(value, field)
    lists: dict[str, bytes] = {}
    for name, members in _ITEM_FIELDS:
        items = _member(o, name, field)
        if not isinstance(items, list):
            raise BeaconMalformedResponse(f"{field}.{name}", "expected an array")
        parts: list[bytes] = []
        for i, raw in enumerate(items):
            where = f"{field}.{name}[{i}]"
            item = _obj(raw, where)
            for key, size in members:
                member = _member(item, key, where)
                at = f"{where}.{key}"
                parts.append(_uint64(member, at) if size == 0 else _hex(member, size, at))
        lists[name] = b"".join(parts)
    try:
        return ExecutionRequests(**lists)
    except InputError as exc:
        raise BeaconMalformedResponse(
            exc.field.replace("execution_requests", field, 1), exc.reason
        ) from None


def requests_from_block_response(
    content: bytes, expected_block_hash: bytes | None = None
) -> ExecutionRequests:
    """The execution requests in a ``getBlockV2`` JSON reply body.

    Raises:
        BeaconMalformedResponse: not JSON, or a field missing or malformed (named), e.g. a
            pre-Electra block without ``execution_requests``.
        BeaconBlockMismatch: ``expected_block_hash`` given and the payload's ``block_hash``
            differs.
    """
    try:
        doc = json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise BeaconMalformedResponse("body", f"not JSON: {exc}") from None
    data = _obj(_member(_obj(doc, "body"), "data", "body"), "data")
    message = _obj(_member(data, "message", "data"), "data.message")
    body = _obj(_member(message, "body", "data.message"), "data.message.body")
    if expected_block_hash is not None:
        payload = _obj(
            _member(body, "execution_payload", "data.message.body"),
            "data.message.body.execution_payload",
        )
        where = "data.message.body.execution_payload.block_hash"
        got = _hex(_member(payload, "block_hash", where.rpartition(".")[0]), 32, where)
        if got != expected_block_hash:
            raise BeaconBlockMismatch(
                f"beacon block holds execution block 0x{got.hex()}, "
                f"not 0x{expected_block_hash.hex()}"
            )
    return execution_requests_from_json(_member(body, "execution_requests", "data.message.body"))


async def fetch_execution_requests(
    client: httpx.AsyncClient,
    base_url: str,
    block_id: str | int,
    *,
    expected_block_hash: bytes | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ExecutionRequests:
    """``GET {base_url}/eth/v2/beacon/blocks/{block_id}`` → the block's execution requests.

    Args:
        base_url: the beacon node (``BEACON_API_URL``), without a trailing slash.
        block_id: a slot, a ``0x`` root, or ``head``/``finalized``/``genesis``.
        expected_block_hash: the execution block's hash (32 bytes) to check the payload against.
        timeout_s: seconds for the whole request.

    Raises:
        BeaconTransportError: connect/read failure, over ``timeout_s``, HTTP status not 200/404.
        BeaconBlockNotFound: HTTP 404.
        BeaconMalformedResponse: as ``requests_from_block_response``.
        BeaconBlockMismatch: as ``requests_from_block_response``.
    """
    url = f"{base_url.rstrip('/')}/eth/v2/beacon/blocks/{block_id}"
    try:
        with trio.fail_after(timeout_s):
            reply = await client.get(url, headers={"Accept": "application/json"}, timeout=timeout_s)
    except trio.TooSlowError as exc:
        raise BeaconTransportError(f"{url}: no complete reply within {timeout_s:g} s") from exc
    except httpx.HTTPError as exc:
        raise BeaconTransportError(f"{url}: {type(exc).__name__}: {exc}") from exc
    if reply.status_code == 404:
        raise BeaconBlockNotFound(f"{url}: no such block (HTTP 404)")
    if reply.status_code != 200:
        raise BeaconTransportError(f"{url}: HTTP {reply.status_code}: {reply.text[:200]!r}")
    return requests_from_block_response(reply.content, expected_block_hash)


def beacon_requests_fetcher(
    base_url: str | None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Callable[[Block], Awaitable[ExecutionRequests]] | None:
    """What the input source calls for a block carrying EIP-7685 requests: the beacon block at
    the block's slot (``slot_at``, mainnet genesis and slot time), checked to carry this
    execution block (``BeaconBlockMismatch`` otherwise: on another chain the slot arithmetic does
    not hold and the check says so rather than using another block's requests). None when no
    ``BEACON_API_URL`` is set."""
    if not base_url:
        return None
    url = base_url

    async def fetch(block: Block) -> ExecutionRequests:
        async with httpx.AsyncClient() as client:
            return await fetch_execution_requests(
                client, url, slot_at(block.header.timestamp),
                expected_block_hash=block_hash(block), timeout_s=timeout_s,
            )

    return fetch
