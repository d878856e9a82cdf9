"""``SimulatedProver``: the demo backend without GPU (proves nothing, says so)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover import ProverBackend, ProveRequest, ProverFailed, SimulatedProver
from ethproofs_daemon.prover.simulated import MAGIC, placeholder_bytes, placeholder_valid


def make_request(tmp_path: Path, block: int = 7, timeout_s: float = 30) -> ProveRequest:
    inp = tmp_path / "input.bin"
    inp.write_bytes(b"guest input bytes")
    return ProveRequest(block, inp, tmp_path / "output" / str(block), timeout_s)


async def test_prove_writes_a_placeholder_named_as_simulated(tmp_path: Path) -> None:
    prover: ProverBackend = SimulatedProver(delay_s=0.03)
    phases: list[str] = []
    spawned: list[int] = []
    req = make_request(tmp_path)
    result = await prover.prove(req, on_spawn=spawned.append, on_progress=phases.append)
    assert result.proof_path == req.output_dir / "simulated_proof.bin"
    assert result.proof_path.read_bytes().startswith(MAGIC)
    assert b"NOT A ZERO-KNOWLEDGE PROOF" in MAGIC
    assert result.cycles is None
    assert spawned == []  # no process: nothing for the caller to kill later
    assert all(p.startswith("SIMULATED_") for p in phases) and phases
    data = json.loads((req.output_dir / "result.json").read_text())
    assert data["simulated"] is True and data["id"] == result.proof_id
    assert "simulated" in (await prover.detect_version()).raw


async def test_verify_accepts_the_placeholder_and_rejects_tampering(tmp_path: Path) -> None:
    prover = SimulatedProver(delay_s=0)
    result = await prover.prove(make_request(tmp_path))
    assert await prover.verify(result.proof_path) is True
    text = result.proof_path.read_bytes()
    tampered = tmp_path / "tampered.bin"
    tampered.write_bytes(text.replace(b'"block_number": 7', b'"block_number": 8'))
    assert tampered.read_bytes() != text
    assert await prover.verify(tampered) is False
    tampered.write_bytes(text[:-10])
    assert await prover.verify(tampered) is False
    tampered.write_bytes(b"\x00" * 64)
    assert await prover.verify(tampered) is False


async def test_verify_of_a_missing_file_is_unreadable_data(tmp_path: Path) -> None:
    with pytest.raises(ProverFailed) as info:
        await SimulatedProver().verify(tmp_path / "nope.bin")
    assert info.value.reason is FailureReason.PROOF_DATA_UNREADABLE


def test_placeholder_is_bound_to_its_input() -> None:
    data = placeholder_bytes(5, b"abc")
    assert placeholder_valid(data, b"abc") is True
    assert placeholder_valid(data, b"abd") is False


async def test_a_run_longer_than_the_timeout_fails_with_proving_timeout(tmp_path: Path) -> None:
    with pytest.raises(ProverFailed) as info:
        await SimulatedProver(delay_s=5).prove(make_request(tmp_path, timeout_s=0.05))
    assert info.value.reason is FailureReason.PROVING_TIMEOUT


async def test_the_timeout_bounds_the_whole_run_not_each_phase(
    tmp_path: Path, autojump_clock: MockClock
) -> None:
    started = trio.current_time()
    with pytest.raises(ProverFailed) as info:  # each of the three phases (1 s) fits in 2 s
        await SimulatedProver(delay_s=3).prove(make_request(tmp_path, timeout_s=2))
    assert info.value.reason is FailureReason.PROVING_TIMEOUT
    assert trio.current_time() - started == pytest.approx(2.0)


async def test_configured_failures_and_unreadable_input(tmp_path: Path) -> None:
    prover = SimulatedProver(delay_s=0, failures={7: FailureReason.PROVING_ERROR})
    with pytest.raises(ProverFailed) as info:
        await prover.prove(make_request(tmp_path, block=7))
    assert info.value.reason is FailureReason.PROVING_ERROR
    req = ProveRequest(8, tmp_path / "missing.bin", tmp_path / "out", 30)
    with pytest.raises(ProverFailed) as info:
        await prover.prove(req)
    assert info.value.reason is FailureReason.INPUT_ERROR
    with pytest.raises(ProverFailed):
        await prover.execute(req)


async def test_execute_reports_no_cycles(tmp_path: Path) -> None:
    executed = await SimulatedProver(execute_delay_s=0.01).execute(make_request(tmp_path))
    assert executed.cycles is None and executed.time_ms >= 0
