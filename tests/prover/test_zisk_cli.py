"""Pure parts of driving cargo-zisk: versions and argv per series (``zisk_cli``), outputs and exit
codes (``zisk_output``). Expected argv are written out from ``../shared/docs/zisk.md`` §1 and
``zisk-coordinator.md`` §4 (flags per release), not derived from the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover import zisk_cli, zisk_output
from ethproofs_daemon.prover.zisk_cli import BuildFlavour, ZiskSeries, ZiskVersion
from ethproofs_daemon.prover.zisk_output import PhaseEdge, ProgressMarker

V014 = ZiskVersion(0, 14, 0)
V018_GPU = ZiskVersion(0, 18, 0, build=BuildFlavour.GPU)


# ------------------------------------------------------------------ versions


def test_parse_version_reads_the_v014_line() -> None:
    v = zisk_cli.parse_version("cargo-zisk 0.14.0 (2f791ffd0 2025-11-20T10:11:12Z)\n")
    assert (v.major, v.minor, v.patch, v.build, v.prerelease) == (0, 14, 0, None, None)
    assert v.raw == "cargo-zisk 0.14.0 (2f791ffd0 2025-11-20T10:11:12Z)"
    assert str(v) == "0.14.0"


def test_parse_version_reads_the_build_tag_of_v017_and_later() -> None:
    v = zisk_cli.parse_version("cargo-zisk 0.18.0 [gpu] (790f9e28a 2026-05-15)")
    assert (v.minor, v.build) == (18, BuildFlavour.GPU)
    assert zisk_cli.parse_version("cargo-zisk 0.17.0 [cpu] (b6327 x)").build is BuildFlavour.CPU


def test_parse_version_skips_noise_lines_and_keeps_prerelease() -> None:
    v = zisk_cli.parse_version("warning: something\ncargo-zisk 1.1.0-alpha (abc def)\n")
    assert (v.major, v.minor, v.patch, v.prerelease) == (1, 1, 0, "alpha")
    assert str(v) == "1.1.0-alpha"


@pytest.mark.parametrize("text", ["", "zisk 0.14.0", "cargo-zisk version unknown"])
def test_parse_version_refuses_other_text(text: str) -> None:
    with pytest.raises(zisk_cli.VersionParseError):
        zisk_cli.parse_version(text)


def test_parse_version_refuses_an_unknown_build_tag() -> None:
    with pytest.raises(zisk_cli.VersionParseError, match="build tag"):
        zisk_cli.parse_version("cargo-zisk 0.18.0 [tpu] (x y)")


@pytest.mark.parametrize(
    ("version", "series"),
    [
        (ZiskVersion(0, 14, 0), ZiskSeries.V0_14),
        (ZiskVersion(0, 15, 0), ZiskSeries.V0_14),
        (ZiskVersion(0, 16, 1), ZiskSeries.V0_16),
        (ZiskVersion(0, 17, 0), ZiskSeries.V0_17),
        (ZiskVersion(0, 18, 0, build=BuildFlavour.GPU), ZiskSeries.V0_17),
        (ZiskVersion(1, 1, 0, prerelease="alpha"), ZiskSeries.V1),
        (ZiskVersion(1, 3, 1, prerelease="alpha"), ZiskSeries.V1),
    ],
)
def test_every_release_from_014_to_1x_has_a_series(
    version: ZiskVersion, series: ZiskSeries
) -> None:
    assert zisk_cli.series_for(version) is series


@pytest.mark.parametrize("version", [ZiskVersion(0, 13, 2), ZiskVersion(0, 19, 0),
                                     ZiskVersion(2, 0, 0)])
def test_unknown_releases_have_no_series(version: ZiskVersion) -> None:
    with pytest.raises(ValueError, match="no ZisK series"):
        zisk_cli.series_for(version)


# ------------------------------------------------------------------ argv


def test_prove_argv_v014_is_the_original_clients_line() -> None:
    argv = zisk_cli.prove_argv(V014, "cargo-zisk", Path("g.elf"), Path("in.bin"), Path("out/7"))
    assert argv == ["cargo-zisk", "prove", "-e", "g.elf", "-i", "in.bin", "-o", "out/7", "-a", "-u"]


def test_prove_argv_v016_keeps_the_output_directory_and_aggregation() -> None:
    argv = zisk_cli.prove_argv(ZiskVersion(0, 16, 1), "z", Path("g.elf"), Path("in"), Path("o"))
    assert argv == ["z", "prove", "-e", "g.elf", "-i", "in", "-o", "o", "-a", "-u"]


def test_prove_argv_v018_writes_a_minimal_proof_file_and_drops_dash_a() -> None:
    argv = zisk_cli.prove_argv(V018_GPU, "z", Path("g.elf"), Path("in.bin"), Path("out"))
    assert argv == ["z", "prove", "-e", "g.elf", "-i", "in.bin",
                    "-o", str(Path("out") / "vadcop_final_proof.bin"), "-c", "-u", "-g"]
    cpu = zisk_cli.prove_argv(ZiskVersion(0, 17, 0, build=BuildFlavour.CPU), "z", Path("e"),
                              Path("i"), Path("o"))
    assert "-g" not in cpu and "-a" not in cpu


def test_prove_argv_v1_opts_into_asm_and_the_minimal_proof() -> None:
    gpu = ZiskVersion(1, 1, 0, prerelease="alpha", build=BuildFlavour.GPU)
    argv = zisk_cli.prove_argv(gpu, "z", Path("g.elf"), Path("in"), Path("out"))
    assert argv == ["z", "prove", "-e", "g.elf", "-i", "in", "-o", str(Path("out") / "proof.bin"),
                    "-c", "--asm", "-u", "-g"]


def test_argv_builders_refuse_versions_of_no_known_series() -> None:
    with pytest.raises(ValueError, match="no ZisK series"):
        zisk_cli.prove_argv(ZiskVersion(2, 0, 0), "z", Path("e"), Path("i"), Path("o"))
    with pytest.raises(ValueError):
        zisk_cli.execute_argv(ZiskVersion(0, 12, 0), "z", Path("e"), Path("i"))


def test_execute_and_verify_argv() -> None:
    assert zisk_cli.execute_argv(V014, "z", Path("e"), Path("i")) == [
        "z", "execute", "-e", "e", "-i", "i", "-u"
    ]
    assert zisk_cli.execute_argv(ZiskVersion(1, 2, 0), "z", Path("e"), Path("i")) == [
        "z", "execute", "-e", "e", "-i", "i"
    ]
    assert zisk_cli.ziskemu_argv("ziskemu", Path("e"), Path("i")) == [
        "ziskemu", "-e", "e", "--inputs", "i", "-m"
    ]
    assert zisk_cli.verify_argv(V014, "z", Path("p.bin"), Path("vk.bin")) == [
        "z", "verify", "-p", "p.bin", "-k", "vk.bin"
    ]
    for version in (ZiskVersion(0, 16, 1), V018_GPU, ZiskVersion(1, 1, 0)):
        assert zisk_cli.verify_argv(version, "z", Path("p.bin"), Path("vk.bin")) == [
            "z", "verify", "-p", "p.bin"
        ]


def test_output_files_per_series() -> None:
    assert zisk_cli.output_files(ZiskSeries.V0_14) == (
        "result.json", "vadcop_final_proof.bin", "vadcop_final_proof.compressed.bin")
    assert zisk_cli.native_proof_file(ZiskSeries.V0_17, Path("d")) == Path(
        "d/vadcop_final_proof.bin")
    assert zisk_cli.native_proof_file(ZiskSeries.V1, Path("d")) == Path("d/proof.bin")


# ------------------------------------------------------------------ summaries


def test_prove_summary_v016_lines() -> None:
    s = zisk_output.parse_prove_summary([
        "--- PROVE SUMMARY ------------------------", "Proof ID: 0a1b2c",
        "Proof Time: 12.345 seconds", "Execution completed in 850.20ms, steps: 4450272",
    ])
    assert s == zisk_output.ProveSummary(12345, 4450272, "0a1b2c")


def test_prove_summary_v018_lines() -> None:
    s = zisk_output.parse_prove_summary([
        "2026-05-15T00:00:00Z INFO: Proof Time: 5.097 seconds",
        "2026-05-15T00:00:00Z INFO: Execution completed in 5097ms, steps: 4450272",
        "INFO: Execution summary: Proofman 4910ms + Execution 34ms + Count&Plan 17ms",
    ])
    assert s == zisk_output.ProveSummary(5097, 4450272, None)


def test_prove_summary_v1_lines() -> None:
    s = zisk_output.parse_prove_summary([
        "--- PROVE SUMMARY -------------", "Proof generated in 61.250s, steps: 812345678",
        "Proof saved to out/proof.bin",
    ])
    assert s == zisk_output.ProveSummary(61250, 812345678, None)


def test_prove_summary_absent() -> None:
    assert zisk_output.parse_prove_summary(["nothing"]) == zisk_output.ProveSummary(
        None, None, None)


def test_ziskemu_metrics_line() -> None:
    line = "process_rom() steps=123456 duration=1.5000 tp=0.0823 Msteps/s freq=3000 36 clocks/step"
    assert zisk_output.parse_ziskemu_metrics_line(line) == zisk_output.ExecutionSummary(
        123456, 1500)


def test_unframed_input_panic_is_an_input_error() -> None:
    c = zisk_output.classify_exit(
        101, "thread 'main' panicked at emulator/src/emu_context.rs:60:13:\n"
             "input size must be a multiple of 8")
    assert c.reason is FailureReason.INPUT_ERROR


# ------------------------------------------------------------------ result.json


def test_parse_result_json_reads_cycles_id_and_seconds() -> None:
    r = zisk_output.parse_result_json('{"cycles": 4450272, "id": "ab12", "time": 137.9876}')
    assert (r.cycles, r.proof_id, r.time_s) == (4450272, "ab12", 137.9876)
    assert r.proving_time_ms == 137987  # trunc, like the original client


def test_parse_result_json_accepts_an_integer_time() -> None:
    parsed = zisk_output.parse_result_json(b'{"cycles": 1, "id": "x", "time": 3}')
    assert parsed.proving_time_ms == 3000


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"id": "x", "time": 1.0}',
        '{"cycles": -1, "id": "x", "time": 1.0}',
        '{"cycles": true, "id": "x", "time": 1.0}',
        '{"cycles": 1.5, "id": "x", "time": 1.0}',
        '{"cycles": 1, "id": "", "time": 1.0}',
        '{"cycles": 1, "id": 7, "time": 1.0}',
        '{"cycles": 1, "id": "x", "time": "1"}',
        '{"cycles": 1, "id": "x", "time": -2}',
        '{"cycles": 1, "id": "x"}',
        b"\xff\xfe",
    ],
)
def test_parse_result_json_refuses_malformed_files(text: str | bytes) -> None:
    with pytest.raises(zisk_output.ResultJsonError):
        zisk_output.parse_result_json(text)


def test_read_result_json_reads_a_file(tmp_path: Path) -> None:
    text = json.dumps({"cycles": 9, "id": "f0", "time": 0.5}, indent=2)
    (tmp_path / "result.json").write_text(text)
    assert zisk_output.read_result_json(tmp_path / "result.json").proving_time_ms == 500


def test_proof_file_candidates_prefer_the_compressed_file(tmp_path: Path) -> None:
    first, second = zisk_cli.proof_file_candidates(tmp_path)
    assert first.name == "vadcop_final_proof.compressed.bin"
    assert second.name == "vadcop_final_proof.bin"


# ------------------------------------------------------------------ stdout


@pytest.mark.parametrize(
    ("line", "marker"),
    [
        (
            "2025-11-20T10:00:00Z INFO: >>> GENERATING_PROOFS",
            ProgressMarker(PhaseEdge.START, "GENERATING_PROOFS"),
        ),
        (
            "2025-11-20T10:00:00Z [rank=0] INFO: <<< GENERATING_PROOFS (1234ms)",
            ProgressMarker(PhaseEdge.END, "GENERATING_PROOFS", 1234),
        ),
        ("INFO: <<< PLAN_MEM_CPP", ProgressMarker(PhaseEdge.END, "PLAN_MEM_CPP", None)),
        ("     Command Prove", None),
        ("INFO: >>> lower_case", None),
    ],
)
def test_parse_progress_line(line: str, marker: ProgressMarker | None) -> None:
    assert zisk_output.parse_progress_line(line) == marker


@pytest.mark.parametrize(
    ("text", "ms"),
    [("1.234567891s", 1234), ("12.5ms", 12), ("830µs", 0), ("5ns", 0), ("5097ms", 5097),
     ("2s", 2000), ("soon", None)],
)
def test_parse_rust_duration_ms(text: str, ms: int | None) -> None:
    assert zisk_output.parse_rust_duration_ms(text) == ms


def test_parse_execution_line_reads_v014_and_v018_forms() -> None:
    v14 = zisk_output.parse_execution_line(
        "2025-11-20T10:00:00Z INFO: Execution completed in 1.5s, executed steps: 4450272"
    )
    assert v14 == zisk_output.ExecutionSummary(steps=4450272, time_ms=1500)
    v18 = zisk_output.parse_execution_line("INFO: Execution completed in 5097ms, steps: 4,450,272")
    assert v18 == zisk_output.ExecutionSummary(steps=4450272, time_ms=5097)
    assert zisk_output.parse_execution_line("INFO: >>> EXECUTE") is None


def test_parse_proof_id_line() -> None:
    assert zisk_output.parse_proof_id_line("t INFO:       Proof ID: 0a1B") == "0a1B"
    assert zisk_output.parse_proof_id_line("Proof Time: 5.0 seconds") is None


def test_parse_verify_output() -> None:
    assert zisk_output.parse_verify_output(0, "INFO: ✓ Stark proof was verified") is True
    assert zisk_output.parse_verify_output(0, "INFO: ✓ STARK proof was verified") is True
    assert zisk_output.parse_verify_output(1, "INFO: ✗ Stark proof was not verified") is False
    assert zisk_output.parse_verify_output(1, "Error: Failed to read file") is None
    assert zisk_output.parse_verify_output(0, "") is None


# ------------------------------------------------------------------ exit codes


@pytest.mark.parametrize(
    ("code", "stderr", "reason", "words"),
    [
        (1, "Error: Error executing Prove command\n\nCaused by:\n    Input file not found at x",
         FailureReason.INPUT_ERROR, "input file"),
        (1, "Caused by:\n    Not enough GPU memory to run the proof", FailureReason.PROVING_ERROR,
         "GPU memory"),
        (1, "Path does not exist: /root/.zisk/cache/g-ab-mt.bin", FailureReason.PROVING_ERROR,
         "rom-setup"),
        (1, "Error: Unable to find the constant tree at '/k'", FailureReason.PROVING_ERROR,
         "check-setup"),
        (1, "Error: Command is not supported on GPU mode", FailureReason.PROVING_ERROR, "ziskemu"),
        (1, "panicked: input size must be a multiple of 8", FailureReason.INPUT_ERROR, "framed"),
        (1, "Error: something new", FailureReason.PROVING_ERROR, "exit 1"),
        (2, "error: unexpected argument '--bogus' found", FailureReason.INTERNAL_ERROR, "usage"),
        (101, "thread 'main' panicked at x:\nTimeout: service MT not ready",
         FailureReason.PROVING_ERROR, "ASM services"),
        (101, "thread 'main' panicked at x", FailureReason.PROVING_ERROR, "panicked"),
        (255, "Call stack:", FailureReason.PROVING_ERROR, "exit 255"),
        (-6, "[CUDA] cudaMalloc failed: out of memory (2) at f:1", FailureReason.PROVING_ERROR,
         "CUDA"),
        (-6, "", FailureReason.PROVING_ERROR, "SIGABRT"),
        (134, "[CUDA] x", FailureReason.PROVING_ERROR, "CUDA"),
        (-9, "", FailureReason.PROVING_ERROR, "out-of-memory"),
        (137, "", FailureReason.PROVING_ERROR, "out-of-memory"),
        (-15, "", FailureReason.PROVING_ERROR, "SIGTERM"),
        (42, "", FailureReason.PROVING_ERROR, "status 42"),
    ],
)
def test_classify_exit(code: int, stderr: str, reason: FailureReason, words: str) -> None:
    c = zisk_output.classify_exit(code, stderr)
    assert c.reason is reason
    assert words in c.message


def test_classify_exit_refuses_success() -> None:
    with pytest.raises(ValueError):
        zisk_output.classify_exit(0, "")
