"""``statelessInputBytes``: the zkEVM stateless-validation input, built and read back (pure).

The input of the reth guest (``paradigmxyz/stateless``, ``stateless-validator-reth-zisk-
v1.1.0-alpha.elf``), ere-guests v0.17.x and ethrex's own guest: a 2-byte big-endian schema id
(``fork_index << 8 | 0x01``) followed by SSZ ``StatelessInput{new_payload_request, witness{state,
codes, headers}, chain_id, public_keys}`` (layout and sources in ``ssz.stateless``). Mainnet blocks
since BPO2 take schema ``0x1401`` (reth guest, ere-guests); ethrex's guest takes only Amsterdam's
``0x1501``, which this module cannot build (no Gloas payload in the typed block).

``build_stateless_input`` takes the same typed values as the ethrex codec's
``build.build_typed_input`` (``eth.types.Block``, ``eth.witness.ExecutionWitness``) plus what
this input needs besides: the chain id, one recovered public key per transaction (the caller
recovers them), and the block's execution requests when it has any (from a beacon node). The
bytes are not framed: the ZisK file framing (``u64 LE length ‖ bytes ‖ zero pad to 8``) is the
guest profile's. The witness's ``keys`` are not part of this input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ssz.exceptions import SerializationError

from ethproofs_daemon.eth.rlp import header_number_and_state_root
from ethproofs_daemon.eth.types import Block
from ethproofs_daemon.eth.witness import ExecutionWitness
from ethproofs_daemon.hashing import keccak
from ethproofs_daemon.ssz.errors import SszError
from ethproofs_daemon.ssz.new_payload_request import (
    DecodedNewPayloadRequest,
    decode_new_payload_request,
)
from ethproofs_daemon.ssz.progressive import progressive_request_root
from ethproofs_daemon.ssz.requests import ExecutionRequests
from ethproofs_daemon.ssz.stateless import (
    MAX_BYTES_PER_CODE,
    MAX_BYTES_PER_HEADER,
    MAX_BYTES_PER_WITNESS_NODE,
    MAX_PUBLIC_KEYS,
    MAX_WITNESS_CODES,
    MAX_WITNESS_HEADERS,
    MAX_WITNESS_NODES,
    PUBLIC_KEY_BYTES,
    SCHEMA_ID_BYTES,
    STATELESS_INPUT,
    ProtocolFork,
    fork_of_schema_id,
)
from ethproofs_daemon.ssz.strict import check_strict
from ethproofs_daemon.ssz.types import NEW_PAYLOAD_REQUEST

from .errors import InputError
from .stateless_payload import (
    mainnet_protocol_fork,
    new_payload_request_value,
    resolve_execution_requests,
)

MAINNET_CHAIN_ID: Final = 1
_SEC1_UNCOMPRESSED: Final = b"\x04"


def _public_keys(keys: Sequence[bytes], tx_count: int) -> tuple[bytes, ...]:
    if len(keys) != tx_count:
        raise InputError(
            "public_keys", f"{len(keys)} keys for {tx_count} transactions (one per transaction)"
        )
    if len(keys) > MAX_PUBLIC_KEYS:
        raise InputError("public_keys", f"{len(keys)} keys exceed the limit of {MAX_PUBLIC_KEYS}")
    out = []
    for i, key in enumerate(keys):
        if len(key) == PUBLIC_KEY_BYTES - 1:
            key = _SEC1_UNCOMPRESSED + bytes(key)
        if len(key) != PUBLIC_KEY_BYTES or key[:1] != _SEC1_UNCOMPRESSED:
            raise InputError(
                f"public_keys[{i}]",
                f"{len(key)} bytes; expected an uncompressed SEC1 key (0x04 ‖ X ‖ Y, 65 bytes) "
                "or X ‖ Y (64 bytes)",
            )
        out.append(bytes(key))
    return tuple(out)


def _bounded(items: tuple[bytes, ...], field: str, count: int, size: int) -> tuple[bytes, ...]:
    if len(items) > count:
        raise InputError(field, f"{len(items)} entries exceed the limit of {count}")
    for i, item in enumerate(items):
        if len(item) > size:
            raise InputError(f"{field}[{i}]", f"{len(item)} bytes exceed the limit of {size}")
    return items


def _witness_lists(
    witness: ExecutionWitness, block: Block
) -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]]:
    headers = witness.headers
    if not headers:
        raise InputError(
            "witness.headers", "empty: the guest needs the parent header (ascending, parent last)"
        )
    previous = -1
    for i, raw in enumerate(headers):
        number, _ = header_number_and_state_root(raw, f"witness.headers[{i}]")
        if number <= previous:
            raise InputError(f"witness.headers[{i}]", f"number {number} is not ascending")
        previous = number
    if keccak(headers[-1]) != block.header.parent_hash:
        raise InputError(
            f"witness.headers[{len(headers) - 1}]",
            f"the last header hashes to 0x{keccak(headers[-1]).hex()}, not to the block's "
            f"parentHash 0x{block.header.parent_hash.hex()}",
        )
    return (
        _bounded(witness.state, "witness.state", MAX_WITNESS_NODES, MAX_BYTES_PER_WITNESS_NODE),
        _bounded(witness.codes, "witness.codes", MAX_WITNESS_CODES, MAX_BYTES_PER_CODE),
        _bounded(headers, "witness.headers", MAX_WITNESS_HEADERS, MAX_BYTES_PER_HEADER),
    )


def _fork(block: Block, chain_id: int, fork: ProtocolFork | None) -> ProtocolFork:
    if chain_id != MAINNET_CHAIN_ID:
        if fork is None:
            raise InputError("fork", f"needed for chain id {chain_id} (only mainnet's are known)")
        return fork
    at = mainnet_protocol_fork(block.header.number, block.header.timestamp)
    if fork is not None and fork is not at:
        raise InputError(
            "fork", f"mainnet block {block.header.number} is {at.name}, not {fork.name}"
        )
    return at


def build_stateless_input(
    block: Block,
    witness: ExecutionWitness,
    *,
    chain_id: int,
    public_keys: Sequence[bytes],
    execution_requests: ExecutionRequests | None = None,
    fork: ProtocolFork | None = None,
) -> bytes:
    """``schema_id (u16 BE) ‖ SSZ StatelessInput`` for one block (unframed).

    Args:
        block: the block as parsed at the RPC edge (``inputs.rpc_block``).
        witness: its ``debug_executionWitness`` (``state``, ``codes``, ``headers`` are used;
            headers ascending with the parent last, as reth serves them).
        chain_id: the chain's id (1 for mainnet), a u64.
        public_keys: the sender's secp256k1 public key of each transaction, in order:
            65 bytes ``0x04 ‖ X ‖ Y`` (64 bytes ``X ‖ Y`` are accepted and prefixed).
        execution_requests: the block's requests (``node.beacon.fetch_execution_requests``);
            None is fine when the header commits to no requests.
        fork: the schema's fork; None picks the mainnet fork from the block's timestamp
            (required for other chains; on mainnet it must match).

    Returns:
        The input bytes; ``len`` = 2 + the SSZ length.

    Raises:
        InputError: the field is named: ``fork`` (unknown for the chain, wrong for the mainnet
            block, or Amsterdam), ``chain_id``, ``public_keys[i]`` (count or form),
            ``witness.headers`` (empty, not ascending, the last not the parent),
            ``witness.state[i]``/``witness.codes[i]`` (over the spec's limits),
            ``execution_requests`` (needed but not given, or not matching ``requestsHash``),
            ``block.<field>`` (missing for the fork's payload, or over a limit).
    """
    if not 0 <= chain_id < 1 << 64:
        raise InputError("chain_id", f"{chain_id} is not a u64")
    schema_fork = _fork(block, chain_id, fork)
    requests = resolve_execution_requests(block.header, schema_fork, execution_requests)
    request = new_payload_request_value(block, schema_fork, requests)
    keys = _public_keys(public_keys, len(block.body.transactions))
    lists = _witness_lists(witness, block)
    sedes = STATELESS_INPUT[schema_fork.request_fork]
    try:
        body = bytes(sedes.serialize((request, lists, chain_id, keys)))
    except (SerializationError, ValueError, TypeError) as exc:  # checked above: a bug
        raise InputError("input", f"SSZ encoding failed: {exc}") from exc
    return schema_fork.schema_id.to_bytes(SCHEMA_ID_BYTES, "big") + body


@dataclass(frozen=True, slots=True)
class DecodedStatelessInput:
    """What a ``statelessInputBytes`` holds (sizes in bytes).

    Two roots of the request (32 bytes each): ``new_payload_request.root``, the plain
    containers' (zkboost/Lighthouse, what the Proof Node API is given), and ``guest_root``, the
    progressive one the v0.8 reth guest commits as ``new_payload_request_root``
    (``ssz.progressive``).
    """

    schema_id: int
    fork: ProtocolFork
    new_payload_request: DecodedNewPayloadRequest
    guest_root: bytes
    chain_id: int
    state: tuple[bytes, ...]
    codes: tuple[bytes, ...]
    headers: tuple[bytes, ...]
    public_keys: tuple[bytes, ...]
    size: int

    def lines(self) -> list[str]:
        """A human summary, one fact per line."""
        npr = self.new_payload_request
        return [
            f"schema id: 0x{self.schema_id:04x} ({self.fork.name})",
            f"size: {self.size} bytes (request {len(npr.body)})",
            f"chain id: {self.chain_id}",
            f"block: {npr.block_number} 0x{npr.block_hash.hex()}",
            f"request root (plain containers): 0x{npr.root.hex()}",
            f"request root (v0.8 guest, progressive): 0x{self.guest_root.hex()}",
            f"transactions: {npr.transaction_count}, public keys: {len(self.public_keys)}",
            f"witness: {len(self.state)} nodes ({sum(map(len, self.state))} bytes), "
            f"{len(self.codes)} codes ({sum(map(len, self.codes))} bytes), "
            f"{len(self.headers)} headers",
        ]


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def _byte_lists(data: bytes) -> tuple[bytes, ...]:
    """Items of an SSZ list of byte lists (already checked by ``check_strict``)."""
    if not data:
        return ()
    offsets = [_u32(data, i) for i in range(0, _u32(data, 0), 4)]
    ends = [*offsets[1:], len(data)]
    return tuple(data[a:b] for a, b in zip(offsets, ends, strict=True))


def decode_stateless_input(data: bytes) -> DecodedStatelessInput:
    """Read ``statelessInputBytes`` back, strictly (canonical offsets, limits, no trailing bytes).

    Raises:
        InputError: ``input.schema_id`` (too short, unknown, or Amsterdam, whose Gloas request
            is not decoded here); ``input`` with the SSZ path in the reason
            (``input.witness.state[3]: …``) for a malformed body; ``input.new_payload_request``
            when the request's layout is not the schema fork's.
    """
    if len(data) < SCHEMA_ID_BYTES:
        raise InputError("input.schema_id", f"{len(data)} bytes cannot hold a schema id")
    schema_id = int.from_bytes(data[:SCHEMA_ID_BYTES], "big")
    try:
        fork = fork_of_schema_id(schema_id)
    except SszError as exc:
        raise InputError("input.schema_id", str(exc)) from None
    if fork is ProtocolFork.AMSTERDAM:
        raise InputError("input.schema_id", "0x1501 (Amsterdam): Gloas requests are not decoded")
    body = data[SCHEMA_ID_BYTES:]
    try:
        check_strict(STATELESS_INPUT[fork.request_fork], body, "input")
    except SszError as exc:
        raise InputError("input", str(exc)) from None
    o_request, o_witness, o_keys = _u32(body, 0), _u32(body, 4), _u32(body, 16)
    try:
        request = decode_new_payload_request(body[o_request:o_witness], gloas_enabled=True)
    except SszError as exc:
        raise InputError("input.new_payload_request", str(exc)) from None
    if request.fork is not fork.request_fork:
        raise InputError(
            "input.new_payload_request",
            f"{request.fork} layout under schema 0x{schema_id:04x} ({fork.request_fork})",
        )
    sedes = NEW_PAYLOAD_REQUEST[request.fork]
    guest_root = progressive_request_root(sedes.deserialize(request.body), request.fork)
    witness = body[o_witness:o_keys]
    w = [_u32(witness, 0), _u32(witness, 4), _u32(witness, 8), len(witness)]
    keys = body[o_keys:]
    return DecodedStatelessInput(
        schema_id=schema_id,
        fork=fork,
        new_payload_request=request,
        guest_root=guest_root,
        chain_id=int.from_bytes(body[8:16], "little"),
        state=_byte_lists(witness[w[0] : w[1]]),
        codes=_byte_lists(witness[w[1] : w[2]]),
        headers=_byte_lists(witness[w[2] : w[3]]),
        public_keys=tuple(
            keys[i : i + PUBLIC_KEY_BYTES] for i in range(0, len(keys), PUBLIC_KEY_BYTES)
        ),
        size=len(data),
    )


__all__ = [
    "DecodedStatelessInput",
    "build_stateless_input",
    "decode_stateless_input",
]
