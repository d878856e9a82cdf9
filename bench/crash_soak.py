"""Crash soak: SIGKILL the daemon at random moments, restart it, check nothing is lost or doubled.

    .venv/bin/python bench/crash_soak.py [--kills 100] [--seed 1] [--max-up-s 4]

Run by hand (minutes); prints figures and exits 1 on any violation. What runs, all real except the
proof: anvil on 127.0.0.1 mining a block a second (``demo.anvil.start_anvil``, ``--block-time
1``), the daemon as a subprocess (``python -m ethproofs_daemon run``, its own session) with the
simulated prover, ``WITNESS_SOURCE=synthesize`` and ``BLOCK_INTERVAL=3``, reporting to the demo's
loopback EthProofs endpoint (``demo.endpoint``, served here). Each round starts the daemon, lets
it run a random 0.2 s … ``--max-up-s`` seconds (start-up included: some kills land before it is
ready), SIGKILLs its process group and checks the SQLite file (``PRAGMA integrity_check``). After
the last kill, mining stops (``evm_setIntervalMining 0``), one more daemon runs until every target
up to the final head is proved and reported, and is stopped with SIGTERM.

Violations (each printed, exit status 1): a target not ``proved`` in the store; a target whose
``proved`` report was accepted (200) other than exactly once; a block whose accepted reports are
not in order (``queued`` first, ``proving`` before ``proved``, nothing after ``proved``); a block
recorded ``proved`` twice (two ``block_proved`` log lines: the line follows the commit);
``integrity_check`` not ``ok`` after any kill or at the end; the final daemon not exiting 0.

Not violations, counted: ``proved`` posts answered 409 (the API already had it: a kill between
the HTTP answer and the outbox commit; delivery is at least once) and proofs started again after
a kill interrupted them (the proof had not finished).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import trio

from ethproofs_daemon.demo.anvil import ANVIL_GENESIS_CONFIG, start_anvil
from ethproofs_daemon.demo.endpoint import LocalEthProofs, build_endpoint_app
from ethproofs_daemon.http.server import serve_app
from ethproofs_daemon.logs import configure_logging
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint

BLOCK_INTERVAL = 3
START_BLOCK = 3
API_KEY = "soak-key-0123456789abcdef"
CLUSTER_ID = 1
DB_NAME = "ethproofs-daemon.sqlite"


def daemon_env(work: Path, node_url: str, api_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ETH", "ZISK", "SLACK", "NOTIFY_SOCKET", "WATCHDOG"))}
    env.update({
        "ETH_RPC_URL": node_url, "ETHPROOFS_RPC_URL": api_url, "ETHPROOFS_API_KEY": API_KEY,
        "ETHPROOFS_CLUSTER_ID": str(CLUSTER_ID), "BLOCK_INTERVAL": str(BLOCK_INTERVAL),
        "START_BLOCK": str(START_BLOCK), "POLL_INTERVAL_SECONDS": "0.2",
        "RPC_TIMEOUT_SECONDS": "10", "WITNESS_TIMEOUT_SECONDS": "30",
        "WITNESS_SOURCE": "synthesize", "CHAIN": str(work / "anvil-genesis.json"),
        "PROVER_BACKEND": "simulated", "SIMULATED_PROVING_SECONDS": "1",
        "RETRY_BASE_SECONDS": "1", "SHUTDOWN_TIMEOUT_SECONDS": "5",
        "STATE_DIR": str(work / "state"), "OUTPUT_DIR": str(work / "output"),
        "HEALTH_HOST": "127.0.0.1", "HEALTH_PORT": str(port),
        "LOG_LEVEL": "info", "LOG_FORMAT": "json",
    })
    return env


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Soak:
    def __init__(self, work: Path, node_url: str, api_url: str) -> None:
        self.work = work
        self.node_url = node_url
        self.api_url = api_url
        self.log_path = work / "daemon.log"
        self.violations: list[str] = []
        self.ready_s: list[float] = []
        self.kills_before_ready = 0
        self.integrity_checks = 0

    async def spawn(self) -> tuple[trio.Process, str]:
        port = free_port()
        with self.log_path.open("ab") as log:
            process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "ethproofs_daemon", "run"],
                env=daemon_env(self.work, self.node_url, self.api_url, port),
                stdout=log, stderr=subprocess.STDOUT, cwd=self.work, start_new_session=True)
        return process, f"http://127.0.0.1:{port}"

    async def ready(self, url: str, process: trio.Process, timeout_s: float) -> bool:
        async with httpx.AsyncClient(timeout=2) as client:
            with trio.move_on_after(timeout_s):
                while process.returncode is None:
                    try:
                        if (await client.get(f"{url}/health/ready")).status_code == 200:
                            return True
                    except httpx.HTTPError:
                        pass
                    await trio.sleep(0.05)
        return False

    async def kill_round(self, up_s: float) -> None:
        process, url = await self.spawn()
        started = time.monotonic()
        try:
            with trio.move_on_after(up_s):
                if await self.ready(url, process, up_s):
                    self.ready_s.append(time.monotonic() - started)
                await process.wait()  # until the kill below, unless it exits by itself
            if process.returncode is not None:
                self.violations.append(f"daemon exited by itself with {process.returncode}")
        finally:
            with trio.CancelScope(shield=True):
                end_group(process)
                with trio.move_on_after(10):
                    await process.wait()
        self.check_integrity("after kill")

    def check_integrity(self, when: str) -> None:
        db = self.work / "state" / DB_NAME
        if not db.exists():
            return
        conn = sqlite3.connect(db)
        try:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
        self.integrity_checks += 1
        if result != ["ok"]:
            self.violations.append(f"integrity_check {when}: {result}")

    async def final_run(self, targets: list[int], endpoint: LocalEthProofs,
                        timeout_s: float) -> int | None:
        process, url = await self.spawn()
        try:
            if not await self.ready(url, process, 60):
                self.violations.append("final daemon never became ready")
                return None
            with trio.move_on_after(timeout_s) as waited:
                while not (set(targets) <= endpoint.proved_blocks()
                           and set(targets) <= self.proved_in_store()):
                    await trio.sleep(0.2)
            if waited.cancelled_caught:
                self.violations.append(f"final run: not everything proved in {timeout_s:.0f} s")
            process.send_signal(signal.SIGTERM)
            with trio.move_on_after(60):
                return await process.wait()
            return None
        finally:
            with trio.CancelScope(shield=True):
                end_group(process)
                with trio.move_on_after(10):
                    await process.wait()

    def proved_in_store(self) -> set[int]:
        conn = sqlite3.connect(f"file:{self.work / 'state' / DB_NAME}?mode=ro", uri=True)
        try:
            return {int(r[0]) for r in conn.execute(
                "SELECT block_number FROM jobs WHERE state = 'proved'")}
        finally:
            conn.close()

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a line cut by SIGKILL
        return records


def end_group(process: trio.Process) -> None:
    """SIGKILL the daemon's process group (its own session) by its pid."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def check_reports(endpoint: LocalEthProofs, targets: list[int], violations: list[str]) -> None:
    for block in targets:
        kinds = endpoint.kinds_for(block)  # accepted (200), in arrival order
        if kinds.count("proved") != 1:
            violations.append(f"block {block}: proved accepted {kinds.count('proved')} times")
            continue
        if not kinds or kinds[0] != "queued":
            violations.append(f"block {block}: first accepted report is not queued: {kinds}")
        last = kinds.index("proved")
        if last != len(kinds) - 1 or "proving" not in kinds[:last]:
            violations.append(f"block {block}: reports out of order: {kinds}")


