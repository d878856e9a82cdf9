"""Build an execution witness for nodes without ``debug_executionWitness`` (anvil, hardhat, most
hosted RPCs), in the reth wire form (``state``, ``codes``, ``keys``, RLP ``headers``).

For block N (``../shared/docs/real-data.md §1``, "A fallback witness built from anvil"):

1. **Touched state.** ``debug_traceBlockByNumber(N, prestateTracer)`` lists every account and
   storage slot each transaction read or wrote. The tracer does not see what the block does outside
   transactions, so these are added: the fee recipient, every withdrawal recipient, and the system
   contracts' slots: EIP-4788 beacon roots (``timestamp % 8191`` and ``+ 8191``, when the header
   has ``parentBeaconBlockRoot``); EIP-2935 block hashes (``(N-1) % 8191``), EIP-7002 withdrawal and
   EIP-7251 consolidation request queues (slots 0–3 and the queue entries the block dequeues),
   when the header has ``requestsHash``.
2. **Nodes.** ``eth_getProof(account, slots, N-1)`` for each account; the proofs' nodes (state and
   storage tries), deduplicated. Each account proof must start at the parent's ``stateRoot``.
3. **Codes.** The pre-state code of every touched account that has code (from the trace when it
   carries it, else ``eth_getCode``), checked against the account's ``codeHash``.
4. **Headers.** The parent's, and every ancestor back to the oldest block whose hash the block
   reads with ``BLOCKHASH``. Detection: a JavaScript tracer that records the operand of each
   ``BLOCKHASH`` (geth, anvil and reth serve JS tracers). When the node refuses it, the touched
   codes and creation inputs are scanned for the ``BLOCKHASH`` opcode (0x40, outside PUSH data);
   if any has it, all 256 ancestors are included, else the parent only. Headers come from
   ``eth_getBlockByNumber`` and are RLP-encoded (each must hash to its ``hash``).
5. **Keys.** Each touched address followed by its slots (20 and 32 bytes), as reth writes them.

**Post-state check.** Finally the block's writes (values from ``eth_getProof`` at N) are
re-applied to the witness tries (``trie_update.PartialTrie``) and the root compared with block N's
``stateRoot``: a match shows the witness holds every node the state-root update needs and that
no write escaped the trace. anvil 1.7.1 fails it for any block with an ``SSTORE`` of zero: it
keeps the slot as a leaf with value ``0x80`` instead of deleting it, so its ``stateRoot`` is not
what a conforming client computes and no guest can prove that block (reported as such).

**Known limit: branch collapse.** When the block deletes a key (a storage slot set to zero, an
account removed) and the branch node above it is left with one child, the trie update must read
that remaining sibling to merge it, and no pre-state proof contains the sibling (only its hash).
After assembly every deletion is checked (pre-state value non-empty, ``eth_getProof`` at N empty):
a lone sibling referenced by hash and absent from the node set is a ``CollapseRisk``. The module
then tries to fetch it: it searches (bounded, up to ``_GRIND_MAX_NIBBLES`` nibbles of prefix) for
an address or slot whose keccak path runs through the sibling and asks ``eth_getProof`` for it.
That works in shallow tries (anvil, small contracts); in mainnet's state trie the branch is too
deep and the risk is returned unresolved. Several deletions under one branch, or an insertion next
to a deletion, are not modelled: the check may report a risk that the update would not hit.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import rlp
import structlog
import trio

from ethproofs_daemon.chain.rpc import (
    JsonRpcClient,
    JsonValue,
    RpcMethodNotFound,
    RpcResponseError,
)
from ethproofs_daemon.chain.trie import (
    EMPTY_CODE_HASH,
    EMPTY_TRIE_ROOT,
    NodeKind,
    TrieError,
    decode_account,
    decode_node,
    lookup,
    nibbles,
)
from ethproofs_daemon.chain.trie_update import MissingNode, PartialTrie
from ethproofs_daemon.chain.witness_format import (
    ExecutionWitness,
    WitnessFormatError,
    decode_header,
    encode_header_json,
    hex_bytes,
)
from ethproofs_daemon.chain.witness_verify import BlockFacts, WitnessInvalid, verify_witness
from ethproofs_daemon.hashing import keccak

log = structlog.get_logger(__name__)

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
#: How far back ``BLOCKHASH`` reaches.
BLOCKHASH_WINDOW: Final = 256
_BLOCKHASH_OPCODE: Final = 0x40
#: Records the operand of every BLOCKHASH (geth's JS tracer API: log.op, log.stack.peek).
BLOCKHASH_JS_TRACER: Final = (
    "{n: [], step: function(log, db) { if (log.op.toNumber() == 0x40) "
    "{ this.n.push(log.stack.peek(0).toString(16)); } }, "
    "fault: function(log, db) {}, result: function(ctx, db) { return this.n; }}"
)
_GRIND_MAX_NIBBLES: Final = 5
_PROOF_CONCURRENCY: Final = 8


class WitnessSynthesisError(Exception):
    """The node's answers do not allow a witness to be built (message says which and why)."""


