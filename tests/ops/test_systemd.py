"""systemd: the daemon's sd_notify datagrams on a real ``NOTIFY_SOCKET``, and the unit file.

Protocol: sd_notify(3), sd_watchdog_enabled(3) (``../shared/docs/peers-and-conventions.md`` §4.1):
newline-separated ``KEY=VALUE`` in one AF_UNIX datagram; ``READY=1`` once start-up is done,
``WATCHDOG=1`` at about half ``WATCHDOG_USEC``, ``STOPPING=1`` on shutdown. Unit shape: §4.2.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trio

from ethproofs_daemon.config import Settings
from ethproofs_daemon.sdnotify import SystemdNotifier
from tests.daemon_process import daemon_process, free_port
from tests.standins.replay_node import ReplayState, run_replay_node

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "ethproofs-daemon.service"
ENV_EXAMPLE = ROOT / "systemd" / "ethproofs-daemon.env.example"
WATCHDOG_USEC = 1_000_000
#: Margin the unit's TimeoutStopSec must leave above SHUTDOWN_TIMEOUT_SECONDS: the prover child's
#: extra shutdown allowance in the supervision tree (``app.build_tree``: grace + 15 s) and more.
STOP_MARGIN_S = 30
#: socket(7) SO_TIMESTAMP; the value on Linux (asm-generic/socket.h), which Python does not export.
SO_TIMESTAMP: int = getattr(socket, "SO_TIMESTAMP", 29)


@dataclass
class Datagram:
    at: float  # Unix time the kernel received it (SO_TIMESTAMP), else when it was read
    lines: list[str]


@dataclass
class NotifyLog:
    """What the notify socket received, and what ``/health/ready`` said meanwhile."""

    datagrams: list[Datagram] = field(default_factory=list)
    ready_seen_at: float | None = None
    not_ready_after_ready: list[int] = field(default_factory=list)

    def times(self, line: str) -> list[float]:
        return [d.at for d in self.datagrams if line in d.lines]


@contextmanager
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A bound AF_UNIX datagram socket (non-blocking) in a short temporary directory (a socket
    path must fit ``sun_path``, 108 bytes, which pytest's ``tmp_path`` may not)."""
    folder = tempfile.mkdtemp(prefix="sdn-")
    path = os.path.join(folder, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        sock.setblocking(False)
        yield sock, path
    finally:
        sock.close()
        shutil.rmtree(folder, ignore_errors=True)


def drain(sock: socket.socket, log: NotifyLog) -> None:
    """Read every datagram waiting on ``sock`` (non-blocking) into ``log``, with the kernel's
    receive time (socket(7) ``SO_TIMESTAMP``: a ``struct timeval``), so our polling period and
    scheduling delays do not distort the watchdog intervals."""
    tv = struct.Struct("@ll")
    while True:
        try:
            data, ancillary, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(tv.size))
        except BlockingIOError:
            return
        at = time.time()
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP:
                sec, usec = tv.unpack(payload[: tv.size])
                at = sec + usec / 1e6
        log.datagrams.append(Datagram(at, data.decode().split("\n")))


async def watch(sock: socket.socket, url: str, log: NotifyLog, period_s: float = 0.02) -> None:
    """Single reader of the socket. Checks both orders race-free: a ``/health/ready`` 200 must
    find ``READY=1`` already in the socket (the daemon sends it before it can answer), and once
    ``READY=1`` was read, ``/health/ready`` must not answer anything else (until we stop it)."""
    async with httpx.AsyncClient(timeout=2) as client:
        while True:  # bounded by the caller's cancel scope
            drain(sock, log)
            ready_before = bool(log.times("READY=1"))
            code = 0
            with suppress(httpx.HTTPError):
                code = (await client.get(f"{url}/health/ready")).status_code
            if code == 200:
                drain(sock, log)
                assert log.times("READY=1"), "/health/ready answered 200 before READY=1 was sent"
                if log.ready_seen_at is None:
                    log.ready_seen_at = time.time()
            elif ready_before:
                log.not_ready_after_ready.append(code)
            await trio.sleep(period_s)


