"""Test helpers around the stand-in ``cargo-zisk`` (``cargo_zisk.py``; not ZisK, proves nothing).

- ``make_standin_cargo_zisk(dir)`` writes an executable ``cargo-zisk`` into ``dir/bin`` that runs
  the stand-in with this interpreter (the pid of the spawned process is the stand-in's own).
- ``pid_alive(pid)``: a live, non-zombie process.
- ``end_pids(pids)``: SIGKILL whatever is still alive (test teardown).
- ``StandinZisk``: one test's stand-in setup (paths, switches, pids to end).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ethproofs_daemon.prover import ProveRequest, ZiskDriver

STANDIN_SCRIPT = Path(__file__).with_name("cargo_zisk.py")


def make_standin_cargo_zisk(directory: Path) -> Path:
    """Create ``directory/bin/cargo-zisk`` (mode 0755) running the stand-in; returns its path."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "cargo-zisk"
    exe.write_text(
        f"#!{sys.executable}\n"
        "# Stand-in cargo-zisk for tests (not ZisK): see tests/standins/cargo_zisk.py\n"
        "import runpy\n"
        f"runpy.run_path({str(STANDIN_SCRIPT)!r}, run_name='__main__')\n"
    )
    exe.chmod(0o755)
    return exe


def make_standin_ziskemu(directory: Path) -> Path:
    """Create ``directory/bin/ziskemu`` (mode 0755) running the stand-in as ``ziskemu``."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "ziskemu"
    exe.write_text(
        f"#!{sys.executable}\n"
        "# Stand-in ziskemu for tests (not ZisK): see tests/standins/cargo_zisk.py\n"
        "import os, runpy\n"
        "os.environ['STANDIN_ZISK_TOOL'] = 'ziskemu'\n"
        f"runpy.run_path({str(STANDIN_SCRIPT)!r}, run_name='__main__')\n"
    )
    exe.chmod(0o755)
    return exe


def pid_alive(pid: int) -> bool:
    """True when ``pid`` is a running process that is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def end_pids(pids: Iterable[int]) -> None:
    """SIGKILL each live pid (teardown); never raises for processes already gone."""
    for pid in pids:
        if pid > 1 and pid != os.getpid() and pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def read_pid(path: Path) -> int | None:
    """The pid written in ``path``, or None when the file does not exist (yet)."""
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


@dataclass
class StandinZisk:
    """Paths of one test's stand-in setup and the pids to end in teardown."""

    exe: Path
    elf: Path
    input: Path
    root: Path
    helper_pidfile: Path
    pids: list[int] = field(default_factory=list)

    def env(self, **switches: str) -> dict[str, str]:
        """Environment for the stand-in: short runs, helper pid recorded, plus ``switches``."""
        base = {
            "STANDIN_ZISK_DELAY_S": "0.05",
            "STANDIN_ZISK_HELPER_PIDFILE": str(self.helper_pidfile),
            "STANDIN_ZISK_HELPER_LIFETIME_S": "30",
            "STANDIN_ZISK_HANG_MAX_S": "30",
        }
        return {**base, **switches}

    def driver(self, *, program_vk: bytes | None = None, ziskemu: str | None = None,
               **switches: str) -> ZiskDriver:
        """A driver of this stand-in; ``ziskemu`` None: none installed."""
        return ZiskDriver(self.exe, self.elf, env=self.env(**switches), term_grace_s=1.0,
                          program_vk=program_vk, ziskemu=ziskemu)

    def request(self, block: int = 100, timeout_s: float = 30.0) -> ProveRequest:
        return ProveRequest(block, self.input, self.root / "output" / str(block), timeout_s)

    def helper_pid(self) -> int | None:
        pid = read_pid(self.helper_pidfile)
        if pid is not None and pid not in self.pids:
            self.pids.append(pid)
        return pid

    def record(self, pid: int) -> None:
        """``on_spawn`` callback: remember the leader's pid for teardown."""
        self.pids.append(pid)
