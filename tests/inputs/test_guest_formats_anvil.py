"""Both new guest inputs (zec-reth bincode, stateless SSZ) built from real anvil blocks, read back.

One anvil (127.0.0.1, ended by its pid) runs for the module. After an empty block 1 (anvil's
genesis header claims the empty state root, so block 1 has no provable parent state), it mines one
block per transaction type (legacy without and with EIP-155, EIP-2930, EIP-1559, EIP-4844 with a
blob, EIP-7702 with one authorization) and one block holding all six from four senders. Each block
is fetched with ``eth_getBlockByNumber(n, true)`` → ``rpc_block_from_json`` and gets a synthesized
witness (anvil answers ``debug_executionWitness`` with Method not found).

Formats:
- zec-reth: no zec-reth chain configuration exists for anvil's chain 31337 (``zec_reth_chains``
  has mainnet, hoodi, sepolia). ``ANVIL_RETH_CHAIN`` below is a TEST-ONLY configuration, not a
  claim about what the guest needs for anvil: the codec reads only its ``chain_id`` (the chain the
  signatures must commit to) and copies the rest into the input.
- stateless SSZ: fork ``BPO1``, anvil 1.7.1's default hardfork (``anvil_nodeInfo`` says ``Bpo1``,
  checked below; ``demo.anvil.ANVIL_GENESIS_CONFIG`` has Prague, Osaka and BPO1 from genesis).
  Prague … BPO2 share the Electra ``NewPayloadRequest``, whose fields anvil's blocks carry
  (blob gas, parent beacon root, ``requestsHash`` = sha256 of no requests): schema id ``0x1301``.

Independent of the codecs: every expected value comes from the node's JSON or from what this test
signed. Transaction bytes are compared with eth_account's signed encodings (for the blob
transaction, the signed transaction without its network sidecar) and hashed with eth_utils' keccak
against the node's hashes; the header is split with pyrlp and hashed; a public key's address is
derived with eth_keys and compared with the node's ``from``; the SSZ payload is split by the
spec-text reader of ``test_stateless_ssz``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import ckzg
import eth_account
import pytest
import rlp
import trio
from eth_account import Account
from eth_keys import keys as eth_keys
from eth_utils import keccak, to_checksum_address

from ethproofs_daemon.demo.anvil import (
    ANVIL_DEV_KEYS,
    ANVIL_GENESIS_CONFIG,
    AnvilNotFound,
    find_anvil,
    start_anvil,
)
from ethproofs_daemon.eth.senders import recover_senders
from ethproofs_daemon.eth.witness import ExecutionWitness
from ethproofs_daemon.inputs.chain_config import chain_config_from_genesis
from ethproofs_daemon.inputs.codecs import BlockData, build_guest_input
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.profiles import get_profile
from ethproofs_daemon.inputs.rpc_block import RpcBlock, rpc_block_from_json
from ethproofs_daemon.inputs.stateless_ssz import build_stateless_input, decode_stateless_input
from ethproofs_daemon.inputs.zec_reth import build_zec_reth_input, decode_zec_reth_input
from ethproofs_daemon.inputs.zec_reth_chains import RETH_MAINNET
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from ethproofs_daemon.ssz.stateless import ProtocolFork
from ethproofs_daemon.witness.source import fetch_execution_witness
from tests.inputs.test_stateless_ssz import (
    PayloadDenebFields,
    RequestElectraFields,
    StatelessInputFields,
    container,
    fixed_list,
    u64,
    variable_list,
)

KINDS: Final = (
    "legacy-pre-eip155", "legacy-eip155", "eip2930", "eip1559", "eip4844", "eip7702",
)  # fmt: skip
ALL_TYPES: Final = "all-types"
BLOCK_NAMES: Final = (*KINDS, ALL_TYPES)
#: The EIP-2718 type the node reports for each kind.
NODE_TYPE: Final = {
    "legacy-pre-eip155": "0x0", "legacy-eip155": "0x0", "eip2930": "0x1", "eip1559": "0x2",
    "eip4844": "0x3", "eip7702": "0x4",
}  # fmt: skip
#: Signs each 7702 authorization; never sends, so its nonce moves only by authorizations.
AUTHORITY_KEY: Final = "0x" + "a1" * 32
TO: Final = "0x" + "22" * 20
GAS: Final = 100_000
FEE: Final = {"maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}
BLOB_BYTES: Final = 4096 * 32
ANVIL_FORK: Final = ProtocolFork.BPO1

#: TEST-ONLY zec-reth chain configuration for anvil (module docstring): mainnet's with anvil's id
#: and every fork up to BPO1 active from genesis, as ``ANVIL_GENESIS_CONFIG`` says.
ANVIL_RETH_CHAIN: Final = dataclasses.replace(
    RETH_MAINNET, chain_id=31337, homestead_block=0, dao_fork_block=None, dao_fork_support=False,
    eip150_block=0, eip155_block=0, eip158_block=0, byzantium_block=0, constantinople_block=0,
    petersburg_block=0, istanbul_block=0, muir_glacier_block=0, berlin_block=0, london_block=0,
    arrow_glacier_block=0, gray_glacier_block=0, shanghai_time=0, cancun_time=0, prague_time=0,
    osaka_time=0, bpo1_time=0, bpo2_time=None, terminal_total_difficulty=0,
)  # fmt: skip


# --- signing ------------------------------------------------------------------------------------


@functools.cache
def _kzg_setup() -> object:
    """The KZG trusted setup eth_account ships (loading takes seconds: once per session)."""
    path = Path(eth_account.__file__).parent / "typed_transactions/blob_transactions"
    return ckzg.load_trusted_setup(str(path / "kzg_trusted_setup.txt"), 0)


def _with_sidecar(canonical: bytes, blob: bytes, commitment: bytes, proof: bytes) -> bytes:
    """EIP-4844 network form: ``0x03 ‖ rlp([tx_payload_body, blobs, commitments, proofs])``."""
    body = rlp.decode(canonical[1:])
    return b"\x03" + rlp.encode([body, [blob], [commitment], [proof]])


@dataclasses.dataclass
class Signer:
    """Signs one transaction of a kind per call, tracking nonces (a fresh anvil: all start at 0).

    ``sign`` returns the bytes to send and the transaction's canonical EIP-2718 bytes."""

    nonces: dict[str, int] = dataclasses.field(default_factory=dict)

    def _next(self, key: str) -> int:
        nonce = self.nonces.get(key, 0)
        self.nonces[key] = nonce + 1
        return nonce

    def sign(self, kind: str, key: str) -> tuple[bytes, bytes]:
        account = Account.from_key(key)
        tx: dict[str, Any] = {"nonce": self._next(key), "gas": GAS, "to": TO, "value": 1}
        if kind != "legacy-pre-eip155":
            tx["chainId"] = 31337
        if kind.startswith("legacy") or kind == "eip2930":
            tx["gasPrice"] = 10**10
        else:
            tx.update(FEE)
        if kind == "eip2930":
            tx.update(type=1, accessList=[{"address": to_checksum_address(TO), "storageKeys": []}])
        if kind == "eip7702":
            authority = Account.from_key(AUTHORITY_KEY)
            auth = authority.sign_authorization(
                {"chainId": 31337, "address": "0x" + "66" * 20, "nonce": self._next(AUTHORITY_KEY)}
            )
            tx.update(type=4, accessList=[], authorizationList=[auth])
        if kind != "eip4844":
            raw = bytes(account.sign_transaction(tx).raw_transaction)
            return raw, raw
        blob = bytes(BLOB_BYTES - 1) + bytes([len(self.nonces)])  # field elements stay < modulus
        commitment = bytes(ckzg.blob_to_kzg_commitment(blob, _kzg_setup()))
        proof = bytes(ckzg.compute_blob_kzg_proof(blob, commitment, _kzg_setup()))
        versioned = b"\x01" + hashlib.sha256(commitment).digest()[1:]
        tx.update(type=3, accessList=[], maxFeePerBlobGas=10**10, blobVersionedHashes=[versioned])
        canonical = bytes(account.sign_transaction(tx).raw_transaction)
        return _with_sidecar(canonical, blob, commitment, proof), canonical


