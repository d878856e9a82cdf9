"""CLI: build-input / inspect-input through ``register`` and through a real subprocess."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ethproofs_daemon.inputs.commands import register
from tests.helpers import ETHREX_014_PROFILE

HIVE = Path("real-data") / "hive-chain"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_build_input_writes_the_golden_bytes(
    shared_fixtures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "input.bin"
    code = _run(
        [
            "build-input", "--block", str(shared_fixtures / HIVE / "block_0x2d.json"),
            "--witness", str(shared_fixtures / HIVE / "witness_0x2d.reth-canonical.json"),
            "-o", str(out), "--profile", ETHREX_014_PROFILE,
        ]
    )  # fmt: skip
    assert code == 0
    golden = shared_fixtures / "ethrex-input" / "hive_0x2d_reth-canonical.rkyv.bin"
    assert out.read_bytes() == golden.read_bytes()
    assert "17270 bytes" in capsys.readouterr().out


def test_hoodi_cache_with_hoodi_chain(shared_fixtures: Path, tmp_path: Path) -> None:
    cache = str(shared_fixtures / "real-data" / "hoodi-replay" / "cache_hoodi_1265656.json")
    out = tmp_path / "hoodi.bin"
    assert _run(["build-input", "--block", cache, "--witness", cache, "--chain", "hoodi",
                 "-o", str(out), "--profile", ETHREX_014_PROFILE]) == 0  # fmt: skip
    golden = shared_fixtures / "ethrex-input" / "hoodi_1265656_hoodi-config.rkyv.bin"
    assert out.read_bytes() == golden.read_bytes()


def test_rejected_pair_exits_1_with_the_field(
    shared_fixtures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "input.bin"
    code = _run(
        [
            "build-input", "--block", str(shared_fixtures / HIVE / "block_0x1.json"),
            "--witness", str(shared_fixtures / HIVE / "witness_0x1.reth.json"), "-o", str(out),
        ]
    )  # fmt: skip
    assert code == 1
    assert "block.withdrawals" in capsys.readouterr().err
    assert not out.exists()


def test_truncated_json_file_exits_1(
    shared_fixtures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    witness = tmp_path / "w.json"
    witness.write_text((shared_fixtures / HIVE / "witness_0x2d.reth.json").read_text()[:500])
    code = _run(
        ["build-input", "--block", str(shared_fixtures / HIVE / "block_0x2d.json"),
         "--witness", str(witness), "-o", str(tmp_path / "o.bin")]
    )  # fmt: skip
    assert code == 1
    assert "not valid JSON" in capsys.readouterr().err


def test_inspect_input_reports_blocks_and_witness(
    shared_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_fixtures / "ethrex-input" / "hoodi_1265656.rkyv.bin"
    assert _run(["inspect-input", str(path), "--json", "--profile", ETHREX_014_PROFILE]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["blocks"][0]["number"] == 1265656
    assert doc["blocks"][0]["tx_counts"] == {"eip4844": 4, "eip1559": 7}
    assert (doc["storage_tries"], doc["codes"], doc["headers"]) == (26, 22, 6)
    assert doc["file_bytes"] == 1037132


def test_inspect_garbage_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    assert _run(["inspect-input", str(junk)]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_module_runs_as_a_subprocess(shared_fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "input.bin"
    cmd = [sys.executable, "-m", "ethproofs_daemon.inputs.commands"]
    ethrex = ["--profile", ETHREX_014_PROFILE]
    build = subprocess.run(
        [*cmd, "build-input", *ethrex, "--block", str(shared_fixtures / HIVE / "block_0x2d.json"),
         "--witness", str(shared_fixtures / HIVE / "witness_0x2d.reth.json"), "-o", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    inspect = subprocess.run(
        [*cmd, "inspect-input", *ethrex, str(out)], capture_output=True, text=True, timeout=120,
        check=False,
    )
    assert inspect.returncode == 0
    assert "block 45 hash 0xe27a3e81" in inspect.stdout
    geth = subprocess.run(
        [*cmd, "build-input", *ethrex, "--block", str(shared_fixtures / HIVE / "block_0x2d.json"),
         "--witness", str(shared_fixtures / HIVE / "witness_0x2d.geth.json"), "-o", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert geth.returncode == 1
    assert "witness.headers[0]" in geth.stderr


ZEC = Path("zec-reth")


def test_build_input_default_profile_writes_the_zec_reth_golden(
    shared_fixtures: Path, tmp_path: Path
) -> None:
    out = tmp_path / "zec.bin"
    assert _run(["build-input", "--block", str(shared_fixtures / ZEC / "block_24628607.json"),
                 "--witness", str(shared_fixtures / ZEC / "witness_24628607.json"),
                 "-o", str(out)]) == 0  # fmt: skip
    golden = shared_fixtures / ZEC / "mainnet_24628607_66_7_zec_reth.bin"
    assert out.read_bytes() == golden.read_bytes()


def test_inspect_input_reads_zec_reth_and_stateless_inputs(
    shared_fixtures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = shared_fixtures / ZEC / "mainnet_24628607_66_7_zec_reth.bin"
    assert _run(["inspect-input", str(golden)]) == 0
    text = capsys.readouterr().out
    # facts of the fixture (../shared/fixtures/zec-reth/manifest.json and the block JSON)
    assert "transactions: 66" in text and "block 24628607" in text and "frames" in text
    out = tmp_path / "s.bin"
    assert _run(["build-input", "--profile", "stateless-reth",
                 "--block", str(shared_fixtures / ZEC / "block_24628607.json"),
                 "--witness", str(shared_fixtures / ZEC / "witness_24628607.json"),
                 "-o", str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    assert _run(["inspect-input", "--profile", "stateless-reth", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    lines = "\n".join(doc["summary"])
    assert "schema id: 0x1401" in lines and "chain id: 1" in lines
    assert "transactions: 66, public keys: 66" in lines


def test_inspect_input_of_another_format_exits_1(
    shared_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = shared_fixtures / ZEC / "mainnet_24628607_66_7_zec_reth.bin"
    assert _run(["inspect-input", "--profile", "stateless-reth", str(golden)]) == 1
    assert capsys.readouterr().err.startswith("error: ")
