"""Following the node's head: ``eth_blockNumber`` every ``poll_interval_s``, new targets become
``detected`` jobs.

The cursor (the next target) is kept in the store so a restart neither repeats nor loses one;
targets passed while the node or the daemon was down are caught up within ``lookback_blocks``
(``targets.py`` decides). Node failures feed ``RpcHealthTracker`` (Slack "RPC down/recovered")
and the health status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import structlog
import trio

from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.node.config import FollowerConfig
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcError
from ethproofs_daemon.node.targets import first_target_at_or_after, select_targets
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

    async def run(self) -> None:
        """Poll every ``poll_interval_s`` until cancelled."""
        while True:
            await self.poll_head_once()
            await trio.sleep(self.config.poll_interval_s)

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
        self.status.head, self.status.head_seen_at = head, now
        return self.enqueue_targets(head)

    def enqueue_targets(self, head: int) -> list[int]:
        """Make ``detected`` jobs of the targets up to ``head`` and advance the stored cursor;
        returns the blocks whose job was created now."""
        cfg = self.config
        stored = self.store.get_meta(CURSOR_KEY)
        if stored is not None:
            cursor = int(stored)
        else:
            start = cfg.start_block if cfg.start_block is not None else head
            cursor = first_target_at_or_after(start, cfg.block_interval)
        selection = select_targets(cursor, head, cfg.block_interval, cfg.lookback_blocks)
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
