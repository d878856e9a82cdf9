"""Prepare one block's guest input from the node: block, witness, verification, build.

``RpcInputSource.prepare(n)``:

1. ``eth_getBlockByNumber(n, true)``, parsed once, here, into a typed block
   (``inputs.rpc_block.rpc_block_from_json``; with an external builder only its header, as that
   builder reads the node itself);
2. the execution witness from the configured source (``witness/source.py``: the node's
   ``debug_executionWitness``, or one synthesized from proofs, or ``auto``), typed;
3. witness verification (``witness/verify.py``) against the parent's state root: a bad witness
   fails here, before any GPU time is spent (the one state-root check of this path);
4. the input: the guest profile's built-in codec (``inputs.codecs.build_guest_input`` on the
   typed values: ethrex rkyv, zec-reth bincode or stateless SSZ; run in a worker thread: it is
   CPU-bound) or the operator's external builder. A stateless-SSZ input of a block carrying
   EIP-7685 requests takes them from the Beacon API (``BEACON_API_URL``).

``PreparedInput``'s block facts (hash, gas used, transaction count) come from the typed block.

Errors are mapped to the job lifecycle: a node that does not answer the block request →
``NodeUnavailable`` (no attempt counted, the job waits); a node that has not got the block
(``null``) → ``BlockNotServed`` (the input generator decides: wait, or ``block_unavailable``); a
node without the witness method, or whose connection fails while it serves the witness →
``witness_unavailable``; a witness fetch that times out → ``witness_timeout``; bad block/witness
data → ``input_error``, including a block that is not the one asked for (another number, or a
header that does not hash to the ``hash`` the node gave), a reply over
``RPC_MAX_RESPONSE_BYTES``, JSON or RLP nested too deep, proof nodes that do not decode, and a
witness whose embedded tries would be far larger than the witness itself
(``inputs.trie.Embedder``: the bound that keeps input building proportional to the witness's
bytes).
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import trio

from ethproofs_daemon.config import Settings, WitnessSourceMode
from ethproofs_daemon.eth.mpt import TrieError
from ethproofs_daemon.eth.types import Block, BlockHeader
from ethproofs_daemon.eth.witness import ExecutionWitness, WitnessInvalid
from ethproofs_daemon.inputs import hexjson
from ethproofs_daemon.inputs.build import chain_config_by_name
from ethproofs_daemon.inputs.checks import check_block_hash
from ethproofs_daemon.inputs.codecs import BlockData, build_guest_input
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.profiles import (
    DEFAULT_PROFILE_NAME,
    Codec,
    GuestProfile,
    load_profiles,
)
from ethproofs_daemon.inputs.rpc_block import header_from_json, rpc_block_from_json
from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.node.beacon import BeaconError, beacon_requests_fetcher
from ethproofs_daemon.node.external_builder import run_external_builder
from ethproofs_daemon.node.preparation import (
    BlockNotServed,
    InputPreparationFailed,
    NodeUnavailable,
    PreparedInput,
)
from ethproofs_daemon.node.rpc import (
    JsonRpcClient,
    RpcError,
    RpcMalformedResponse,
    RpcResponseError,
    RpcTransportError,
)
from ethproofs_daemon.ssz.requests import EMPTY_REQUESTS_HASH, ExecutionRequests
from ethproofs_daemon.witness.source import WitnessUnavailable, fetch_execution_witness
from ethproofs_daemon.witness.verify import WitnessBlockFacts, verify_witness


@dataclass
class RpcInputSource:
    """See the module docstring. ``witness_timeout_s`` bounds step 2 (seconds)."""

    rpc: JsonRpcClient
    profile: GuestProfile
    chain: str
    witness_mode: WitnessSourceMode
    witness_timeout_s: float
    external_builder: list[str] | None = None
    external_timeout_s: float = 600.0
    #: Called with the seconds each successful witness fetch took (metrics).
    observe_witness_s: Callable[[float], None] | None = None
    #: ``ALLOW_UNCONFIRMED_CHAIN_CONFIG``: zec-reth chain configurations no golden input confirms.
    allow_unconfirmed_chain: bool = False
    #: Returns the block's EIP-7685 requests (stateless-SSZ inputs of blocks carrying requests;
    #: ``node.beacon``); None: such blocks fail with an input error naming BEACON_API_URL.
    fetch_requests: Callable[[Block], Awaitable[ExecutionRequests]] | None = None

    @property
    def missing_block_timeout_s(self) -> float:
        """``witness_timeout_s``: how long a block below the head may go unserved (seconds)."""
        return self.witness_timeout_s

    @classmethod
    def from_settings(cls, settings: Settings, rpc: JsonRpcClient) -> RpcInputSource:
        """Build from ``Settings`` (profile from ``GUEST_PROFILE`` or the default). ``rpc`` is
        the daemon's node client, which already carries ``RPC_TIMEOUT_SECONDS`` and
        ``RPC_MAX_RESPONSE_BYTES`` (``app.build_daemon``)."""
        profiles = load_profiles()
        profile = profiles[settings.guest_profile or DEFAULT_PROFILE_NAME]
        external = (
            shlex.split(settings.external_input_builder)
            if settings.external_input_builder
            else None
        )
        return cls(
            rpc,
            profile,
            settings.chain,
            settings.witness_source,
            settings.witness_timeout_seconds,
            external,
            allow_unconfirmed_chain=settings.allow_unconfirmed_chain_config,
            fetch_requests=beacon_requests_fetcher(settings.beacon_api_url),
        )

    async def prepare(self, block_number: int) -> PreparedInput:
        """Block + witness + checks + input for ``block_number`` (see the module docstring).

        Raises:
            InputPreparationFailed: bad block or witness data, no witness from the node, or a
                witness fetch over ``witness_timeout_s`` (``reason`` says which).
            NodeUnavailable: the node does not answer; ``BlockNotServed``: it has not got the
                block.
        """
        block_json = await self._fetch_block(block_number)
        if self.external_builder is not None:
            header, tx_count = _parse_header(block_json)
            _check_number(block_number, header.number)
            data = await self._external(block_number)
            block_hash = str(block_json.get("hash", ""))[:66]
            return PreparedInput(data, block_hash, header.gas_used, tx_count)
        try:
            rpc_block = rpc_block_from_json(block_json)
            check_block_hash(rpc_block.block, rpc_block.hash)
        except InputError as exc:
            raise InputPreparationFailed(FailureReason.INPUT_ERROR, "block", str(exc)) from exc
        _check_number(block_number, rpc_block.block.header.number)
        block = rpc_block.block
        started = trio.current_time()
        witness = await self._fetch_witness(block_number, block)
        if self.observe_witness_s is not None:
            self.observe_witness_s(trio.current_time() - started)
        try:
            verify_witness(witness, WitnessBlockFacts.from_block(block))
        except WitnessInvalid as exc:
            raise InputPreparationFailed(FailureReason.INPUT_ERROR, "verify", str(exc)) from exc
        requests = await self._requests(block)
        try:
            chain = chain_config_by_name(self.chain)
            data = await trio.to_thread.run_sync(
                partial(
                    build_guest_input,
                    self.profile,
                    BlockData(block, witness, rpc_block.senders, rpc_block.hash, requests),
                    chain,
                    witness_verified=True,
                    allow_unconfirmed_chain=self.allow_unconfirmed_chain,
                )
            )
        except InputError as exc:
            raise InputPreparationFailed(FailureReason.INPUT_ERROR, "build", str(exc)) from exc
        return PreparedInput(
            data,
            "0x" + rpc_block.hash.hex(),
            block.header.gas_used,
            len(block.body.transactions),
        )

    async def _requests(self, block: Block) -> ExecutionRequests | None:
        """The block's EIP-7685 requests when its guest input needs them from the Beacon API:
        a stateless-SSZ profile and a ``requestsHash`` that is not the hash of no requests."""
        header = block.header
        if (
            self.profile.codec is not Codec.STATELESS_SSZ
            or header.requests_hash is None
            or header.requests_hash == EMPTY_REQUESTS_HASH
            or self.fetch_requests is None
        ):
            return None
        try:
            return await self.fetch_requests(block)
        except BeaconError as exc:
            raise InputPreparationFailed(
                FailureReason.WITNESS_UNAVAILABLE, "beacon", str(exc)
            ) from exc

    async def _fetch_block(self, block_number: int) -> Mapping[str, object]:
        try:
            block = await self.rpc.call("eth_getBlockByNumber", [hex(block_number), True])
        except RpcTransportError as exc:
            raise NodeUnavailable(str(exc)) from exc
        except (RpcResponseError, RpcMalformedResponse) as exc:
            raise InputPreparationFailed(FailureReason.INPUT_ERROR, "block", str(exc)) from exc
        if block is None:
            # Not synced that far, or pruned: the input generator decides (wait or fail).
            raise BlockNotServed(block_number)
        if not isinstance(block, dict):
            raise InputPreparationFailed(
                FailureReason.INPUT_ERROR,
                "block",
                f"eth_getBlockByNumber({block_number}) returned {type(block).__name__}, "
                "not a block object",
            )
        return block

    async def _fetch_witness(self, block_number: int, block: Block) -> ExecutionWitness:
        try:
            with trio.fail_after(self.witness_timeout_s):
                return await fetch_execution_witness(
                    self.rpc, block_number, block, self.witness_mode
                )
        except trio.TooSlowError as exc:
            raise InputPreparationFailed(
                FailureReason.WITNESS_TIMEOUT,
                "witness",
                f"no witness within {self.witness_timeout_s:g} s",
            ) from exc
        except WitnessUnavailable as exc:
            raise InputPreparationFailed(
                FailureReason.WITNESS_UNAVAILABLE, "witness", str(exc)
            ) from exc
        except WitnessInvalid as exc:
            raise InputPreparationFailed(FailureReason.INPUT_ERROR, "witness", str(exc)) from exc
        except TrieError as exc:
            raise InputPreparationFailed(FailureReason.INPUT_ERROR, "witness", str(exc)) from exc
        except RpcTransportError as exc:
            # The node served the block a moment ago: a failure now is this witness's (too
            # large or slow for the node or a proxy) as often as a blip; count an attempt.
            raise InputPreparationFailed(
                FailureReason.WITNESS_UNAVAILABLE, "node",
                f"the node's connection failed while serving the witness: {exc}",
            ) from exc
        except RpcError as exc:
            raise InputPreparationFailed(FailureReason.INPUT_ERROR, "witness", str(exc)) from exc

    async def _external(self, block_number: int) -> bytes:
        assert self.external_builder is not None
        with tempfile.TemporaryDirectory(prefix="ethproofs-input-") as tmp:
            try:
                return await run_external_builder(
                    self.external_builder,
                    block_number=block_number,
                    rpc_url=self.rpc.endpoint.url,
                    output_path=Path(tmp) / "input.bin",
                    timeout_s=self.external_timeout_s,
                    profile=self.profile,
                )
            except InputError as exc:
                raise InputPreparationFailed(
                    FailureReason.INPUT_ERROR, "external_builder", str(exc)
                ) from exc


def _check_number(asked: int, got: int) -> None:
    """The node's block is the one asked for (``InputPreparationFailed``, ``input_error``,
    otherwise)."""
    if got != asked:
        raise InputPreparationFailed(
            FailureReason.INPUT_ERROR, "block", f"the node returned block {got} for block {asked}"
        )


def _parse_header(block_json: Mapping[str, object]) -> tuple[BlockHeader, int]:
    """The header and transaction count of a block handed to an external builder.

    Only these are read: the external builder fetches and reads the block itself, so the codec's
    body rules (e.g. ``withdrawals`` required) do not apply. Raises ``InputPreparationFailed``.
    """
    try:
        header = header_from_json(block_json, "block")
        txs = hexjson.array(hexjson.get(block_json, "transactions", "block"), "block.transactions")
    except InputError as exc:
        raise InputPreparationFailed(FailureReason.INPUT_ERROR, "block", str(exc)) from exc
    return header, len(txs)
