"""The status page (``GET /``, ``ethproofs_daemon/http/status_page.html``) rendered by a real
browser: headless Chromium (Debian ``chromium``; ``scripts/install-chromium.sh``) loads the page of
the real daemon that has just proved hive block 0x2d (simulated prover, replay node with the real
hive data), runs its script (which fetches ``admin/status`` and ``health``), and we read the
rendered DOM and keep a screenshot under ``tmp_path``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from html.parser import HTMLParser
from pathlib import Path
from typing import BinaryIO

import pytest
import trio

from tests.daemon_process import daemon_process
from tests.standins.replay_node import ReplayState, run_replay_node

BLOCK = 0x2D
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
BROWSER_TIMEOUT_S = 120


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip("chromium not installed: run scripts/install-chromium.sh "
                    "(Debian: apt-get install -y chromium)")
    return found


@contextmanager
def out_files(*paths: Path) -> Iterator[list[BinaryIO]]:
    """Files for a child's output (opened before it starts, closed after it ends)."""
    with ExitStack() as stack:
        yield [stack.enter_context(path.open("wb")) for path in paths]


async def run_chromium(chromium: str, profile: Path, *args: str) -> str:
    """Run headless Chromium once in its own process group; return its stdout. The whole group
    (browser, renderer, GPU and zygote helpers) is SIGKILLed by the browser's pid afterwards."""
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
            "--window-size=1200,800", "--virtual-time-budget=5000", *args]
    out = profile.with_suffix(".stdout")
    err = profile.with_suffix(".stderr")
    with out_files(out, err) as (stdout, stderr):
        process = await trio.lowlevel.open_process(
            argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            with trio.fail_after(BROWSER_TIMEOUT_S):
                code = await process.wait()
        finally:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with trio.move_on_after(10), trio.CancelScope(shield=True):
                await process.wait()
    assert code == 0, f"chromium exited {code}: {err.read_text()[-2000:]}"
    return out.read_text()


class JobRows(HTMLParser):
    """Cell texts of each ``<tr>`` inside ``<tbody id="jobs">``, and the ``class`` of each cell."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self.texts: dict[str, str] = {}
        self._in_jobs = False
        self._cell: list[str] | None = None
        self._cell_class = ""
        self._id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tbody" and a.get("id") == "jobs":
            self._in_jobs = True
        elif self._in_jobs and tag == "tr":
            self.rows.append([])
        elif self._in_jobs and tag == "td":
            self._cell, self._cell_class = [], a.get("class") or ""
        if a.get("id") and tag != "tbody":
            self._id = a["id"]
            self.texts.setdefault(self._id, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_jobs = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(("".join(self._cell).strip(), self._cell_class))
            self._cell = None
        elif self._id is not None and tag in ("span", "div", "p"):
            self._id = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._id is not None:
            self.texts[self._id] += data


async def test_status_page_in_headless_chromium_shows_the_proved_block(
    tmp_path: Path, hive: ReplayState, chromium: str
) -> None:
    async with run_replay_node(hive) as rpc_url:
        env = {
            "ETH_RPC_URL": rpc_url,
            "PROVER_BACKEND": "simulated",
            "SIMULATED_PROVING_SECONDS": "0.2",
            "STATE_DIR": str(tmp_path / "state"),
            "OUTPUT_DIR": str(tmp_path / "output"),
            "BLOCK_INTERVAL": "1000000",  # nothing but the enqueued block
            "START_BLOCK": "1",
            "POLL_INTERVAL_SECONDS": "0.05",
            "SHUTDOWN_TIMEOUT_SECONDS": "5",
        }
        async with daemon_process(env, tmp_path) as daemon:
            result = await trio.run_process(
                [sys.executable, "-m", "ethproofs_daemon", "enqueue", "--url", daemon.url,
                 str(BLOCK)], capture_stdout=True, capture_stderr=True, check=False)
            assert result.returncode == 0, result.stderr.decode()
            await daemon.wait_for(
                lambda d: (daemon.job(d, BLOCK) or {}).get("state") == "proved", timeout_s=90)
            page = f"{daemon.url}/"
            screenshot = tmp_path / "status-page.png"
            dom = await run_chromium(chromium, tmp_path / "profile-dom", "--dump-dom", page)
            await run_chromium(chromium, tmp_path / "profile-shot",
                               f"--screenshot={screenshot}", page)
            assert await daemon.stop() == 0

    print(f"status page screenshot: {screenshot}")
    assert screenshot.stat().st_size > 1000
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    parsed = JobRows()
    parsed.feed(dom)
    rows = [[text for text, _ in row] for row in parsed.rows]
    mine = [row for row in parsed.rows if row and row[0][0] == str(BLOCK)]
    assert mine, f"block {BLOCK} not on the page; rows: {rows}\n{dom[-3000:]}"
    _, (state, state_class), *rest = mine[0]
    assert state == "proved" and state_class == "state-proved", mine[0]
    proving_time = rest[1][0]
    assert proving_time.endswith(" s"), mine[0]  # timings shown
    assert not parsed.texts.get("error"), parsed.texts  # the page reached the daemon
    assert "Prover idle." in parsed.texts.get("current", ""), parsed.texts
    assert parsed.texts.get("health", "").startswith("— "), parsed.texts
