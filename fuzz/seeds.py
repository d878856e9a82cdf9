"""Real-looking values to mutate: real chain data when ``../shared/fixtures`` is present, and
structured generators of valid values (always), so the targets run without the fixtures too.

Real data (read in place, never copied): the hive test chain's blocks 0x1 and 0x2d with their
``debug_executionWitness`` answers in geth and reth form
(``real-data/hive-chain``; sources in that folder's README) and the pyspec ``NewPayloadRequest``
vectors (``ssz/npr_pyspec_vectors.json``). Generated: JSON block headers whose ``hash`` is the
keccak of their RLP (yellow paper §4.3 field order, then the EIP-1559/4895/4844/4788/7685
fields), full blocks with transactions of types 0–4 and withdrawals, witnesses in both wire forms,
prestate traces and EIP-1186 proofs.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import rlp
from hypothesis import strategies as st

from ethproofs_daemon.eth.mpt import EMPTY_TRIE_ROOT, encode_hex_prefix
from ethproofs_daemon.hashing import keccak

FIXTURES = Path(os.environ.get(
    "SHARED_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
HIVE = "real-data/hive-chain"


@functools.cache
def fixture_json(relative: str) -> Any:
    """A JSON fixture read in place, or None when the shared fixtures are absent."""
    path = FIXTURES / relative
    return json.loads(path.read_text()) if path.is_file() else None


def hive_blocks() -> list[dict[str, Any]]:
    """Hive blocks 0x1 (as served, and with ``withdrawals: []`` as the replay node adds) and
    0x2d; empty without the fixtures."""
    out = []
    for n in ("0x1", "0x2d"):
        block = fixture_json(f"{HIVE}/block_{n}.json")
        if block is not None:
            out.append(block)
            if "withdrawals" not in block:
                out.append({**block, "withdrawals": []})
    return out


def hive_witnesses() -> list[tuple[int, dict[str, Any]]]:
    """``(block number, witness)`` for hive 0x1 and 0x2d in geth, reth and reth-canonical form."""
    out = []
    for n in (0x1, 0x2D):
        for flavour in ("geth", "reth", "reth-canonical"):
            doc = fixture_json(f"{HIVE}/witness_{n:#x}.{flavour}.json")
            if doc is not None:
                out.append((n, doc))
    return out


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


_H32 = st.binary(min_size=32, max_size=32)
_H20 = st.binary(min_size=20, max_size=20)
_U64 = st.integers(0, 2**64 - 1)
_QTY_FIELDS = ("difficulty", "number", "gasLimit", "gasUsed", "timestamp")


@st.composite
def header_fields(draw: st.DrawFn, number: int | None = None,
                  parent_hash: bytes | None = None) -> dict[str, Any]:
    """A header as a JSON object (values typed: bytes and ints), up to Prague's fields."""
    h: dict[str, Any] = {
        "parentHash": parent_hash if parent_hash is not None else draw(_H32),
        "sha3Uncles": draw(_H32), "miner": draw(_H20), "stateRoot": draw(_H32),
        "transactionsRoot": draw(_H32), "receiptsRoot": draw(_H32),
        "logsBloom": draw(st.binary(min_size=256, max_size=256)),
        "difficulty": draw(st.integers(0, 2**64)),
        "number": number if number is not None else draw(st.integers(1, 2**40)),
        "gasLimit": draw(_U64), "gasUsed": draw(_U64), "timestamp": draw(_U64),
        "extraData": draw(st.binary(max_size=32)), "mixHash": draw(_H32),
        "nonce": draw(st.binary(min_size=8, max_size=8)),
    }
    optional = [("baseFeePerGas", _U64), ("withdrawalsRoot", _H32), ("blobGasUsed", _U64),
                ("excessBlobGas", _U64), ("parentBeaconBlockRoot", _H32),
                ("requestsHash", _H32)]
    for name, strategy in optional[: draw(st.integers(0, len(optional)))]:
        h[name] = draw(strategy)
    return h


