"""Builds the supervision tree from ``Settings`` and runs it; nothing else.

Children of the root supervisor, started in this order and stopped in reverse: store → notifier →
reporter → prover → input generator → http, then, when ``PROOF_NODE_PORT`` is set, the proof node
subtree (service → its HTTP server, ``rest_for_one``: the server serves the service).

The root is ``one_for_one``: its children share no state that a restart would rebuild. They all
hold the same ``Store``, ``Notifier`` and ``DaemonState`` objects, built once by ``build_daemon``
and never by a child; the store child only probes the database; the reporter wakes on outbox
writes and the prover on job writes, both through ``Store.on_change`` listeners that outlive any
restart. So a crash restarts only the child that crashed: a reporter or notifier fault never
kills a running proof, and a prover fault never drops undelivered reports.

Store and disk faults (``sqlite3.Error``, ``OSError``) of the reporter, the prover and the input
generator are ``resource_errors``: they are restarted with the backoff (capped at 60 s) for as
long as the fault lasts, without counting towards the restart intensity, so a full disk or a
locked database does not stop the daemon. The store child's write probe (every
``STORE_PROBE_S``, on its own connection in a worker thread) makes ``/health`` show the store
down while it fails.

SIGTERM/SIGINT stop the tree gracefully: the running proof gets ``SHUTDOWN_TIMEOUT_SECONDS`` to
finish, and pending reports are then drained for at most 10 s (or ``SHUTDOWN_TIMEOUT_SECONDS``
when shorter). The tree failing (restart intensity exceeded, a child raising ``Fatal``) → exit
status 1, or the ``Fatal``'s own ``exit_status`` (2 for a configuration error such as a
``cargo-zisk`` of a series the daemon or the guest profile does not fit). systemd gets
``READY=1`` once every child has started, and ``STOPPING=1`` at the end (sd_notify(3)).
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import signal
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx
import structlog
import trio

from ethproofs_daemon.backoff import Backoff
from ethproofs_daemon.config import (
    ELF_BACKENDS,
    ProofFormat,
    ProverBackendKind,
    Settings,
    ZiskAction,
    coordinator_target,
)
from ethproofs_daemon.health import DaemonState
from ethproofs_daemon.http.app import create_ops_app
from ethproofs_daemon.http.request_metrics import CountRequests
from ethproofs_daemon.http.server import MAX_IN_FLIGHT, serve_app
from ethproofs_daemon.inputs.profiles import check_elf, get_profile
from ethproofs_daemon.jobs import DEFAULT_PROOF_TYPE, JobState, RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle, ReportPolicy
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.node.config import FollowerConfig, NewHeadsConfig
from ethproofs_daemon.node.follower import InputGenerator
from ethproofs_daemon.node.head import block_hash_at
from ethproofs_daemon.node.input_source import RpcInputSource
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint, RpcError
from ethproofs_daemon.outbox import OutboxRow
from ethproofs_daemon.proofnode.app import create_proof_node_app
from ethproofs_daemon.proofnode.daemon import build_proof_node
from ethproofs_daemon.proofnode.service import ProofNodeService
from ethproofs_daemon.prover.actor import ProverActor, ProverConfig
from ethproofs_daemon.prover.backend import ProverBackend
from ethproofs_daemon.prover.coordinator.backend import CoordinatorBackend
from ethproofs_daemon.prover.coordinator.client import CoordinatorClient
from ethproofs_daemon.prover.driver import ZiskDriver
from ethproofs_daemon.prover.simulated import SimulatedProver
from ethproofs_daemon.prover.zisk_cli import ZiskVersion, parse_version
from ethproofs_daemon.reorgs import (
    CanonicalHash,
    CanonicalHashUnavailable,
    CheckPoint,
    is_canonical,
    note_reorg,
)
from ethproofs_daemon.reporting.ethproofs import EthProofsClient
from ethproofs_daemon.reporting.host import host_info
from ethproofs_daemon.reporting.notices import Notifier, NullNotifier
from ethproofs_daemon.reporting.reporter import ProvedCheck, Reporter
from ethproofs_daemon.reporting.slack import SlackNotifier
from ethproofs_daemon.sdnotify import SystemdNotifier
from ethproofs_daemon.status import ProverStatus
from ethproofs_daemon.store import Store
from ethproofs_daemon.supervisor import (
    ChildSpec,
    Strategy,
    Supervisor,
    SupervisorFailed,
    fatal_exit_status,
)

log = structlog.get_logger(__name__)

HEARTBEAT_S = 1.0

#: Seconds between two write probes of the store child (what ``/health`` shows for the store).
STORE_PROBE_S: Final = 5.0
#: The metadata key the probe writes (the probe's Unix time).
STORE_PROBE_KEY: Final = "store_probe_at"
#: How long the probe waits for a locked database before it counts as down (s): the store's own
#: busy timeout, so "down" means the store's writes fail too (a slow fsync is not an outage).
STORE_PROBE_BUSY_S: Final = 5.0
#: What a failing store or disk raises; restarts for these are not counted (module docstring).
RESOURCE_ERRORS: Final = (sqlite3.Error, OSError)

#: Route templates of the Proof Node API, for request metrics (spec paths).
PROOF_NODE_ROUTES = (
    "/v1/execution_proof_requests", "/v1/execution_proofs", "/v1/execution_proof_verifications",
    "/v1/proof_types",
)


@dataclass
class Daemon:
    """Everything one running daemon holds; built by ``build_daemon`` (tests reach in)."""

    settings: Settings
    store: Store
    lifecycle: Lifecycle
    state: DaemonState
    metrics: DaemonMetrics
    http: httpx.AsyncClient
    rpc: JsonRpcClient
    backend: ProverBackend
    notifier: Notifier
    reporter: Reporter
    prover: ProverActor
    generator: InputGenerator
    proof_node: ProofNodeService | None = None
    supervisor: Supervisor | None = None
    bound_urls: list[str] = field(default_factory=list)
    systemd: SystemdNotifier = field(default_factory=SystemdNotifier)


def startup_warnings(settings: Settings) -> list[str]:
    """What the operator should know but that does not stop the daemon (an ELF accepted with
    ``ALLOW_UNKNOWN_ELF``, a profile without a recorded sha256)."""
    if settings.prover_backend not in ELF_BACKENDS or settings.elf_path is None:
        return []
    profile = get_profile(settings.guest_profile)
    return check_elf(profile, settings.elf_path, settings.allow_unknown_elf)


def make_backend(settings: Settings) -> ProverBackend:
    """The prover backend the settings ask for."""
    profile = get_profile(settings.guest_profile)
    if settings.prover_backend is ProverBackendKind.SIMULATED:
        return SimulatedProver(
            delay_s=settings.simulated_proving_seconds, stands_for=profile.zisk_version
        )
    assert settings.elf_path is not None
    tag = {ProofFormat.TAGGED: True, ProofFormat.UNTAGGED: False}.get(
        settings.ethproofs_proof_format
    )
    if settings.prover_backend is ProverBackendKind.ZISK_COORDINATOR:
        version = coordinator_version(settings.zisk_coordinator_version)
        return CoordinatorBackend(
            CoordinatorClient(coordinator_target(settings.zisk_coordinator_url)),
            settings.elf_path,
            version=version,
            hash_tag=(version.major, version.minor) >= (1, 3) if tag is None else tag,
            pacing=Backoff(settings.zisk_coordinator_retry_seconds, 1.5,
                           max(30.0, settings.zisk_coordinator_retry_seconds), 0.2),
            # A stop leaves coordinator jobs running: the next start collects them.
            cancel_on_abandon=False,
        )
    return ZiskDriver(
        settings.cargo_zisk,
        settings.elf_path,
        program_vk=profile.program_vk,
        proof_hash_tag=tag,
        ziskemu=settings.ziskemu,
    )


def coordinator_version(text: str) -> ZiskVersion:
    """The ``ZISK_COORDINATOR_VERSION`` setting as the version the coordinator backend reports
    (the coordinator API has no version call; ``config.coordinator_problems`` checked it)."""
    version = parse_version(f"cargo-zisk {text}")
    return dataclasses.replace(version, raw=f"zisk-coordinator {text} (ZISK_COORDINATOR_VERSION)")


def proof_node_verifier(settings: Settings, backend: ProverBackend) -> ProverBackend:
    """What verifies proofs for the Proof Node API: the backend itself, except with the ZisK
    coordinator (no verify call): cargo-zisk when ``CARGO_ZISK`` is found, else the
    coordinator backend, whose ``verify`` answers an error."""
    if (settings.prover_backend is ProverBackendKind.ZISK_COORDINATOR
            and settings.elf_path is not None and shutil.which(settings.cargo_zisk)):
        return ZiskDriver(settings.cargo_zisk, settings.elf_path, ziskemu=None)
    return backend


def canonical_hash_from(rpc: JsonRpcClient) -> CanonicalHash:
    """The prover's reorg check over the node (``node.head.block_hash_at``); any ``RpcError``
    is ``CanonicalHashUnavailable`` to the prover."""

    async def canonical_hash(block_number: int) -> str | None:
        try:
            return await block_hash_at(rpc, block_number)
        except RpcError as exc:
            raise CanonicalHashUnavailable(str(exc)) from exc

    return canonical_hash


def proved_report_check(store: Store, lifecycle: Lifecycle, canonical_hash: CanonicalHash, *,
                        status: ProverStatus | None = None,
                        metrics: DaemonMetrics | None = None
                        ) -> Callable[[OutboxRow], Awaitable[ProvedCheck]]:
    """The reporter's last reorg check, just before a ``proved`` row is posted.

    A ``proved`` row can wait in the outbox long after the prover checked the chain (an
    EthProofs outage). Before it goes out, the job's recorded ``block_hash`` is compared with
    the node's canonical hash at that height: equal (or no hash recorded, or the job no longer
    proved) → ``send``; another block (or none) → the job goes back through
    ``Lifecycle.stale_proof`` and ``reorgs.note_reorg`` (input deleted, counted in ``status`` and
    ``ethproofs_daemon_reorgs_total{check_point="before_reporting"}``, logged ``block_reorged``)
    and the row is withheld; the node does not answer → ``wait`` (the row is deferred).
    """

    async def check(row: OutboxRow) -> ProvedCheck:
        job = store.get_job(row.job_id)
        if job is None or job.block_hash is None or job.state is not JobState.PROVED:
            return ProvedCheck.SEND
        try:
            canonical = await canonical_hash(row.block_number)
        except CanonicalHashUnavailable:
            return ProvedCheck.WAIT
        if is_canonical(canonical, job.block_hash):
            return ProvedCheck.SEND
        lifecycle.stale_proof(job)
        note_reorg(job, canonical, CheckPoint.BEFORE_REPORTING, status=status, metrics=metrics)
        return ProvedCheck.WITHHOLD

    return check


def build_daemon(settings: Settings, *, backend: ProverBackend | None = None,
                 clock: Callable[[], float] = time.time) -> Daemon:
    """Open the store and build every actor (nothing runs yet).

    Args:
        settings: the validated settings (``ETH_RPC_URL`` set).
        backend: the prover backend to use instead of the one the settings ask for (tests).
        clock: Unix seconds, for the store, the lifecycle and the actors.

    Raises:
        StoreError: the database cannot be opened or is from a newer daemon.
    """
    assert settings.eth_rpc_url is not None
    store = Store(settings.database_path, clock=clock)
    state = DaemonState(started_at=clock(), reporting_enabled=settings.ethproofs_enabled,
                        store_open=True)  # opened just now; the store child probes it from here
    metrics = DaemonMetrics(store, state)
    http = httpx.AsyncClient(timeout=settings.rpc_timeout_seconds)
    rpc = JsonRpcClient(RpcEndpoint(settings.eth_rpc_url, settings.rpc_timeout_seconds,
                                    settings.rpc_max_response_bytes), http)
    notifier: Notifier = NullNotifier()
    if settings.slack_webhook is not None:
        notifier = SlackNotifier(settings.slack_webhook.get_secret_value(), http,
                                 host=host_info())
    retry = RetryPolicy(max_attempts=settings.max_attempts, base_s=settings.retry_base_seconds)
    execute = settings.zisk_action is ZiskAction.EXECUTE
    reporting = ReportPolicy.choose(
        settings.ethproofs_cluster_id if settings.ethproofs_enabled else None, execute=execute)
    lifecycle = Lifecycle(store, reporting=reporting, retry=retry, clock=clock)
    client = None
    if reporting is not None:
        assert settings.ethproofs_rpc_url and settings.ethproofs_api_key
        client = EthProofsClient(settings.ethproofs_rpc_url,
                                 settings.ethproofs_api_key.get_secret_value(), http)
    canonical_hash = canonical_hash_from(rpc)
    reporter = Reporter(
        store, client, notifier=notifier, clock=clock,
        observer=lambda kind, outcome: metrics.ethproofs_requests.labels(
            str(kind), str(outcome)).inc(),
        check_proved=proved_report_check(store, lifecycle, canonical_hash,
                                         status=state.prover, metrics=metrics),
    )
    store.on_change(lambda topic: reporter.wake() if topic == "outbox" else None)
    backend = backend or make_backend(settings)
    prover = ProverActor(
        store=store, lifecycle=lifecycle, backend=backend, notifier=notifier,
        status=state.prover, clock=clock, metrics=metrics,
        canonical_hash=canonical_hash,
        config=ProverConfig(
            output_dir=settings.output_dir, timeout_s=settings.proving_timeout_seconds,
            grace_s=settings.shutdown_timeout_seconds, execute=execute,
            guest_profile=settings.guest_profile, slots=proof_slots(settings),
        ),
    )
    source = RpcInputSource.from_settings(settings, rpc)
    source.observe_witness_s = metrics.witness_fetch_duration.observe
    generator = InputGenerator(
        store=store, lifecycle=lifecycle, rpc=rpc, notifier=notifier, status=state.follower,
        clock=clock, metrics=metrics, source=source,
        config=FollowerConfig(
            proof_type=DEFAULT_PROOF_TYPE, block_interval=settings.block_interval,
            lookback_blocks=settings.lookback_blocks,
            poll_interval_s=settings.poll_interval_seconds, start_block=settings.start_block,
            inputs_dir=settings.state_dir / "inputs",
            input_retention_s=settings.input_retention_days * 86400.0,
            confirmations=settings.confirmations,
            max_prepared=proof_slots(settings) + 1,
            new_heads=(NewHeadsConfig(url=settings.eth_ws_url) if settings.eth_ws_url else None),
        ),
    )
    proof_node = None
    if settings.proof_node_port is not None:
        proof_node = build_proof_node(settings, store, rpc, prover,
                                      proof_node_verifier(settings, backend))
    return Daemon(settings, store, lifecycle, state, metrics, http, rpc, backend, notifier,
                  reporter, prover, generator, proof_node)


def proof_slots(settings: Settings) -> int:
    """Proofs in flight at once: ``MAX_CONCURRENT_PROOFS`` with a backend that runs several
    (the coordinator, the simulated prover), one with cargo-zisk (one GPU, one process group)."""
    if settings.prover_backend is ProverBackendKind.ZISK:
        return 1
    return settings.max_concurrent_proofs


def build_tree(d: Daemon) -> Supervisor:
    """The root supervisor over the daemon's actors (see the module docstring)."""
    s = d.settings
    app = create_ops_app(
        store=d.store, lifecycle=d.lifecycle, state=d.state, metrics=d.metrics,
        stuck_threshold_s=s.prover_stuck_threshold_seconds,
        admin_token=s.admin_token.get_secret_value() if s.admin_token else None,
        allowed_hosts=s.admin_hosts,
    )

    async def store_child(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                          ) -> None:
        probe = StoreProbe(d.store.path)
        try:
            await probe_store(d, probe)
            task_status.started()
            while True:
                await trio.sleep(STORE_PROBE_S)
                await probe_store(d, probe)
        finally:
            probe.close()

    async def notifier_child(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                             ) -> None:
        if isinstance(d.notifier, SlackNotifier):
            await d.notifier.run(task_status=task_status)
        else:
            task_status.started()
            await trio.sleep_forever()

    async def reporter_child(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                             ) -> None:
        try:
            await d.reporter.run(task_status=task_status)
        finally:
            with trio.CancelScope(shield=True):
                await d.reporter.drain(timeout_s=min(10.0, s.shutdown_timeout_seconds))

    async def http_child(*, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
                         ) -> None:
        def bound(urls: list[str]) -> None:
            d.bound_urls[:] = urls
            d.state.http_bound = True
            log.info("http_listening", urls=urls)

        try:
            await serve_app(app, s.health_host, s.health_port, on_bound=bound,
                            task_status=task_status)
        finally:
            d.state.http_bound = False

    def restarted(supervisor: str, child: str, error: BaseException | None) -> None:
        d.metrics.supervisor_restarts.labels(supervisor, child).inc()

    def child_up(child_id: str, up: bool) -> None:
        d.state.components_up[child_id] = up  # what /health reports per component

    grace = s.shutdown_timeout_seconds
    children = [
        ChildSpec("store", store_child),
        ChildSpec("notifier", notifier_child),
        ChildSpec("reporter", reporter_child, shutdown_s=grace + 5,
                  resource_errors=RESOURCE_ERRORS),
        ChildSpec("prover", d.prover.run, shutdown_s=grace + 15,
                  resource_errors=RESOURCE_ERRORS),
        ChildSpec("input_generator", d.generator.run, resource_errors=RESOURCE_ERRORS),
        ChildSpec("http", http_child),
    ]
    if d.proof_node is not None:
        node = d.proof_node

        node_app = CountRequests(create_proof_node_app(node), d.metrics.proof_node_requests,
                                 PROOF_NODE_ROUTES)

        async def proof_node_http(
            *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
        ) -> None:
            # SSE subscribers send nothing after their request (no read bound), and open
            # streams are requests in flight: room for each beside the ordinary requests.
            await serve_app(node_app, node.settings.host, node.settings.port,
                            read_timeout_s=None,
                            max_in_flight=MAX_IN_FLIGHT + node.settings.max_subscribers,
                            task_status=task_status)

        proof_node_tree = Supervisor(
            "proof_node", [
                ChildSpec("proof_node", node.run),
                ChildSpec("proof_node_http", proof_node_http),
            ], strategy=Strategy.REST_FOR_ONE, on_restart=restarted, on_child_up=child_up)
        children.append(ChildSpec("proof_node_tree", proof_node_tree.run))

    return Supervisor("root", children, strategy=Strategy.ONE_FOR_ONE, on_restart=restarted,
                      on_child_up=child_up)