async def soak(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="crash-soak-"))
    (work / "anvil-genesis.json").write_text(json.dumps({"config": ANVIL_GENESIS_CONFIG}))
    endpoint = LocalEthProofs(api_key=API_KEY, log_path=work / "received.jsonl")
    t0 = time.monotonic()
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(serve_app, build_endpoint_app(endpoint), "127.0.0.1", 0)
        api_url = urls[0].rstrip("/") + "/api/v0"
        async with start_anvil(block_time_s=1.0) as node, \
                JsonRpcClient(RpcEndpoint(node.url, timeout_s=10.0)) as rpc:
            runner = Soak(work, node.url, api_url)
            for n in range(args.kills):
                await runner.kill_round(rng.uniform(0.2, args.max_up_s))
                print(f"\rkill {n + 1}/{args.kills}", end="", file=sys.stderr, flush=True)
            print(file=sys.stderr)
            await rpc.call("evm_setIntervalMining", [0])
            head = int(str(await rpc.call("eth_blockNumber", [])), 16)
            targets = list(range(START_BLOCK, head + 1, BLOCK_INTERVAL))
            exit_status = await runner.final_run(targets, endpoint, args.final_timeout_s)
        nursery.cancel_scope.cancel()
    wall_s = time.monotonic() - t0

    violations = runner.violations
    if exit_status != 0:
        violations.append(f"final daemon exit status {exit_status} (expected 0 after SIGTERM)")
    runner.check_integrity("at the end")
    check_reports(endpoint, targets, violations)
    in_store = runner.proved_in_store()
    violations += [f"block {b}: not proved in the store" for b in targets if b not in in_store]
    records = runner.log_records()
    recorded = Counter(r.get("block_number") for r in records if r["event"] == "block_proved")
    violations += [f"block {b}: recorded proved {c} times" for b, c in recorded.items() if c > 1]
    started: dict[int, int] = defaultdict(int)
    for r in records:
        if r["event"] == "proving_started" and r.get("logger") == "ethproofs_daemon.prover.actor":
            started[int(r["block_number"])] += 1
    statuses = Counter((r.kind, r.status) for r in endpoint.received)
    crashes = Counter(r.get("child") for r in records if r["event"] == "child_restarting")

    print(f"work dir                 {work}")
    print(f"kills                    {args.kills} (seed {args.seed}, up 0.2–{args.max_up_s} s)")
    print(f"  before ready           {args.kills - len(runner.ready_s)}")
    if runner.ready_s:
        print(f"start → ready (s)        median {statistics.median(runner.ready_s):.2f}, "
              f"max {max(runner.ready_s):.2f}")
    print(f"final head               {head}")
    print(f"targets                  {len(targets)} "
          f"(every {BLOCK_INTERVAL} blocks from {START_BLOCK})")
    print(f"proved in store          {len(in_store & set(targets))}")
    print("reports (kind, status)   " + ", ".join(
        f"{k} {s}: {c}" for (k, s), c in sorted(statuses.items())))
    print(f"proved posts answered 409 {statuses[('proved', 409)]} (at-least-once redeliveries)")
    print(f"proofs started           {sum(started.values())} for {len(started)} blocks "
          f"({sum(c - 1 for c in started.values())} restarted after a kill)")
    print(f"child restarts (logged)  {dict(crashes) or 0}")
    print(f"integrity checks         {runner.integrity_checks}, all ok: "
          f"{not any('integrity' in v for v in violations)}")
    print(f"wall time                {wall_s:.0f} s")
    print(f"violations               {len(violations)}")
    for v in violations:
        print(f"  VIOLATION: {v}")
    return 1 if violations else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the kill times")
    parser.add_argument("--max-up-s", type=float, default=4.0,
                        help="longest run before a kill, seconds (default 4)")
    parser.add_argument("--final-timeout-s", type=float, default=600.0,
                        help="how long the last daemon may take to catch up (default 600)")
    configure_logging("warning", "console")  # this process's own lines: anvil, the endpoint
    return trio.run(soak, parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