@dataclass(frozen=True, slots=True)
class CollapseRisk:
    """A deletion whose branch may collapse onto a sibling node the witness does not hold.

    ``account``: the 20-byte address; ``slot``: the 32-byte slot, or None for the account itself
    (state trie); ``sibling``: the missing node's hash; ``depth``: nibbles from the trie root to it.
    """

    account: bytes
    slot: bytes | None
    sibling: bytes
    depth: int


@dataclass(frozen=True, slots=True)
class SynthesizedWitness:
    """The result: ``witness`` (reth form, keys filled), ``blockhash_numbers`` (the block numbers
    read by ``BLOCKHASH``, or None when they were not traced), ``collapse_risks`` left
    unresolved, and ``post_state_error``: None when re-applying the block's writes to the witness
    reproduces the block's ``stateRoot`` (the witness suffices), else why it did not."""

    witness: ExecutionWitness
    blockhash_numbers: tuple[int, ...] | None
    collapse_risks: tuple[CollapseRisk, ...]
    post_state_error: str | None = None


@dataclass(frozen=True, slots=True)
class SynthesisBlock:
    """What synthesis reads from ``eth_getBlockByNumber(N, true)``.

    ``timestamp`` is Unix seconds; ``cancun``/``prague``: the header carries
    ``parentBeaconBlockRoot``/``requestsHash``; addresses are 20 bytes.
    """

    number: int
    parent_hash: bytes
    state_root: bytes
    miner: bytes
    timestamp: int
    cancun: bool
    prague: bool
    withdrawal_addresses: tuple[bytes, ...]
    creation_inputs: tuple[bytes, ...]

    @classmethod
    def from_json(cls, block: Mapping[str, JsonValue]) -> SynthesisBlock:
        """Parse the fields above. Raises ``WitnessSynthesisError`` when one is malformed."""
        try:
            facts = BlockFacts.from_block_json(dict(block))
            timestamp = block.get("timestamp")
            if not isinstance(timestamp, str):
                raise WitnessFormatError("block.timestamp missing")
            withdrawals = block.get("withdrawals")
            addresses = tuple(
                hex_bytes(w.get("address"), f"withdrawals[{i}].address")
                for i, w in enumerate(withdrawals if isinstance(withdrawals, list) else [])
                if isinstance(w, dict)
            )
            assert facts.parent_hash is not None
            return cls(
                number=facts.number,
                parent_hash=facts.parent_hash,
                state_root=hex_bytes(block.get("stateRoot"), "block.stateRoot"),
                miner=hex_bytes(block.get("miner"), "block.miner"),
                timestamp=int(timestamp, 16),
                cancun=block.get("parentBeaconBlockRoot") is not None,
                prague=block.get("requestsHash") is not None,
                withdrawal_addresses=addresses,
                creation_inputs=facts.creation_inputs,
            )
        except (WitnessFormatError, ValueError) as exc:
            raise WitnessSynthesisError(f"block JSON: {exc}") from exc


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
    return index.to_bytes(32, "big")


