"""Import direction: actors never import each other; notifications need no transport code."""

from __future__ import annotations

import ast
from pathlib import Path

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
