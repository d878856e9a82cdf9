"""Host facts for notifications: /proc parsing and GPU summary."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ethproofs_daemon.reporting.host import (
    host_info,
    parse_cpu_model,
    parse_mem_total,
    summarize_gpus,
)

CPUINFO = (
    "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9354 32-Core Processor\n"
)


def test_parsers() -> None:
    assert parse_cpu_model(CPUINFO) == "AMD EPYC 9354 32-Core Processor"
    assert parse_cpu_model("processor : 0\nBogoMIPS : 50\n") is None
    assert parse_mem_total("MemTotal:       65755000 kB\nMemFree: 1 kB\n") == "62.7 GiB"
    assert parse_mem_total("") is None


def test_gpu_summary() -> None:
    assert summarize_gpus([]) is None
    assert summarize_gpus(["NVIDIA GeForce RTX 5090\n"]) == "NVIDIA GeForce RTX 5090"
    assert summarize_gpus(["A", "A", "B"]) == "2× A, 1× B"


def test_host_info_reads_files_and_a_real_nvidia_smi(tmp_path: Path) -> None:
    (tmp_path / "cpuinfo").write_text(CPUINFO)
    (tmp_path / "meminfo").write_text("MemTotal: 1048576 kB\n")
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'NVIDIA GeForce RTX 5090'\necho 'NVIDIA GeForce RTX 5090'\n")
    smi.chmod(smi.stat().st_mode | stat.S_IXUSR)
    info = host_info(
        cpuinfo=tmp_path / "cpuinfo",
        meminfo=tmp_path / "meminfo",
        nvidia_smi=str(smi),
        use_nvml=False,
    )
    assert info.gpu == "2× NVIDIA GeForce RTX 5090"
    assert info.cpu == f"AMD EPYC 9354 32-Core Processor ({os.cpu_count()} threads)"
    assert info.ram == "1.0 GiB"


def test_host_info_without_gpu_or_proc_is_absent_not_an_error(tmp_path: Path) -> None:
    info = host_info(
        cpuinfo=tmp_path / "missing",
        meminfo=tmp_path / "missing",
        nvidia_smi=str(tmp_path / "no-such-smi"),
        use_nvml=False,
    )
    assert (info.gpu, info.cpu, info.ram) == (None, None, None)