def blockhash_in_code(code: bytes) -> bool:
    """True when ``code`` has a BLOCKHASH opcode outside PUSH data (a static over-estimate)."""
    i = 0
    while i < len(code):
        op = code[i]
        if op == _BLOCKHASH_OPCODE:
            return True
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return False


def oldest_header_needed(block_number: int, blockhash_numbers: tuple[int, ...] | None) -> int:
    """Lowest block number whose header the witness needs (``block_number - 1`` at most).

    ``blockhash_numbers`` None means "BLOCKHASH may be used but the operands are unknown": the
    whole 256-block window. Numbers outside the window (BLOCKHASH gives 0 there) are ignored.
    """
    parent = block_number - 1
    low_window = max(0, block_number - BLOCKHASH_WINDOW)
    if blockhash_numbers is None:
        return low_window
    in_window = [n for n in blockhash_numbers if low_window <= n <= parent]
    return min([parent, *in_window])


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


@dataclass(frozen=True, slots=True)
class _AccountProof:
    nodes: tuple[bytes, ...]
    storage_hash: bytes
    code_hash: bytes
    slot_values: dict[bytes, int]


def _parse_proof(doc: JsonValue, address: bytes) -> _AccountProof:
    where = f"eth_getProof({_hex(address)})"
    if not isinstance(doc, dict):
        raise WitnessSynthesisError(f"{where}: result is not an object")
    try:
        account_proof = doc.get("accountProof")
        storage_proof = doc.get("storageProof")
        if not isinstance(account_proof, list) or not isinstance(storage_proof, list):
            raise WitnessFormatError("accountProof/storageProof missing")
        nodes = [hex_bytes(x, f"{where}.accountProof") for x in account_proof]
        values: dict[bytes, int] = {}
        for entry in storage_proof:
            if not isinstance(entry, dict) or not isinstance(entry.get("proof"), list):
                raise WitnessFormatError("storageProof entry malformed")
            proof = entry["proof"]
            assert isinstance(proof, list)
            nodes.extend(hex_bytes(x, f"{where}.storageProof") for x in proof)
            value = entry.get("value")
            key = hex_bytes(entry.get("key"), f"{where}.key").rjust(32, b"\0")
            values[key] = int(value, 16) if isinstance(value, str) and value != "0x" else 0
        return _AccountProof(
            nodes=tuple(nodes),
            storage_hash=hex_bytes(doc.get("storageHash"), f"{where}.storageHash"),
            code_hash=hex_bytes(doc.get("codeHash"), f"{where}.codeHash"),
            slot_values=values,
        )
    except (WitnessFormatError, ValueError) as exc:
        raise WitnessSynthesisError(f"{where}: {exc}") from exc


async def _get_proofs(
    rpc: JsonRpcClient, requests: Mapping[bytes, tuple[bytes, ...]], block_number: int
) -> dict[bytes, _AccountProof]:
    """``eth_getProof`` for each address with its slots at ``block_number``, 8 at a time."""
    results: dict[bytes, _AccountProof] = {}
    limiter = trio.CapacityLimiter(_PROOF_CONCURRENCY)

    async def one(address: bytes, slots: tuple[bytes, ...]) -> None:
        async with limiter:
            doc = await rpc.call(
                "eth_getProof", [_hex(address), [_hex(s) for s in slots], hex(block_number)]
            )
        results[address] = _parse_proof(doc, address)

    async with trio.open_nursery() as nursery:
        for address, slots in requests.items():
            nursery.start_soon(one, address, slots)
    return results


