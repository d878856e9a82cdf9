"""Imports flow one way: the pure core imports no I/O library, the store no feature package,
the status values need no actor, actors never import each other, and notifications need no
transport code. Module-load checks run in a fresh interpreter; import-statement checks read the
source."""

from __future__ import annotations

import ast
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


PURE_CORE = [
    "ethproofs_daemon.jobs", "ethproofs_daemon.lifecycle", "ethproofs_daemon.outbox",
    "ethproofs_daemon.status", "ethproofs_daemon.reporting.payloads",
    "ethproofs_daemon.node.targets",
    *sorted(f"ethproofs_daemon.{p.parent.name}.{p.stem}"
            for folder in ("eth", "inputs", "ssz")
            for p in (Path(__file__).resolve().parents[1] / "ethproofs_daemon" / folder)
            .glob("*.py") if p.stem != "__init__"),
]


@pytest.mark.parametrize("module", PURE_CORE)
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


PACKAGE = Path(__file__).resolve().parent.parent / "ethproofs_daemon"

#: Modules that run as actors (their own loop under the supervisor), or wire one to another.
ACTORS = {
    "ethproofs_daemon.node.follower",
    "ethproofs_daemon.prover.actor",
    "ethproofs_daemon.reporting.reporter",
    "ethproofs_daemon.reporting.slack",
    "ethproofs_daemon.proofnode.daemon",
}


def imports_of(module: str) -> set[str]:
    path = PACKAGE.parent / (module.replace(".", "/") + ".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_actors_do_not_import_each_other() -> None:
    for module in sorted(ACTORS):
        assert imports_of(module) & (ACTORS - {module}) == set(), module


def test_notices_and_backoff_are_leaves_without_transport() -> None:
    for module in ("ethproofs_daemon.reporting.notices", "ethproofs_daemon.backoff",
                   "ethproofs_daemon.reporting.replies"):
        assert not {"httpx", "trio", "tenacity"} & imports_of(module), module


def _module_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports at load time (``TYPE_CHECKING`` blocks and
    imports inside functions left out)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_init = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_init else parts)
        package = name if is_init else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.If):
                continue  # if TYPE_CHECKING: typing-only imports
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = found
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def test_no_import_circle_in_the_package() -> None:
    graph = _module_graph()
    assert len(graph) > 50, "the package was not found"
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            raise AssertionError(" → ".join([*trail[trail.index(module):], module]))
        if module in done:
            return
        for dep in sorted(graph[module]):
            # a package's __init__ importing its own submodules is not a circle
            if not dep.startswith(module + "."):
                visit(dep, [*trail, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_no_two_public_classes_or_functions_share_a_name() -> None:
    where: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            is_def = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            if is_def and not node.name.startswith("_"):
                where.setdefault(node.name, []).append(str(path.relative_to(PACKAGE)))
    assert {name: files for name, files in where.items() if len(files) > 1} == {}
