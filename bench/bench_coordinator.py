"""Benchmark: cluster utilisation of the prover dispatcher over the ZisK coordinator backend
(run by hand, prints numbers).

    PYTHONPATH=$PWD .venv/bin/python bench/bench_coordinator.py [--blocks 200] [--prove-s 0.2]

The stand-in coordinator (``tests/standins/zisk_coordinator.py``, a real gRPC server on
127.0.0.1) proves every job in a fixed time T (``--prove-s``); a backlog of ``--blocks`` queued
jobs (inputs on disk, a real SQLite store, the real prover actor, lifecycle and backend) is
proved with the cluster in one partition (``MAX_CONCURRENT_PROOFS=1``) and in four (``=4``).

Printed per run: wall time, cluster utilisation (busy partition-seconds / (partitions × span
from the first admission to the last end)) and the idle gap between a job's end and the next
admission on the cluster (median, p95, max, in ms). Target: utilisation ≥ 97 %, median gap
< 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import tempfile
import time
from pathlib import Path

import trio

from ethproofs_daemon.backoff import Backoff
from ethproofs_daemon.jobs import JobState, RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle, ReportPolicy
from ethproofs_daemon.logs import configure_logging
from ethproofs_daemon.prover.actor import ProverActor, ProverConfig
from ethproofs_daemon.prover.coordinator.backend import CoordinatorBackend
from ethproofs_daemon.prover.coordinator.client import CoordinatorClient
from ethproofs_daemon.prover.zisk_cli import ZiskVersion
from ethproofs_daemon.reporting.notices import NullNotifier
from ethproofs_daemon.store import Store
from tests.standins.zisk_coordinator import (
    StandinSettings,
    ZiskCoordinatorStandin,
)

VERSION = ZiskVersion(1, 1, 0, raw="zisk-coordinator 1.1.0-alpha", prerelease="alpha")


async def run_once(partitions: int, blocks: int, prove_s: float, root: Path) -> dict[str, float]:
    standin = ZiskCoordinatorStandin(StandinSettings(partitions=partitions, setup_s=0.1,
                                                     prove_s=prove_s, recovery_s=0.05))
    standin.start()
    store = Store(root / "db.sqlite")
    client = CoordinatorClient(standin.target)
    try:
        lifecycle = Lifecycle(store, reporting=ReportPolicy(1), retry=RetryPolicy(),
                              clock=time.time)
        elf = root / "guest.elf"
        elf.write_bytes(b"\x7fELF bench guest")
        for block in range(1, blocks + 1):
            job, _ = lifecycle.detected(block, "ethrex-zisk")
            path = root / f"{block}.bin"
            payload = f"block {block}".encode().ljust(16, b"\0")
            path.write_bytes(struct.pack("<Q", len(payload)) + payload)
            lifecycle.input_ready(lifecycle.start_fetching(job), input_path=str(path),
                                  gas_used=0, tx_count=0)
        backend = CoordinatorBackend(client, elf, version=VERSION, poll_hold_s=5,
                                     pacing=Backoff(0.5, 1.5, 30.0, 0.2),
                                     cancel_on_abandon=False)
        actor = ProverActor(
            store=store, lifecycle=lifecycle, backend=backend, notifier=NullNotifier(),
            clock=time.time,
            config=ProverConfig(output_dir=root / "output", timeout_s=600.0, grace_s=1.0,
                                slots=partitions))
        started = time.monotonic()
        async with trio.open_nursery() as nursery:
            await nursery.start(actor.run)
            with trio.fail_after(blocks * prove_s * 2 + 60):
                while store.count_by_state()[JobState.PROVED] < blocks:
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
        wall = time.monotonic() - started
        jobs = sorted((j.started, j.ended_at) for j in standin.jobs.values()
                      if j.kind == "prove" and j.state == "completed" and j.ended_at)
        assert len(jobs) == blocks, len(jobs)
        first, last = jobs[0][0], max(e for _, e in jobs)
        busy = sum(e - s for s, e in jobs)
        admissions = [s for s, _ in jobs]
        gaps = []
        for _s, end in jobs:
            later = [a for a in admissions if a >= end]
            if later:
                gaps.append((min(later) - end) * 1000)
        gaps.sort()
        return {
            "wall_s": wall,
            "utilisation": busy / (partitions * (last - first)),
            "gap_median_ms": statistics.median(gaps),
            "gap_p95_ms": gaps[int(len(gaps) * 0.95) - 1],
            "gap_max_ms": gaps[-1],
            "prove_requests": len(standin.prove_requests()),
        }
    finally:
        client.close()
        store.close()
        standin.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=int, default=200)
    parser.add_argument("--prove-s", type=float, default=0.2)
    args = parser.parse_args()
    configure_logging("warning", "json")
    print(f"backlog {args.blocks} blocks, proof time T = {args.prove_s} s")
    for partitions in (1, 4):
        with tempfile.TemporaryDirectory() as tmp:
            r = await run_once(partitions, args.blocks, args.prove_s, Path(tmp))
        print(f"partitions {partitions} (MAX_CONCURRENT_PROOFS={partitions}): "
              f"wall {r['wall_s']:.1f} s, utilisation {r['utilisation'] * 100:.1f} %, "
              f"idle gap median {r['gap_median_ms']:.1f} ms, p95 {r['gap_p95_ms']:.1f} ms, "
              f"max {r['gap_max_ms']:.1f} ms, prove requests {r['prove_requests']:.0f}")


if __name__ == "__main__":
    trio.run(main)
