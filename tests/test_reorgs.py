"""Reorgs never reach EthProofs: a real anvil replaces the target block (``anvil_reorg``) after
its input was built, or while it is being proved; the daemon's own prover (with the real
canonical-hash check over the node), store, lifecycle and reporter, and the stand-in EthProofs
API on 127.0.0.1. The canonical block is proved and reported; the replaced one never is.

The input side is played by ``build_input`` below, which does what the input generator does for
one job (the real ``RpcInputSource`` on anvil, synthesized witness, the real codec) and records
the hash of the block the input was built from through ``Lifecycle.input_ready``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio
from eth_account import Account

from ethproofs_daemon.app import Daemon, build_daemon
from ethproofs_daemon.config import load_settings
from ethproofs_daemon.demo.anvil import ANVIL_DEV_KEYS, ANVIL_GENESIS_CONFIG, AnvilNode
from ethproofs_daemon.jobs import DEFAULT_PROOF_TYPE, Job, JobState
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.prover.backend import ProofResult, ProveRequest
from tests.anvil_node import Chain
from tests.helpers import ETHREX_014_PROFILE, wait_until
from tests.standins.ethproofs_api import EthProofsState, start_standin_ethproofs
from tests.standins.prover_backend import StandinBackend

API_KEY = "test-key-0123456789abcdef"
CLUSTER = 7


@dataclass
class RecordingBackend(StandinBackend):
    """The stand-in prover, also keeping the input bytes of every run; ``during_prove`` runs
    once, inside the next run (the chain changing while the GPU works)."""

    inputs: list[bytes] = field(default_factory=list)
    during_prove: Callable[[], Awaitable[None]] | None = None

    async def prove(self, req: ProveRequest, *, on_spawn: Callable[[int], None] | None = None,
                    on_progress: Callable[[str], None] | None = None) -> ProofResult:
        self.inputs.append(req.input_path.read_bytes())
        if self.during_prove is not None:
            hook, self.during_prove = self.during_prove, None
            await hook()
        return await super().prove(req, on_spawn=on_spawn, on_progress=on_progress)


@dataclass
class Rig:
    daemon: Daemon
    backend: RecordingBackend
    api: EthProofsState
    rpc: JsonRpcClient
    inputs_dir: Path

    def job(self, block: int) -> Job:
        job = self.daemon.store.job_for_block(block, DEFAULT_PROOF_TYPE)
        assert job is not None
        return job

    async def canonical_hash(self, block: int) -> str:
        found = await self.rpc.call("eth_getBlockByNumber", [hex(block), False])
        assert isinstance(found, dict)
        return str(found["hash"])

    async def build_input(self, block: int) -> bytes:
        """The input generator's work for one ``detected`` job, hash recorded."""
        d = self.daemon
        job = d.lifecycle.start_fetching(self.job(block))
        prepared = await d.generator.source.prepare(block)
        path = self.inputs_dir / f"{block}-{DEFAULT_PROOF_TYPE}.bin"
        path.write_bytes(prepared.data)
        d.lifecycle.input_ready(job, input_path=str(path), gas_used=prepared.gas_used,
                                tx_count=prepared.tx_count, block_hash=prepared.block_hash)
        return prepared.data

    async def reorg_head(self) -> None:
        """Replace the head block by one holding another sender's transaction."""
        account = Account.from_key(ANVIL_DEV_KEYS[1])
        tx = {"chainId": 31337, "nonce": 0, "gas": 21_000, "value": 5, "to": "0x" + "22" * 20,
              "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}
        raw = "0x" + account.sign_transaction(tx).raw_transaction.hex()
        await self.rpc.call("anvil_reorg", [1, [[raw, 0]]])


@pytest.fixture
async def rig(tmp_path: Path, anvil: AnvilNode, nursery: trio.Nursery) -> AsyncIterator[Rig]:
    """The daemon's prover and reporter running (in pytest-trio's ``nursery``), a target block at
    anvil's head with one transaction, and its ``detected`` job."""
    api = EthProofsState()
    api_url = await start_standin_ethproofs(nursery, api)
    genesis = tmp_path / "anvil-genesis.json"
    genesis.write_text(json.dumps({"config": ANVIL_GENESIS_CONFIG}))
    settings = load_settings({
        "ETH_RPC_URL": anvil.url, "PROVER_BACKEND": "simulated", "CHAIN": str(genesis),
        "GUEST_PROFILE": ETHREX_014_PROFILE,  # anvil: zec-reth has no dev-chain configuration
        "WITNESS_SOURCE": "synthesize", "STATE_DIR": str(tmp_path / "state"),
        "OUTPUT_DIR": str(tmp_path / "output"), "ETHPROOFS_RPC_URL": api_url,
        "ETHPROOFS_API_KEY": API_KEY, "ETHPROOFS_CLUSTER_ID": str(CLUSTER),
    })
    backend = RecordingBackend(prove_s=0.05)
    daemon = build_daemon(settings, backend=backend)
    inputs_dir = tmp_path / "state" / "inputs"
    inputs_dir.mkdir(parents=True)
    async with JsonRpcClient(RpcEndpoint(anvil.url)) as rpc:
        await rpc.call("anvil_mine", [hex(3)])  # a parent past genesis, as in a real chain
        receipt = await Chain(rpc).send(2, to="0x" + "11" * 20, value=1)
        block = int(receipt["blockNumber"], 16)
        daemon.lifecycle.detected(block, DEFAULT_PROOF_TYPE)
        rig = Rig(daemon, backend, api, rpc, inputs_dir)
        try:
            yield rig
        finally:
            await daemon.http.aclose()
            daemon.store.close()


async def _run_actors(rig: Rig, nursery: trio.Nursery) -> None:
    await nursery.start(rig.daemon.prover.run)
    await nursery.start(rig.daemon.reporter.run)


def _target(rig: Rig) -> int:
    (job,) = rig.daemon.store.recent_jobs()
    return job.block_number


async def test_a_reorg_between_input_and_proving_proves_and_reports_the_new_block(
    rig: Rig, nursery: trio.Nursery
) -> None:
    block = _target(rig)
    old_hash = await rig.canonical_hash(block)
    old_input = await rig.build_input(block)
    assert rig.job(block).block_hash == old_hash
    await rig.reorg_head()
    new_hash = await rig.canonical_hash(block)
    assert new_hash != old_hash

    await _run_actors(rig, nursery)
    await wait_until(lambda: rig.job(block).state is JobState.DETECTED, 30)
    assert rig.backend.calls == []  # the replaced block never reached the GPU
    new_input = await rig.build_input(block)
    await wait_until(lambda: len(rig.api.accepted("proved")) == 1, 30)

    done = rig.job(block)
    assert done.state is JobState.PROVED and done.block_hash == new_hash
    assert rig.backend.inputs == [new_input] and new_input != old_input
    assert rig.api.sequence() == [(block, "queued"), (block, "queued"), (block, "proving"),
                                  (block, "proved")]
    assert rig.daemon.state.prover.reorg_count == 1
    assert b'ethproofs_daemon_reorgs_total{check_point="before_proving"} 1.0' in (
        rig.daemon.metrics.render())


async def test_a_reorg_while_proving_is_never_reported_proved_and_the_new_block_is(
    rig: Rig, nursery: trio.Nursery
) -> None:
    block = _target(rig)
    old_hash = await rig.canonical_hash(block)
    old_input = await rig.build_input(block)
    rig.backend.during_prove = rig.reorg_head  # the chain moves while the GPU works

    await _run_actors(rig, nursery)
    await wait_until(lambda: rig.job(block).state is JobState.DETECTED, 30)
    new_hash = await rig.canonical_hash(block)
    assert new_hash != old_hash
    kinds = [r.kind for r in rig.daemon.store.reports_for_block(block)]
    assert ReportKind.PROVED not in kinds  # the proof of the replaced block is not recorded
    new_input = await rig.build_input(block)
    await wait_until(lambda: len(rig.api.accepted("proved")) == 1, 30)

    done = rig.job(block)
    assert done.state is JobState.PROVED and done.block_hash == new_hash
    assert rig.backend.inputs == [old_input, new_input]
    assert rig.api.sequence() == [(block, "queued"), (block, "proving"), (block, "queued"),
                                  (block, "proving"), (block, "proved")]
    proved: Any = rig.api.accepted("proved")[0].body
    assert proved["block_number"] == block
    assert rig.daemon.state.prover.reorg_count == 1
