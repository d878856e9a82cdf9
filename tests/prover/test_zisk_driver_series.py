"""The driver against the stand-in cargo-zisk of each release series after 0.14 (0.16.1, 0.17.0,
0.18.0, 1.1.0-alpha, 1.3.1-alpha): the argv each accepts, the framed input it reads, the proof
file it writes in its release's encoding, its summary lines, and what EthProofs gets.

Expected EthProofs bytes are built here from the stand-in's own proof words with
``tests/standins/zisk_proof_encoders.py`` (written from ``../shared/docs/zisk-coordinator.md``
§3.3), not by the daemon's ``proof_files``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import blake3
import pytest

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover import ProverFailed
from tests.standins import cargo_zisk as standin_zisk
from tests.standins import zisk_proof_encoders as enc
from tests.standins.zisk import StandinZisk, make_standin_ziskemu


def framed(data: bytes) -> bytes:
    """``u64 LE len ‖ data ‖ zero pad to 8`` (zisk.md §6.2), written here independently."""
    return struct.pack("<Q", len(data)) + data + bytes(-len(data) % 8)


def use_framed_input(standin: StandinZisk) -> bytes:
    data = framed(b"guest input bytes" * 10)
    standin.input.write_bytes(data)
    return data


def expected_words(standin: StandinZisk, inp: bytes) -> tuple[list[int], list[int], list[int]]:
    elf = standin.elf.read_bytes()
    vk = standin_zisk.program_vk_words(elf)
    outputs = standin_zisk.output_words(inp)
    return vk, outputs, standin_zisk.stark_words(vk, outputs, elf, inp)


@pytest.mark.parametrize(
    ("version", "tagged"), [("1.1.0-alpha", False), ("1.3.1-alpha", True)]
)
async def test_v1_proof_is_the_minimal_get_proof_u64_bytes(
    standin: StandinZisk, version: str, tagged: bool
) -> None:
    inp = use_framed_input(standin)
    driver = standin.driver(STANDIN_ZISK_VERSION=version, STANDIN_ZISK_BUILD="gpu")
    result = await driver.prove(standin.request(), on_spawn=standin.record)

    vk, outputs, words = expected_words(standin, inp)
    want = enc.ethproofs_bytes_v1_d(words, standin_zisk.ZISK_VK, enc.KIND_MINIMAL,
                                    [*vk, *outputs], 0 if tagged else None)
    assert result.proof_path.read_bytes() == want
    assert result.native_proof_path == standin.request().output_dir / "proof.bin"
    assert result.cycles == standin_zisk.cycles_of(inp)
    assert result.proof_id == blake3.blake3(want).hexdigest()
    assert result.proving_time_ms >= 0


async def test_v1_proof_hash_tag_follows_the_setting(standin: StandinZisk) -> None:
    inp = use_framed_input(standin)
    driver = standin.driver(STANDIN_ZISK_VERSION="1.3.1-alpha")
    driver.proof_hash_tag = False
    result = await driver.prove(standin.request(), on_spawn=standin.record)
    vk, outputs, words = expected_words(standin, inp)
    assert result.proof_path.read_bytes() == enc.ethproofs_bytes_v1_d(
        words, standin_zisk.ZISK_VK, enc.KIND_MINIMAL, [*vk, *outputs])


async def test_v018_proof_is_the_018_word_layout(standin: StandinZisk) -> None:
    inp = use_framed_input(standin)
    result = await standin.driver(STANDIN_ZISK_VERSION="0.18.0").prove(
        standin.request(), on_spawn=standin.record)
    vk, outputs, words = expected_words(standin, inp)
    assert result.proof_path.read_bytes() == enc.ethproofs_bytes_v018(
        True, vk, outputs, words, standin_zisk.ZISK_VK)
    assert result.cycles == standin_zisk.cycles_of(inp)


async def test_v017_proof_is_the_017_byte_layout(standin: StandinZisk) -> None:
    inp = use_framed_input(standin)
    result = await standin.driver(STANDIN_ZISK_VERSION="0.17.0").prove(
        standin.request(), on_spawn=standin.record)
    vk, outputs, words = expected_words(standin, inp)
    assert result.proof_path.read_bytes() == enc.ethproofs_bytes_v017(
        True, enc.le_words(vk), enc.le_u32s(outputs), enc.le_words(words),
        enc.le_words(standin_zisk.ZISK_VK))


async def test_v016_proof_is_the_raw_final_proof_with_its_printed_id(
    standin: StandinZisk,
) -> None:
    inp = use_framed_input(standin)
    result = await standin.driver(STANDIN_ZISK_VERSION="0.16.1").prove(
        standin.request(), on_spawn=standin.record)
    _, _, words = expected_words(standin, inp)
    assert result.proof_path.read_bytes() == enc.le_words(words)
    native = (standin.request().output_dir / "vadcop_final_proof.bin").read_bytes()
    assert result.proof_id == blake3.blake3(native).hexdigest()  # the ``Proof ID:`` line
    assert result.cycles == standin_zisk.cycles_of(inp)


@pytest.mark.parametrize("version", ["0.16.1", "0.18.0", "1.1.0-alpha"])
async def test_an_unframed_input_fails_as_an_input_error(
    standin: StandinZisk, version: str
) -> None:
    standin.input.write_bytes(b"x" * 13)  # not a multiple of 8: the emulator's panic
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_VERSION=version).prove(
            standin.request(), on_spawn=standin.record)
    assert info.value.reason is FailureReason.INPUT_ERROR


async def test_a_proof_of_another_program_is_refused(standin: StandinZisk) -> None:
    use_framed_input(standin)
    driver = standin.driver(STANDIN_ZISK_VERSION="1.1.0-alpha", program_vk=bytes(32))
    with pytest.raises(ProverFailed) as info:
        await driver.prove(standin.request(), on_spawn=standin.record)
    assert info.value.reason is FailureReason.PROOF_DATA_UNREADABLE
    assert "program" in info.value.message.lower()


async def test_the_profiles_program_key_is_accepted(standin: StandinZisk) -> None:
    inp = use_framed_input(standin)
    vk, _, _ = expected_words(standin, inp)
    driver = standin.driver(STANDIN_ZISK_VERSION="1.1.0-alpha", program_vk=enc.le_words(vk))
    result = await driver.prove(standin.request(), on_spawn=standin.record)
    assert result.proof_path.is_file()


async def test_a_014_id_that_is_not_blake3_of_the_proof_is_refused(
    standin: StandinZisk, tmp_path: Path
) -> None:
    # a cargo-zisk whose result.json id is not blake3 of the proof it wrote
    wrapper = tmp_path / "bin" / "cargo-zisk-bad-id"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"{standin.exe} \"$@\" || exit $?\n"
        "out=\"\"; while [ $# -gt 0 ]; do [ \"$1\" = -o ] && out=\"$2\"; shift; done\n"
        "[ -n \"$out\" ] && sed -i 's/\"id\": \"[0-9a-f]*\"/\"id\": \"00\"/' \"$out/result.json\"\n"
        "exit 0\n")
    wrapper.chmod(0o755)
    standin.exe = wrapper
    with pytest.raises(ProverFailed) as info:
        await standin.driver().prove(standin.request(), on_spawn=standin.record)
    assert info.value.reason is FailureReason.PROOF_DATA_UNREADABLE


@pytest.mark.parametrize("version", ["0.16.1", "0.18.0", "1.1.0-alpha"])
async def test_verify_of_the_native_file_and_of_a_tampered_one(
    standin: StandinZisk, version: str
) -> None:
    use_framed_input(standin)
    driver = standin.driver(STANDIN_ZISK_VERSION=version)
    result = await driver.prove(standin.request(), on_spawn=standin.record)
    assert result.native_proof_path is not None
    assert await driver.verify(result.native_proof_path) is True
    data = bytearray(result.native_proof_path.read_bytes())
    data[40] ^= 1  # inside the proof words
    tampered = result.native_proof_path.with_name("tampered.bin")
    tampered.write_bytes(bytes(data))
    assert await driver.verify(tampered) is False


async def test_execute_uses_ziskemu_on_a_014_gpu_build(standin: StandinZisk) -> None:
    emu = make_standin_ziskemu(standin.root)
    driver = standin.driver(STANDIN_ZISK_GPU="1", ziskemu=str(emu))
    result = await driver.execute(standin.request(), on_spawn=standin.record)
    assert result.cycles == standin_zisk.cycles_of(standin.input.read_bytes())


async def test_execute_without_ziskemu_on_a_014_gpu_build_says_so(
    standin: StandinZisk,
) -> None:
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_GPU="1").execute(
            standin.request(), on_spawn=standin.record)
    assert "ziskemu" in info.value.message


@pytest.mark.parametrize("version", ["0.18.0", "1.1.0-alpha"])
async def test_execute_on_later_series_reads_their_steps_line(
    standin: StandinZisk, version: str
) -> None:
    inp = use_framed_input(standin)
    result = await standin.driver(STANDIN_ZISK_VERSION=version).execute(
        standin.request(), on_spawn=standin.record)
    assert result.cycles == standin_zisk.cycles_of(inp)


async def test_a_guest_reading_two_frames_refuses_a_one_frame_input(
    standin: StandinZisk,
) -> None:
    standin.elf.write_bytes(b"\x7fELF guest-input=framed:2;")
    use_framed_input(standin)
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_VERSION="1.1.0-alpha").prove(
            standin.request(), on_spawn=standin.record)
    assert info.value.reason is FailureReason.PROVING_ERROR
    assert "frame" in info.value.stderr_tail


async def test_the_eip8025_guest_reads_the_proof_node_input_framed_only(
    standin: StandinZisk,
) -> None:
    from ethproofs_daemon.proofnode.guest_input import eip8025_input

    standin.elf.write_bytes(b"\x7fELF guest-input=framed:1;form=eip8025;")
    data = eip8025_input(b"\x01" * 600, b"witness bytes")  # u32 LE 600 ‖ SSZ ‖ witness
    standin.input.write_bytes(framed(data))
    result = await standin.driver(STANDIN_ZISK_VERSION="0.16.1").prove(
        standin.request(), on_spawn=standin.record)
    assert result.proof_path.is_file()
    # the same guest refuses an input whose first piece is not the EIP-8025 form
    standin.input.write_bytes(framed(b"\xff\xff\xff\x7f" + b"x" * 20))
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_VERSION="0.16.1").prove(
            standin.request(block=101), on_spawn=standin.record)
    assert "EIP-8025" in info.value.stderr_tail
    # and a 0.14 cargo-zisk cannot run a guest reading framed input
    standin.input.write_bytes(framed(data))
    with pytest.raises(ProverFailed) as info:
        await standin.driver().prove(standin.request(block=102), on_spawn=standin.record)
    assert "framed" in info.value.stderr_tail
