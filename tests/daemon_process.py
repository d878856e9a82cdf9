"""Run the real daemon (``python -m ethproofs_daemon run``) as a subprocess in a test.

The process is started with ``trio.lowlevel.open_process`` (its own process group, so a SIGKILL
of the daemon leaves its prover group behind exactly as in production), its stderr (JSON logs) is
written to a file, and it is always ended by its pid at teardown.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trio

from tests.helpers import ETHREX_014_PROFILE


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DaemonProcess:
    """A running daemon: its process, admin URL and log file."""

    process: trio.Process
    url: str
    log_path: Path

    async def status(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5) as client:
            reply = await client.get(f"{self.url}/admin/status", params={"limit": 100})
            reply.raise_for_status()
            doc: dict[str, Any] = reply.json()
            return doc

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=5) as client:
            return await client.get(f"{self.url}{path}")

    async def wait_ready(self, timeout_s: float = 60) -> None:
        with trio.fail_after(timeout_s):
            while True:
                if self.process.returncode is not None:
                    raise AssertionError(f"daemon exited with {self.process.returncode}:\n"
                                         + self.log_path.read_text()[-3000:])
                with suppress(httpx.HTTPError):
                    if (await self.get("/health/ready")).status_code == 200:
                        return
                await trio.sleep(0.1)

    async def wait_for(self, predicate: Any, timeout_s: float = 60) -> dict[str, Any]:
        """Poll ``/admin/status`` until ``predicate(doc)`` is true (bounded by ``timeout_s``)."""
        with trio.fail_after(timeout_s):
            while True:
                doc = await self.status()
                if predicate(doc):
                    return doc
                await trio.sleep(0.1)

    def job(self, doc: dict[str, Any], block: int) -> dict[str, Any] | None:
        for job in doc["recent"]:
            if job["block_number"] == block:
                return dict(job)
        return None

    def logs(self) -> str:
        return self.log_path.read_text()

    async def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        with trio.fail_after(timeout_s):
            return await self.process.wait()


@asynccontextmanager
async def daemon_process(env: Mapping[str, str], tmp_path: Path, name: str = "daemon"
                         ) -> AsyncIterator[DaemonProcess]:
    """Start the daemon with ``env`` (on top of a clean copy of ``os.environ``); wait until ready.

    ``HEALTH_PORT`` is chosen when not given. SIGKILLs the daemon at exit if still running.
    """
    full = daemon_env(env)
    log_path = tmp_path / f"{name}.log"
    log_file = log_path.open("ab")  # closed in finally
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "ethproofs_daemon", "run"],
        env=full, stdout=log_file, stderr=subprocess.STDOUT, cwd=tmp_path,
        start_new_session=True,
    )
    daemon = DaemonProcess(process, f"http://127.0.0.1:{full['HEALTH_PORT']}", log_path)
    try:
        await daemon.wait_ready()
        yield daemon
    finally:
        await end_daemon(process)
        log_file.close()


def daemon_env(env: Mapping[str, str], *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """``env`` over a clean copy of ``os.environ`` (no daemon settings or systemd variables of
    the caller's, nor names starting with ``drop``), JSON logs, a free ``HEALTH_PORT`` on
    127.0.0.1 unless given."""
    skip = ("ETH", "ZISK", "SLACK", "NOTIFY_SOCKET", "WATCHDOG", *drop)
    full = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    full.update({"LOG_FORMAT": "json", "LOG_LEVEL": "info"})
    full.update(env)
    full.setdefault("HEALTH_PORT", str(free_port()))
    # the stand-in cargo-zisk is 0.14.0 unless told otherwise; the default profile is zec-reth
    full.setdefault("GUEST_PROFILE", ETHREX_014_PROFILE)
    full.setdefault("HEALTH_HOST", "127.0.0.1")
    return full


async def end_daemon(process: trio.Process) -> None:
    """SIGKILL the daemon by its pid if it still runs, and reap it (at most 10 s, shielded)."""
    if process.returncode is None:
        with suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    with trio.move_on_after(10), trio.CancelScope(shield=True):
        await process.wait()
