"""Benchmark the bound on witness expansion (issue 10, "Bounded work").

A crafted witness whose branches share children (6 nodes, 2.8 KB) embeds to 16^5 leaves. The
embedder refuses it once the embedded tries would exceed ``EMBED_FACTOR`` nodes per witness node
(``inputs.trie``); this prints how long the refusal takes and, with ``--unbounded``, how long
hashing the fully embedded trie takes without the bound (what a worker thread used to spend).
Run: ``.venv/bin/python bench/bench_bounded_work.py [--unbounded]``.
"""

from __future__ import annotations

import argparse
import time

import rlp

from ethproofs_daemon.eth.mpt import EMPTY_TRIE_ROOT, encode_hex_prefix
from ethproofs_daemon.hashing import keccak
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.rpc_witness import node_map
from ethproofs_daemon.inputs.trie import Embedder, node_hash


def crafted(levels: int = 5) -> tuple[list[bytes], bytes]:
    """``levels`` branches whose 16 children are all the next one, over one account leaf."""
    account = rlp.encode([0, 0, EMPTY_TRIE_ROOT, keccak(b"")])
    leaf = rlp.encode([encode_hex_prefix(bytes([1] * (64 - levels)), leaf=True), account])
    nodes, child = [leaf], keccak(leaf)
    for _ in range(levels):
        branch = rlp.encode([child] * 16 + [b""])
        nodes.append(branch)
        child = keccak(branch)
    return nodes, child


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--unbounded", action="store_true", help="also hash without the bound")
    args = parser.parse_args()
    nodes, root = crafted()
    print(f"crafted witness: {len(nodes)} nodes, {sum(map(len, nodes))} bytes")
    started = time.perf_counter()
    try:
        Embedder(node_map(nodes, "witness.state")).embed_hash(root)
    except InputError as exc:
        print(f"refused in {(time.perf_counter() - started) * 1000:.2f} ms: {exc}")
    if args.unbounded:
        embedder = Embedder(node_map(nodes, "witness.state"))
        embedder._budget = 1 << 62  # the old behaviour: no bound
        started = time.perf_counter()
        node_hash(embedder.embed_hash(root))
        print(f"without the bound: hashing took {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
