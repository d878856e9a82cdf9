"""Ancestor headers for witness synthesis: which blocks' hashes block N reads with ``BLOCKHASH``
and their RLP headers (step 4 of ``witness.synthesis``'s module docstring).

Sources: the ``BLOCKHASH`` opcode (0x40, reaching back 256 blocks; yellow paper §H.2), geth's
JavaScript tracer API (``log.op``, ``log.stack.peek``) for the operands, and
``eth_getBlockByNumber(n, false)`` for the headers, RLP-encoded by ``eth.witness``.
"""

from __future__ import annotations

from typing import Final

import structlog

from ethproofs_daemon.eth.witness import WitnessFormatError, encode_header_json
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcResponseError
from ethproofs_daemon.witness.synthesis_block import WitnessSynthesisError

log = structlog.get_logger(__name__)

#: How far back ``BLOCKHASH`` reaches.
BLOCKHASH_WINDOW: Final = 256
_BLOCKHASH_OPCODE: Final = 0x40
#: Records the operand of every BLOCKHASH (geth's JS tracer API: log.op, log.stack.peek).
BLOCKHASH_JS_TRACER: Final = (
    "{n: [], step: function(log, db) { if (log.op.toNumber() == 0x40) "
    "{ this.n.push(log.stack.peek(0).toString(16)); } }, "
    "fault: function(log, db) {}, result: function(ctx, db) { return this.n; }}"
)


def blockhash_in_code(code: bytes) -> bool:
    """True when ``code`` has a BLOCKHASH opcode outside PUSH data (a static over-estimate)."""
    i = 0
    while i < len(code):
        op = code[i]
        if op == _BLOCKHASH_OPCODE:
            return True
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return False


def oldest_header_needed(block_number: int, blockhash_numbers: tuple[int, ...] | None) -> int:
    """Lowest block number whose header the witness needs (``block_number - 1`` at most).

    ``blockhash_numbers`` None means "BLOCKHASH may be used but the operands are unknown": the
    whole 256-block window. Numbers outside the window (BLOCKHASH gives 0 there) are ignored.
    """
    parent = block_number - 1
    low_window = max(0, block_number - BLOCKHASH_WINDOW)
    if blockhash_numbers is None:
        return low_window
    in_window = [n for n in blockhash_numbers if low_window <= n <= parent]
    return min([parent, *in_window])


async def fetch_headers(rpc: JsonRpcClient, low: int, high: int) -> tuple[bytes, ...]:
    """RLP headers of blocks ``low..high`` (inclusive), oldest first, from
    ``eth_getBlockByNumber(n, false)``; each must hash to its ``hash``.

    Raises:
        WitnessSynthesisError: a block is missing or its header does not re-encode to its hash.
    """
    out: list[bytes] = []
    for number in range(low, high + 1):
        doc = await rpc.call("eth_getBlockByNumber", [hex(number), False])
        if not isinstance(doc, dict):
            raise WitnessSynthesisError(f"block {number} not found (ancestor header)")
        try:
            out.append(encode_header_json(doc, f"block {number} header"))
        except WitnessFormatError as exc:
            raise WitnessSynthesisError(str(exc)) from exc
    return tuple(out)


async def trace_blockhash_numbers(rpc: JsonRpcClient, block_number: int) -> tuple[int, ...] | None:
    """Block numbers the block reads with BLOCKHASH, via a JS tracer; None when not served."""
    try:
        trace = await rpc.call(
            "debug_traceBlockByNumber", [hex(block_number), {"tracer": BLOCKHASH_JS_TRACER}]
        )
    except RpcResponseError as exc:
        log.info("blockhash_trace_unavailable", block_number=block_number, error=str(exc))
        return None
    numbers: list[int] = []
    for entry in trace if isinstance(trace, list) else [None]:
        result = entry.get("result") if isinstance(entry, dict) else None
        if not isinstance(result, list):
            log.info("blockhash_trace_unavailable", block_number=block_number, entry=str(entry))
            return None
        try:
            numbers.extend(int(str(x), 16) for x in result)
        except ValueError:
            return None
    return tuple(numbers)


__all__ = [
    "BLOCKHASH_JS_TRACER",
    "BLOCKHASH_WINDOW",
    "blockhash_in_code",
    "fetch_headers",
    "oldest_header_needed",
    "trace_blockhash_numbers",
]
