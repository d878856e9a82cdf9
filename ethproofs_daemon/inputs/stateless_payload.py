"""A typed block → the ``NewPayloadRequest`` of the stateless input (pure).

What the engine API's ``engine_newPayloadV4`` would carry, as the consensus layer builds it
(``ethereum/consensus-specs@a08d8a6e:specs/{bellatrix,capella,deneb,electra}/beacon-chain.md``,
``NewPayloadRequest``, ``ExecutionPayload``): payload fields from the header (``fee_recipient`` =
``miner``, ``prev_randao`` = ``mixHash``, ``block_hash`` = keccak of the header RLP), the
transactions as their EIP-2718 encodings, the withdrawals; ``versioned_hashes`` = every blob
transaction's ``blobVersionedHashes`` in transaction order; ``parent_beacon_block_root`` from the
header; ``execution_requests`` as given (``ssz.requests``). The value is a py-ssz tuple for the
fork's container in ``ssz.types``.

Which fork a mainnet block belongs to (its schema id): by block number for Paris, then by
timestamp: Shanghai 1681338455, Cancun 1710338135, Prague 1746612311, Osaka 1764798551,
BPO1 1765290071, BPO2 1767747671 (``ethereum/go-ethereum:params/config.go``,
``MainnetChainConfig``; the merge's first proof-of-stake block is 15537394).
"""

from __future__ import annotations

from typing import Any, Final

from ethproofs_daemon.eth.tx_encoding import tx_encoding
from ethproofs_daemon.eth.types import Block, BlockHeader, EIP4844Transaction
from ethproofs_daemon.ssz.requests import EMPTY_REQUESTS_HASH, ExecutionRequests
from ethproofs_daemon.ssz.stateless import ProtocolFork
from ethproofs_daemon.ssz.types import (
    MAX_BLOB_COMMITMENTS_PER_BLOCK,
    MAX_EXTRA_DATA_BYTES,
    MAX_WITHDRAWALS_PER_PAYLOAD,
    Fork,
)

from .checks import block_hash
from .errors import InputError

#: Mainnet's first proof-of-stake block (The Merge).
MAINNET_MERGE_BLOCK: Final = 15_537_394

#: Mainnet fork activation times (Unix seconds), newest first.
MAINNET_FORK_TIMES: Final = (
    (1_767_747_671, ProtocolFork.BPO2),
    (1_765_290_071, ProtocolFork.BPO1),
    (1_764_798_551, ProtocolFork.OSAKA),
    (1_746_612_311, ProtocolFork.PRAGUE),
    (1_710_338_135, ProtocolFork.CANCUN),
    (1_681_338_455, ProtocolFork.SHANGHAI),
)


def mainnet_protocol_fork(number: int, timestamp: int) -> ProtocolFork:
    """The mainnet fork of the block ``number`` with ``timestamp`` (Unix seconds).

    Amsterdam has no mainnet time yet, so BPO2 is the latest answer.

    Raises:
        InputError: a proof-of-work block (before ``MAINNET_MERGE_BLOCK``): no schema exists.
    """
    for since, fork in MAINNET_FORK_TIMES:
        if timestamp >= since:
            return fork
    if number >= MAINNET_MERGE_BLOCK:
        return ProtocolFork.PARIS
    raise InputError("block.number", f"mainnet block {number} is before the merge: no schema")


def _needed(value: Any, field: str, fork: ProtocolFork) -> Any:
    if value is None:
        raise InputError(field, f"missing, but a {fork.name} payload needs it")
    return value


def resolve_execution_requests(
    header: BlockHeader, fork: ProtocolFork, given: ExecutionRequests | None
) -> ExecutionRequests | None:
    """The requests to put in the payload request, checked against the header (EIP-7685).

    Returns:
        None before Prague (the container has no requests); ``given`` when it hashes to the
        header's ``requestsHash``; empty requests when none were given and the header commits to
        no requests (``requestsHash == sha256(b"")``: no beacon node needed).

    Raises:
        InputError: ``block.requestsHash`` missing on a Prague+ block; requests needed but not
            given (they come from the beacon node, ``BEACON_API_URL``); given requests that do
            not hash to ``requestsHash``; non-empty requests for a pre-Prague fork.
    """
    if fork.request_fork in (Fork.BELLATRIX, Fork.CAPELLA, Fork.DENEB):
        if given is not None and given.requests_list():
            raise InputError("execution_requests", f"a {fork.name} payload has no requests")
        return None
    expected: bytes = _needed(header.requests_hash, "block.requestsHash", fork)
    if given is None:
        if expected == EMPTY_REQUESTS_HASH:
            return ExecutionRequests()
        raise InputError(
            "execution_requests",
            f"block {header.number} carries execution requests (requestsHash "
            f"0x{expected.hex()}); the execution node does not serve them: configure a beacon "
            "node (BEACON_API_URL) to read them from GET /eth/v2/beacon/blocks/{block_id}",
        )
    got = given.requests_hash()
    if got != expected:
        raise InputError(
            "execution_requests",
            f"the requests hash to 0x{got.hex()} (EIP-7685), the header's requestsHash is "
            f"0x{expected.hex()}",
        )
    return given


