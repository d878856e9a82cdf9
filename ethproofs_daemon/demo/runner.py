"""The demo run: anvil, real transactions, the daemon in-process, a local EthProofs endpoint.

Before it runs, the CLI calls ``prepare_workdir`` (which also writes anvil's chain config as a
genesis file, ``CHAIN=<file>`` for the guest input's ``ChainConfig``, from
``demo.anvil.ANVIL_GENESIS_CONFIG``) and ``route_logs_to_file``. Then ``run_demo`` does, inside
one trio nursery and one overall deadline (``--timeout``):

1. starts anvil on 127.0.0.1 with ``--no-mining`` (``demo.anvil.start_anvil``);
2. serves the local EthProofs endpoint (``endpoint.py``) on 127.0.0.1, port 0;
3. builds the daemon from settings (``app.build_daemon``): ``BLOCK_INTERVAL`` (default 2) from
   block ``max(2, BLOCK_INTERVAL)`` (anvil's genesis header has the empty-trie state root
   although the dev accounts are funded, so block 1 cannot be proven against it),
   ``WITNESS_SOURCE=synthesize``, the built-in ethrex input codec, ``PROVER_BACKEND=simulated``
   (it sleeps and writes a placeholder proof: it proves nothing), reports to the local
   endpoint; and starts it (``app.run_daemon``);
4. mines one block every ``block_time_s`` (default 1 s), each with a batch of signed
   transactions (``transactions.py``), until enough targets exist;
5. refreshes the live table (``table.py``) until ``blocks`` blocks are proved by the job store
   *and* their ``proved`` report was accepted by the local endpoint;
6. stops the daemon gracefully (``supervisor.stop()``), then the endpoint, then anvil (by pid).

Files (all under the work directory): ``state/`` (SQLite database, built inputs),
``output/<block>/`` (simulated placeholder proofs and ``result.json``),
``ethproofs-api/received.jsonl`` (what the local endpoint received), ``daemon.log`` (JSON lines),
``anvil-genesis.json``.
"""

from __future__ import annotations

import json
import logging
import secrets
import signal
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TextIO

import structlog
import trio
from rich.console import Console, Group
from rich.live import Live

from ethproofs_daemon.app import Daemon, build_daemon, run_daemon
from ethproofs_daemon.config import load_settings
from ethproofs_daemon.demo.anvil import (
    ANVIL_GENESIS_CONFIG,
    AnvilError,
    AnvilNode,
    start_anvil,
)
from ethproofs_daemon.demo.endpoint import API_PREFIX, LocalEthProofs, build_endpoint_app
from ethproofs_daemon.demo.table import BlockRow, block_rows, progress_line, render
from ethproofs_daemon.demo.transactions import Traffic, TrafficError, TxKind
from ethproofs_daemon.http.server import serve_app
from ethproofs_daemon.jobs import Job, JobState
from ethproofs_daemon.logs import configure_logging
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint, RpcError
from ethproofs_daemon.store import Store

log = structlog.get_logger(__name__)

#: The first target: anvil's block 1 cannot be proven (see the module docstring).
FIRST_PROVABLE_BLOCK: Final = 2
CLUSTER_ID: Final = 1
REFRESH_S: Final = 0.25


class DemoError(Exception):
    """The demo could not run (work directory not usable, node refused transactions…)."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """``blocks`` to prove and report; ``timeout_s`` for the whole run (seconds);
    ``block_interval`` (``BLOCK_INTERVAL``); ``block_time_s`` between mined blocks;
    ``proving_s`` the simulated prover's sleep per block (``SIMULATED_PROVING_SECONDS``)."""

    workdir: Path
    blocks: int = 5
    timeout_s: float = 110.0
    block_interval: int = 2
    block_time_s: float = 1.0
    proving_s: float = 1.0


@dataclass(frozen=True, slots=True)
class DemoPaths:
    """Where the run's files are (all inside ``workdir``)."""

    workdir: Path
    state_dir: Path
    output_dir: Path
    received_log: Path
    daemon_log: Path
    genesis: Path

    @classmethod
    def under(cls, workdir: Path) -> DemoPaths:
        """The layout under ``workdir`` (see the module docstring)."""
        w = workdir.resolve()
        return cls(w, w / "state", w / "output", w / "ethproofs-api" / "received.jsonl",
                   w / "daemon.log", w / "anvil-genesis.json")


