"""Benchmark the zec-reth input builder (``inputs.zec_reth.build_zec_reth_input``).

Cases: the three golden mainnet blocks of ``../shared/fixtures/zec-reth`` and a synthetic
300-transaction block (the three blocks' 233 transactions plus the first 67 of 25229957 again,
with 25229957's witness: every signature stays valid, only the block hash and roots are
meaningless, which the builder does not check). ``build`` = typed block + typed witness → input
bytes, sender recovery and the ``from`` comparison included (the daemon's path: JSON parsed once
at the RPC edge); ``recover`` = the sender recovery alone; ``parse`` = ``rpc_block_from_json`` +
``read_rpc_witness`` of already-loaded JSON (for scale). Prints min and median over N runs in ms,
the witness size and transaction count, and a CPU calibration (``sum(range(10**6))``).
Target (issue 12): a 300-transaction mainnet block built in <= 100 ms on an idle core.
Run: ``PYTHONPATH=. .venv/bin/python bench/bench_zec_reth.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from ethproofs_daemon.eth.senders import recover_senders
from ethproofs_daemon.eth.types import Transaction
from ethproofs_daemon.eth.witness import ExecutionWitness
from ethproofs_daemon.inputs.rpc_block import RpcBlock, rpc_block_from_json
from ethproofs_daemon.inputs.rpc_witness import read_rpc_witness
from ethproofs_daemon.inputs.zec_reth import build_zec_reth_input
from ethproofs_daemon.inputs.zec_reth_chains import RETH_MAINNET

FOLDER = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "zec-reth"
BLOCKS = (24628607, 24647140, 25229957)


def times_ms(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return min(out), statistics.median(out)


def load_fixture(n: int) -> tuple[Any, Any]:
    block = json.loads((FOLDER / f"block_{n}.json").read_text())
    witness = json.loads((FOLDER / f"witness_{n}.json").read_text())
    return block, witness


def synthetic_300(
    parsed: dict[int, tuple[RpcBlock, ExecutionWitness]],
) -> tuple[RpcBlock, ExecutionWitness]:
    txs: list[Transaction] = []
    senders: list[bytes] = []
    for n in (*BLOCKS, BLOCKS[-1]):
        rpc = parsed[n][0]
        txs += rpc.block.body.transactions
        senders += rpc.senders
    base, witness = parsed[BLOCKS[-1]]
    body = replace(base.block.body, transactions=tuple(txs[:300]))
    block = replace(base.block, body=body)
    return RpcBlock(block, base.hash, tuple(senders[:300])), witness


def _parse(block: Any, witness: Any) -> tuple[RpcBlock, ExecutionWitness]:
    return rpc_block_from_json(block), read_rpc_witness(witness)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if not FOLDER.is_dir():
        print(f"fixtures not found at {FOLDER}", file=sys.stderr)
        return 1
    cal = times_ms(lambda: sum(range(10**6)), 5)
    print(f"calibration sum(range(10**6)): min {cal[0]:.1f} ms")
    docs = {n: load_fixture(n) for n in BLOCKS}
    parsed = {n: (rpc_block_from_json(b), read_rpc_witness(w)) for n, (b, w) in docs.items()}
    cases: list[tuple[str, RpcBlock, ExecutionWitness]] = [(str(n), *parsed[n]) for n in BLOCKS]
    cases.append(("synthetic-300", *synthetic_300(parsed)))
    print(
        f"{'case':>14} {'txs':>4} {'witness MB':>10} {'input MB':>8}  build min/med ms"
        "   recover min/med ms   parse min/med ms"
    )
    for name, rpc, witness in cases:
        block = rpc.block
        size = sum(
            map(len, (*witness.state, *witness.codes, *(witness.keys or ()), *witness.headers))
        )

        def build(rpc: RpcBlock = rpc, witness: ExecutionWitness = witness) -> bytes:
            return build_zec_reth_input(rpc.block, witness, RETH_MAINNET, senders=rpc.senders)

        data = build()
        b = times_ms(build, args.runs)
        r = times_ms(partial(recover_senders, block.body.transactions, rpc.senders), args.runs)
        if name.isdigit():
            bj, wj = docs[int(name)]
            p = times_ms(partial(_parse, bj, wj), args.runs)
            ps = f"{p[0]:7.1f} / {p[1]:6.1f}"
        else:
            ps = "      -"
        print(
            f"{name:>14} {len(block.body.transactions):>4} {size / 1e6:>10.2f} "
            f"{len(data) / 1e6:>8.2f}  {b[0]:7.1f} / {b[1]:6.1f}    {r[0]:7.1f} / {r[1]:6.1f}"
            f"      {ps}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