# --- mining on anvil ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mined:
    """One mined block: the node's JSON, the typed block, its synthesized witness and the canonical
    bytes this test signed, by transaction hash."""

    doc: dict[str, Any]
    rpc: RpcBlock
    witness: ExecutionWitness
    signed: dict[bytes, bytes]


@dataclasses.dataclass(frozen=True)
class AnvilBlocks:
    chain_id: int
    hardfork: str
    blocks: dict[str, Mined]


async def _mine(rpc: JsonRpcClient, raws: Sequence[bytes]) -> int:
    for raw in raws:
        await rpc.call("eth_sendRawTransaction", ["0x" + raw.hex()])
    await rpc.call("evm_mine", [])
    return await rpc.block_number()


async def _fetch(rpc: JsonRpcClient, number: int, signed: dict[bytes, bytes]) -> Mined:
    doc = await rpc.call("eth_getBlockByNumber", [hex(number), True])
    assert isinstance(doc, dict)
    typed = rpc_block_from_json(doc)
    witness = await fetch_execution_witness(rpc, number, typed.block, "synthesize")
    return Mined(doc, typed, witness, signed)


async def _mine_all() -> AnvilBlocks:
    signer = Signer()
    async with start_anvil() as node, JsonRpcClient(RpcEndpoint(node.url)) as rpc:
        info = await rpc.call("anvil_nodeInfo", [])
        assert isinstance(info, dict)
        chain_id = int(str(await rpc.call("eth_chainId", [])), 16)
        await rpc.call("evm_mine", [])
        await rpc.call("evm_setAutomine", [False])
        plans = [(kind, [(kind, ANVIL_DEV_KEYS[0])]) for kind in KINDS]
        plans.append((ALL_TYPES, [(k, ANVIL_DEV_KEYS[i % 4]) for i, k in enumerate(KINDS)]))
        blocks = {}
        for name, plan in plans:
            pairs = [signer.sign(kind, key) for kind, key in plan]
            number = await _mine(rpc, [sent for sent, _ in pairs])
            signed = {keccak(canonical): canonical for _, canonical in pairs}
            blocks[name] = await _fetch(rpc, number, signed)
    return AnvilBlocks(chain_id, str(info["hardFork"]), blocks)