@dataclass(frozen=True, slots=True)
class ProvedBlock:
    """A block proved (simulated) and reported: ``seconds_to_proved`` runs from the job's
    creation (target detected) to the ``proved`` state; ``proving_time_ms`` is the simulated
    prover's; ``proof_id`` is what the local endpoint answered."""

    block_number: int
    tx_count: int | None
    gas_used: int | None
    seconds_to_proved: float
    proving_time_ms: int | None
    proof_path: str | None
    proof_id: int | None
    reports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoResult:
    """The outcome: ``ok`` when ``wanted`` blocks were proved and reported in time and the daemon
    stopped cleanly; ``reason`` says why not otherwise. ``wall_s`` is the whole run (seconds)."""

    ok: bool
    reason: str
    interrupted: bool
    wanted: int
    proved: tuple[ProvedBlock, ...]
    failed: tuple[BlockRow, ...]
    wall_s: float
    head: int
    anvil_pid: int | None
    anvil_url: str | None
    endpoint_url: str | None
    daemon_status: int | None
    sent: Mapping[TxKind, int]
    reports_received: int
    paths: DemoPaths


def demo_env(options: DemoOptions, paths: DemoPaths, *, node_url: str, api_url: str,
             api_key: str) -> dict[str, str]:
    """The daemon's settings for the demo, as environment variables (``config.py`` names)."""
    start = max(FIRST_PROVABLE_BLOCK, options.block_interval)
    return {
        "ETH_RPC_URL": node_url,
        "ETHPROOFS_RPC_URL": api_url,
        "ETHPROOFS_API_KEY": api_key,
        "ETHPROOFS_CLUSTER_ID": str(CLUSTER_ID),
        "BLOCK_INTERVAL": str(options.block_interval),
        "START_BLOCK": str(start),
        "POLL_INTERVAL_SECONDS": "0.2",
        "RPC_TIMEOUT_SECONDS": "10",
        "WITNESS_TIMEOUT_SECONDS": "30",
        "WITNESS_SOURCE": "synthesize",
        "CHAIN": str(paths.genesis),
        # anvil's dev chain: zec-reth has no guest chain configuration for it; the ethrex codec
        # builds for any chain from its genesis file
        "GUEST_PROFILE": "ethrex-24d4b6404-zisk-0.14.0",
        "PROVER_BACKEND": "simulated",
        "SIMULATED_PROVING_SECONDS": format(options.proving_s, "g"),
        "MAX_ATTEMPTS": "3",
        "RETRY_BASE_SECONDS": "1",
        "SHUTDOWN_TIMEOUT_SECONDS": "5",
        "STATE_DIR": str(paths.state_dir),
        "OUTPUT_DIR": str(paths.output_dir),
        "HEALTH_HOST": "127.0.0.1",
        "HEALTH_PORT": "0",
        "LOG_LEVEL": "info",
        "LOG_FORMAT": "json",
    }


def targets_still_needed(head: int, jobs: list[Job], *, wanted: int, interval: int) -> bool:
    """Whether to keep mining: fewer than ``wanted`` targets mined that have not failed for good
    (a failed job with no retry scheduled)."""
    start = max(FIRST_PROVABLE_BLOCK, interval)
    mined = 0 if head < start else (head - start) // interval + 1
    dead = sum(1 for j in jobs if j.state is JobState.FAILED and j.next_attempt_at is None)
    return mined - dead < wanted


def done_blocks(jobs: list[Job], endpoint: LocalEthProofs) -> list[Job]:
    """Jobs proved in the store whose ``proved`` report the endpoint accepted, by block."""
    reported = endpoint.proved_blocks()
    return sorted((j for j in jobs if j.state is JobState.PROVED and j.block_number in reported),
                  key=lambda j: j.block_number)


def prepare_workdir(workdir: Path) -> DemoPaths:
    """Create the work directory layout and write ``anvil-genesis.json`` into it.

    Returns:
        The paths of the layout (absolute).

    Raises:
        DemoError: ``workdir`` exists and is not an empty directory.
    """
    if workdir.exists() and (not workdir.is_dir() or any(workdir.iterdir())):
        raise DemoError(f"--workdir {workdir} exists and is not empty (a demo needs a fresh one)")
    paths = DemoPaths.under(workdir)
    for d in (paths.state_dir, paths.output_dir, paths.received_log.parent):
        d.mkdir(parents=True, exist_ok=True)
    paths.genesis.write_text(json.dumps({"config": ANVIL_GENESIS_CONFIG}, indent=2) + "\n")
    return paths


