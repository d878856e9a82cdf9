"""Start the real daemon through ``faulty_daemon.py`` (fault injection, see there) in a test.

Like ``tests/daemon_process.py``, but the daemon's output reaches the log file through a pipe
pumped by the test: a file-size limit set on the daemon (``resource.prlimit``) must not stop its
log. The process is always ended by its pid at exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from tests.daemon_process import DaemonProcess, daemon_env, end_daemon

LAUNCHER = Path(__file__).with_name("faulty_daemon.py")
REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def faulty_daemon(env: Mapping[str, str], tmp_path: Path, name: str = "daemon"
                        ) -> AsyncIterator[DaemonProcess]:
    """Start ``faulty_daemon.py run`` with ``env`` over a clean ``os.environ``; wait until ready.

    ``HEALTH_PORT`` is chosen when not given; the log (JSON lines) is ``tmp_path/{name}.log``.
    """
    full = daemon_env({"PYTHONPATH": str(REPO), **env}, drop=("FAULT",))
    log_path = tmp_path / f"{name}.log"
    process = await trio.lowlevel.open_process(
        [sys.executable, str(LAUNCHER), "run"], env=full, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True,
    )
    assert process.stdout is not None
    output = process.stdout
    daemon = DaemonProcess(process, f"http://127.0.0.1:{full['HEALTH_PORT']}", log_path)

    async def pump() -> None:
        with log_path.open("ab") as log_file:
            async for chunk in output:
                log_file.write(chunk)
                log_file.flush()

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pump)
            try:
                await daemon.wait_ready()
                yield daemon
            finally:
                await end_daemon(process)
    finally:
        await output.aclose()


def log_records(daemon: DaemonProcess) -> list[dict[str, Any]]:
    """The daemon's JSON log lines, parsed (every line must be JSON)."""
    return [json.loads(line) for line in daemon.logs().splitlines() if line.strip()]
