"""``ZiskDriver`` against the stand-in cargo-zisk (real subprocesses, v0.14 contract)."""

from __future__ import annotations

import json
from pathlib import Path

import blake3
import pytest
import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover import (
    ProverFailed,
    ProverUnavailable,
    UnsupportedZiskVersion,
    ZiskDriver,
)
from tests.standins.zisk import StandinZisk, pid_alive

# ------------------------------------------------------------------ version


async def test_detect_version_accepts_v014(standin: StandinZisk) -> None:
    v = await standin.driver().detect_version()
    assert (v.major, v.minor, v.patch) == (0, 14, 0)
    assert v.raw.startswith("cargo-zisk 0.14.0 (")


@pytest.mark.parametrize("version", ["0.14.3", "0.15.0"])
async def test_detect_version_accepts_the_supported_series(
    standin: StandinZisk, version: str
) -> None:
    v = await standin.driver(STANDIN_ZISK_VERSION=version).detect_version()
    assert str(v) == version


@pytest.mark.parametrize("version", ["0.13.0", "0.19.0", "2.0.0"])
async def test_detect_version_refuses_releases_of_no_known_series_clearly(
    standin: StandinZisk, version: str
) -> None:
    with pytest.raises(UnsupportedZiskVersion) as info:
        await standin.driver(STANDIN_ZISK_VERSION=version).detect_version()
    assert version in str(info.value) and "does not know" in str(info.value)
    assert "0.14.x/0.15.x, 0.16.x, 0.17.x/0.18.x, 1.x" in str(info.value)
    assert str(info.value.version) == version


async def test_prove_refuses_to_run_an_unknown_release(standin: StandinZisk) -> None:
    with pytest.raises(UnsupportedZiskVersion):
        await standin.driver(STANDIN_ZISK_VERSION="2.0.0").prove(standin.request())
    assert not (standin.root / "output" / "100").exists()


async def test_detect_version_reports_a_missing_binary(tmp_path: Path) -> None:
    driver = ZiskDriver(tmp_path / "no-such-cargo-zisk", tmp_path / "g.elf")
    with pytest.raises(ProverUnavailable, match="not found"):
        await driver.detect_version()


async def test_detect_version_reports_a_binary_that_prints_no_version(tmp_path: Path) -> None:
    exe = tmp_path / "cargo-zisk"
    exe.write_text("#!/bin/sh\necho 'hello'\n")
    exe.chmod(0o755)
    with pytest.raises(ProverUnavailable, match="version line"):
        await ZiskDriver(exe, tmp_path / "g.elf").detect_version()


# ------------------------------------------------------------------ prove: success


async def test_prove_reads_result_json_and_the_compressed_proof(standin: StandinZisk) -> None:
    phases: list[str] = []
    req = standin.request(block=23919400)
    result = await standin.driver().prove(req, on_spawn=standin.record, on_progress=phases.append)

    out = req.output_dir
    assert result.proof_path == out / "vadcop_final_proof.compressed.bin"
    assert result.output_dir == out
    data = json.loads((out / "result.json").read_text())
    assert result.cycles == data["cycles"] > 0
    assert result.proof_id == data["id"]
    # the id is blake3 of the raw proof (zisk@v0.14.0 proofman.rs, zisk.md §1.1)
    raw = (out / "vadcop_final_proof.bin").read_bytes()
    assert result.proof_id == blake3.blake3(raw).hexdigest()
    assert result.proving_time_ms == int(data["time"] * 1000)
    assert result.proof_path.read_bytes()[:4] == bytes.fromhex("28b52ffd")  # zstd magic
    assert phases[0] == "STARTING_ASM_MICROSERVICES"
    assert "GENERATE_VADCOP_FINAL_PROOF" in phases
    assert len(standin.pids) == 1  # on_spawn got the leader's pid
    helper = standin.helper_pid()
    assert helper is not None and not pid_alive(helper)


async def test_prove_falls_back_to_the_raw_proof_on_v015(standin: StandinZisk) -> None:
    result = await standin.driver(STANDIN_ZISK_VERSION="0.15.0").prove(
        standin.request(), on_spawn=standin.record
    )
    assert result.proof_path.name == "vadcop_final_proof.bin"


async def test_prove_creates_the_output_dir_and_drops_files_of_an_earlier_attempt(
    standin: StandinZisk,
) -> None:
    req = standin.request()
    req.output_dir.mkdir(parents=True)
    (req.output_dir / "result.json").write_text('{"cycles": 1, "id": "stale", "time": 1.0}')
    (req.output_dir / "vadcop_final_proof.bin").write_bytes(b"stale")
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_NO_RESULT="1").prove(req, on_spawn=standin.record)
    assert info.value.reason is FailureReason.PROOF_DATA_UNREADABLE
    assert info.value.exit_code == 0


async def test_prove_exit_0_without_proof_file_is_unreadable_data(standin: StandinZisk) -> None:
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_NO_PROOF="1").prove(
            standin.request(), on_spawn=standin.record
        )
    assert info.value.reason is FailureReason.PROOF_DATA_UNREADABLE
    assert "no readable proof file" in info.value.message


# ------------------------------------------------------------------ prove: failures