def route_logs_to_file(path: Path, secrets_: list[str]) -> TextIO:
    """Configure structlog/stdlib logging as JSON lines appended to ``path``.

    Args:
        path: the log file (opened for append).
        secrets_: strings to mask in every line (``configure_logging``).

    Returns:
        The open file; the caller flushes it (it stays open for the rest of the process).
    """
    configure_logging("info", "json", secrets=secrets_)
    stream = path.open("a", encoding="utf-8")
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
    return stream


@dataclass
class _Run:
    options: DemoOptions
    paths: DemoPaths
    console: Console
    started: float = field(default_factory=time.monotonic)
    node: AnvilNode | None = None
    endpoint: LocalEthProofs | None = None
    endpoint_url: str | None = None
    daemon: Daemon | None = None
    daemon_status: int | None = None
    traffic: Traffic | None = None
    head: int = 0
    jobs: list[Job] = field(default_factory=list)
    interrupted: str | None = None
    shown: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)


async def run_demo(options: DemoOptions, paths: DemoPaths, console: Console) -> DemoResult:
    """Run the demo (see the module docstring); every process and server it started is ended
    before it returns. Node and transaction failures, timeouts and signals end up in
    ``DemoResult.reason``, not in exceptions.

    Raises:
        AnvilNotFound: anvil is not installed.
        AnvilStartError: anvil does not start.
        ExceptionGroup: anything else, from the nurseries, e.g. a ``ConfigError`` when the
            demo's settings were refused (a bug).
    """
    run = _Run(options, paths, console)
    reason = ""
    deadline = trio.current_time() + options.timeout_s
    anvil_error: AnvilError | None = None
    async with trio.open_nursery() as outer:
        outer.start_soon(_on_signals, run, outer.cancel_scope)
        try:
            async with start_anvil(extra_args=["--no-mining"]) as node:
                run.node = node
                async with JsonRpcClient(RpcEndpoint(node.url, timeout_s=10.0)) as rpc:
                    try:
                        reason = await _with_daemon(run, rpc, deadline)
                    except TrafficError as exc:
                        reason = f"the node refused a demo transaction: {exc}"
                    except RpcError as exc:
                        reason = f"the node failed: {exc}"
        except AnvilError as exc:  # raised here, not from the nursery: no exception group
            anvil_error = exc
        outer.cancel_scope.cancel()
    if anvil_error is not None:
        raise anvil_error
    return _result(run, reason)


async def _with_daemon(run: _Run, rpc: JsonRpcClient, deadline: float) -> str:
    assert run.node is not None
    opts = run.options
    api_key = "demo-" + secrets.token_hex(16)
    run.endpoint = LocalEthProofs(api_key=api_key, log_path=run.paths.received_log)
    reason = ""
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(
            serve_app, build_endpoint_app(run.endpoint), "127.0.0.1", 0
        )
        run.endpoint_url = binds[0] + API_PREFIX
        env = demo_env(opts, run.paths, node_url=run.node.url, api_url=run.endpoint_url,
                       api_key=api_key)
        settings = load_settings(env, for_run=True)
        daemon = run.daemon = build_daemon(settings)

        daemon_stopped = trio.Event()

        async def daemon_task(*, task_status: trio.TaskStatus[Daemon] = trio.TASK_STATUS_IGNORED
                              ) -> None:
            try:
                run.daemon_status = await run_daemon(daemon, task_status=task_status,
                                                     handle_signals=False)
            finally:
                daemon_stopped.set()

        await nursery.start(daemon_task)
        run.traffic = Traffic(rpc, block_time_s=opts.block_time_s)
        traffic_scope = trio.CancelScope()

        def keep_mining(head: int) -> bool:
            return targets_still_needed(head, run.jobs, wanted=opts.blocks,
                                        interval=opts.block_interval)

        traffic_failure: list[BaseException] = []

        async def traffic_task() -> None:
            assert run.traffic is not None
            with traffic_scope:
                try:
                    await run.traffic.run(keep_mining)
                except (TrafficError, RpcError) as exc:
                    traffic_failure.append(exc)

        nursery.start_soon(traffic_task)
        reason = await _watch(run, deadline, traffic_failure)
        traffic_scope.cancel()
        if daemon.supervisor is not None:
            daemon.supervisor.stop()
        with trio.move_on_after(float(settings.shutdown_timeout_seconds) + 20) as stopping:
            await daemon_stopped.wait()
        if stopping.cancelled_caught:
            reason = reason or "the daemon did not stop in time"
        nursery.cancel_scope.cancel()
    # The daemon closed its store on the way out: read the final job states from the file.
    store = Store(settings.database_path)
    try:
        run.jobs = store.recent_jobs(limit=1000)
    finally:
        store.close()
    return reason


