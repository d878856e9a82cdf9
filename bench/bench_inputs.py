"""Benchmark the guest-input builder: encode time and whole build-from-JSON time.

Cases: Hoodi 1265656 (≈1 MB input, ethrex-replay cache) and the hive cases of
``../shared/fixtures/ethrex-input`` (block 45 with the reth / reth-canonical witnesses).
For each: ``encode`` = ``rkyv`` encoding of the already-converted ``ProgramInput``;
``build`` = ``build_input`` from parsed JSON (conversion + checks + encoding); ``build+json`` adds
``json.loads`` of the files; ``typed`` = ``build_typed_input`` from the typed block and witness (the
daemon's path: the JSON was parsed once at the RPC edge; all three checks run). Prints min and
median over N runs in ms, and a CPU calibration (``sum(range(10**6))``) so numbers from a loaded
machine can be compared.
Targets (issue 3): encode ≤ 20 ms and whole build ≤ 100 ms for Hoodi.
Run: ``.venv/bin/python bench/bench_inputs.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ethproofs_daemon.inputs.build import (
    build_input,
    build_typed_input,
    chain_config_by_name,
    convert,
    unwrap_document,
)
from ethproofs_daemon.inputs.profiles import get_profile
from ethproofs_daemon.inputs.rpc_block import block_from_json
from ethproofs_daemon.inputs.rpc_witness import read_rpc_witness
from ethproofs_daemon.inputs.schema import encode_program_input

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
REAL = FIXTURES / "real-data"
CASES = [
    ("hoodi_1265656", REAL / "hoodi-replay/cache_hoodi_1265656.json",
     REAL / "hoodi-replay/cache_hoodi_1265656.json", "mainnet",
     FIXTURES / "ethrex-input/hoodi_1265656.rkyv.bin"),
    ("hive_0x2d_reth", REAL / "hive-chain/block_0x2d.json",
     REAL / "hive-chain/witness_0x2d.reth.json", "mainnet",
     FIXTURES / "ethrex-input/hive_0x2d_reth.rkyv.bin"),
    ("hive_0x2d_reth-canonical", REAL / "hive-chain/block_0x2d.json",
     REAL / "hive-chain/witness_0x2d.reth-canonical.json", "mainnet",
     FIXTURES / "ethrex-input/hive_0x2d_reth-canonical.rkyv.bin"),
]  # fmt: skip


def _times(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return min(out), statistics.median(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    if not FIXTURES.is_dir():
        print(f"fixtures not found at {FIXTURES}", file=sys.stderr)
        return 1
    cal, _ = _times(lambda: sum(range(10**6)), 5)
    print(f"calibration sum(range(1e6)): {cal:.1f} ms (an idle modern core: ~8-10 ms)")
    print(f"{'case':28} {'bytes':>9} {'encode min/med':>16} {'build min/med':>16} "
          f"{'build+json min/med':>20} {'typed min/med':>16}")  # fmt: skip
    profile = get_profile()
    for name, block_path, witness_path, chain_name, golden in CASES:
        chain = chain_config_by_name(chain_name)
        block_text, witness_text = block_path.read_text(), witness_path.read_text()
        block, witness = json.loads(block_text), json.loads(witness_text)
        pi = convert(block, witness, chain).program_input
        data = build_input(block, witness, profile, chain)
        assert data == golden.read_bytes(), f"{name}: output differs from the golden vector"
        enc = _times(lambda: encode_program_input(pi), runs)  # noqa: B023
        build = _times(lambda: build_input(block, witness, profile, chain), runs)  # noqa: B023
        full = _times(
            lambda: build_input(json.loads(block_text), json.loads(witness_text), profile, chain),  # noqa: B023
            runs,
        )
        block_obj, rpc = unwrap_document(block, "block")
        typed_block = block_from_json(block_obj, rpc=rpc)
        typed_witness = read_rpc_witness(unwrap_document(witness, "witness")[0])
        claimed = convert(block, witness, chain).claimed_block_hash
        typed = _times(
            lambda: build_typed_input(typed_block, typed_witness, profile, chain,  # noqa: B023
                                      claimed_block_hash=claimed),  # noqa: B023
            runs,
        )
        assert build_typed_input(typed_block, typed_witness, profile, chain) == data
        print(f"{name:28} {len(data):>9} {enc[0]:>7.2f}/{enc[1]:<7.2f}ms "
              f"{build[0]:>7.2f}/{build[1]:<7.2f}ms {full[0]:>8.2f}/{full[1]:<8.2f}ms "
              f"{typed[0]:>7.2f}/{typed[1]:<7.2f}ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