@pytest.fixture(scope="module")
def anvil_blocks() -> AnvilBlocks:
    """The module's blocks, mined once on one anvil (skips when anvil is not installed)."""
    try:
        find_anvil()
    except AnvilNotFound as exc:
        pytest.skip(str(exc))
    return trio.run(_mine_all)


# --- expected values from the node's JSON -------------------------------------------------------


def _b(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text.removeprefix("0x"))


def _node_hashes(m: Mined) -> list[bytes]:
    return [_b(tx["hash"]) for tx in m.doc["transactions"]]


def _node_senders(m: Mined) -> list[bytes]:
    return [_b(tx["from"]) for tx in m.doc["transactions"]]


def _expected_bytes(m: Mined) -> list[bytes]:
    """What the test signed, in the node's transaction order."""
    return [m.signed[h] for h in _node_hashes(m)]


def _address(public_key: bytes) -> bytes:
    assert len(public_key) == 65 and public_key[0] == 4
    return bytes(eth_keys.PublicKey(public_key[1:]).to_canonical_address())


def _zec_reth(m: Mined) -> bytes:
    return build_zec_reth_input(m.rpc.block, m.witness, ANVIL_RETH_CHAIN, senders=m.rpc.senders)


def _stateless(m: Mined, chain_id: int) -> bytes:
    """As ``codecs.build_guest_input`` does it, with the fork named (anvil is not mainnet)."""
    recovered = recover_senders(m.rpc.block.body.transactions, m.rpc.senders, chain_id=chain_id)
    keys = [r.public_key for r in recovered]
    return build_stateless_input(
        m.rpc.block, m.witness, chain_id=chain_id, public_keys=keys, fork=ANVIL_FORK
    )


# --- the blocks themselves ----------------------------------------------------------------------


def test_anvil_runs_the_fork_the_stateless_input_names(anvil_blocks: AnvilBlocks) -> None:
    assert anvil_blocks.hardfork.lower() == ANVIL_FORK.name.lower()
    assert anvil_blocks.chain_id == ANVIL_RETH_CHAIN.chain_id


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_each_block_carries_the_transaction_types_signed(
    anvil_blocks: AnvilBlocks, name: str
) -> None:
    m = anvil_blocks.blocks[name]
    kinds = KINDS if name == ALL_TYPES else (name,)
    assert sorted(tx["type"] for tx in m.doc["transactions"]) == sorted(NODE_TYPE[k] for k in kinds)
    legacy_v = sorted(int(tx["v"], 16) for tx in m.doc["transactions"] if tx["type"] == "0x0")
    if "legacy-pre-eip155" in kinds:
        assert legacy_v[0] in (27, 28), "one legacy transaction without EIP-155 protection"
    assert set(_node_hashes(m)) == set(m.signed)


