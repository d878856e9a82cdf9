"""Where a block's execution witness comes from: the node's ``debug_executionWitness``, a witness
synthesized from proofs (``synthesis.py``), or ``auto`` (the first, falling back to the
second when the node answers ``-32601 Method not found``, as anvil does).

Whatever the source, the result is one typed ``eth.witness.ExecutionWitness`` with RLP headers and
``keys`` filled, which the ethrex 891528d input conversion requires (its ``RpcExecutionWitness``
takes ``state``, ``keys``, ``codes`` and ``headers`` as arrays of hex strings and refuses
``keys: null``; lambdaclass/ethrex@891528d:crates/networking/rpc/debug/execution_witness.rs):
``fetch_execution_witness``; ``fetch_witness`` writes the same out in the reth wire form for
callers that store or hand on JSON. A geth-form answer
(JSON headers, ``keys: null``) is completed: its headers are re-encoded to RLP by
``parse_witness`` and its keys are recovered from the block's prestate trace
(``touched_state.collect_touched``).

Errors (what the daemon does with each):

- ``WitnessUnavailable``: no witness can be had from this node for now (method missing in
  ``debug`` mode, node error, synthesis impossible or incomplete): ``witness_unavailable``.
- ``WitnessInvalid`` (from ``eth.witness``): the node's witness is malformed: ``input_error``.
- ``RpcTransportError``: the node is unreachable; retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import structlog

from ethproofs_daemon.config import WitnessSourceMode
from ethproofs_daemon.eth.json import JsonValue
from ethproofs_daemon.eth.types import Block
from ethproofs_daemon.eth.witness import ExecutionWitness, parse_witness
from ethproofs_daemon.node.rpc import (
    JsonRpcClient,
    RpcMalformedResponse,
    RpcMethodNotFound,
    RpcResponseError,
)
from ethproofs_daemon.witness.synthesis import (
    SynthesisBlock,
    WitnessSynthesisError,
    collect_touched,
    synthesize_block_witness,
    synthesize_witness,
)

log = structlog.get_logger(__name__)


class WitnessUnavailable(Exception):
    """No witness for this block can be obtained from the node now (message says why)."""


class WitnessIncomplete(WitnessUnavailable):
    """A synthesized witness may lack a sibling node a branch collapse needs (``risks`` lists
    them; ``witness.synthesis``, "Known limit"), or re-applying the block's writes to it does not
    give the block's ``stateRoot`` (``witness.synthesis``, "Post-state check")."""

    def __init__(self, message: str, risks: tuple[object, ...]) -> None:
        super().__init__(message)
        self.risks = risks


async def fetch_execution_witness(
    rpc: JsonRpcClient,
    block_number: int,
    block: Block | Mapping[str, JsonValue],
    mode: WitnessSourceMode | str,
    *,
    allow_incomplete: bool = False,
) -> ExecutionWitness:
    """The witness of block ``block_number``, typed, ``keys`` always filled.

    Args:
        rpc: the node's client.
        block_number: the block the witness is for.
        block: the block, typed (the daemon parsed ``eth_getBlockByNumber(block_number, true)``
            once at its RPC edge) or as that JSON; read only for synthesis and key recovery (fee
            recipient, withdrawals, fork fields, transactions).
        mode: ``debug`` | ``synthesize`` | ``auto`` (a ``config.WitnessSourceMode`` or its value).
        allow_incomplete: return a synthesized witness even when a branch-collapse sibling could
            not be fetched (otherwise ``WitnessIncomplete``).

    Raises:
        WitnessUnavailable: no witness from this node for now (method missing in ``debug`` mode,
            node error, synthesis impossible); ``WitnessIncomplete`` when a synthesized witness
            may lack a node and ``allow_incomplete`` is False.
        WitnessInvalid: the node's witness is malformed.
        RpcTransportError: the node is unreachable.
        RpcMalformedResponse: a synthesis call's reply is not a JSON-RPC response (or is over
            the size limit).
    """
    source = WitnessSourceMode(mode)
    if source is not WitnessSourceMode.SYNTHESIZE:
        try:
            doc = await rpc.call("debug_executionWitness", [hex(block_number)])
        except RpcMethodNotFound as exc:
            if source is WitnessSourceMode.DEBUG:
                raise WitnessUnavailable(
                    f"the node does not serve debug_executionWitness ({exc}); "
                    "set WITNESS_SOURCE=auto or synthesize"
                ) from exc
            log.info("witness_method_missing", block_number=block_number, fallback="synthesize")
        except (RpcResponseError, RpcMalformedResponse) as exc:
            raise WitnessUnavailable(f"debug_executionWitness({block_number}): {exc}") from exc
        else:
            witness = parse_witness(doc)
            if witness.keys is None:
                witness = await complete_witness(rpc, block, witness)
            return witness
    return await _synthesize(rpc, block_number, block, allow_incomplete=allow_incomplete)