async def test_missing_input_is_an_input_error_with_the_stderr_tail(standin: StandinZisk) -> None:
    req = standin.request()
    req = type(req)(req.block_number, standin.root / "missing.bin", req.output_dir, req.timeout_s)
    with pytest.raises(ProverFailed) as info:
        await standin.driver().prove(req, on_spawn=standin.record)
    err = info.value
    assert err.reason is FailureReason.INPUT_ERROR
    assert err.exit_code == 1
    assert "Error: Error executing Prove command" in err.stderr_tail
    assert "Input file not found at" in err.stderr_tail


@pytest.mark.parametrize(
    ("code", "words"),
    [("1", "GPU memory"), ("101", "ASM services"), ("255", "exit 255")],
)
async def test_failing_exit_codes_map_to_proving_error_and_end_the_group(
    standin: StandinZisk, code: str, words: str
) -> None:
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_FAIL=code).prove(
            standin.request(), on_spawn=standin.record
        )
    err = info.value
    assert err.reason is FailureReason.PROVING_ERROR
    assert err.exit_code == int(code)
    assert words in err.message
    assert err.stderr_tail.strip()
    # 101 and 255 leave the helper behind in the stand-in; the driver ends it
    helper = standin.helper_pid()
    assert helper is not None and not pid_alive(helper)


async def test_cuda_abort_maps_to_proving_error_and_the_helper_is_ended(
    standin: StandinZisk,
) -> None:
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_CRASH="SIGABRT").prove(
            standin.request(), on_spawn=standin.record
        )
    err = info.value
    assert (err.reason, err.exit_code) == (FailureReason.PROVING_ERROR, -6)
    assert "CUDA" in err.message and "[CUDA]" in err.stderr_tail
    helper = standin.helper_pid()
    assert helper is not None and not pid_alive(helper)


async def test_sigkill_of_the_prover_reads_as_oom(standin: StandinZisk) -> None:
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_CRASH="SIGKILL").prove(
            standin.request(), on_spawn=standin.record
        )
    assert info.value.exit_code == -9 and "out-of-memory" in info.value.message
    helper = standin.helper_pid()
    assert helper is not None and not pid_alive(helper)


async def test_hang_past_timeout_kills_the_whole_group(standin: StandinZisk) -> None:
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_HANG="1").prove(
            standin.request(timeout_s=3.5), on_spawn=standin.record
        )
    assert info.value.reason is FailureReason.PROVING_TIMEOUT
    assert "3.5 s" in info.value.message
    leader, helper = standin.pids[0], standin.helper_pid()
    assert helper is not None
    assert not pid_alive(leader) and not pid_alive(helper)


async def test_timeout_escalates_to_sigkill_when_sigterm_is_ignored(standin: StandinZisk) -> None:
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_HANG="1", STANDIN_ZISK_IGNORE_TERM="1").prove(
            standin.request(timeout_s=3.5), on_spawn=standin.record
        )
    assert info.value.reason is FailureReason.PROVING_TIMEOUT
    assert info.value.exit_code == -9
    helper = standin.helper_pid()
    assert helper is not None and not pid_alive(standin.pids[0]) and not pid_alive(helper)


async def test_cancellation_kills_the_whole_group(standin: StandinZisk) -> None:
    driver = standin.driver(STANDIN_ZISK_HANG="1")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            lambda: driver.prove(standin.request(timeout_s=60), on_spawn=standin.record)
        )
        with trio.fail_after(20):
            while standin.helper_pid() is None:  # bounded by fail_after
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    leader, helper = standin.pids[0], standin.helper_pid()
    assert helper is not None
    assert not pid_alive(leader) and not pid_alive(helper)


# ------------------------------------------------------------------ execute and verify


async def test_execute_returns_cycles_without_proving(standin: StandinZisk) -> None:
    driver = standin.driver()
    req = standin.request()
    executed = await driver.execute(req, on_spawn=standin.record)
    proved = await driver.prove(req, on_spawn=standin.record)
    assert executed.cycles == proved.cycles
    assert executed.time_ms >= 0


async def test_execute_is_refused_by_a_gpu_build(standin: StandinZisk) -> None:
    with pytest.raises(ProverFailed) as info:
        await standin.driver(STANDIN_ZISK_GPU="1").execute(standin.request())
    assert info.value.reason is FailureReason.PROVING_ERROR
    assert "ziskemu" in info.value.message


async def test_verify_accepts_the_proof_and_rejects_a_tampered_one(standin: StandinZisk) -> None:
    driver = standin.driver()
    result = await driver.prove(standin.request(), on_spawn=standin.record)
    raw = result.output_dir / "vadcop_final_proof.bin"
    assert await driver.verify(result.proof_path) is True
    assert await driver.verify(raw) is True
    data = bytearray(raw.read_bytes())
    data[100] ^= 0xFF
    tampered = standin.root / "tampered.bin"
    tampered.write_bytes(bytes(data))
    assert await driver.verify(tampered) is False


async def test_verify_of_a_missing_file_is_unreadable_data(standin: StandinZisk) -> None:
    with pytest.raises(ProverFailed) as info:
        await standin.driver().verify(standin.root / "nope.bin")
    assert info.value.reason is FailureReason.PROOF_DATA_UNREADABLE
