"""The host's GPU, CPU and RAM for notifications (read once at start).

Sources as in the original client (lambdaclass/ethrex-ethproofs@c667f9b, branch
``slack_notifications``): GPU names from ``nvidia-smi --query-gpu=name --format=csv,noheader``
(here NVML first, ``pynvml`` from the ``gpu`` extra, then that command); the CPU ``model name``
from ``/proc/cpuinfo``; ``MemTotal`` from ``/proc/meminfo``. Anything not
available here is None (absent, not an error).

``host_info()`` blocks for up to ``timeout_s`` (nvidia-smi): call it before the event loop, or via
``trio.to_thread.run_sync``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections import Counter
from pathlib import Path

from ethproofs_daemon.reporting.events import HostInfo


def parse_cpu_model(cpuinfo: str) -> str | None:
    """The first ``model name`` in ``/proc/cpuinfo`` text (x86; ARM has none → None)."""
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "model name" and value.strip():
            return value.strip()
    return None


def parse_mem_total(meminfo: str) -> str | None:
    """``MemTotal`` of ``/proc/meminfo`` text (kB) as ``"62.7 GiB"``; None when missing."""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                return f"{int(fields[1]) / (1024 * 1024):.1f} GiB"
    return None


def summarize_gpus(names: list[str]) -> str | None:
    """``["A", "A", "B"]`` → ``"2× A, 1× B"``; a single GPU → its name; none → None."""
    names = [n.strip() for n in names if n.strip()]
    if not names:
        return None
    counts = Counter(names)
    if len(names) == 1:
        return names[0]
    return ", ".join(f"{n}× {name}" for name, n in counts.items())


def _gpu_names_nvml() -> list[str] | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except (pynvml.NVMLError, OSError):  # no driver, no device, no libnvidia-ml
        return None
    try:
        names = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))
            names.append(name.decode() if isinstance(name, bytes) else str(name))
        return names
    except pynvml.NVMLError:
        return None
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()


def _gpu_names_smi(nvidia_smi: str, timeout_s: float) -> list[str] | None:
    exe = shutil.which(nvidia_smi)
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.splitlines()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def host_info(
    *,
    cpuinfo: Path = Path("/proc/cpuinfo"),
    meminfo: Path = Path("/proc/meminfo"),
    nvidia_smi: str | None = "nvidia-smi",
    use_nvml: bool = True,
    timeout_s: float = 5.0,
) -> HostInfo:
    """Read GPU, CPU and RAM of this machine. Never raises; unknown parts are None.

    ``nvidia_smi`` None skips the command; ``use_nvml`` False skips NVML (tests).
    """
    names = _gpu_names_nvml() if use_nvml else None
    if names is None and nvidia_smi is not None:
        names = _gpu_names_smi(nvidia_smi, timeout_s)
    cpu = parse_cpu_model(_read(cpuinfo))
    threads = os.cpu_count()
    if cpu is not None and threads:
        cpu = f"{cpu} ({threads} threads)"
    return HostInfo(
        hostname=socket.gethostname() or None,
        gpu=summarize_gpus(names or []),
        cpu=cpu,
        ram=parse_mem_total(_read(meminfo)),
    )
