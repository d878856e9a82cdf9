"""Real transactions for the demo: signed with ``eth_account`` (anvil's dev keys), sent raw with
``eth_sendRawTransaction``, one batch per block mined on demand with ``evm_mine``.

Each block the demo mines (anvil runs with ``--no-mining``) carries a batch planned by the pure
``plan_batch``: the first block deploys a storage contract; every block then has a legacy (type 0)
transfer, an EIP-1559 (type 2) transfer, an EIP-1559 storage write and an EIP-2930 (type 1)
storage write with an access list naming the slot; every third block deploys another contract.
Storage writes only set nonzero values (no deletion), so no block needs a branch-collapse sibling
that synthesized witnesses cannot carry (``witness/synthesis.py``, "Known limit").

Transaction formats: EIP-2718 typed envelopes, EIP-2930 and EIP-1559, as signed by eth_account.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import rlp
import structlog
import trio
from eth_account import Account
from eth_utils.address import to_checksum_address

from ethproofs_daemon.demo.anvil import ANVIL_CHAIN_ID, ANVIL_DEV_KEYS
from ethproofs_daemon.hashing import keccak
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcResponseError

log = structlog.get_logger(__name__)

#: Runtime code: ``sstore(calldata[0:32], calldata[32:64])``.
STORE_RUNTIME: Final = bytes.fromhex("6020355f355500")
GAS_LIMIT: Final = 300_000
MAX_FEE_WEI: Final = 10 * 10**9
PRIORITY_FEE_WEI: Final = 10**9
GAS_PRICE_WEI: Final = 10 * 10**9
TRANSFER_WEI: Final = 10**15
#: Every this many batches, one more contract is deployed.
DEPLOY_EVERY: Final = 3


class TxKind(enum.StrEnum):
    """What a demo transaction does (shown in the summary)."""

    LEGACY_TRANSFER = "legacy transfer (type 0)"
    EIP1559_TRANSFER = "EIP-1559 transfer (type 2)"
    DEPLOYMENT = "contract deployment (type 2)"
    STORAGE_WRITE = "storage write (EIP-1559, type 2)"
    ACCESS_LIST_WRITE = "storage write with access list (EIP-2930, type 1)"


@dataclass(frozen=True, slots=True)
class TxSpec:
    """One planned transaction: ``tx_type`` 0/1/2, ``to`` (None: contract creation), ``data``,
    ``value`` (wei), ``access_list`` as ``(address, (slot, ...))`` pairs."""

    kind: TxKind
    tx_type: int
    to: str | None
    data: bytes = b""
    value: int = 0
    access_list: tuple[tuple[str, tuple[bytes, ...]], ...] = ()


def word(n: int) -> bytes:
    """``n`` as a 32-byte big-endian word."""
    return n.to_bytes(32, "big")


def init_code(runtime: bytes) -> bytes:
    """Init code returning ``runtime`` (PUSH1 len DUP1 PUSH1 9 PUSH0 CODECOPY PUSH0 RETURN)."""
    return bytes([0x60, len(runtime), 0x80, 0x60, 0x09, 0x5F, 0x39, 0x5F, 0xF3]) + runtime


def create_address(sender: str, nonce: int) -> str:
    """The address a creation from ``sender`` at ``nonce`` gets: ``keccak(rlp([sender,
    nonce]))[12:]`` (Yellow Paper eq. 85), lower-case 0x-hex."""
    digest = keccak(rlp.encode([bytes.fromhex(sender.removeprefix("0x")), nonce]))
    return "0x" + digest[12:].hex()


def plan_batch(index: int, contract: str) -> list[TxSpec]:
    """The transactions of the ``index``-th batch (0-based) against the storage ``contract``.

    Batch 0 starts with the deployment of ``contract`` itself (the caller computed its address
    from the sender's nonce). Slots written are ``2*index+1`` (type 2) and ``2*index+2``
    (type 1, listed in the access list); values are nonzero.
    """
    recipient = "0x" + (0xD0 + index % 16).to_bytes(1, "big").hex() * 19 + f"{index % 256:02x}"
    specs: list[TxSpec] = []
    if index == 0:
        specs.append(TxSpec(TxKind.DEPLOYMENT, 2, None, init_code(STORE_RUNTIME)))
    specs += [
        TxSpec(TxKind.LEGACY_TRANSFER, 0, recipient, value=TRANSFER_WEI),
        TxSpec(TxKind.EIP1559_TRANSFER, 2, recipient, value=TRANSFER_WEI + index),
        TxSpec(TxKind.STORAGE_WRITE, 2, contract, word(2 * index + 1) + word(index + 7)),
        TxSpec(
            TxKind.ACCESS_LIST_WRITE,
            1,
            contract,
            word(2 * index + 2) + word(index + 9),
            access_list=((contract, (word(2 * index + 2),)),),
        ),
    ]
    if index > 0 and index % DEPLOY_EVERY == 0:
        specs.append(TxSpec(TxKind.DEPLOYMENT, 2, None, init_code(STORE_RUNTIME)))
    return specs


def sign(spec: TxSpec, *, key: str, nonce: int, chain_id: int = ANVIL_CHAIN_ID) -> bytes:
    """The raw signed transaction (EIP-2718 envelope for types 1 and 2)."""
    tx: dict[str, object] = {
        "chainId": chain_id,
        "nonce": nonce,
        "gas": GAS_LIMIT,
        "value": spec.value,
        "data": spec.data,
    }
    if spec.to is not None:
        tx["to"] = to_checksum_address(spec.to)
    if spec.tx_type == 2:
        tx.update(maxFeePerGas=MAX_FEE_WEI, maxPriorityFeePerGas=PRIORITY_FEE_WEI)
    else:
        tx["gasPrice"] = GAS_PRICE_WEI
    if spec.tx_type == 1:
        tx["accessList"] = [
            {"address": to_checksum_address(a), "storageKeys": ["0x" + s.hex() for s in slots]}
            for a, slots in spec.access_list
        ]
    raw: bytes = bytes(Account.from_key(key).sign_transaction(tx).raw_transaction)
    return raw


class TrafficError(Exception):
    """The node refused a demo transaction or the mining call (message from the node)."""


@dataclass
class Traffic:
    """Sends one planned batch per block and mines it with ``evm_mine``, every ``block_time_s``
    seconds, while ``keep_mining()`` is true. ``sent`` counts transactions by kind; ``mined`` is
    the number of the last block mined."""

    rpc: JsonRpcClient
    block_time_s: float = 1.0
    key: str = ANVIL_DEV_KEYS[0]
    sent: Counter[TxKind] = field(default_factory=Counter)
    mined: int = 0
    batches: int = 0
    _nonce: int | None = None
    _contract: str | None = None

    @property
    def sender(self) -> str:
        """The sender's address (0x-hex, checksummed)."""
        return str(Account.from_key(self.key).address)

    async def run(self, keep_mining: Callable[[int], bool]) -> None:
        """Mine batches, one every ``block_time_s`` seconds, until ``keep_mining(head)`` is
        false (checked before each block).

        Raises:
            TrafficError: as ``mine_batch``.
            RpcError: as ``mine_batch``.
        """
        next_at = trio.current_time()
        while keep_mining(self.mined):
            await self.mine_batch()
            next_at += self.block_time_s
            await trio.sleep_until(max(next_at, trio.current_time()))

    async def mine_batch(self) -> int:
        """Send the next batch and mine one block.

        Returns:
            The number of the block mined.

        Raises:
            TrafficError: the node rejected a transaction, ``evm_mine`` or the following
                ``eth_blockNumber``.
            RpcError: the node went away or answered malformed (``RpcTransportError``,
                ``RpcMalformedResponse``), or refused ``eth_getTransactionCount``
                (``RpcResponseError``).
        """
        if self._nonce is None:
            count = await self.rpc.call("eth_getTransactionCount", [self.sender, "pending"])
            self._nonce = int(str(count), 16)
            self._contract = create_address(self.sender.lower(), self._nonce)
        assert self._contract is not None
        for spec in plan_batch(self.batches, self._contract):
            raw = sign(spec, key=self.key, nonce=self._nonce)
            try:
                await self.rpc.call("eth_sendRawTransaction", ["0x" + raw.hex()])
            except RpcResponseError as exc:
                raise TrafficError(f"{spec.kind}: {exc}") from exc
            self._nonce += 1
            self.sent[spec.kind] += 1
        try:
            await self.rpc.call("evm_mine", [])
            self.mined = await self.rpc.block_number()
        except RpcResponseError as exc:
            raise TrafficError(f"evm_mine: {exc}") from exc
        self.batches += 1
        log.info("demo_block_mined", block_number=self.mined, batch=self.batches)
        return self.mined