async def fetch_headers(rpc: JsonRpcClient, low: int, high: int) -> tuple[bytes, ...]:
    """RLP headers of blocks ``low..high`` (inclusive), oldest first, from
    ``eth_getBlockByNumber(n, false)``; each must hash to its ``hash``.

    Raises:
        WitnessSynthesisError: a block is missing or its header does not re-encode to its hash.
    """
    out: list[bytes] = []
    for number in range(low, high + 1):
        doc = await rpc.call("eth_getBlockByNumber", [hex(number), False])
        if not isinstance(doc, dict):
            raise WitnessSynthesisError(f"block {number} not found (ancestor header)")
        try:
            out.append(encode_header_json(doc, f"block {number} header"))
        except WitnessFormatError as exc:
            raise WitnessSynthesisError(str(exc)) from exc
    return tuple(out)


async def trace_blockhash_numbers(rpc: JsonRpcClient, block_number: int) -> tuple[int, ...] | None:
    """Block numbers the block reads with BLOCKHASH, via a JS tracer; None when not served."""
    try:
        trace = await rpc.call(
            "debug_traceBlockByNumber", [hex(block_number), {"tracer": BLOCKHASH_JS_TRACER}]
        )
    except RpcResponseError as exc:
        log.info("blockhash_trace_unavailable", block_number=block_number, error=str(exc))
        return None
    numbers: list[int] = []
    for entry in trace if isinstance(trace, list) else [None]:
        result = entry.get("result") if isinstance(entry, dict) else None
        if not isinstance(result, list):
            log.info("blockhash_trace_unavailable", block_number=block_number, entry=str(entry))
            return None
        try:
            numbers.extend(int(str(x), 16) for x in result)
        except ValueError:
            return None
    return tuple(numbers)


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


async def _add_request_queue_slots(
    rpc: JsonRpcClient, touched: Touched, proofs: dict[bytes, _AccountProof], parent: int
) -> None:
    """Add the EIP-7002/7251 queue entries the block dequeues (head..tail, capped per block)."""
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
        proofs.update(await _get_proofs(rpc, extra, parent))


async def synthesize_witness(
    rpc: JsonRpcClient, block_json: Mapping[str, JsonValue]
) -> SynthesizedWitness:
    """Build and self-verify a reth-form witness for the block ``block_json``
    (``eth_getBlockByNumber(N, true)``, N ≥ 1). See the module docstring for the method.

    Raises:
        RpcMethodNotFound: the node lacks ``debug_traceBlockByNumber`` or ``eth_getProof``.
        RpcTransportError: the node is unreachable (retry later).
        WitnessSynthesisError: any other inconsistent or unusable answer, including a result
            that fails ``verify_witness``.
    """
    block = SynthesisBlock.from_json(block_json)
    if block.number < 1:
        raise WitnessSynthesisError("block 0 has no parent state")
    parent = block.number - 1
    try:
        touched = await collect_touched(rpc, block)
        proofs = await _get_proofs(rpc, {a: tuple(s) for a, s in touched.slots.items()}, parent)
        await _add_request_queue_slots(rpc, touched, proofs, parent)
    except RpcMethodNotFound:
        raise
    except RpcResponseError as exc:
        raise WitnessSynthesisError(f"node refused a call: {exc}") from exc

    nodes: dict[bytes, bytes] = {}
    for address in touched.slots:
        for raw in proofs[address].nodes:
            nodes.setdefault(keccak(raw), raw)
    parent_header = await fetch_headers(rpc, parent, parent)
    parent_state_root = _state_root(parent_header[0])
    _check_proofs_reach_root(proofs, parent_state_root)

    codes = await _collect_codes(rpc, touched, proofs, parent)
    blockhash_numbers = await trace_blockhash_numbers(rpc, block.number)
    if blockhash_numbers is None:
        scanned = [*codes, *block.creation_inputs]
        if not any(blockhash_in_code(code) for code in scanned):
            blockhash_numbers = ()
            oldest = parent
        else:
            oldest = oldest_header_needed(block.number, None)
    else:
        oldest = oldest_header_needed(block.number, blockhash_numbers)
    headers = (
        await fetch_headers(rpc, oldest, parent - 1) if oldest < parent else ()
    ) + parent_header

    post = await _get_proofs(rpc, {a: tuple(s) for a, s in touched.slots.items()}, block.number)
    risks = await _resolve_collapses(
        rpc, block.number, touched, proofs, post, nodes, parent_state_root
    )
    post_state_error = check_post_state(
        touched, proofs, post, nodes, parent_state_root, block.state_root
    )
    if post_state_error is not None:
        log.warning(
            "witness_post_state_check_failed", block_number=block.number, error=post_state_error
        )
    # Proofs may list inline nodes (< 32 bytes) too; they live inside their parents. Roots stay.
    roots = {parent_state_root} | {p.storage_hash for p in proofs.values()}
    state = tuple(raw for h, raw in nodes.items() if len(raw) >= 32 or h in roots)
    witness = ExecutionWitness(state=state, codes=codes, keys=touched.keys(), headers=headers)
    try:
        verify_witness(
            witness,
            BlockFacts(block.number, block.parent_hash, block.creation_inputs),
        )
    except WitnessInvalid as exc:
        raise WitnessSynthesisError(f"synthesized witness fails verification: {exc}") from exc
    log.info(
        "witness_synthesized",
        block_number=block.number,
        accounts=len(touched.slots),
        state_nodes=len(state),
        codes=len(codes),
        headers=len(headers),
        collapse_risks=len(risks),
    )
    return SynthesizedWitness(witness, blockhash_numbers, tuple(risks), post_state_error)


