"""Imports flow one way: the pure core imports no I/O library, the store no feature package,
and the status values need no actor. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(*modules: str) -> set[str]:
    """Every module loaded by importing ``modules`` in a fresh interpreter."""
    script = "import json, sys\n" + "".join(f"import {m}\n" for m in modules) + (
        "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, check=True)
    return set(json.loads(proc.stdout))


@pytest.mark.parametrize("module", [
    "ethproofs_daemon.jobs", "ethproofs_daemon.lifecycle", "ethproofs_daemon.outbox",
    "ethproofs_daemon.status", "ethproofs_daemon.reporting.payloads",
    "ethproofs_daemon.node.targets",
])
def test_the_pure_core_imports_no_io_library(module: str) -> None:
    loaded = _loaded_after(module)
    assert not {"trio", "httpx", "sqlite3", "psutil"} & loaded


def test_the_store_imports_no_feature_package() -> None:
    ours = {m for m in _loaded_after("ethproofs_daemon.store") if m.startswith("ethproofs_daemon.")}
    assert ours == {"ethproofs_daemon.store", "ethproofs_daemon.jobs", "ethproofs_daemon.outbox",
                    "ethproofs_daemon.backoff"}


def test_health_and_metrics_do_not_import_the_actors() -> None:
    loaded = _loaded_after("ethproofs_daemon.metrics")
    assert not {"ethproofs_daemon.node.follower", "ethproofs_daemon.prover.actor"} & loaded
