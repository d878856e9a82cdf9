"""Build an execution witness for nodes without ``debug_executionWitness`` (anvil, hardhat, most
hosted RPCs), in the reth wire form (``state``, ``codes``, ``keys``, RLP ``headers``).

For block N (this project's method; no published source describes it. Checked against anvil 1.7.1,
whose ``eth_getProof`` answers at N-1 chain to the parent's ``stateRoot``):

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
then tries to fetch it: it searches (bounded, up to ``branch_collapse._GRIND_MAX_NIBBLES`` nibbles
of prefix) for an address or slot whose keccak path runs through the sibling and asks
``eth_getProof`` for it.
That works in shallow tries (anvil, small contracts); in mainnet's state trie the branch is too
deep and the risk is returned unresolved. Several deletions under one branch, or an insertion next
to a deletion, are not modelled: the check may report a risk that the update would not hit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from ethproofs_daemon.eth.json import JsonValue
from ethproofs_daemon.eth.mpt import EMPTY_CODE_HASH, TrieError
from ethproofs_daemon.eth.witness import (
    ExecutionWitness,
    WitnessFormatError,
    decode_header,
    hex_bytes,
)
from ethproofs_daemon.hashing import keccak
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcMethodNotFound, RpcResponseError
from ethproofs_daemon.witness.account_proofs import AccountProof, get_proofs, hex_0x
from ethproofs_daemon.witness.ancestor_headers import (
    blockhash_in_code,
    fetch_headers,
    oldest_header_needed,
    trace_blockhash_numbers,
)
from ethproofs_daemon.witness.branch_collapse import (
    CollapseRisk,
    check_post_state,
    find_collapse_sibling,
    grind_preimage,
    resolve_collapses,
)
from ethproofs_daemon.witness.synthesis_block import SynthesisBlock, WitnessSynthesisError
from ethproofs_daemon.witness.touched_state import (
    HISTORY_STORAGE_ADDRESS,
    Touched,
    add_request_queue_slots,
    collect_touched,
    parse_prestate,
)
from ethproofs_daemon.witness.verify import WitnessBlockFacts, WitnessInvalid, verify_witness

log = structlog.get_logger(__name__)


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


async def synthesize_witness(
    rpc: JsonRpcClient, block_json: Mapping[str, JsonValue]
) -> SynthesizedWitness:
    """Build and self-verify a reth-form witness for the block ``block_json``
    (``eth_getBlockByNumber(N, true)``, N ≥ 1). See the module docstring for the method.

    Raises:
        RpcMethodNotFound: the node lacks ``debug_traceBlockByNumber`` or ``eth_getProof``.
        RpcTransportError: the node is unreachable (retry later).
        RpcMalformedResponse: a reply is not a JSON-RPC response (or is over the size limit).
        WitnessSynthesisError: any other inconsistent or unusable answer (the block JSON
            included), including proof nodes that do not decode (``TrieError``) and a result that
            fails ``verify_witness``.
    """
    return await synthesize_block_witness(rpc, SynthesisBlock.from_json(block_json))


async def synthesize_block_witness(rpc: JsonRpcClient, block: SynthesisBlock) -> SynthesizedWitness:
    """``synthesize_witness`` for a block already read (``SynthesisBlock.from_block``).

    Raises:
        RpcMethodNotFound: as ``synthesize_witness``.
        RpcTransportError: as ``synthesize_witness``.
        RpcMalformedResponse: as ``synthesize_witness``.
        WitnessSynthesisError: as ``synthesize_witness``.
    """
    try:
        return await _synthesize_block_witness(rpc, block)
    except TrieError as exc:
        raise WitnessSynthesisError(f"a proof node does not decode: {exc}") from exc


async def _synthesize_block_witness(rpc: JsonRpcClient, block: SynthesisBlock
                                    ) -> SynthesizedWitness:
    if block.number < 1:
        raise WitnessSynthesisError("block 0 has no parent state")
    parent = block.number - 1
    try:
        touched = await collect_touched(rpc, block)
        proofs = await get_proofs(rpc, {a: tuple(s) for a, s in touched.slots.items()}, parent)
        await add_request_queue_slots(rpc, touched, proofs, parent)
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

    post = await get_proofs(rpc, {a: tuple(s) for a, s in touched.slots.items()}, block.number)
    risks = await resolve_collapses(
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
            WitnessBlockFacts(block.number, block.parent_hash, block.creation_inputs),
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


def _check_proofs_reach_root(proofs: Mapping[bytes, AccountProof], root: bytes) -> None:
    for address, proof in proofs.items():
        if proof.nodes and keccak(proof.nodes[0]) != root:
            raise WitnessSynthesisError(
                f"eth_getProof({hex_0x(address)}) starts at {hex_0x(keccak(proof.nodes[0]))}, "
                f"not the parent state root {hex_0x(root)}"
            )


async def _collect_codes(
    rpc: JsonRpcClient, touched: Touched, proofs: Mapping[bytes, AccountProof], parent: int
) -> tuple[bytes, ...]:
    codes: dict[bytes, bytes] = {}
    for address in touched.slots:
        code_hash = proofs[address].code_hash
        if code_hash in (EMPTY_CODE_HASH, b"\0" * 32) or code_hash in codes:
            continue
        code = touched.codes.get(address)
        if code is None or keccak(code) != code_hash:
            doc = await rpc.call("eth_getCode", [hex_0x(address), hex(parent)])
            try:
                code = hex_bytes(doc, f"eth_getCode({hex_0x(address)})")
            except WitnessFormatError as exc:
                raise WitnessSynthesisError(str(exc)) from exc
        if keccak(code) != code_hash:
            raise WitnessSynthesisError(
                f"code of {hex_0x(address)} at block {parent} hashes to {hex_0x(keccak(code))}, "
                f"not its codeHash {hex_0x(code_hash)}"
            )
        codes[code_hash] = code
    return tuple(codes.values())


__all__ = [
    "HISTORY_STORAGE_ADDRESS",
    "CollapseRisk",
    "SynthesisBlock",
    "SynthesizedWitness",
    "TrieError",
    "WitnessSynthesisError",
    "blockhash_in_code",
    "collect_touched",
    "fetch_headers",
    "find_collapse_sibling",
    "grind_preimage",
    "oldest_header_needed",
    "parse_prestate",
    "synthesize_block_witness",
    "synthesize_witness",
]
