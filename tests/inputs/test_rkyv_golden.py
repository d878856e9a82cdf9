"""Golden vectors: typed values encode byte for byte and read back (validating) unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ethproofs_daemon.inputs.errors import ArchiveError
from ethproofs_daemon.inputs.rkyv import from_bytes, to_bytes
from ethproofs_daemon.inputs.schema import PROGRAM_INPUT
from ethproofs_daemon.inputs.typed_json import root_from_json
from tests.inputs.inputs_fixtures import case_id, typed_cases

CASES = typed_cases()


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_typed_value_encodes_to_golden_bytes(shared_fixtures: Path, case: dict[str, Any]) -> None:
    folder = shared_fixtures / case["folder"]
    doc = json.loads((folder / (case.get("input_json") or case["typed_json"])).read_text())
    arch, value = root_from_json(doc)
    expected = (folder / case["rkyv"]).read_bytes()
    assert hashlib.sha256(expected).hexdigest() == case["sha256"]
    out = to_bytes(arch, value)
    assert len(out) == len(expected)
    assert out == expected
    assert from_bytes(arch, expected) == value


def test_golden_cases_are_present(shared_fixtures: Path) -> None:
    assert len(CASES) >= 110


@pytest.mark.parametrize("cut", [1, 100, 521])
def test_truncated_archive_is_rejected(shared_fixtures: Path, cut: int) -> None:
    data = (shared_fixtures / "ethrex-input" / "program_input_full.rkyv.bin").read_bytes()
    with pytest.raises(ArchiveError):
        from_bytes(PROGRAM_INPUT, data[cut:])


def test_appended_byte_is_rejected(shared_fixtures: Path) -> None:
    data = (shared_fixtures / "ethrex-input" / "program_input_full.rkyv.bin").read_bytes()
    with pytest.raises(ArchiveError):
        from_bytes(PROGRAM_INPUT, data + b"\0")


def test_bad_option_tag_is_rejected(shared_fixtures: Path) -> None:
    path = shared_fixtures / "ethrex-input" / "program_input_full.rkyv.bin"
    data = bytearray(path.read_bytes())
    data[len(data) - 521 + 512] = 7  # fee_configs Option tag
    with pytest.raises(ArchiveError, match="tag"):
        from_bytes(PROGRAM_INPUT, bytes(data))