async def test_ready_watchdog_and_stopping_reach_a_real_notify_socket(tmp_path: Path) -> None:
    port = free_port()
    log = NotifyLog()
    with notify_socket() as (sock, path):
        async with run_replay_node(ReplayState()) as rpc_url:
            env = {
                "ETH_RPC_URL": rpc_url,
                "PROVER_BACKEND": "simulated",
                "STATE_DIR": str(tmp_path / "state"),
                "OUTPUT_DIR": str(tmp_path / "output"),
                "HEALTH_PORT": str(port),
                "NOTIFY_SOCKET": path,
                "WATCHDOG_USEC": str(WATCHDOG_USEC),
                "SHUTDOWN_TIMEOUT_SECONDS": "5",
            }
            async with trio.open_nursery() as nursery:
                watch_scope = trio.CancelScope()

                async def watcher() -> None:
                    with watch_scope:
                        await watch(sock, f"http://127.0.0.1:{port}", log)

                nursery.start_soon(watcher)
                async with daemon_process(env, tmp_path) as daemon:
                    with trio.fail_after(30):
                        while len(log.times("WATCHDOG=1")) < 4 or log.ready_seen_at is None:
                            await trio.sleep(0.05)
                    watch_scope.cancel()
                    drain(sock, log)
                    stop_sent = time.time()
                    code = await daemon.stop(signal.SIGTERM, timeout_s=30)
                    logs = daemon.logs()
            drain(sock, log)

    assert code == 0, logs[-3000:]
    assert not log.not_ready_after_ready, log.not_ready_after_ready
    ready = log.times("READY=1")
    assert len(ready) == 1, log.datagrams
    ready_datagram = next(d for d in log.datagrams if "READY=1" in d.lines)
    assert any(line.startswith("STATUS=") for line in ready_datagram.lines)
    # Watchdog: pings at about half WATCHDOG_USEC; never as slow as the timeout itself.
    pings = log.times("WATCHDOG=1")
    assert len([t for t in pings if t >= ready[0]]) >= 2, log.datagrams
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    half = WATCHDOG_USEC / 2e6
    assert 0.6 * half <= statistics.median(gaps) <= 1.5 * half, gaps
    assert max(gaps) < WATCHDOG_USEC / 1e6, f"a ping came later than the watchdog timeout: {gaps}"
    stopping = log.times("STOPPING=1")
    assert len(stopping) == 1 and stopping[0] >= stop_sent, log.datagrams
    # Nothing but these messages, and STOPPING=1 is the last thing sent.
    kinds = {line.split("=", 1)[0] for d in log.datagrams for line in d.lines if line}
    assert kinds <= {"READY", "STATUS", "WATCHDOG", "STOPPING"}, kinds
    assert log.datagrams[-1].lines == ["STOPPING=1"]


def test_watchdog_is_for_another_pid_then_no_pings() -> None:
    """sd_watchdog_enabled(3): ``WATCHDOG_PID`` naming another process disables the pings."""
    other = SystemdNotifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000",
                             "WATCHDOG_PID": str(os.getpid() + 1)})
    mine = SystemdNotifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000",
                            "WATCHDOG_PID": str(os.getpid())})
    assert other.watchdog_interval_s is None
    assert mine.watchdog_interval_s == 0.5
    assert SystemdNotifier({}).notify("READY=1") is False


def test_abstract_notify_socket_receives_datagrams() -> None:
    """``@name`` is an abstract socket (leading NUL), as systemd may hand out."""
    name = f"ethproofs-daemon-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).notify("READY=1\nSTATUS=x")
        assert sock.recv(4096) == b"READY=1\nSTATUS=x"


# --- the unit file ---------------------------------------------------------------------------

def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """systemd.syntax(7): ``[Section]`` headers, ``Key=Value`` lines (keys may repeat), ``#``/``;``
    comments, a trailing backslash continues the line."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"key outside a section: {line!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not a Key=Value line: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def one(section: list[tuple[str, str]], key: str) -> str:
    values = [v for k, v in section if k == key]
    assert len(values) == 1, f"{key}: expected once, found {values}"
    return values[0]


def seconds(value: str) -> float:
    """A systemd time span (systemd.time(7)) of the simple forms used here: ``90``, ``90s``,
    ``5min``, ``1h``, ``infinity``."""
    units = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hr": 3600}
    if value == "infinity":
        return float("inf")
    digits = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    return float(digits) * units[value[len(digits):]]


def test_unit_file_has_the_documented_shape() -> None:
    unit = parse_unit(UNIT.read_text())
    service = unit["Service"]
    assert one(service, "Type") == "notify"
    assert one(service, "NotifyAccess") == "main"
    watchdog = seconds(one(service, "WatchdogSec"))
    assert 10 <= watchdog <= 600
    assert one(service, "KillMode") == "mixed"
    assert one(service, "KillSignal") == "SIGTERM"
    shutdown_default = Settings.model_fields["shutdown_timeout_seconds"].default
    assert seconds(one(service, "TimeoutStopSec")) >= shutdown_default + STOP_MARGIN_S
    assert one(service, "LimitMEMLOCK") == "infinity"
    exec_start = one(service, "ExecStart").split()
    assert Path(exec_start[0]).name == "ethproofs-daemon" and exec_start[1:] == ["run"]
    assert one(service, "Restart") == "on-failure"
    assert "2" in one(service, "RestartPreventExitStatus").split()  # config error: no restart
    assert one(service, "EnvironmentFile").lstrip("-") == "/etc/ethproofs-daemon.env"
    # Hardening must leave /dev/shm and the GPU device nodes to cargo-zisk.
    keys = {k for k, _ in service}
    assert not keys & {"PrivateDevices", "DevicePolicy", "MemoryDenyWriteExecute",
                       "ProtectKernelModules", "PrivateIPC"}, keys
    assert one(unit["Install"], "WantedBy") == "multi-user.target"


def test_env_example_names_are_settings() -> None:
    from ethproofs_daemon.config import ENV_NAMES

    names = set(ENV_NAMES.values())
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip().removeprefix("# ")
        if "=" in line and not line.startswith("#") and line.split("=")[0].isupper():
            assert line.split("=")[0] in names, line


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    """``systemd-analyze verify`` (when installed): no warning at all. ExecStart is pointed at
    this checkout's executable, since /opt/ethproofs-daemon does not exist here."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    exe = ROOT / ".venv" / "bin" / "ethproofs-daemon"
    if not exe.exists():
        pytest.skip(f"{exe} not installed (run scripts/setup.sh)")
    text = UNIT.read_text().replace("/opt/ethproofs-daemon/.venv/bin/ethproofs-daemon", str(exe))
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    result = subprocess.run([analyze, "verify", "--man=no", str(copy)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
        result.stdout + result.stderr)