def _state_root(raw_header: bytes) -> bytes:
    return decode_header(raw_header).state_root


def _check_proofs_reach_root(proofs: Mapping[bytes, _AccountProof], root: bytes) -> None:
    for address, proof in proofs.items():
        if proof.nodes and keccak(proof.nodes[0]) != root:
            raise WitnessSynthesisError(
                f"eth_getProof({_hex(address)}) starts at {_hex(keccak(proof.nodes[0]))}, "
                f"not the parent state root {_hex(root)}"
            )


async def _collect_codes(
    rpc: JsonRpcClient, touched: Touched, proofs: Mapping[bytes, _AccountProof], parent: int
) -> tuple[bytes, ...]:
    codes: dict[bytes, bytes] = {}
    for address in touched.slots:
        code_hash = proofs[address].code_hash
        if code_hash in (EMPTY_CODE_HASH, b"\0" * 32) or code_hash in codes:
            continue
        code = touched.codes.get(address)
        if code is None or keccak(code) != code_hash:
            doc = await rpc.call("eth_getCode", [_hex(address), hex(parent)])
            try:
                code = hex_bytes(doc, f"eth_getCode({_hex(address)})")
            except WitnessFormatError as exc:
                raise WitnessSynthesisError(str(exc)) from exc
        if keccak(code) != code_hash:
            raise WitnessSynthesisError(
                f"code of {_hex(address)} at block {parent} hashes to {_hex(keccak(code))}, "
                f"not its codeHash {_hex(code_hash)}"
            )
        codes[code_hash] = code
    return tuple(codes.values())


# --- branch collapse: detection and repair --------------------------------------------------------


def find_collapse_sibling(
    root: bytes, key_path: tuple[int, ...], nodes: Mapping[bytes, bytes]
) -> tuple[bytes, tuple[int, ...]] | None:
    """If deleting ``key_path`` (its leaf present under ``root``) leaves its lowest branch with a
    single child referenced by hash and absent from ``nodes``, return (that hash, its nibble path).
    """
    node_map = dict(nodes)
    result = lookup(root, key_path, node_map)
    if result.value is None or not result.complete:
        return None
    depth = 0
    last_branch: tuple[bytes, int] | None = None  # (raw, depth of the branch)
    for raw in result.path_nodes:
        node = decode_node(raw)
        if node.kind is NodeKind.BRANCH:
            last_branch = (raw, depth)
            depth += 1
        elif node.kind is NodeKind.EXTENSION:
            depth += len(node.path)
    if last_branch is None:
        return None
    branch = decode_node(last_branch[0])
    branch_depth = last_branch[1]
    others = [
        (i, c)
        for i, c in enumerate(branch.children)
        if c is not None and i != key_path[branch_depth]
    ]
    if len(others) != 1:
        return None
    nibble, child = others[0]
    if child.hash is None or child.hash in nodes:
        return None
    return child.hash, (*key_path[:branch_depth], nibble)