def _payload(block: Block, fork: ProtocolFork) -> tuple[Any, ...]:
    h = block.header
    if len(h.extra_data) > MAX_EXTRA_DATA_BYTES:
        raise InputError("block.extraData", f"{len(h.extra_data)} bytes exceed 32")
    transactions = []
    for i, tx in enumerate(block.body.transactions):
        try:
            transactions.append(tx_encoding(tx))
        except InputError as exc:
            raise InputError(f"block.transactions[{i}]", exc.reason) from None
    fields: list[Any] = [
        h.parent_hash, h.coinbase, h.state_root, h.receipts_root, h.logs_bloom, h.prev_randao,
        h.number, h.gas_limit, h.gas_used, h.timestamp, h.extra_data,
        _needed(h.base_fee_per_gas, "block.baseFeePerGas", fork), block_hash(block),
        tuple(transactions),
    ]  # fmt: skip
    if fork.request_fork is Fork.BELLATRIX:
        return tuple(fields)
    withdrawals = _needed(block.body.withdrawals, "block.withdrawals", fork)
    if len(withdrawals) > MAX_WITHDRAWALS_PER_PAYLOAD:
        raise InputError("block.withdrawals", f"{len(withdrawals)} exceed the limit of 16")
    fields.append(tuple((w.index, w.validator_index, w.address, w.amount) for w in withdrawals))
    if fork.request_fork is Fork.CAPELLA:
        return tuple(fields)
    fields.append(_needed(h.blob_gas_used, "block.blobGasUsed", fork))
    fields.append(_needed(h.excess_blob_gas, "block.excessBlobGas", fork))
    return tuple(fields)


def versioned_hashes(block: Block) -> tuple[bytes, ...]:
    """Every blob transaction's versioned hashes (32 bytes each), in transaction order."""
    return tuple(
        vh
        for tx in block.body.transactions
        if isinstance(tx, EIP4844Transaction)
        for vh in tx.blob_versioned_hashes
    )


def new_payload_request_value(
    block: Block, fork: ProtocolFork, requests: ExecutionRequests | None
) -> Any:
    """The py-ssz value of ``fork``'s ``NewPayloadRequest`` for ``block``.

    Args:
        requests: from ``resolve_execution_requests`` (None before Prague).

    Raises:
        InputError: a header field the fork's container needs is missing (``block.<jsonName>``),
            ``extraData`` over 32 bytes, over 16 withdrawals or 4096 versioned hashes, an
            L2-only transaction (``block.transactions[i]``); Amsterdam (not supported: the typed
            block carries no block access list or slot number).
    """
    if fork is ProtocolFork.AMSTERDAM:
        raise InputError(
            "fork",
            "AMSTERDAM (schema 0x1501) needs a Gloas payload (block access list, slot number) "
            "that the typed block does not carry",
        )
    payload = _payload(block, fork)
    if fork.request_fork in (Fork.BELLATRIX, Fork.CAPELLA):
        return (payload,)
    hashes = versioned_hashes(block)
    if len(hashes) > MAX_BLOB_COMMITMENTS_PER_BLOCK:
        raise InputError("block.transactions", f"{len(hashes)} versioned hashes exceed 4096")
    root = _needed(block.header.parent_beacon_block_root, "block.parentBeaconBlockRoot", fork)
    if fork.request_fork is Fork.DENEB:
        return (payload, hashes, root)
    if requests is None:
        raise InputError("execution_requests", f"a {fork.name} payload needs its requests")
    return (payload, hashes, root, requests.ssz_value())
