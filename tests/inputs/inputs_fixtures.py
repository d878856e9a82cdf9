"""Helpers for the inputs tests: golden-vector manifests in ``../shared/fixtures`` (read in place).

Parametrization needs the case list at collection time (``tests.conftest.SHARED_FIXTURES``); the
tests themselves take the ``shared_fixtures`` fixture, which skips when the folder is absent.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SHARED_FIXTURES as FIXTURES

FOLDERS = ("ethrex-input", "ethrex-input-extra")


def manifest_cases(folder: str) -> list[dict[str, Any]]:
    """The ``cases`` of ``folder/manifest.json`` (empty when the fixtures are absent)."""
    path = FIXTURES / folder / "manifest.json"
    if not path.is_file():
        return []
    cases: list[dict[str, Any]] = json.loads(path.read_text())["cases"]
    for case in cases:
        case["folder"] = folder
    return cases


def all_cases() -> list[dict[str, Any]]:
    """Every case of both golden folders."""
    return [c for folder in FOLDERS for c in manifest_cases(folder)]


def typed_cases() -> list[dict[str, Any]]:
    """Cases with a typed JSON value and expected bytes."""
    return [
        c for c in all_cases() if c.get("rkyv") and (c.get("input_json") or c.get("typed_json"))
    ]


def case_id(case: dict[str, Any]) -> str:
    """A readable pytest id."""
    return f"{case['folder']}:{case['name']}"
