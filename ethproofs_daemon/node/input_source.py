"""Prepare one block's guest input from the node: block, witness, verification, build.

``RpcInputSource.prepare(n)``:

1. ``eth_getBlockByNumber(n, true)``;
2. the execution witness from the configured source (``witness_source.py``: the node's
   ``debug_executionWitness``, or one synthesized from proofs, or ``auto``);
3. witness verification (``witness_verify.py``) against the parent's state root: a bad witness
   fails here, before any GPU time is spent;
4. the input: the built-in ethrex codec (``inputs.build.build_input``, run in a worker thread:
   it is CPU-bound) or the operator's external builder.

Errors are mapped to the job lifecycle: a node that does not answer, or has not got the block
yet (``null``) → ``NodeUnavailable`` (no attempt counted, the job waits); a node without the
witness method → ``witness_unavailable``; a witness fetch that times out → ``witness_timeout``;
bad block/witness data → ``input_error``.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import trio

from ethproofs_daemon.config import Settings, WitnessSourceMode
from ethproofs_daemon.inputs.build import build_input, chain_config_by_name
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.external import run_external_builder
from ethproofs_daemon.inputs.profiles import DEFAULT_PROFILE_NAME, GuestProfile, load_profiles
from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.node.preparation import (
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
from ethproofs_daemon.witness.format import WitnessInvalid
from ethproofs_daemon.witness.source import WitnessUnavailable, fetch_witness
from ethproofs_daemon.witness.verify import verify_witness_json


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

    @classmethod
    def from_settings(cls, settings: Settings, rpc: JsonRpcClient) -> RpcInputSource:
        """Build from ``Settings`` (profile from ``GUEST_PROFILE`` or the default)."""
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
        )

    async def prepare(self, block_number: int) -> PreparedInput:
        """Block + witness + checks + input for ``block_number`` (see the module docstring)."""
        block = await self._fetch_block(block_number)
        gas_used = int(str(block.get("gasUsed", "0x0")), 16)
        txs = block.get("transactions")
        tx_count = len(txs) if isinstance(txs, list) else 0
        block_hash = str(block.get("hash", ""))
        if self.external_builder is not None:
            data = await self._external(block_number)
            return PreparedInput(data, block_hash, gas_used, tx_count)
        started = trio.current_time()
        witness = await self._fetch_witness(block_number, block)
        if self.observe_witness_s is not None:
            self.observe_witness_s(trio.current_time() - started)
        try:
            verify_witness_json(witness, block)  # type: ignore[arg-type]
        except WitnessInvalid as exc:
            raise InputPreparationFailed(FailureReason.INPUT_ERROR, "verify", str(exc)) from exc
        try:
            chain = chain_config_by_name(self.chain)
            data = await trio.to_thread.run_sync(build_input, block, witness, self.profile, chain)
        except InputError as exc:
            raise InputPreparationFailed(FailureReason.INPUT_ERROR, "build", str(exc)) from exc
        return PreparedInput(data, block_hash, gas_used, tx_count)

    async def _fetch_block(self, block_number: int) -> Mapping[str, object]:
        try:
            block = await self.rpc.call("eth_getBlockByNumber", [hex(block_number), True])
        except RpcTransportError as exc:
            raise NodeUnavailable(str(exc)) from exc
        except (RpcResponseError, RpcMalformedResponse) as exc:
            raise InputPreparationFailed(FailureReason.INPUT_ERROR, "block", str(exc)) from exc
        if block is None:
            # The node has not got the block (yet): wait for it, no attempt counted.
            raise NodeUnavailable(f"the node has no block {block_number} yet")
        if not isinstance(block, dict):
            raise InputPreparationFailed(
                FailureReason.INPUT_ERROR,
                "block",
                f"eth_getBlockByNumber({block_number}) returned {type(block).__name__}, "
                "not a block object",
            )
        return block

    async def _fetch_witness(
        self, block_number: int, block: Mapping[str, object]
    ) -> dict[str, object]:
        try:
            with trio.fail_after(self.witness_timeout_s):
                return await fetch_witness(self.rpc, block_number, block, self.witness_mode)
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
        except RpcTransportError as exc:
            raise NodeUnavailable(str(exc)) from exc
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