async def fetch_witness(
    rpc: JsonRpcClient,
    block_number: int,
    block_json: Mapping[str, object],
    mode: WitnessSourceMode | str,
    *,
    allow_incomplete: bool = False,
) -> dict[str, object]:
    """``fetch_execution_witness`` written out in the reth wire form, for callers that store or
    hand on JSON (the daemon's own paths take the typed value).

    Args:
        block_json: the ``eth_getBlockByNumber(block_number, true)`` result.

    Returns:
        ``{"state", "codes", "keys", "headers"}``, each a list of 0x-hex strings.

    Raises:
        WitnessUnavailable: as ``fetch_execution_witness``.
        WitnessInvalid: as ``fetch_execution_witness``.
        RpcTransportError: as ``fetch_execution_witness``.
    """
    block = cast(dict[str, JsonValue], dict(block_json))
    witness = await fetch_execution_witness(
        rpc, block_number, block, mode, allow_incomplete=allow_incomplete
    )
    return cast(dict[str, object], witness.to_json())


def _synthesis_block(block: Block | Mapping[str, JsonValue]) -> SynthesisBlock:
    if isinstance(block, Block):
        return SynthesisBlock.from_block(block)
    return SynthesisBlock.from_json(block)


async def complete_witness(
    rpc: JsonRpcClient, block: Block | Mapping[str, JsonValue], witness: ExecutionWitness
) -> ExecutionWitness:
    """Fill in the ``keys`` of a geth-form witness from the block's prestate trace.

    ``block``: typed, or ``eth_getBlockByNumber(n, true)`` JSON.

    Raises:
        WitnessUnavailable: the node cannot trace the block, or the trace or the block JSON is
            malformed.
        RpcTransportError: the node is unreachable.
    """
    try:
        synthesis_block = _synthesis_block(block)
        touched = await collect_touched(rpc, synthesis_block)
    except RpcResponseError as exc:
        raise WitnessUnavailable(
            f"geth-form witness of block {hex(synthesis_block.number)} has no keys, and they "
            f"cannot be recovered: debug_traceBlockByNumber failed ({exc})"
        ) from exc
    except WitnessSynthesisError as exc:
        raise WitnessUnavailable(f"recovering witness keys: {exc}") from exc
    log.info(
        "witness_keys_recovered", block_number=synthesis_block.number, keys=len(touched.keys())
    )
    return ExecutionWitness(witness.state, witness.codes, touched.keys(), witness.headers)


async def _synthesize(
    rpc: JsonRpcClient,
    block_number: int,
    block: Block | Mapping[str, JsonValue],
    *,
    allow_incomplete: bool,
) -> ExecutionWitness:
    if isinstance(block, Block):
        number: object = hex(block.header.number)
    else:
        number = block.get("number")
    if number != hex(block_number):
        raise WitnessUnavailable(f"block JSON is for block {number!r}, not {hex(block_number)}")
    try:
        if isinstance(block, Block):
            result = await synthesize_block_witness(rpc, SynthesisBlock.from_block(block))
        else:
            result = await synthesize_witness(rpc, block)
    except RpcMethodNotFound as exc:
        raise WitnessUnavailable(
            f"cannot synthesize a witness for block {block_number}: the node serves neither "
            f"debug_executionWitness nor the methods synthesis needs ({exc})"
        ) from exc
    except RpcResponseError as exc:
        raise WitnessUnavailable(f"synthesizing block {block_number}: {exc}") from exc
    except WitnessSynthesisError as exc:
        raise WitnessUnavailable(f"synthesizing block {block_number}: {exc}") from exc
    if result.collapse_risks and not allow_incomplete:
        first = result.collapse_risks[0]
        raise WitnessIncomplete(
            f"synthesized witness of block {block_number} may lack {len(result.collapse_risks)} "
            f"node(s) a trie branch collapse needs (first: sibling 0x{first.sibling.hex()} at "
            f"depth {first.depth}, account 0x{first.account.hex()})",
            result.collapse_risks,
        )
    if result.post_state_error is not None and not allow_incomplete:
        raise WitnessIncomplete(
            f"synthesized witness of block {block_number} does not reproduce the block's state "
            f"root: {result.post_state_error}",
            result.collapse_risks,
        )
    return result.witness
