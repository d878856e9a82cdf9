"""Run one subprocess in its own session under trio, and end its whole process group.

ZisK's ``cargo-zisk prove`` starts helper processes (the ASM microservices) that survive a
SIGKILL of their parent (they are shut down only when the prover is dropped:
``0xPolygonHermez/zisk@v0.14.0:emulator-asm/asm-runner/src/asm_services/services.rs``), so the
process is started with
``start_new_session=True`` (its pid is its process-group id) and every way out — timeout,
cancellation, shutdown, a normal exit leaving helpers behind — signals the *group*: SIGTERM, a
grace period, then SIGKILL.

Members that are zombies count as gone: an orphan whose new parent does not reap it (PID 1 in
some containers) stays a zombie but holds no memory, GPU or ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psutil
import structlog
import trio

log = structlog.get_logger(__name__)

#: How much earlier than ``not_before`` a process may seem to start and still be ours (s).
#: psutil's ``create_time`` adds the start ticks to the boot time, which Linux gives in whole
#: seconds (``btime`` in /proc/stat): it can read up to 1 s early. Seen here: 1.005 s.
CREATE_TIME_SLACK_S: Final = 5.0

#: How long the pipes may stay open after the leader exited (a helper may still hold them).
DRAIN_S: Final = 1.0
#: How long to wait for the group to vanish after SIGKILL.
KILL_WAIT_S: Final = 5.0
#: Poll period while waiting for a process group to vanish.
POLL_S: Final = 0.05
#: A stdout line longer than this (bytes) is cut and delivered in pieces.
MAX_LINE_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    """How a run ended.

    ``pid`` is the leader's pid (= its process-group id); ``returncode`` as Python reports it
    (negative = signal number; ``-9`` when even SIGKILL did not reap the leader in time);
    ``timed_out`` when the timeout fired and the group was ended; ``elapsed_ms`` from spawn to
    the leader's exit (after a timeout: to the end of the kill); ``stderr_tail`` the last bytes
    of stderr, decoded (UTF-8, errors replaced)."""

    pid: int
    returncode: int
    timed_out: bool
    elapsed_ms: int
    stderr_tail: str


class TailBuffer:
    """Keeps the last ``limit`` bytes fed to it; ``text()`` decodes them (UTF-8, replaced)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buf = bytearray()

    def feed(self, data: bytes | bytearray) -> None:
        self._buf += data
        if len(self._buf) > self._limit:
            del self._buf[: len(self._buf) - self._limit]

    def text(self) -> str:
        return self._buf.decode("utf-8", errors="replace")


class LineSplitter:
    """Bytes in, complete text lines out (``\\n``-terminated, ``\\r`` stripped, UTF-8 replaced);
    a line over ``max_bytes`` is cut. ``flush`` returns the unterminated rest."""

    def __init__(self, max_bytes: int = MAX_LINE_BYTES) -> None:
        self._max = max_bytes
        self._buf = bytearray()

    def feed(self, data: bytes | bytearray) -> list[str]:
        self._buf += data
        lines: list[str] = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) >= self._max:
                    lines.append(self._decode(self._buf[: self._max]))
                    del self._buf[: self._max]
                    continue
                return lines
            lines.append(self._decode(self._buf[:nl]))
            del self._buf[: nl + 1]

    def flush(self) -> list[str]:
        rest, self._buf = self._buf, bytearray()
        return [self._decode(rest)] if rest else []

    @staticmethod
    def _decode(raw: bytes | bytearray) -> str:
        return bytes(raw).decode("utf-8", errors="replace").rstrip("\r")


# --------------------------------------------------------------------------------------------
# Process groups


