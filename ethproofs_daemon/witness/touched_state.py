"""Touched-state discovery for witness synthesis: which accounts and storage slots block N reads
or writes (step 1 of ``witness.synthesis``'s module docstring).

Sources: geth's ``prestateTracer`` (``debug_traceBlockByNumber(N, {"tracer": "prestateTracer"})``)
for what transactions touch; for what the block touches outside them, the fee recipient, the
EIP-4895 withdrawal recipients and the system contracts of EIP-4788 (beacon roots), EIP-2935
(block hashes), EIP-7002 (withdrawal requests) and EIP-7251 (consolidation requests).
"""

from __future__ import annotations

from typing import Final

from ethproofs_daemon.eth.witness import WitnessFormatError, hex_bytes
from ethproofs_daemon.node.rpc import JsonRpcClient, JsonValue
from ethproofs_daemon.witness.account_proofs import AccountProof, get_proofs
from ethproofs_daemon.witness.synthesis_block import SynthesisBlock, WitnessSynthesisError

#: System contracts (EIP-4788, EIP-2935, EIP-7002, EIP-7251) and their ring buffer length.
BEACON_ROOTS_ADDRESS: Final = bytes.fromhex("000f3df6d732807ef1319fb7b8bb8522d0beac02")
HISTORY_STORAGE_ADDRESS: Final = bytes.fromhex("0000f90827f1c53a10cb7a02335b175320002935")
WITHDRAWAL_REQUEST_ADDRESS: Final = bytes.fromhex("00000961ef480eb55e80d19ad83579a64c007002")
CONSOLIDATION_REQUEST_ADDRESS: Final = bytes.fromhex("0000bbddc7ce488642fb579f8b00f3a590007251")
RING_BUFFER_LENGTH: Final = 8191
#: (queue slot offset, slots per entry, entries dequeued per block) of EIP-7002 and EIP-7251.
REQUEST_QUEUES: Final = {
    WITHDRAWAL_REQUEST_ADDRESS: (4, 3, 16),
    CONSOLIDATION_REQUEST_ADDRESS: (4, 4, 2),
}


class Touched:
    """Accounts and slots in first-seen order (addresses 20 bytes, slots 32 bytes) plus any code
    the trace carried (keyed by address). Mutable while being collected; see ``parse_prestate``."""

    def __init__(self) -> None:
        self.slots: dict[bytes, dict[bytes, None]] = {}
        self.codes: dict[bytes, bytes] = {}

    def add(self, address: bytes, slots: tuple[bytes, ...] = ()) -> None:
        """Record ``address`` and ``slots`` (kept in first-seen order, deduplicated)."""
        entry = self.slots.setdefault(address, {})
        for slot in slots:
            entry.setdefault(slot, None)

    def keys(self) -> tuple[bytes, ...]:
        """Each address followed by its slots (the reth ``keys`` layout)."""
        out: list[bytes] = []
        for address, slots in self.slots.items():
            out.append(address)
            out.extend(slots)
        return tuple(out)


def parse_prestate(trace: JsonValue, touched: Touched) -> None:
    """Add the accounts, slots and codes of a block prestate trace to ``touched``.

    ``trace`` is ``debug_traceBlockByNumber(N, {"tracer": "prestateTracer"})``: a list of
    ``{"txHash", "result": {address: {balance, nonce, code?, storage?: {slot: value}}}}``.

    Raises:
        WitnessSynthesisError: not that shape, or a transaction's trace is an error.
    """
    if not isinstance(trace, list):
        raise WitnessSynthesisError(f"prestate trace is a {type(trace).__name__}, not a list")
    try:
        for i, entry in enumerate(trace):
            if not isinstance(entry, dict):
                raise WitnessFormatError(f"trace[{i}] is not an object")
            if entry.get("error") is not None:
                raise WitnessFormatError(f"trace[{i}] failed: {entry['error']!r:.200}")
            result = entry.get("result")
            if not isinstance(result, dict):
                raise WitnessFormatError(f"trace[{i}].result is not an object")
            for addr_hex, account in result.items():
                address = hex_bytes(addr_hex, f"trace[{i}] address")
                if len(address) != 20 or not isinstance(account, dict):
                    raise WitnessFormatError(f"trace[{i}]: bad account entry {addr_hex!r:.60}")
                storage = account.get("storage")
                slots = tuple(
                    hex_bytes(s, f"trace[{i}] slot").rjust(32, b"\0")
                    for s in (storage if isinstance(storage, dict) else {})
                )
                touched.add(address, slots)
                code = account.get("code")
                if isinstance(code, str) and code not in ("", "0x"):
                    touched.codes.setdefault(address, hex_bytes(code, f"trace[{i}] code"))
    except WitnessFormatError as exc:
        raise WitnessSynthesisError(f"prestate trace: {exc}") from exc