async def _watch(run: _Run, deadline: float, traffic_failure: list[BaseException]) -> str:
    """Refresh the view until done, the deadline, or a failure; returns the failure ('' = ok)."""
    assert run.endpoint is not None and run.daemon is not None
    live: Live | None = None
    if run.console.is_terminal:
        live = Live(console=run.console, refresh_per_second=8, transient=False)
        live.start()
    try:
        while True:
            run.jobs = run.daemon.store.recent_jobs(limit=1000)
            if run.traffic is not None:
                run.head = run.traffic.mined
            rows = _rows(run)
            if live is not None:
                live.update(_view(run, rows))
            else:
                _print_changes(run, rows)
            if len(done_blocks(run.jobs, run.endpoint)) >= run.options.blocks:
                return ""
            if run.interrupted is not None:
                return run.interrupted
            if traffic_failure:
                return f"transactions stopped: {traffic_failure[0]}"
            if run.daemon_status is not None:
                return f"the daemon stopped on its own (status {run.daemon_status})"
            if trio.current_time() >= deadline:
                return f"timed out after {run.options.timeout_s:g} s"
            await trio.sleep(REFRESH_S)
    finally:
        if live is not None:
            live.update(_view(run, _rows(run)))
            live.stop()


async def _on_signals(run: _Run, everything: trio.CancelScope) -> None:
    """SIGINT/SIGTERM: stop gracefully (daemon, endpoint, anvil); a second one: cancel all
    at once (anvil is still ended by its pid on the way out)."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            if run.interrupted is None:
                run.interrupted = f"interrupted by {name}"
                log.info("demo_stop_requested", signal=name)
            else:
                everything.cancel()


def _rows(run: _Run) -> list[BlockRow]:
    assert run.endpoint is not None
    reports = {j.block_number: run.endpoint.kinds_for(j.block_number) for j in run.jobs}
    return block_rows(run.jobs, reports)


def _view(run: _Run, rows: list[BlockRow]) -> Group:
    return render(rows, head=run.head, wanted=run.options.blocks,
                  elapsed_s=time.monotonic() - run.started)


def _print_changes(run: _Run, rows: list[BlockRow]) -> None:
    for row in rows:
        key = (str(row.state), row.reports)
        if run.shown.get(row.block_number) != key:
            run.shown[row.block_number] = key
            run.console.print(progress_line(row), highlight=False)


def _result(run: _Run, reason: str) -> DemoResult:
    endpoint = run.endpoint
    proved: list[ProvedBlock] = []
    if endpoint is not None:
        for job in done_blocks(run.jobs, endpoint):
            ids = [r.proof_id for r in endpoint.received
                   if r.block_number == job.block_number and r.kind == "proved"
                   and r.status == 200]
            proved.append(ProvedBlock(
                block_number=job.block_number, tx_count=job.tx_count, gas_used=job.gas_used,
                seconds_to_proved=job.updated_at - job.created_at,
                proving_time_ms=job.proving_time_ms, proof_path=job.proof_path,
                proof_id=ids[0] if ids else None,
                reports=tuple(endpoint.kinds_for(job.block_number)),
            ))
    rows = _rows(run) if endpoint is not None else []
    failed = tuple(r for r in rows if r.state is JobState.FAILED)
    if not reason and run.daemon_status not in (0, None):
        reason = f"the daemon exited with status {run.daemon_status}"
    ok = not reason and len(proved) >= run.options.blocks
    if not ok and not reason:
        reason = f"only {len(proved)} of {run.options.blocks} blocks proved and reported"
    return DemoResult(
        ok=ok, reason=reason, interrupted=run.interrupted is not None,
        wanted=run.options.blocks, proved=tuple(proved), failed=failed,
        wall_s=time.monotonic() - run.started, head=run.head,
        anvil_pid=run.node.pid if run.node else None,
        anvil_url=run.node.url if run.node else None, endpoint_url=run.endpoint_url,
        daemon_status=run.daemon_status,
        sent=dict(run.traffic.sent) if run.traffic else Counter(),
        reports_received=len(endpoint.received) if endpoint else 0, paths=run.paths,
    )


def run_blocking(options: DemoOptions, paths: DemoPaths, console: Console,
                 runner: Callable[..., object] = trio.run) -> DemoResult:
    """``trio.run(run_demo, options, paths, console)``; ``runner`` replaces ``trio.run`` in
    tests."""
    result = runner(run_demo, options, paths, console)
    assert isinstance(result, DemoResult)
    return result
