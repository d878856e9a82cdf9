"""A real anvil node for tests: started on 127.0.0.1 (free port), ended by its pid in teardown.

Register it as a fixture (pytest-trio runs async-generator fixtures)::

    from tests.anvil_node import anvil_node_fixture
    anvil = pytest.fixture(anvil_node_fixture)          # automine: one block per transaction

or use ``running_anvil(block_time_s=0.5)`` directly in a test. Tests skip (saying how to install
it) when no anvil binary is found; see ``ethproofs_daemon.demo.anvil.find_anvil``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import trio
from eth_account import Account
from eth_utils import to_checksum_address

from ethproofs_daemon.demo.anvil import (
    ANVIL_DEV_KEYS,
    AnvilNode,
    AnvilNotFound,
    find_anvil,
    start_anvil,
)
from ethproofs_daemon.node.rpc import JsonRpcClient


@asynccontextmanager
async def running_anvil(
    *, block_time_s: float | None = None, hardfork: str | None = None
) -> AsyncIterator[AnvilNode]:
    """A running anvil for the ``async with`` block; ``pytest.skip`` when anvil is not installed."""
    try:
        binary = find_anvil()
    except AnvilNotFound as exc:
        pytest.skip(str(exc))
    async with start_anvil(binary=binary, block_time_s=block_time_s, hardfork=hardfork) as node:
        yield node


async def anvil_node_fixture() -> AsyncIterator[AnvilNode]:
    """Fixture body: an automining anvil (one block per transaction), ended by pid afterwards."""
    async with running_anvil() as node:
        yield node


# --- sending real transactions ------------------------------------------------------------

#: Runtime code: sstore(calldata[0], calldata[32]).
STORE_RUNTIME = bytes.fromhex("6020355f355500")
#: Runtime code: sstore(0, blockhash(calldata[0])).
BLOCKHASH_RUNTIME = bytes.fromhex("5f35405f5500")


def init_code(runtime: bytes) -> bytes:
    """PUSH1 len DUP1 PUSH1 9 PUSH0 CODECOPY PUSH0 RETURN ‖ runtime."""
    return bytes([0x60, len(runtime), 0x80, 0x60, 0x09, 0x5F, 0x39, 0x5F, 0xF3]) + runtime


def word(n: int) -> bytes:
    return n.to_bytes(32, "big")


@dataclass
class Chain:
    """Signs transactions with a dev key (eth_account), sends them raw and returns the receipt
    (None-like ``{}`` with ``automine=False``)."""

    rpc: JsonRpcClient
    key: str = ANVIL_DEV_KEYS[0]

    @property
    def sender(self) -> str:
        return str(Account.from_key(self.key).address)

    async def nonce(self) -> int:
        count = await self.rpc.call("eth_getTransactionCount", [self.sender, "pending"])
        assert isinstance(count, str)
        return int(count, 16)

    async def send(
        self,
        kind: int,
        *,
        to: str | None,
        data: bytes = b"",
        value: int = 0,
        access_list: list[dict[str, Any]] | None = None,
        automine: bool = True,
    ) -> dict[str, Any]:
        """Sign and send a type-``kind`` (0, 1 or 2) transaction; returns its receipt
        (None while automine is off)."""
        tx: dict[str, Any] = {
            "chainId": 31337,
            "nonce": await self.nonce(),
            "gas": 300_000,
            "value": value,
            "data": data,
        }
        if to is not None:
            tx["to"] = to_checksum_address(to)
        if kind == 2:
            tx.update(maxFeePerGas=10**10, maxPriorityFeePerGas=10**9)
        else:
            tx["gasPrice"] = 10**10
        if kind == 1:
            tx["accessList"] = access_list or []
        raw = Account.from_key(self.key).sign_transaction(tx).raw_transaction
        tx_hash = await self.rpc.call("eth_sendRawTransaction", ["0x" + raw.hex()])
        if not automine:
            return {}
        for _ in range(250):  # automine answers within milliseconds; bounded at 5 s
            receipt = await self.rpc.call("eth_getTransactionReceipt", [tx_hash])
            if isinstance(receipt, dict):
                return receipt
            await trio.sleep(0.02)
        raise AssertionError(f"no receipt for {tx_hash}")

    async def deploy(self, runtime: bytes, kind: int = 2) -> tuple[str, int]:
        receipt = await self.send(kind, to=None, data=init_code(runtime))
        assert receipt["status"] == "0x1"
        return receipt["contractAddress"], int(receipt["blockNumber"], 16)

    async def block(self, number: int) -> dict[str, Any]:
        block = await self.rpc.call("eth_getBlockByNumber", [hex(number), True])
        assert isinstance(block, dict)
        return block
