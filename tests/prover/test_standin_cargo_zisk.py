"""The stand-in cargo-zisk keeps the v0.14 contract of zisk.md (argv checks, outputs, verify)."""

from __future__ import annotations

import os
import subprocess

from tests.standins.zisk import StandinZisk, pid_alive


def run(standin: StandinZisk, *args: str, **switches: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **standin.env(**switches)}
    proc = subprocess.run(
        [str(standin.exe), *args], env=env, capture_output=True, text=True, timeout=60,
        cwd=standin.root,
    )
    standin.helper_pid()  # teardown ends it if still alive
    return proc


def test_version_line_follows_the_v014_shape(standin: StandinZisk) -> None:
    out = run(standin, "--version").stdout
    assert out.startswith("cargo-zisk 0.14.0 (") and out.rstrip().endswith(")")
    assert "[cpu]" in run(standin, "--version", STANDIN_ZISK_VERSION="0.18.0").stdout


def test_unknown_flag_is_a_usage_error(standin: StandinZisk) -> None:
    p = run(standin, "prove", "-e", str(standin.elf), "--bogus")
    assert p.returncode == 2
    assert "error: unexpected argument '--bogus' found" in p.stderr and "Usage:" in p.stderr


def test_missing_elf_flag_and_missing_value_are_usage_errors(standin: StandinZisk) -> None:
    p = run(standin, "prove", "-i", str(standin.input))
    assert p.returncode == 2 and "--elf <ELF>" in p.stderr
    p = run(standin, "prove", "-e", str(standin.elf), "-i")
    assert p.returncode == 2 and "a value is required" in p.stderr
    p = run(standin, "prove", "-e", str(standin.elf), "-u", "-l")
    assert p.returncode == 2 and "cannot be used with" in p.stderr
    assert run(standin, "frobnicate").returncode == 2


def test_missing_input_file_exits_1_with_the_cause_chain(standin: StandinZisk) -> None:
    p = run(standin, "prove", "-e", str(standin.elf), "-i", "nope.bin", "-a")
    assert p.returncode == 1
    assert p.stderr.startswith("Error: Error executing Prove command")
    assert "Input file not found at nope.bin" in p.stderr


def test_prove_without_dash_a_writes_nothing(standin: StandinZisk) -> None:
    p = run(standin, "prove", "-e", str(standin.elf), "-i", str(standin.input), "-o", "out", "-u")
    assert p.returncode == 0
    assert not (standin.root / "out" / "result.json").exists()


def test_prove_prints_banner_markers_and_summary_and_stops_its_helper(
    standin: StandinZisk,
) -> None:
    p = run(standin, "prove", "-e", str(standin.elf), "-i", str(standin.input), "-au")
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert lines[0].strip() == "Command Prove"
    assert any(" INFO: >>> STARTING_ASM_MICROSERVICES" in line for line in lines)
    assert any("<<< GENERATE_VADCOP_FINAL_PROOF (" in line for line in lines)
    assert "Vadcop final proof saved:" in p.stdout and "--- PROVE SUMMARY" in p.stdout
    assert (standin.root / "tmp" / "result.json").is_file()  # -o defaults to ./tmp
    helper = standin.helper_pid()
    assert helper is not None and not pid_alive(helper)


def test_emulator_mode_starts_no_helper(standin: StandinZisk) -> None:
    p = run(standin, "prove", "-e", str(standin.elf), "-i", str(standin.input), "-l", "-a")
    assert p.returncode == 0
    assert standin.helper_pid() is None


def test_verify_reads_raw_and_zstd_files(standin: StandinZisk) -> None:
    assert run(standin, "prove", "-e", str(standin.elf), "-i", str(standin.input), "-a",
               "-o", "out").returncode == 0
    for name in ("vadcop_final_proof.bin", "vadcop_final_proof.compressed.bin"):
        p = run(standin, "verify", "-p", f"out/{name}")
        assert p.returncode == 0 and "✓ Stark proof was verified" in p.stdout
    (standin.root / "bad.bin").write_bytes(b"\x00" * 800)
    p = run(standin, "verify", "-p", "bad.bin")
    assert p.returncode == 1 and "✗ Stark proof was not verified" in p.stdout
