"""Following the node's head: ``eth_blockNumber`` every ``poll_interval_s``, new targets become
``detected`` jobs.

The cursor (the next target) is kept in the store so a restart neither repeats nor loses one;
targets passed while the node or the daemon was down are caught up within ``lookback_blocks``
(``targets.py`` decides). Node failures feed ``RpcHealthTracker`` (Slack "RPC down/recovered")
and the health status.

A polled head is acted on only when ``targets.check_head`` trusts it: a head that goes backwards
or jumps more than ``lookback_blocks`` (at least 64) ahead, and the first head after a start, wait
for the next poll to confirm them, logged as ``head_untrusted``; until then no target is selected,
the cursor does not move and ``/health`` and the metrics keep the last trusted head. Targets are
selected up to ``head - confirmations`` (``CONFIRMATIONS``).

With ``config.new_heads`` (``ETH_WS_URL``), a ``newHeads`` subscription (``node/new_heads.py``)
runs beside the loop and ``wake``s it on every announced head and whenever it goes live, so a head
is acted on without waiting out ``poll_interval_s``. The woken poll is an ordinary poll (same
``eth_blockNumber``, same trust check and catch-up), and polling goes on at ``poll_interval_s``
while the subscription is down, reconnecting or silent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import structlog
import trio

from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.node.config import FollowerConfig
from ethproofs_daemon.node.new_heads import NewHead, NewHeadsSubscription
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcError, RpcMalformedResponse
from ethproofs_daemon.node.targets import (
    check_head,
    confirmed_head,
    first_target_at_or_after,
    head_jump_limit,
    select_targets,
)
from ethproofs_daemon.reporting.notices import Notifier
from ethproofs_daemon.reporting.rpc_health import RpcHealthTracker
from ethproofs_daemon.status import FollowerStatus
from ethproofs_daemon.store import Store

log = structlog.get_logger(__name__)

CURSOR_KEY: Final = "follower.next_target"


class HeadFollower:
    """Polls the head and turns new targets into jobs (see the module docstring); run by the
    input generator. ``clock`` returns Unix seconds."""

    def __init__(
        self,
        *,
        store: Store,
        lifecycle: Lifecycle,
        rpc: JsonRpcClient,
        config: FollowerConfig,
        notifier: Notifier,
        status: FollowerStatus,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.lifecycle = lifecycle
        self.rpc = rpc
        self.config = config
        self.notifier = notifier
        self.status = status
        self.clock = clock
        self._rpc_health = RpcHealthTracker(rpc.endpoint.url)
        self._last_trusted: int | None = None
        self._candidate: int | None = None
        self._woken = trio.Event()
        self.new_heads: NewHeadsSubscription | None = None
        if config.new_heads is not None:
            self.new_heads = NewHeadsSubscription(config.new_heads, on_head=self._on_new_head,
                                                  on_live=self._on_live)
            status.new_heads_live = False

    async def run(self) -> None:
        """Poll every ``poll_interval_s``, and at once when woken, until cancelled; runs the
        ``newHeads`` subscription when configured."""
        async with trio.open_nursery() as nursery:
            if self.new_heads is not None:
                nursery.start_soon(self.new_heads.run)
            while True:
                self._woken = trio.Event()  # a wake during the poll below is kept
                await self.poll_head_once()
                with trio.move_on_after(self.config.poll_interval_s):
                    await self._woken.wait()

    def wake(self) -> None:
        """Poll now, or right after the poll under way (wakes coalesce into one poll)."""
        self._woken.set()

    def _on_new_head(self, head: NewHead) -> None:
        log.debug("new_head_announced", head=head.number, block_hash=head.block_hash)
        self.wake()

    def _on_live(self, live: bool) -> None:
        self.status.new_heads_live = live
        if live:
            self.wake()  # heads announced while it was down: look now

    async def poll_head_once(self) -> list[int]:
        """One poll: read the head, enqueue new targets; returns the blocks enqueued."""
        now = self.clock()
        try:
            head = await self.rpc.block_number()
        except RpcError as exc:
            self.status.rpc_ok = False
            self.status.rpc_failing_since = self.status.rpc_failing_since or now
            self.status.rpc_last_error = str(exc)
            log.warning("head_poll_failed", error=str(exc))
            down = self._rpc_health.failure(now, str(exc))
            if down is not None:
                self.notifier.notify(down)
            return []
        recovered = self._rpc_health.success(now)
        if recovered is not None:
            self.notifier.notify(recovered)
        self.status.rpc_ok, self.status.rpc_failing_since = True, None
        max_jump = head_jump_limit(self.config.lookback_blocks)
        check = check_head(self._last_trusted, self._candidate, head, max_jump)
        self._last_trusted, self._candidate = check.last_trusted, check.candidate
        self.status.untrusted_head = check.candidate
        if check.trusted is None:
            log.warning("head_untrusted", head=head, last_trusted=check.last_trusted,
                        doubt=str(check.doubt), max_jump=max_jump)
            return []
        self.status.head, self.status.head_seen_at = check.trusted, now
        return self.enqueue_targets(check.trusted)

    def enqueue_targets(self, head: int) -> list[int]:
        """Make ``detected`` jobs of the targets up to ``head - confirmations`` and advance the
        stored cursor; returns the blocks whose job was created now. ``head`` is trusted (see
        the module docstring)."""
        cfg = self.config
        stored = self.store.get_meta(CURSOR_KEY)
        if stored is not None:
            cursor = int(stored)
        else:
            start = cfg.start_block if cfg.start_block is not None else head
            cursor = first_target_at_or_after(start, cfg.block_interval)
        selection = select_targets(cursor, confirmed_head(head, cfg.confirmations),
                                   cfg.block_interval, cfg.lookback_blocks)
        if selection.skipped_count:
            self.status.skipped_targets += selection.skipped_count
            log.error(
                "targets_skipped_beyond_lookback",
                first=selection.skipped_first,
                count=selection.skipped_count,
                lookback_blocks=cfg.lookback_blocks,
            )
        added = []
        for block_number in selection.targets:
            _, created = self.lifecycle.detected(block_number, cfg.proof_type)
            if created:
                added.append(block_number)
                log.info("target_detected", block_number=block_number, head=head)
        if selection.targets:
            self.status.last_target_seen = selection.targets[-1]
        if stored is None or selection.next_target != cursor:
            self.store.set_meta(CURSOR_KEY, str(selection.next_target))
        self.status.next_target = selection.next_target
        return added


async def block_hash_at(rpc: JsonRpcClient, block_number: int) -> str | None:
    """The hash (``0x`` hex, lower case) of the node's canonical block at ``block_number``, or
    None when the node has no block there (``eth_getBlockByNumber(n, false)`` answers ``null``;
    ethereum/execution-apis ``src/eth/block.yaml``).

    Raises:
        RpcError: as ``JsonRpcClient.call``; a reply without a string ``hash`` is
            ``RpcMalformedResponse``.
    """
    method = "eth_getBlockByNumber"
    block = await rpc.call(method, [hex(block_number), False])
    if block is None:
        return None
    block_hash = block.get("hash") if isinstance(block, dict) else None
    if not isinstance(block_hash, str) or not block_hash.startswith("0x"):
        raise RpcMalformedResponse(method, f"no block hash in {block!r:.200}")
    return block_hash.lower()
