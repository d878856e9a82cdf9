"""The node's witness → the guest's ``GuestExecutionWitness`` (the NIF's conversion).

Two entry points: ``guest_witness`` converts the typed ``eth.witness.ExecutionWitness`` (what the
daemon parsed at the RPC edge); ``witness_from_json`` reads a witness document with ethrex's serde
rules first (``read_rpc_witness``: the four arrays, document order, geth form refused), for the
``build-input`` CLI and the Proof Node API.
Source: lambdaclass/ethrex@891528d:crates/networking/rpc/debug/execution_witness.rs
(``RpcExecutionWitness``, ``execution_witness_from_rpc_chain_config``), with
``crates/common/trie/{node.rs,rlp.rs,trie.rs}`` (``Node::decode``, ``Trie::get_embedded_root``)
and ``crates/common/rlp/decode.rs``. Steps: parent state root from the RLP headers; node map
``keccak(rlp) → node`` (``0x80`` skipped, duplicates collapse); embedded state trie; a storage trie
for each 20-byte key whose account has a non-empty storage root present in the map; ``codes``,
``headers`` and ``keys`` copied verbatim. Every failure is ``InputError`` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ethproofs_daemon.eth import rlp
from ethproofs_daemon.eth.rlp import EMPTY_TRIE_HASH
from ethproofs_daemon.eth.witness import ExecutionWitness
from ethproofs_daemon.hashing import keccak

from . import hexjson as hj
from .errors import InputError
from .trie import Embedder, decode_ethrex_node, key_nibbles, lookup_embedded
from .types import ChainConfig, GuestExecutionWitness, Node

WITNESS_KEYS: Final = ("state", "keys", "codes", "headers")


def _hex_list(value: object, key: str, field: str) -> list[bytes]:
    f = f"{field}.{key}"
    if value is None:
        raise InputError(
            f, "null, expected an array of hex strings (geth-form witness; the NIF rejects it)"
        )
    items = hj.array(value, f)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            raise InputError(
                f"{f}[{i}]",
                "a JSON object, expected a hex string (geth-form header; the NIF wants RLP hex)",
            )
        out.append(hj.hex_item(item, f"{f}[{i}]"))
    return out


def read_rpc_witness(value: object, field: str = "witness") -> ExecutionWitness:
    """The four byte-string arrays, checked in document order like serde does.

    Raises:
        InputError: not an object, a missing or ``null`` array (geth form), an entry that is not
            a hex string (e.g. a JSON header), or bad hex.
    """
    o = hj.obj(value, field)
    out: dict[str, list[bytes]] = {}
    for key in [k for k in o if k in WITNESS_KEYS]:
        out[key] = _hex_list(o[key], key, field)
    for key in WITNESS_KEYS:
        if key not in out:
            raise InputError(f"{field}.{key}", "missing")
    return ExecutionWitness(
        state=tuple(out["state"]),
        codes=tuple(out["codes"]),
        keys=tuple(out["keys"]),
        headers=tuple(out["headers"]),
    )


def parent_state_root(headers: Sequence[bytes], block_number: int, field: str) -> bytes:
    """State root (32 bytes) of the header numbered ``block_number - 1``.

    Raises:
        InputError: a header before it does not decode, or there is no such header.
    """
    for i, raw in enumerate(headers):
        number, state_root = rlp.header_number_and_state_root(raw, f"{field}.headers[{i}]")
        if number == block_number - 1:
            return state_root
    raise InputError(f"{field}.headers", f"header for block {block_number - 1} not found")


def node_map(state: Sequence[bytes], field: str) -> dict[bytes, Node]:
    """``keccak(rlp) → decoded node`` for every state entry except ``0x80``."""
    nodes: dict[bytes, Node] = {}
    for i, raw in enumerate(state):
        if raw == rlp.EMPTY_STRING:
            continue
        h = keccak(raw)
        if h not in nodes:
            nodes[h] = decode_ethrex_node(raw, f"{field}.state[{i}]")
    return nodes


def _storage_root(account_rlp: bytes, field: str) -> bytes:
    items = rlp.list_items(rlp.decode_one(account_rlp, field), field)
    if len(items) != 4:
        raise InputError(field, f"account RLP has {len(items)} fields, expected 4")
    return rlp.as_bytes(items[2], f"{field}.storage_root", 32)


def witness_from_json(
    value: object, *, block_number: int, chain_config: ChainConfig, field: str = "witness"
) -> GuestExecutionWitness:
    """Read a witness document (bare result object) with ethrex's rules, then ``guest_witness``.

    Raises:
        InputError: geth form (``keys: null``, JSON headers), bad hex, and everything
            ``guest_witness`` raises.
    """
    return guest_witness(
        read_rpc_witness(value, field),
        block_number=block_number,
        chain_config=chain_config,
        field=field,
    )


def guest_witness(
    witness: ExecutionWitness,
    *,
    block_number: int,
    chain_config: ChainConfig,
    field: str = "witness",
) -> GuestExecutionWitness:
    """Convert the node's witness for block ``block_number`` to the guest's form.

    Raises:
        InputError: keys unknown (a geth-form witness not completed), undecodable nodes or
            headers, missing parent header, missing state root node, a missing node on an
            account path.
    """
    if witness.keys is None:
        raise InputError(f"{field}.keys", "unknown (geth-form witness not completed)")
    root_hash = parent_state_root(witness.headers, block_number, field)
    nodes = node_map(witness.state, field)
    embedder = Embedder(nodes, f"{field}.state")
    if root_hash == EMPTY_TRIE_HASH:
        state_root: Node | None = None
    elif root_hash not in nodes:
        raise InputError(
            f"{field}.state", f"state root node 0x{root_hash.hex()} not found (RootNotFound)"
        )
    else:
        state_root = embedder.embed_hash(root_hash)
    storage: dict[bytes, Node] = {}
    for i, key in enumerate(witness.keys):
        if len(key) != 20:
            continue
        kf = f"{field}.keys[{i}]"
        account = lookup_embedded(state_root, key_nibbles(keccak(key)), kf)
        if account is None:
            continue
        sr = _storage_root(account, kf)
        if sr == EMPTY_TRIE_HASH or sr not in nodes:
            continue
        storage[key] = embedder.embed_hash(sr)
    return GuestExecutionWitness(
        codes=witness.codes,
        block_headers_bytes=witness.headers,
        first_block_number=block_number,
        chain_config=chain_config,
        state_trie_root=state_root,
        storage_trie_roots=storage,
        keys=witness.keys,
    )