def add_block_level_touches(block: SynthesisBlock, touched: Touched) -> None:
    """Add what the block touches outside transactions (module docstring, step 1)."""
    touched.add(block.miner)
    for address in block.withdrawal_addresses:
        touched.add(address)
    if block.cancun:
        ts_index = block.timestamp % RING_BUFFER_LENGTH
        touched.add(BEACON_ROOTS_ADDRESS, (_slot(ts_index), _slot(ts_index + RING_BUFFER_LENGTH)))
    if block.prague and block.number > 0:
        touched.add(HISTORY_STORAGE_ADDRESS, (_slot((block.number - 1) % RING_BUFFER_LENGTH),))
        for address in REQUEST_QUEUES:
            touched.add(address, tuple(_slot(i) for i in range(4)))


def _slot(index: int) -> bytes:
    """A storage slot number as its 32-byte key, modulo 2^256 as the EVM computes slots (a
    request queue's head near 2^256 wraps; it did raise ``OverflowError``)."""
    return (index % 2**256).to_bytes(32, "big")


async def collect_touched(rpc: JsonRpcClient, block: SynthesisBlock) -> Touched:
    """Touched accounts and slots of ``block`` (module docstring, step 1).

    Raises:
        RpcMethodNotFound: the node has no ``debug_traceBlockByNumber``.
        WitnessSynthesisError: the trace is malformed.
    """
    trace = await rpc.call(
        "debug_traceBlockByNumber", [hex(block.number), {"tracer": "prestateTracer"}]
    )
    touched = Touched()
    parse_prestate(trace, touched)
    add_block_level_touches(block, touched)
    return touched


async def add_request_queue_slots(
    rpc: JsonRpcClient, touched: Touched, proofs: dict[bytes, AccountProof], parent: int
) -> None:
    """Add the EIP-7002/7251 queue entries the block dequeues (head..tail, capped per block).

    ``proofs`` (answers at ``parent``) gives the queue head and tail; the queue contracts'
    proofs are fetched again with the added slots and replaced in ``proofs``.

    Raises:
        RpcError: as ``account_proofs.get_proofs`` (a failed ``eth_getProof``).
        WitnessSynthesisError: as ``account_proofs.get_proofs`` (a malformed answer).
    """
    extra: dict[bytes, tuple[bytes, ...]] = {}
    for address, (offset, per_entry, per_block) in REQUEST_QUEUES.items():
        proof = proofs.get(address)
        if proof is None:
            continue
        head, tail = proof.slot_values.get(_slot(2), 0), proof.slot_values.get(_slot(3), 0)
        count = max(0, min(tail - head, per_block))
        slots = tuple(
            _slot(offset + (head + i) * per_entry + j)
            for i in range(count)
            for j in range(per_entry)
        )
        if slots:
            touched.add(address, slots)
            extra[address] = tuple(touched.slots[address])
    if extra:
        proofs.update(await get_proofs(rpc, extra, parent))


__all__ = [
    "BEACON_ROOTS_ADDRESS",
    "CONSOLIDATION_REQUEST_ADDRESS",
    "HISTORY_STORAGE_ADDRESS",
    "REQUEST_QUEUES",
    "RING_BUFFER_LENGTH",
    "WITHDRAWAL_REQUEST_ADDRESS",
    "Touched",
    "add_block_level_touches",
    "add_request_queue_slots",
    "collect_touched",
    "parse_prestate",
]
