"""Fetching a block's execution witness by block hash, retried within a time budget.

Primary source: ``debug_executionWitnessByBlockHash [block_hash]`` on the execution node
(JSON-RPC over plain HTTP, as eth-act/zkboost@9be2085d:crates/server/src/witness.rs does; zkboost
retries every 200 ms within ``witness_timeout_secs``).
A ``null`` result or an RPC error means "not yet": the fetch is retried with a backoff (first
pause ``retry_interval_s``, doubling up to ``RETRY_CAP_S``) until ``timeout_s`` has passed since
the fetch started, so many requests for blocks the node has not got cost a few lookups each, not
one every 200 ms (zkboost's fixed interval). A node that does not
serve the method (``-32601``) is not asked again during that fetch. Each round, after the node,
the fallback sources are asked in order (``FallbackWitnessSource``: e.g. the daemon's own witness
fetchers by block number); the first non-None witness wins.

The node's witness is returned as decoded JSON, in geth's form (``headers`` as JSON header
objects, ``keys`` null) or reth's (``headers`` as RLP hex strings, ``keys`` filled); a fallback's
as it has it (the daemon's own sources give the typed ``ExecutionWitness``). The guest input
builder turns either into the guest's encoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

import structlog
import trio

from ethproofs_daemon.backoff import Backoff
from ethproofs_daemon.node.rpc import (
    JsonRpcClient,
    RpcError,
    RpcMethodNotFound,
)
from ethproofs_daemon.proofnode.guest_input import NodeWitness

log = structlog.get_logger(__name__)

WITNESS_BY_HASH_METHOD: Final = "debug_executionWitnessByBlockHash"


class WitnessTimeout(Exception):
    """No source produced the witness within the budget; message names the block hash."""


class FallbackWitnessSource(Protocol):
    """A fallback witness source. Returns None when it has nothing (yet) for that block."""

    async def witness(self, *, block_hash: str, block_number: int) -> NodeWitness | None:
        """The witness for the block (``block_hash`` is 0x-hex), JSON or typed, or None.

        Should not raise for "not found"; any ``RpcError`` it raises counts as "not yet".
        """
        ...


class WitnessProvider(Protocol):
    """What the proof node service needs: a witness, or ``WitnessTimeout``."""

    async def fetch(self, *, block_hash: str, block_number: int, timeout_s: float) -> NodeWitness:
        """The witness for the block, JSON or typed.

        Raises:
            WitnessTimeout: no source had it within ``timeout_s`` seconds.
        """
        ...


#: Longest pause between two lookups of one block's witness (s).
RETRY_CAP_S: Final = 2.0


class RpcWitnessProvider:
    """``debug_executionWitnessByBlockHash`` on ``client`` (may be None: fallbacks only), then
    ``fallbacks`` in order, every ``retry_interval_s`` seconds until the budget is spent."""

    def __init__(
        self,
        client: JsonRpcClient | None,
        *,
        fallbacks: Sequence[FallbackWitnessSource] = (),
        retry_interval_s: float = 0.2,
    ) -> None:
        self._client = client
        self._fallbacks = tuple(fallbacks)
        self._backoff = Backoff(retry_interval_s, 2.0, cap_s=RETRY_CAP_S, jitter=0.1)

    async def fetch(self, *, block_hash: str, block_number: int, timeout_s: float) -> NodeWitness:
        """See ``WitnessProvider.fetch``. Each RPC call is limited to what is left of the budget."""
        deadline = trio.current_time() + timeout_s
        use_rpc = self._client is not None
        attempts = 0
        last_error = "no witness source answered"
        with trio.move_on_at(deadline):
            while True:
                attempts += 1
                if use_rpc and self._client is not None:
                    left = max(0.001, deadline - trio.current_time())
                    try:
                        result = await self._client.call(
                            WITNESS_BY_HASH_METHOD, [block_hash], timeout_s=left
                        )
                    except RpcMethodNotFound as exc:
                        use_rpc = False
                        last_error = str(exc)
                        log.warning("witness_method_missing", block_hash=block_hash)
                    except RpcError as exc:
                        last_error = str(exc)
                    else:
                        if result is not None:
                            return result
                        last_error = "the node returned null"
                for source in self._fallbacks:
                    try:
                        found = await source.witness(
                            block_hash=block_hash, block_number=block_number
                        )
                    except RpcError as exc:
                        last_error = str(exc)
                        continue
                    if found is not None:
                        log.info("witness_from_fallback", block_hash=block_hash,
                                 source=type(source).__name__)  # fmt: skip
                        return found
                await trio.sleep(self._backoff.delay_s(attempts))
        log.warning("witness_timed_out", block_hash=block_hash, attempts=attempts, error=last_error)
        raise WitnessTimeout(f"witness timeout for block {block_hash} ({last_error})")
