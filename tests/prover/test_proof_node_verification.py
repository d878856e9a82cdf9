"""Issue 14: the Proof Node API's verification tells the truth. ``VALID`` only when the proof
verifies *and* its public values commit to the requested root and the configured guest program;
``INVALID`` otherwise; 501 where the layout or the program key is unconfirmed; one
``cargo-zisk verify`` at a time.

Real stand-in cargo-zisk 0.16.1 (``tests/standins/cargo_zisk.py``) writing a bincode-1 proof whose
output slots hold what ``STANDIN_ZISK_COMMIT_HEX`` says the guest committed; the expected commit
(``u64 LE 33 ‖ root ‖ 0x01``, ``proofnode/public_values.py``) and the program key (the stand-in's
``program_vk_words`` of the ELF) are written here independently of the daemon.
"""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import pytest
import trio

from ethproofs_daemon.proofnode.daemon import SharedProver
from ethproofs_daemon.proofnode.public_values import (
    PublicValuesLayout,
    VerificationUnconfirmed,
    check_public_values,
)
from ethproofs_daemon.prover import ProveRequest
from tests.standins import cargo_zisk as standin_zisk
from tests.standins.zisk import StandinZisk

ROOT = bytes(range(32))
OTHER_ROOT = bytes(31) + b"\x01"


def commit(root: bytes, valid: int = 1) -> bytes:
    return struct.pack("<Q", 33) + root + bytes([valid])


def program_key(standin: StandinZisk) -> bytes:
    words = standin_zisk.program_vk_words(standin.elf.read_bytes())
    return struct.pack("<4Q", *words)


async def proof_for(standin: StandinZisk, committed: bytes) -> bytes:
    standin.input.write_bytes(struct.pack("<Q", 16) + b"eip8025 input 16")
    driver = standin.driver(STANDIN_ZISK_VERSION="0.16.1", STANDIN_ZISK_COMMIT_HEX=committed.hex())
    result = await driver.prove(ProveRequest(1, standin.input, standin.root / "out", 30),
                                on_spawn=standin.record)
    assert result.native_proof_path is not None
    return result.native_proof_path.read_bytes()


def shared(standin: StandinZisk, *, layout: PublicValuesLayout = PublicValuesLayout.
           BINCODE1_ROOT_VALID, program_vk: bytes | None = None, **switches: str) -> SharedProver:
    driver = standin.driver(STANDIN_ZISK_VERSION="0.16.1", **switches)
    return SharedProver(actor=None, backend=driver, layout=layout,  # type: ignore[arg-type]
                        program_vk=program_vk)


async def test_a_proof_of_the_requested_root_and_guest_is_valid(standin: StandinZisk) -> None:
    proof = await proof_for(standin, commit(ROOT))
    prover = shared(standin, program_vk=program_key(standin))
    assert await prover.verify(proof_type="ethrex-zisk", proof=proof,
                               new_payload_request_root=ROOT) is True


async def test_a_proof_for_another_root_is_invalid(standin: StandinZisk) -> None:
    proof = await proof_for(standin, commit(OTHER_ROOT))
    prover = shared(standin, program_vk=program_key(standin))
    assert await prover.verify(proof_type="ethrex-zisk", proof=proof,
                               new_payload_request_root=ROOT) is False


async def test_a_proof_of_another_program_is_invalid(standin: StandinZisk) -> None:
    proof = await proof_for(standin, commit(ROOT))
    prover = shared(standin, program_vk=bytes(32))
    assert await prover.verify(proof_type="ethrex-zisk", proof=proof,
                               new_payload_request_root=ROOT) is False


async def test_a_failed_validation_is_invalid(standin: StandinZisk) -> None:
    proof = await proof_for(standin, commit(ROOT, valid=0))
    prover = shared(standin, program_vk=program_key(standin))
    assert await prover.verify(proof_type="ethrex-zisk", proof=proof,
                               new_payload_request_root=ROOT) is False


async def test_a_tampered_proof_of_the_right_root_is_invalid(standin: StandinZisk) -> None:
    proof = bytearray(await proof_for(standin, commit(ROOT)))
    proof[40] ^= 1  # a proof word: the stand-in's verify fails
    prover = shared(standin, program_vk=program_key(standin))
    assert await prover.verify(proof_type="ethrex-zisk", proof=bytes(proof),
                               new_payload_request_root=ROOT) is False


@pytest.mark.parametrize("case", ["layout", "program"])
async def test_unconfirmed_layout_or_program_is_never_valid(
    standin: StandinZisk, case: str
) -> None:
    proof = await proof_for(standin, commit(ROOT))
    prover = (shared(standin, layout=PublicValuesLayout.UNCONFIRMED,
                     program_vk=program_key(standin))
              if case == "layout" else shared(standin, program_vk=None))
    with pytest.raises(VerificationUnconfirmed):
        await prover.verify(proof_type="ethrex-zisk", proof=proof, new_payload_request_root=ROOT)


async def test_verifications_run_one_at_a_time(standin: StandinZisk, tmp_path: Path) -> None:
    proof = await proof_for(standin, commit(ROOT))
    runlog = tmp_path / "verify-runs.txt"
    prover = shared(standin, program_vk=program_key(standin),
                    STANDIN_ZISK_VERIFY_DELAY_S="0.3", STANDIN_ZISK_RUNLOG=str(runlog))
    results: list[bool] = []

    async def one() -> None:
        results.append(await prover.verify(proof_type="ethrex-zisk", proof=proof,
                                           new_payload_request_root=ROOT))

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(one)
    assert results == [True] * 4
    runs = sorted(tuple(map(float, line.split())) for line in runlog.read_text().splitlines())
    assert len(runs) == 4
    # observed by the stand-in: no verify process started before the previous one ended
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(runs))


def test_the_layout_reads_only_a_33_byte_commit() -> None:
    vk = bytes(range(32))
    good = commit(ROOT).ljust(256, b"\0")
    ok = check_public_values(program_vk=vk, outputs=good, root=ROOT,
                             layout=PublicValuesLayout.BINCODE1_ROOT_VALID, expected_program_vk=vk)
    assert ok.valid
    trailing = (commit(ROOT) + b"\x01").ljust(256, b"\0")
    assert not check_public_values(program_vk=vk, outputs=trailing, root=ROOT,
                                   layout=PublicValuesLayout.BINCODE1_ROOT_VALID,
                                   expected_program_vk=vk).valid