# --- zec-reth -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_zec_reth_input_holds_the_nodes_block(anvil_blocks: AnvilBlocks, name: str) -> None:
    m = anvil_blocks.blocks[name]
    decoded = decode_zec_reth_input(_zec_reth(m))
    header, txs, ommers, withdrawals = rlp.decode(decoded.block_rlp)
    assert keccak(rlp.encode(header)) == _b(m.doc["hash"])
    assert int.from_bytes(header[8], "big") == int(m.doc["number"], 16)
    # EIP-2718 in a block: a legacy transaction inlined as its RLP list, a typed one as a string.
    inlined = [tx["type"] == "0x0" for tx in m.doc["transactions"]]
    assert [isinstance(tx, list) for tx in txs] == inlined
    got = [rlp.encode(tx) if isinstance(tx, list) else tx for tx in txs]
    assert len(got) == len(m.doc["transactions"])
    assert got == _expected_bytes(m)
    assert [keccak(tx) for tx in got] == _node_hashes(m)
    assert (ommers, withdrawals) == ([], [])


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_zec_reth_public_keys_are_the_senders(anvil_blocks: AnvilBlocks, name: str) -> None:
    m = anvil_blocks.blocks[name]
    decoded = decode_zec_reth_input(_zec_reth(m))
    assert [_address(k) for k in decoded.public_keys] == _node_senders(m)
    assert decoded.chain.chain_id == anvil_blocks.chain_id


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_zec_reth_witness_is_the_synthesized_one(anvil_blocks: AnvilBlocks, name: str) -> None:
    m = anvil_blocks.blocks[name]
    assert decode_zec_reth_input(_zec_reth(m)).witness == m.witness


# --- stateless SSZ ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_stateless_input_holds_the_nodes_block(anvil_blocks: AnvilBlocks, name: str) -> None:
    m = anvil_blocks.blocks[name]
    data = _stateless(m, anvil_blocks.chain_id)
    decoded = decode_stateless_input(data)
    assert data[:2] == b"\x13\x01"
    request = decoded.new_payload_request
    assert (request.block_number, request.block_hash) == (
        int(m.doc["number"], 16), _b(m.doc["hash"]),
    )  # fmt: skip
    npr, _, chain_id, _ = container(data[2:], StatelessInputFields)
    payload, hashes, _, _ = container(npr, RequestElectraFields)
    txs = variable_list(container(payload, PayloadDenebFields)[13])
    assert len(txs) == request.transaction_count == len(m.doc["transactions"])
    assert txs == _expected_bytes(m)
    assert [keccak(tx) for tx in txs] == _node_hashes(m)
    blob_hashes = [_b(h) for tx in m.doc["transactions"] for h in tx.get("blobVersionedHashes", [])]
    assert fixed_list(hashes, 32) == blob_hashes
    assert u64(chain_id) == anvil_blocks.chain_id


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_stateless_public_keys_are_the_senders(anvil_blocks: AnvilBlocks, name: str) -> None:
    m = anvil_blocks.blocks[name]
    decoded = decode_stateless_input(_stateless(m, anvil_blocks.chain_id))
    assert [_address(k) for k in decoded.public_keys] == _node_senders(m)


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_stateless_witness_is_the_synthesized_one(anvil_blocks: AnvilBlocks, name: str) -> None:
    m = anvil_blocks.blocks[name]
    decoded = decode_stateless_input(_stateless(m, anvil_blocks.chain_id))
    assert (decoded.state, decoded.codes, decoded.headers) == (
        m.witness.state, m.witness.codes, m.witness.headers,
    )  # fmt: skip
    assert keccak(decoded.headers[-1]) == _b(m.doc["parentHash"])


# --- a node whose ``from`` disagrees with the signature -----------------------------------------


def _tampered(m: Mined, index: int) -> tuple[bytes, ...]:
    senders = list(m.rpc.senders)
    senders[index] = bytes.fromhex("77" * 20)
    return tuple(senders)


def test_tampered_from_is_an_input_error_naming_the_transaction(
    anvil_blocks: AnvilBlocks,
) -> None:
    m = anvil_blocks.blocks[ALL_TYPES]
    last = len(m.rpc.senders) - 1
    with pytest.raises(InputError) as zec:
        build_zec_reth_input(m.rpc.block, m.witness, ANVIL_RETH_CHAIN, senders=_tampered(m, last))
    assert zec.value.field == f"block.transactions[{last}].from"
    # The stateless codec through the dispatcher: the sender check comes before anything else.
    chain = chain_config_from_genesis({"config": ANVIL_GENESIS_CONFIG})
    data = BlockData(m.rpc.block, m.witness, senders=_tampered(m, 0))
    with pytest.raises(InputError) as ssz:
        build_guest_input(get_profile("stateless-reth"), data, chain)
    assert ssz.value.field == "block.transactions[0].from"