class StoreProbe:
    """A cheap write to the database on a connection of its own, run in a worker thread, so
    that a locked database (up to ``STORE_PROBE_BUSY_S``) or a slow disk never holds up the
    event loop; it writes where the store writes (same file, same WAL), so it fails as the
    store's writes do: full disk, ``database is locked``, ``disk I/O error``.

    Args:
        path: the store's database file (``Store.path``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def write(self) -> None:
        """Write the probe's time into ``meta`` (one autocommit statement). Call from one
        thread at a time (``trio.to_thread.run_sync``).

        Raises:
            sqlite3.Error: the write failed; the connection is closed and opened afresh next
                time.
            OSError: the same, from the OS.
        """
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self.path, timeout=STORE_PROBE_BUSY_S,
                                             isolation_level=None, check_same_thread=False)
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (STORE_PROBE_KEY, repr(time.time())))
        except RESOURCE_ERRORS:
            self.close()
            raise

    def close(self) -> None:
        """Close the probe's connection (if open)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(sqlite3.Error):
                conn.close()


async def probe_store(d: Daemon, probe: StoreProbe) -> bool:
    """Probe the store (``StoreProbe.write``) and record the outcome in ``d.state``
    (``store_open``, ``store_error``): what ``/health`` shows.

    A failing write logs ``store_failing`` with its traceback once per outage, and
    ``store_recovered`` when a write succeeds again.

    Returns:
        True when the write succeeded.
    """
    try:
        await trio.to_thread.run_sync(probe.write)
    except RESOURCE_ERRORS as exc:
        if d.state.store_open or d.state.store_error is None:
            log.error("store_failing", error=str(exc), exc_info=True)
        d.state.store_open, d.state.store_error = False, str(exc)
        return False
    if d.state.store_error is not None:
        log.info("store_recovered", error_was=d.state.store_error)
    d.state.store_open, d.state.store_error = True, None
    return True


