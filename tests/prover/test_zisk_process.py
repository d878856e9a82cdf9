"""Subprocesses in their own session (``prover.process``): output handling and process groups."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from ethproofs_daemon.prover.driver import ZiskDriver
from ethproofs_daemon.prover.process import (
    LineSplitter,
    TailBuffer,
    child_env,
    kill_process_group,
    live_group_members,
    run_in_own_session,
)
from tests.standins.zisk import StandinZisk, end_pids, pid_alive, read_pid

# ------------------------------------------------------------------ pure helpers


def test_line_splitter_yields_complete_lines_and_the_rest_on_flush() -> None:
    s = LineSplitter(max_bytes=8)
    assert s.feed(b"ab\r\ncd") == ["ab"]
    assert s.feed(b"e\nf") == ["cde"]
    assert s.feed(b"0123456789") == ["f0123456"]  # cut at 8 bytes
    assert s.flush() == ["789"]
    assert s.flush() == []


def test_line_splitter_replaces_invalid_utf8() -> None:
    assert LineSplitter().feed(b"\xff ok\n") == ["\ufffd ok"]


def test_tail_buffer_keeps_the_last_bytes() -> None:
    t = TailBuffer(5)
    t.feed(b"abc")
    t.feed(bytearray(b"defg"))
    assert t.text() == "cdefg"


# ------------------------------------------------------------------ running


@pytest.fixture
def pids() -> Iterator[list[int]]:
    spawned: list[int] = []
    yield spawned
    end_pids(spawned)


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_run_streams_stdout_lines_and_keeps_a_bounded_stderr_tail(pids: list[int]) -> None:
    lines: list[str] = []
    code = (
        "import sys\n"
        "print('one'); print('two', flush=True)\n"
        "sys.stderr.write('x' * 10000 + 'END')\n"
        "sys.stdout.write('last')\n"
        "sys.exit(3)\n"
    )
    outcome = await run_in_own_session(
        py(code), timeout_s=30, on_spawn=pids.append, on_stdout_line=lines.append,
        stderr_tail_bytes=100,
    )
    assert lines == ["one", "two", "last"]
    assert outcome.returncode == 3 and not outcome.timed_out
    assert len(outcome.stderr_tail) == 100 and outcome.stderr_tail.endswith("xEND")
    assert outcome.pid == pids[0]


async def test_the_child_leads_its_own_session(pids: list[int]) -> None:
    lines: list[str] = []
    await run_in_own_session(
        py("import os; print(os.getpid(), os.getpgrp(), os.getsid(0))"),
        timeout_s=30, on_spawn=pids.append, on_stdout_line=lines.append,
    )
    assert lines == [f"{pids[0]} {pids[0]} {pids[0]}"]


async def test_a_helper_left_holding_the_pipes_is_ended_after_a_normal_exit(
    pids: list[int],
) -> None:
    lines: list[str] = []
    code = (
        "import subprocess, sys\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print(c.pid, flush=True)\n"
    )
    outcome = await run_in_own_session(
        py(code), timeout_s=30, grace_s=1.0, on_spawn=pids.append, on_stdout_line=lines.append
    )
    helper = int(lines[0])
    pids.append(helper)
    assert outcome.returncode == 0
    assert not pid_alive(helper)


async def test_a_failing_on_spawn_callback_ends_the_process(pids: list[int]) -> None:
    def boom(pid: int) -> None:
        pids.append(pid)
        raise RuntimeError("store unavailable")

    with pytest.raises(RuntimeError, match="store unavailable"):
        await run_in_own_session(py("import time; time.sleep(30)"), timeout_s=30, on_spawn=boom)
    assert not pid_alive(pids[0])


async def test_spawn_failure_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await run_in_own_session([str(tmp_path / "nope")], timeout_s=1)


# ------------------------------------------------------------------ leftover groups at start-up


def spawn_orphan_prover(standin: StandinZisk) -> subprocess.Popen[bytes]:
    """A hanging stand-in in its own session, as a daemon killed with -9 leaves it."""
    env = {**os.environ, **standin.env(STANDIN_ZISK_HANG="1")}
    proc = subprocess.Popen(
        [str(standin.exe), "prove", "-e", str(standin.elf), "-i", str(standin.input),
         "-o", str(standin.root / "out"), "-a", "-u"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    standin.record(proc.pid)
    deadline = time.monotonic() + 20
    while read_pid(standin.helper_pidfile) is None and time.monotonic() < deadline:  # bounded
        time.sleep(0.05)
    assert standin.helper_pid() is not None, "stand-in did not start its helper"
    return proc


async def test_kill_process_group_ends_a_leftover_prover_and_its_helper(
    standin: StandinZisk,
) -> None:
    proc = spawn_orphan_prover(standin)
    helper = standin.helper_pid()
    assert helper is not None
    assert sorted(live_group_members(proc.pid)) == sorted([proc.pid, helper])
    assert await kill_process_group(proc.pid, grace_s=1.0) is True
    proc.wait(timeout=10)
    assert not pid_alive(helper)
    assert live_group_members(proc.pid) == []
    assert await kill_process_group(proc.pid) is False  # already gone: safe


async def test_kill_process_group_ends_the_orphaned_helper_of_a_dead_prover(
    standin: StandinZisk,
) -> None:
    proc = spawn_orphan_prover(standin)
    helper = standin.helper_pid()
    assert helper is not None
    proc.kill()  # cargo-zisk SIGKILLed: its helper survives (zisk.md §1.1)
    proc.wait(timeout=10)
    assert pid_alive(helper)
    assert await kill_process_group(proc.pid, grace_s=1.0) is True
    assert not pid_alive(helper)


async def test_kill_process_group_leaves_a_group_older_than_the_job_alone(
    standin: StandinZisk,
) -> None:
    proc = spawn_orphan_prover(standin)
    killed = await kill_process_group(proc.pid, grace_s=1.0, not_before=time.time() + 3600)
    assert killed is False
    assert pid_alive(proc.pid)
    assert await kill_process_group(proc.pid, grace_s=1.0, not_before=time.time() - 60) is True
    proc.wait(timeout=10)


async def test_kill_process_group_refuses_init_and_its_own_group() -> None:
    with pytest.raises(ValueError):
        await kill_process_group(1)
    with pytest.raises(ValueError):
        await kill_process_group(os.getpgrp())


async def test_kill_process_group_of_an_unused_pid_is_a_no_op() -> None:
    with trio.fail_after(5):
        assert await kill_process_group(2**22 + 12345) is False


SECRETS = ("ETHPROOFS_API_KEY", "SLACK_WEBHOOK", "ADMIN_TOKEN")


async def test_a_child_gets_none_of_the_daemons_secrets(
    pids: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SECRETS:
        monkeypatch.setenv(name, f"secret-{name}")
    monkeypatch.setenv("KEEP_ME", "1")
    lines: list[str] = []
    driver = ZiskDriver(sys.executable, Path("guest.elf"))
    outcome = await run_in_own_session(
        py("import os\nfor k in sorted(os.environ): print(k)"), timeout_s=30,
        env=driver._env(), on_spawn=pids.append, on_stdout_line=lines.append,
    )
    assert outcome.returncode == 0
    assert "KEEP_ME" in lines and "NO_COLOR" in lines
    assert not set(SECRETS) & set(lines)
    assert not set(SECRETS) & set(child_env())
