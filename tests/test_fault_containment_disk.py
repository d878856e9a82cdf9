"""Issue 10: a full disk neither kills the daemon nor costs a finished proof.

The disk is filled for real: the daemon runs through ``tests/ops/faulty_daemon.py`` (SIGXFSZ
ignored) and the test lowers its ``RLIMIT_FSIZE`` to 1 byte with prlimit(2) at a chosen moment,
so from then on every write of the daemon process to any file fails (``EFBIG``: SQLite's WAL
answers ``disk I/O error``, the input file and the payload copy ``OSError``), while the stand-in
cargo-zisk, started before, writes its proof as usual. The limit is then lifted ("space freed").
Real replay node with hive data, stand-in cargo-zisk and EthProofs API.
"""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import trio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.daemon_process import DaemonProcess
from tests.ops.faults import faulty_daemon, log_records
from tests.standins.ethproofs_api import EthProofsState, run_standin_ethproofs
from tests.standins.replay_node import ReplayState, build_app
from tests.standins.serve import serving_on_loopback
from tests.test_end_to_end import _enqueue, _env, _proved, _wait_reports

BLOCK = 0x2D


def fill_disk(daemon: DaemonProcess) -> None:
    """Every write of the daemon process to a file fails from now on (RLIMIT_FSIZE = 1 byte)."""
    _, hard = resource.prlimit(daemon.process.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(daemon.process.pid, resource.RLIMIT_FSIZE, (1, hard))


def free_disk(daemon: DaemonProcess) -> None:
    _, hard = resource.prlimit(daemon.process.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(daemon.process.pid, resource.RLIMIT_FSIZE, (hard, hard))


async def wait_log(daemon: DaemonProcess, event: str, timeout_s: float = 60,
                   **fields: Any) -> dict[str, Any]:
    """The first log record named ``event`` with ``fields``, waiting for it (bounded)."""
    with trio.fail_after(timeout_s):
        while True:
            for record in log_records(daemon):
                if record["event"] == event and all(record.get(k) == v
                                                    for k, v in fields.items()):
                    return record
            await trio.sleep(0.1)


async def store_health(daemon: DaemonProcess) -> dict[str, Any]:
    doc = (await daemon.get("/health")).json()
    store: dict[str, Any] = doc["components"]["store"]
    return store


async def wait_store_down(daemon: DaemonProcess, timeout_s: float = 30) -> dict[str, Any]:
    with trio.fail_after(timeout_s):
        while (store := await store_health(daemon))["status"] != "down":
            await trio.sleep(0.2)
    return store


def assert_proved_once(daemon: DaemonProcess, api: EthProofsState) -> None:
    """Proved and reported once, in order. A ``queued``/``proving`` report may be accepted twice:
    the fault can land between the API's answer and the outbox commit (at least once)."""
    kinds = [k for (b, k) in api.sequence() if b == BLOCK]
    assert kinds[0] == "queued" and kinds[-1] == "proved" and kinds.count("proved") == 1, kinds
    assert set(kinds) == {"queued", "proving", "proved"}, kinds
    started = [r for r in log_records(daemon) if r["event"] == "proving_started"
               and r["logger"] == "ethproofs_daemon.prover.actor"]
    assert len(started) == 1, "proved once, never started again"


class WitnessGate:
    """ASGI middleware: holds ``debug_executionWitness`` calls until ``open`` is set, and sets
    ``asked`` when the first one arrives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.asked = trio.Event()
        self.open = trio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages)
        if b"debug_executionWitness" in body:
            self.asked.set()
            await self.open.wait()
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, {"type": "http.disconnect"})

        await self.app(scope, replayed, send)


async def test_disk_full_after_a_proof_keeps_the_proof_and_records_it_later(
    tmp_path: Path, hive: ReplayState
) -> None:
    async with (
        serving_on_loopback(build_app(hive)) as node_url,
        run_standin_ethproofs() as (api_url, api),
    ):
        env = _env(tmp_path, node_url + "/", api_url, STANDIN_ZISK_DELAY_S="3",
                   BLOCK_INTERVAL="1000000")
        async with faulty_daemon(env, tmp_path) as daemon:
            await _enqueue(daemon.url, BLOCK)
            with trio.fail_after(60):
                while (BLOCK, "proving") not in api.sequence():
                    await trio.sleep(0.05)
            fill_disk(daemon)  # while the stand-in proves
            failed = await wait_log(daemon, "job_outcome_not_stored", outcome="proved")
            assert failed["block_number"] == BLOCK and "Traceback" in failed["exception"]
            store = await wait_store_down(daemon)
            assert "disk I/O error" in store["error"] or "full" in store["error"]
            assert (await daemon.get("/health/live")).status_code == 200
            assert daemon.process.returncode is None

            free_disk(daemon)
            await daemon.wait_for(lambda d: _proved(d, (BLOCK,)), timeout_s=90)
            await _wait_reports(api, (BLOCK,))
            with trio.fail_after(30):
                while (await store_health(daemon))["status"] != "up":
                    await trio.sleep(0.2)
            assert await daemon.stop() == 0
    assert_proved_once(daemon, api)
    assert not any(r["event"] == "job_resumed" for r in log_records(daemon))


async def test_disk_full_while_the_input_is_written_retries_the_job(
    tmp_path: Path, hive: ReplayState
) -> None:
    node = build_app(hive)
    node.add_middleware(WitnessGate)
    async with (
        serving_on_loopback(node) as node_url,
        run_standin_ethproofs() as (api_url, api),
    ):
        gate = _gate_of(node)
        env = _env(tmp_path, node_url + "/", api_url, BLOCK_INTERVAL="1000000")
        async with faulty_daemon(env, tmp_path) as daemon:
            await _enqueue(daemon.url, BLOCK)
            with trio.fail_after(60):
                await gate.asked.wait()  # the job is fetching; next: write its input
            fill_disk(daemon)
            gate.open.set()
            crash = await wait_log(daemon, "child_restarting", child="input_generator")
            assert crash["resource_fault"] is True and "Traceback" in crash["exception"]
            assert "File too large" in crash["exception"]
            await wait_store_down(daemon)
            assert daemon.process.returncode is None
            assert (await daemon.get("/health/live")).status_code == 200
            doc = await daemon.status()
            assert daemon.job(doc, BLOCK)["state"] != "proved"  # type: ignore[index]

            free_disk(daemon)
            await daemon.wait_for(lambda d: _proved(d, (BLOCK,)), timeout_s=120)
            await _wait_reports(api, (BLOCK,))
            assert await daemon.stop() == 0
    assert_proved_once(daemon, api)
    restarts = [r for r in log_records(daemon) if r["event"] == "child_restarting"]
    assert {r["child"] for r in restarts} <= {"input_generator", "reporter", "prover"}
    assert all(r["resource_fault"] for r in restarts)


def _gate_of(app: Any) -> WitnessGate:
    """The ``WitnessGate`` instance starlette built for ``app`` (after it started serving)."""
    layer = app.middleware_stack
    while layer is not None and not isinstance(layer, WitnessGate):
        layer = getattr(layer, "app", None)
    assert isinstance(layer, WitnessGate)
    return layer