def grind_preimage(prefix: tuple[int, ...], length: int) -> bytes | None:
    """A ``length``-byte string whose keccak starts with the nibbles ``prefix``, found by counting;
    None when ``prefix`` is longer than ``_GRIND_MAX_NIBBLES`` (bounded work: ~16^len tries)."""
    if len(prefix) > _GRIND_MAX_NIBBLES:
        return None
    budget = 64 * 16 ** len(prefix)
    for counter in itertools.islice(itertools.count(1), budget):
        candidate = counter.to_bytes(length, "big")
        if nibbles(keccak(candidate)[: (len(prefix) + 1) // 2])[: len(prefix)] == prefix:
            return candidate
    return None


async def _resolve_collapses(
    rpc: JsonRpcClient,
    block_number: int,
    touched: Touched,
    pre: Mapping[bytes, _AccountProof],
    post: Mapping[bytes, _AccountProof],
    nodes: dict[bytes, bytes],
    state_root: bytes,
) -> list[CollapseRisk]:
    """Find deletions that may need a missing sibling, fetch those siblings where possible
    (adding them to ``nodes``) and return the risks left unresolved."""
    risks: list[tuple[CollapseRisk, bytes]] = []  # (risk, root of the trie it is in)
    for address, proof in pre.items():
        path = nibbles(keccak(address))
        existed = lookup(state_root, path, nodes).value is not None
        if existed and not _exists_after(post[address], path):
            found = find_collapse_sibling(state_root, path, nodes)
            if found is not None:
                risks.append((CollapseRisk(address, None, found[0], len(found[1])), state_root))
        if proof.storage_hash in (EMPTY_TRIE_ROOT, b"\0" * 32):
            continue
        for slot, value in proof.slot_values.items():
            if value != 0 and post[address].slot_values.get(slot, 0) == 0:
                found = find_collapse_sibling(proof.storage_hash, nibbles(keccak(slot)), nodes)
                if found is not None:
                    risk = CollapseRisk(address, slot, found[0], len(found[1]))
                    risks.append((risk, proof.storage_hash))
    unresolved: list[CollapseRisk] = []
    for risk, root in risks:
        if risk.sibling in nodes or await _fetch_sibling(rpc, risk, root, block_number - 1, nodes):
            log.info(
                "witness_collapse_sibling_fetched",
                block_number=block_number,
                sibling=_hex(risk.sibling),
                depth=risk.depth,
            )
            continue
        unresolved.append(risk)
        log.warning(
            "witness_collapse_risk",
            block_number=block_number,
            account=_hex(risk.account),
            slot=_hex(risk.slot) if risk.slot else None,
            sibling=_hex(risk.sibling),
            depth=risk.depth,
        )
    return unresolved


def check_post_state(
    touched: Touched,
    pre: Mapping[bytes, _AccountProof],
    post: Mapping[bytes, _AccountProof],
    nodes: Mapping[bytes, bytes],
    parent_state_root: bytes,
    expected_root: bytes,
) -> str | None:
    """Re-apply the block's writes (post-state values from ``eth_getProof`` at N) to the witness
    tries and compare with block N's ``stateRoot``. None when they match; else the reason: a node
    the update needs is missing (e.g. a branch-collapse sibling), a storage root differs (a write
    outside the touched slots) or the state root differs (a write outside the touched accounts).
    """
    store = dict(nodes)
    state = PartialTrie(parent_state_root, store)
    try:
        for address in touched.slots:
            path = nibbles(keccak(address))
            after = _account_after(post[address], path)
            if after is None:
                state.delete(path)
                continue
            account = decode_account(after)
            kept = _zero_slot_kept(post[address], account.storage_root, touched.slots[address])
            if kept is not None:
                return (
                    f"the node keeps storage slot {_hex(kept)} of {_hex(address)} in its trie with "
                    "value zero (anvil 1.7.1 does this for every SSTORE of 0), so the block's "
                    "stateRoot is not the one a conforming client (the guest) computes"
                )
            storage = PartialTrie(pre[address].storage_hash, store)
            for slot in touched.slots[address]:
                value = post[address].slot_values.get(slot, 0)
                if value:
                    storage.put(nibbles(keccak(slot)), rlp.encode(value))
                else:
                    storage.delete(nibbles(keccak(slot)))
            if storage.root_hash() != account.storage_root:
                return (
                    f"storage root of {_hex(address)} recomputes to {_hex(storage.root_hash())}, "
                    f"not {_hex(account.storage_root)} (a write outside the traced slots?)"
                )
            state.put(path, after)
    except MissingNode as exc:
        return f"the update needs a node the witness lacks: {exc}"
    except TrieError as exc:
        return f"a witness node does not decode: {exc}"
    if state.root_hash() != expected_root:
        return (
            f"state root recomputes to {_hex(state.root_hash())}, not the block's "
            f"{_hex(expected_root)} (a write outside the traced accounts?)"
        )
    return None


def _zero_slot_kept(
    post: _AccountProof, storage_root: bytes, slots: Mapping[bytes, None]
) -> bytes | None:
    """A touched slot whose post value is 0 but which the post-state trie still holds."""
    post_nodes = {keccak(raw): raw for raw in post.nodes}
    for slot in slots:
        if post.slot_values.get(slot, 0) == 0:
            value = lookup(storage_root, nibbles(keccak(slot)), post_nodes).value
            if value is not None:
                return slot
    return None


def _account_after(post: _AccountProof, path: tuple[int, ...]) -> bytes | None:
    """The account's RLP in the post-state, read from its own (post) proof; None if absent."""
    if not post.nodes:
        return None
    post_nodes = {keccak(raw): raw for raw in post.nodes}
    return lookup(keccak(post.nodes[0]), path, post_nodes).value


def _exists_after(post: _AccountProof, path: tuple[int, ...]) -> bool:
    """Whether the account at ``path`` is in the post-state, read from its own (post) proof."""
    if not post.nodes:
        return False
    post_nodes = {keccak(raw): raw for raw in post.nodes}
    return lookup(keccak(post.nodes[0]), path, post_nodes).value is not None


async def _fetch_sibling(
    rpc: JsonRpcClient, risk: CollapseRisk, root: bytes, parent: int, nodes: dict[bytes, bytes]
) -> bool:
    """Prove a ground key whose path runs through the sibling; True once it is in ``nodes``."""
    key = risk.slot if risk.slot is not None else risk.account
    found = find_collapse_sibling(root, nibbles(keccak(key)), nodes)
    if found is None:
        return risk.sibling in nodes
    preimage = grind_preimage(found[1], 32 if risk.slot is not None else 20)
    if preimage is None:
        return False
    if risk.slot is not None:
        doc = await rpc.call("eth_getProof", [_hex(risk.account), [_hex(preimage)], hex(parent)])
        fetched = _parse_proof(doc, risk.account)
    else:
        doc = await rpc.call("eth_getProof", [_hex(preimage), [], hex(parent)])
        fetched = _parse_proof(doc, preimage)
    for raw in fetched.nodes:
        nodes.setdefault(keccak(raw), raw)
    return risk.sibling in nodes


__all__ = [
    "CollapseRisk",
    "SynthesisBlock",
    "SynthesizedWitness",
    "TrieError",
    "WitnessSynthesisError",
    "blockhash_in_code",
    "fetch_headers",
    "find_collapse_sibling",
    "grind_preimage",
    "oldest_header_needed",
    "parse_prestate",
    "synthesize_witness",
]