def live_group_members(pgid: int) -> list[int]:
    """Pids of the non-zombie processes whose process group is ``pgid`` (empty when none).

    Scans every process (psutil); members owned by another user are listed too.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    except PermissionError:
        pass  # members exist but belong to another user: still list them
    members: list[int] = []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if os.getpgid(proc.pid) == pgid:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to process group ``pgid``; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


async def wait_group_gone(pgid: int, timeout_s: float) -> bool:
    """Poll (every ``POLL_S`` s, at most ``timeout_s`` s) until no live member of ``pgid`` is
    left; True if the group is gone."""
    with trio.move_on_after(timeout_s):
        # No event exists for "a process group is empty" (members are not our children): poll.
        while live_group_members(pgid):  # noqa: ASYNC110
            await trio.sleep(POLL_S)
        return True
    return not live_group_members(pgid)


async def terminate_group(pgid: int, grace_s: float) -> bool:
    """SIGTERM group ``pgid``, wait up to ``grace_s`` s, then SIGKILL what is left and wait up to
    ``KILL_WAIT_S`` s. True when the group is gone at the end. Safe when it is already gone."""
    if not live_group_members(pgid):
        return True
    signal_group(pgid, signal.SIGTERM)
    if await wait_group_gone(pgid, grace_s):
        return True
    log.warning("process_group_sigkilled", pgid=pgid, grace_s=grace_s)
    signal_group(pgid, signal.SIGKILL)
    gone = await wait_group_gone(pgid, KILL_WAIT_S)
    if not gone:
        log.error("process_group_survived_sigkill", pgid=pgid, pids=live_group_members(pgid))
    return gone


async def kill_process_group(
    pgid: int, *, grace_s: float = 5.0, not_before: float | None = None
) -> bool:
    """End a process group left by an earlier run (e.g. the recorded pid of a job that was
    ``proving`` when the daemon died): SIGTERM, ``grace_s`` seconds, then SIGKILL.

    Args:
        pgid: the process-group id (the leader's recorded pid).
        grace_s: seconds between SIGTERM and SIGKILL.
        not_before: Unix seconds (e.g. the job's ``proving_started_at``) guarding against a
            reused pid: if any live member was created more than ``CREATE_TIME_SLACK_S`` before
            it, the group is not ours and is left alone.

    Returns:
        True when the group was signalled, False when it was already gone or is not ours.

    Raises:
        ValueError: ``pgid`` ≤ 1 or the daemon's own group.
    """
    if pgid <= 1 or pgid == os.getpgrp():
        raise ValueError(f"refusing to kill process group {pgid}")
    members = live_group_members(pgid)
    if not members:
        return False
    if not_before is not None:
        for pid in members:
            try:
                created = psutil.Process(pid).create_time()
            except psutil.Error:
                continue
            if created < not_before - CREATE_TIME_SLACK_S:
                log.warning(
                    "process_group_not_ours", pgid=pgid, pid=pid, created=created,
                    not_before=not_before,
                )
                return False
    log.info("leftover_process_group_killing", pgid=pgid, pids=members)
    await terminate_group(pgid, grace_s)
    return True


# --------------------------------------------------------------------------------------------
# Running


async def _pump_lines(
    stream: trio.abc.ReceiveStream, on_line: Callable[[str], None] | None, done: trio.Event
) -> None:
    splitter = LineSplitter()
    try:
        while chunk := await stream.receive_some(65536):
            for line in splitter.feed(chunk):
                if on_line is not None:
                    on_line(line)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    for line in splitter.flush():
        if on_line is not None:
            on_line(line)
    done.set()


async def _pump_tail(stream: trio.abc.ReceiveStream, tail: TailBuffer, done: trio.Event) -> None:
    try:
        while chunk := await stream.receive_some(65536):
            tail.feed(chunk)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    done.set()


#: Variables a child never inherits: the daemon's secrets (a prover or builder has no use for
#: them, and its logs or crash dumps may leak them) and systemd's notification variables, which
#: are the daemon's alone (sd_notify(3)): a child holding them could report readiness or pet
#: the watchdog for us.
CHILD_ENV_WITHHELD: Final = frozenset({
    "ETHPROOFS_API_KEY", "SLACK_WEBHOOK", "ADMIN_TOKEN",
    "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
})


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: ``base`` (default ``os.environ``) without
    ``CHILD_ENV_WITHHELD``."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if k not in CHILD_ENV_WITHHELD}


async def run_in_own_session(
    argv: Sequence[str],
    *,
    timeout_s: float,
    grace_s: float = 10.0,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    on_spawn: Callable[[int], None] | None = None,
    on_stdout_line: Callable[[str], None] | None = None,
    stderr_tail_bytes: int = 4096,
) -> ProcessOutcome:
    """Run ``argv`` as the leader of a new session and process group; return how it ended.

    - stdout is split into lines for ``on_stdout_line``; stderr keeps its last
      ``stderr_tail_bytes`` bytes. stdin is ``/dev/null``.
    - ``on_spawn(pid)`` is called right after the spawn (pid == pgid) so the caller can record it.
    - After ``timeout_s`` seconds the group gets SIGTERM, ``grace_s`` s later SIGKILL; the outcome
      then has ``timed_out=True``.
    - When the leader exits on its own, any member left in its group is ended the same way.
    - Cancellation (or an exception from a callback) ends the group under a shielded scope with
      its own deadline (``grace_s + 2 * KILL_WAIT_S`` seconds), then propagates.

    Args:
        argv: the program and its arguments (resolved as ``subprocess.Popen`` does).
        timeout_s: wall-clock bound on the run, in seconds.
        grace_s: seconds between SIGTERM and SIGKILL of the group.
        env: the child's whole environment (None: the daemon's).
        cwd: the child's working directory (None: the daemon's).
        on_spawn: called with the pid right after the spawn.
        on_stdout_line: called with each stdout line (``\n`` and ``\r`` stripped).
        stderr_tail_bytes: how much of the end of stderr to keep.

    Returns:
        The ``ProcessOutcome`` (a timeout is an outcome, not an exception).

    Raises:
        OSError: the process could not be spawned (e.g. ``FileNotFoundError``,
            ``PermissionError``).
    """
    started = trio.current_time()
    proc = await trio.lowlevel.open_process(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=None if env is None else dict(env),
        cwd=cwd,
    )
    pgid = proc.pid
    assert proc.stdout is not None and proc.stderr is not None
    tail = TailBuffer(stderr_tail_bytes)
    timed_out = False
    log.debug("process_spawned", pid=pgid, argv=list(argv))
    try:
        if on_spawn is not None:
            on_spawn(pgid)
        async with trio.open_nursery() as nursery:
            stdout_done, stderr_done = trio.Event(), trio.Event()
            nursery.start_soon(_pump_lines, proc.stdout, on_stdout_line, stdout_done)
            nursery.start_soon(_pump_tail, proc.stderr, tail, stderr_done)
            with trio.move_on_after(timeout_s) as deadline:
                await proc.wait()
            if deadline.cancelled_caught:
                timed_out = True
                log.warning("process_timed_out", pid=pgid, timeout_s=timeout_s)
                await terminate_group(pgid, grace_s)
                with trio.move_on_after(KILL_WAIT_S):
                    await proc.wait()
            elapsed_ms = int((trio.current_time() - started) * 1000)
            leftovers = live_group_members(pgid)
            if leftovers:
                log.warning("process_group_leftovers_ending", pid=pgid, pids=leftovers)
                await terminate_group(pgid, grace_s)
            with trio.move_on_after(DRAIN_S):  # a helper may hold the pipes: read what is there
                await stdout_done.wait()
                await stderr_done.wait()
            nursery.cancel_scope.cancel()
    except BaseException:
        with trio.CancelScope(shield=True) as shield:
            shield.deadline = trio.current_time() + grace_s + 2 * KILL_WAIT_S
            await terminate_group(pgid, grace_s)
            if proc.returncode is None:
                signal_group(pgid, signal.SIGKILL)
                await proc.wait()
            log.warning("process_group_ended_on_cancel", pid=pgid, returncode=proc.returncode)
        raise
    finally:
        with trio.CancelScope(shield=True):
            await proc.stdout.aclose()
            await proc.stderr.aclose()
    returncode = proc.returncode
    if returncode is None:  # SIGKILL could not end it within KILL_WAIT_S (D state)
        returncode = -signal.SIGKILL
    return ProcessOutcome(
        pid=pgid,
        returncode=returncode,
        timed_out=timed_out,
        elapsed_ms=elapsed_ms,
        stderr_tail=tail.text(),
    )