def header_rlp(h: dict[str, Any]) -> bytes:
    """The RLP of a ``header_fields`` header (its keccak is the block hash)."""
    encoded: bytes = rlp.encode(list(h.values()))
    return encoded


def header_json(h: dict[str, Any]) -> dict[str, Any]:
    """A ``header_fields`` header as node JSON (hex strings), with its ``hash``."""
    out: dict[str, Any] = {}
    for key, value in h.items():
        out[key] = hex(value) if isinstance(value, int) else _hex(value)
    out["hash"] = _hex(keccak(header_rlp(h)))
    return out


def _tx_json(draw: st.DrawFn, tx_type: int, number: int, index: int) -> dict[str, Any]:
    tx: dict[str, Any] = {
        "type": hex(tx_type), "nonce": hex(draw(_U64)), "gas": hex(draw(_U64)),
        "to": None if draw(st.booleans()) and tx_type < 3 else _hex(draw(_H20)),
        "value": hex(draw(st.integers(0, 2**256 - 1))), "input": _hex(draw(st.binary(max_size=40))),
        "r": hex(draw(st.integers(0, 2**256 - 1))), "s": hex(draw(st.integers(0, 2**256 - 1))),
        "from": _hex(draw(_H20)), "hash": _hex(draw(_H32)), "blockNumber": hex(number),
        "transactionIndex": hex(index),
    }
    if tx_type == 0:
        tx.update(gasPrice=hex(draw(_U64)), v=hex(draw(st.sampled_from([27, 28, 37, 38]))))
        return tx
    tx.update(chainId=hex(draw(st.integers(1, 2**32))), yParity=hex(draw(st.integers(0, 1))),
              accessList=[{"address": _hex(draw(_H20)),
                           "storageKeys": [_hex(k) for k in draw(st.lists(_H32, max_size=2))]}
                          for _ in range(draw(st.integers(0, 2)))])
    if tx_type == 1:
        tx["gasPrice"] = hex(draw(_U64))
        return tx
    tx.update(maxFeePerGas=hex(draw(_U64)), maxPriorityFeePerGas=hex(draw(_U64)))
    if tx_type == 3:
        tx.update(maxFeePerBlobGas=hex(draw(_U64)),
                  blobVersionedHashes=[_hex(b"\x01" + draw(st.binary(min_size=31, max_size=31)))])
    if tx_type == 4:
        tx["authorizationList"] = [{
            "chainId": hex(draw(_U64)), "address": _hex(draw(_H20)), "nonce": hex(draw(_U64)),
            "yParity": hex(draw(st.integers(0, 1))), "r": hex(draw(st.integers(0, 2**256 - 1))),
            "s": hex(draw(st.integers(0, 2**256 - 1))),
        }]
    return tx


@st.composite
def block_json(draw: st.DrawFn) -> dict[str, Any]:
    """An ``eth_getBlockByNumber(n, true)`` result: header with the right ``hash``, 0–3 full
    transactions of types 0–4, withdrawals."""
    fields = draw(header_fields())
    block = header_json(fields)
    number = fields["number"]
    block["size"] = hex(draw(st.integers(500, 10**6)))
    block["transactions"] = [_tx_json(draw, draw(st.sampled_from([0, 1, 2, 3, 4])), number, i)
                             for i in range(draw(st.integers(0, 3)))]
    block["uncles"] = []
    block["withdrawals"] = [
        {"index": hex(draw(_U64)), "validatorIndex": hex(draw(_U64)),
         "address": _hex(draw(_H20)), "amount": hex(draw(_U64))}
        for _ in range(draw(st.integers(0, 2)))
    ]
    return block


def _account_rlp(nonce: int, balance: int, storage_root: bytes, code_hash: bytes) -> bytes:
    encoded: bytes = rlp.encode([nonce, balance, storage_root, code_hash])
    return encoded


