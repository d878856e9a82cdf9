"""Benchmark of the daemon's own overhead, with an instant prover (run by hand, prints numbers).

    .venv/bin/python bench/bench_daemon.py [--blocks 1000] [--latency-samples 20]

Measures, with the real store, actors, supervision tree and HTTP on 127.0.0.1:

1. **head → prover start latency**: a node stub raises its head to a new target block; the time
   until the prover actor starts proving it (``proving_started_at`` in the store) — poll interval
   + witness fetch + input build + queueing. The input source is a fixed in-memory input (the
   codec has its own benchmark, ``bench_inputs.py``) so that this measures the pipeline.
2. **idle gap between consecutive proofs** with a backlog: N blocks enqueued at once; the gap
   between one job's ``proved`` and the next one's ``proving_started_at``.
3. **resident memory** (RSS) after N blocks proved.

The prover is ``SimulatedProver(delay_s=0)`` (instant; proves nothing). POLL_INTERVAL_SECONDS is
0.1 s here; in production the head latency is dominated by the 2 s default poll interval and the
witness fetch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import psutil
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ethproofs_daemon.app import build_daemon, run_daemon
from ethproofs_daemon.config import load_settings
from ethproofs_daemon.jobs import DEFAULT_PROOF_TYPE, JobState
from ethproofs_daemon.logs import configure_logging
from ethproofs_daemon.node.preparation import PreparedInput
from ethproofs_daemon.prover.simulated import SimulatedProver


class Head:
    value = 0


def node_app(head: Head) -> Starlette:
    async def rpc(request: Request) -> JSONResponse:
        req = json.loads(await request.body())
        return JSONResponse({"jsonrpc": "2.0", "id": req["id"], "result": hex(head.value)})

    return Starlette(routes=[Route("/", rpc, methods=["POST"])])


class FixedInput:
    """Instant input source: 64 KiB of bytes for any block (stands in for node + codec)."""

    async def prepare(self, block_number: int) -> PreparedInput:
        return PreparedInput(b"\0" * 65536, "0x" + "00" * 32, 0, 0)


async def main(blocks: int, samples: int) -> None:
    head = Head()
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp:
        configure_logging("warning", "json")
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve, node_app(head), config)
            settings = load_settings({
                "ETH_RPC_URL": binds[0] + "/", "PROVER_BACKEND": "simulated",
                "STATE_DIR": f"{tmp}/state", "OUTPUT_DIR": f"{tmp}/output",
                "HEALTH_HOST": "127.0.0.1", "HEALTH_PORT": "0", "BLOCK_INTERVAL": "100",
                "START_BLOCK": "100", "POLL_INTERVAL_SECONDS": "0.1",
            }, for_run=True)
            daemon = build_daemon(settings, backend=SimulatedProver(delay_s=0))
            daemon.generator.source = FixedInput()
            await nursery.start(run_daemon, daemon)
            store = daemon.store

            latencies = []
            for i in range(1, samples + 1):
                target = 100 * i
                t0 = time.time()
                head.value = target
                with trio.fail_after(30):
                    while True:
                        job = store.job_for_block(target, DEFAULT_PROOF_TYPE)
                        if job is not None and job.proving_started_at is not None:
                            break
                        await trio.sleep(0.005)
                latencies.append(job.proving_started_at - t0)
            print(f"head → prover start latency over {samples} targets (poll 0.1 s): "
                  f"median {statistics.median(latencies) * 1000:.0f} ms, "
                  f"max {max(latencies) * 1000:.0f} ms")

            base = 10_000_000
            rss_before = psutil.Process().memory_info().rss
            t0 = time.time()
            for n in range(base, base + blocks):
                daemon.lifecycle.detected(n, DEFAULT_PROOF_TYPE, source="bench")
            with trio.fail_after(600):
                while store.count_by_state()[JobState.PROVED] < samples + blocks:
                    await trio.sleep(0.2)
            elapsed = time.time() - t0
            rows = store.conn.execute(
                "SELECT proving_started_at, updated_at FROM jobs WHERE block_number >= ? "
                "ORDER BY proving_started_at", (base,)).fetchall()
            gaps = [rows[i + 1][0] - rows[i][1] for i in range(len(rows) - 1)]
            rss_after = psutil.Process().memory_info().rss
            print(f"backlog of {blocks} blocks: {elapsed:.1f} s, {blocks / elapsed:.0f} blocks/s")
            median, p95 = statistics.median(gaps), sorted(gaps)[int(len(gaps) * 0.95)]
            print(f"idle gap between consecutive proofs: median {median * 1000:.1f} ms, "
                  f"p95 {p95 * 1000:.1f} ms, max {max(gaps) * 1000:.1f} ms")
            print(f"resident memory: {rss_before / 2**20:.0f} MiB before, "
                  f"{rss_after / 2**20:.0f} MiB after {blocks} blocks")
            assert daemon.supervisor is not None
            daemon.supervisor.stop()
            nursery.cancel_scope.cancel()
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())  # noqa: ASYNC240
        print(f"state + output size: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=20)
    args = parser.parse_args()
    trio.run(main, args.blocks, args.latency_samples)
