"""Fixtures for prover tests: a stand-in ``cargo-zisk`` (not ZisK) with a guest ELF and an input,
and teardown that ends every process the test spawned, by pid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.zisk import StandinZisk, end_pids, make_standin_cargo_zisk


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[StandinZisk]:
    elf = tmp_path / "ethrex-guest.elf"
    elf.write_bytes(b"\x7fELF stand-in guest")
    inp = tmp_path / "input.bin"
    inp.write_bytes(bytes(range(256)) * 8)
    s = StandinZisk(
        exe=make_standin_cargo_zisk(tmp_path),
        elf=elf,
        input=inp,
        root=tmp_path,
        helper_pidfile=tmp_path / "helper.pid",
    )
    yield s
    s.helper_pid()
    end_pids(s.pids)