async def run_daemon(d: Daemon, *, task_status: trio.TaskStatus[Daemon] = trio.TASK_STATUS_IGNORED,
                     handle_signals: bool = True) -> int:
    """Run the tree until SIGTERM/SIGINT (or cancellation), then close the HTTP client and the
    store.

    Args:
        d: the daemon from ``build_daemon``.
        task_status: gets ``d`` once every child has started and HTTP is bound.
        handle_signals: stop on SIGTERM/SIGINT; False leaves stopping to the caller
            (cancellation).

    Returns:
        The exit status: 0 after a graceful stop; 2 when a child stopped the tree with a
        configuration error (a ``Fatal`` whose ``exit_status`` is 2, e.g. the prover's
        ``ProverMisconfigured``: systemd does not restart it); 1 when the tree failed otherwise
        (restart intensity exceeded, a ``Fatal`` child, a child that could not start).
    """
    tree = d.supervisor = build_tree(d)
    status = 0
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_heartbeat, d)
            if handle_signals:
                nursery.start_soon(_stop_on_signal, tree)
            nursery.start_soon(d.systemd.watchdog_loop)

            tree_started = trio.Event()

            class _TreeStarted:
                def started(self, value: object = None) -> None:
                    tree_started.set()

            async def run_tree() -> None:
                nonlocal status
                try:
                    await tree.run(task_status=_TreeStarted())
                except SupervisorFailed as exc:
                    # The failing child's traceback was logged by the supervisor that gave up.
                    status = fatal_exit_status(exc)
                    log.critical("daemon_failed", error=str(exc), status=status)
                finally:
                    tree_started.set()
                nursery.cancel_scope.cancel()

            nursery.start_soon(run_tree)
            await tree_started.wait()  # every child started (http bound), or the tree failed
            if not status and d.state.http_bound:
                d.state.tree_up = True
                d.systemd.notify("READY=1\nSTATUS=following the chain")
                log.info("daemon_ready", urls=d.bound_urls)
                task_status.started(d)
    finally:
        d.state.tree_up = False
        d.systemd.notify("STOPPING=1")
        with trio.CancelScope(shield=True):
            await d.http.aclose()
        if isinstance(d.backend, CoordinatorBackend):
            d.backend.client.close()
        d.store.close()
        log.info("daemon_stopped", status=status)
    return status


async def _heartbeat(d: Daemon) -> None:
    """Liveness: stamp the event loop's heartbeat; refresh the Proof Node API's numbers."""
    while True:
        d.state.heartbeat_at = time.time()
        if isinstance(d.backend, CoordinatorBackend):
            seen = d.backend.health()
            d.state.prover.backend_reachable = seen.reachable or seen.last_error is None
            d.state.prover.backend_error = seen.last_error
        node = d.proof_node
        if node is not None:
            d.state.proof_node = {
                "queue_length": node.queue_length, "proving": node.proving_count,
                "cache_size": node.cache_size, "sse_subscribers": node.subscriber_count,
                "completed_total": node.completed_total,
                "gpu_queue_length": d.prover.external_queue_length,
            }
        await trio.sleep(HEARTBEAT_S)


async def _stop_on_signal(tree: Supervisor) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("stop_requested", signal=signal.Signals(signum).name)
            tree.stop()
            return