@st.composite
def trie_nodes(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A small state trie: ``(root hash, node RLPs)``: one account leaf under 0–2 branches."""
    code = draw(st.binary(max_size=16))
    account = _account_rlp(draw(_U64), draw(st.integers(0, 2**100)), EMPTY_TRIE_ROOT, keccak(code))
    depth = draw(st.integers(0, 2))
    path = draw(st.binary(min_size=32, max_size=32))
    nibbles = bytes(n for b in path for n in (b >> 4, b & 15))
    leaf: bytes = rlp.encode([encode_hex_prefix(nibbles[depth:], leaf=True), account])
    nodes, child = [leaf], keccak(leaf)
    for level in reversed(range(depth)):
        slots: list[bytes] = [b""] * 17
        slots[nibbles[level]] = child
        branch: bytes = rlp.encode(slots)
        nodes.append(branch)
        child = keccak(branch)
    return child, nodes


@st.composite
def witness_json(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(block, debug_executionWitness result)``: a generated chain of 1–3 headers whose newest
    is the block's parent and whose state root is a generated trie's, in reth form (RLP headers,
    keys) or geth form (JSON headers, ``keys: null``), and an empty block on top of it."""
    root, nodes = draw(trie_nodes())
    first = draw(st.integers(1, 2**32))
    count = draw(st.integers(1, 3))
    headers: list[dict[str, Any]] = []
    parent_hash = None
    for i in range(count):
        h = draw(header_fields(number=first + i, parent_hash=parent_hash))
        parent_hash = keccak(header_rlp(h))
        headers.append(h)
    headers[-1]["stateRoot"] = root
    geth = draw(st.booleans())
    doc: dict[str, Any] = {
        "state": [_hex(n) for n in nodes],
        "codes": [_hex(c) for c in draw(st.lists(st.binary(max_size=16), max_size=2))],
        "keys": None if geth else [_hex(k) for k in draw(st.lists(
            st.one_of(_H20, _H32), max_size=3))],
        "headers": [header_json(h) if geth else _hex(header_rlp(h)) for h in headers],
    }
    block = header_json(draw(header_fields(number=first + count, parent_hash=parent_hash)))
    block.update(size="0x400", transactions=[], uncles=[], withdrawals=[])
    return block, doc


@st.composite
def prestate_json(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A ``debug_traceBlockByNumber(n, prestateTracer)`` result: per transaction, accounts with
    balance, nonce, code and storage."""
    return [
        {"txHash": _hex(draw(_H32)), "result": {
            _hex(draw(_H20)): {
                "balance": hex(draw(st.integers(0, 2**100))), "nonce": draw(st.integers(0, 99)),
                "code": _hex(draw(st.binary(max_size=24))),
                "storage": {_hex(draw(_H32)): _hex(draw(_H32))
                            for _ in range(draw(st.integers(0, 2)))},
            } for _ in range(draw(st.integers(0, 3)))
        }}
        for _ in range(draw(st.integers(0, 3)))
    ]


@st.composite
def proof_json(draw: st.DrawFn) -> dict[str, Any]:
    """An EIP-1186 ``eth_getProof`` result over a generated trie."""
    _, nodes = draw(trie_nodes())
    return {
        "address": _hex(draw(_H20)),
        "accountProof": [_hex(n) for n in reversed(nodes)],
        "balance": hex(draw(st.integers(0, 2**100))),
        "codeHash": _hex(draw(_H32)),
        "nonce": hex(draw(_U64)),
        "storageHash": _hex(EMPTY_TRIE_ROOT),
        "storageProof": [{"key": _hex(draw(_H32)), "value": hex(draw(st.integers(0, 2**256 - 1))),
                          "proof": [_hex(n) for n in reversed(draw(trie_nodes())[1])]}
                         for _ in range(draw(st.integers(0, 2)))],
    }
