"""Witness synthesis against a real anvil (started on 127.0.0.1 and ended by pid per test).

Transactions are signed with eth_account (anvil's dev keys) and sent raw: legacy, EIP-2930
(access list) and EIP-1559 transfers, contract deployments, storage writes and deletions, and a
BLOCKHASH read. Every synthesized witness must pass ``verify_witness_json`` for its block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import rlp
from eth_utils import to_checksum_address

from ethproofs_daemon.demo.anvil import ANVIL_DEV_KEYS
from ethproofs_daemon.eth.mpt import EMPTY_TRIE_ROOT, keccak, nibbles
from ethproofs_daemon.eth.witness import decode_header, parse_witness
from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint
from ethproofs_daemon.witness import branch_collapse
from ethproofs_daemon.witness.source import (
    WitnessIncomplete,
    WitnessSourceMode,
    WitnessUnavailable,
    complete_witness,
    fetch_witness,
)
from ethproofs_daemon.witness.synthesis import (
    HISTORY_STORAGE_ADDRESS,
    blockhash_in_code,
    find_collapse_sibling,
    grind_preimage,
    oldest_header_needed,
    synthesize_witness,
)
from ethproofs_daemon.witness.verify import WitnessBlockFacts, verify_witness, verify_witness_json
from tests.anvil_node import (
    BLOCKHASH_RUNTIME,
    STORE_RUNTIME,
    Chain,
    init_code,
    running_anvil,
    word,
)


@pytest.fixture
async def chain() -> AsyncIterator[Chain]:
    async with running_anvil() as node, JsonRpcClient(RpcEndpoint(node.url)) as rpc:
        # anvil's genesis header says stateRoot = empty trie although the dev accounts are funded,
        # so block 1 cannot be proven against it; start the tests at block 2.
        await rpc.call("evm_mine", [])
        yield Chain(rpc)


async def synthesized_and_verified(chain: Chain, number: int) -> dict[str, Any]:
    """fetch_witness(synthesize) for block ``number``; asserts it verifies; returns the JSON."""
    block = await chain.block(number)
    witness = await fetch_witness(chain.rpc, number, block, WitnessSourceMode.SYNTHESIZE)
    assert set(witness) == {"state", "codes", "keys", "headers"}
    verify_witness_json(witness, block)  # type: ignore[arg-type]
    return witness


def keys_of(witness: dict[str, Any]) -> set[str]:
    return {k.lower() for k in witness["keys"]}


async def test_contract_deployment_block_witness_verifies(chain: Chain) -> None:
    address, number = await chain.deploy(STORE_RUNTIME)
    witness = await synthesized_and_verified(chain, number)
    assert {address.lower(), chain.sender.lower()} <= keys_of(witness)
    # The new contract has no code before the block, so its code is not carried (the only code
    # is the EIP-2935 history contract's, which the block's system call runs).
    assert "0x" + STORE_RUNTIME.hex() not in witness["codes"]
    assert len(witness["headers"]) == 1


async def test_legacy_transfer_block_witness_verifies(chain: Chain) -> None:
    recipient = "0x" + "12" * 20
    receipt = await chain.send(0, to=recipient, value=10**18)
    witness = await synthesized_and_verified(chain, int(receipt["blockNumber"], 16))
    assert recipient in keys_of(witness)


async def test_eip1559_storage_writes_carry_slots_and_code(chain: Chain) -> None:
    address, _ = await chain.deploy(STORE_RUNTIME)
    await chain.send(2, to=address, data=word(1) + word(7))
    receipt = await chain.send(2, to=address, data=word(2) + word(9))
    witness = await synthesized_and_verified(chain, int(receipt["blockNumber"], 16))
    assert "0x" + word(2).hex() in keys_of(witness)
    assert "0x" + STORE_RUNTIME.hex() in witness["codes"]
    # reth key layout: the address, then its slots.
    keys = [k.lower() for k in witness["keys"]]
    assert keys[keys.index(address.lower()) + 1] == "0x" + word(2).hex()


async def test_access_list_transaction_block_witness_verifies(chain: Chain) -> None:
    address, _ = await chain.deploy(STORE_RUNTIME)
    await chain.send(2, to=address, data=word(1) + word(7))
    listed = [{"address": to_checksum_address(address), "storageKeys": ["0x" + word(3).hex()]}]
    receipt = await chain.send(1, to=address, data=word(3) + word(5), access_list=listed)
    block = await chain.block(int(receipt["blockNumber"], 16))
    assert block["transactions"][0]["type"] == "0x1"
    witness = await synthesized_and_verified(chain, int(block["number"], 16))
    assert "0x" + word(3).hex() in keys_of(witness)


async def test_storage_deletion_without_collapse_verifies(chain: Chain) -> None:
    address, _ = await chain.deploy(STORE_RUNTIME)
    for slot in (1, 2, 3):  # keccak paths start b…, 4…, c…: the root branch keeps 2 children
        await chain.send(2, to=address, data=word(slot) + word(7))
    receipt = await chain.send(2, to=address, data=word(1) + word(0))
    block = await chain.block(int(receipt["blockNumber"], 16))
    result = await synthesize_witness(chain.rpc, block)
    assert result.collapse_risks == ()
    verify_witness_json(result.witness.to_json(), block)  # type: ignore[arg-type]
    # anvil keeps the zeroed slot as a 0x80 leaf: its stateRoot is not a conforming client's.
    assert result.post_state_error is not None
    assert "keeps storage slot 0x" + word(1).hex() in result.post_state_error
    with pytest.raises(WitnessIncomplete, match="value zero"):
        await fetch_witness(chain.rpc, block_number(block), block, WitnessSourceMode.SYNTHESIZE)


async def test_writes_reproduce_the_blocks_state_root(chain: Chain) -> None:
    address, deployed = await chain.deploy(STORE_RUNTIME)
    receipt = await chain.send(2, to=address, data=word(1) + word(7))
    for number in (deployed, int(receipt["blockNumber"], 16)):
        result = await synthesize_witness(chain.rpc, await chain.block(number))
        assert result.post_state_error is None


def block_number(block: dict[str, Any]) -> int:
    return int(block["number"], 16)


async def test_deletion_that_collapses_a_branch_gets_the_sibling_node(chain: Chain) -> None:
    address, _ = await chain.deploy(STORE_RUNTIME)
    await chain.send(2, to=address, data=word(1) + word(7))  # path b10e…
    await chain.send(2, to=address, data=word(2) + word(9))  # path 4057…
    receipt = await chain.send(2, to=address, data=word(1) + word(0))
    number = int(receipt["blockNumber"], 16)
    block = await chain.block(number)
    # The sibling: slot 2's leaf, which no proof of slot 1 contains.
    proof = await chain.rpc.call("eth_getProof", [address, ["0x" + word(2).hex()], hex(number - 1)])
    assert isinstance(proof, dict)
    sibling_leaf = bytes.fromhex(proof["storageProof"][0]["proof"][-1][2:])
    result = await synthesize_witness(chain.rpc, block)
    assert result.collapse_risks == ()
    assert sibling_leaf in result.witness.state
    verify_witness_json(result.witness.to_json(), block)  # type: ignore[arg-type]
    # With the sibling, the collapse itself computes; only anvil's zero leaf differs.
    assert result.post_state_error is not None and "value zero" in result.post_state_error


async def test_unfetchable_collapse_sibling_is_reported(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(branch_collapse, "_GRIND_MAX_NIBBLES", 0)
    address, _ = await chain.deploy(STORE_RUNTIME)
    await chain.send(2, to=address, data=word(1) + word(7))
    await chain.send(2, to=address, data=word(2) + word(9))
    receipt = await chain.send(2, to=address, data=word(1) + word(0))
    number = int(receipt["blockNumber"], 16)
    block = await chain.block(number)
    result = await synthesize_witness(chain.rpc, block)
    [risk] = result.collapse_risks
    assert (risk.account.hex(), risk.slot, risk.depth) == (address[2:].lower(), word(1), 1)
    with pytest.raises(WitnessIncomplete, match="branch collapse"):
        await fetch_witness(chain.rpc, number, block, WitnessSourceMode.AUTO)
    partial = await fetch_witness(
        chain.rpc, number, block, WitnessSourceMode.AUTO, allow_incomplete=True
    )
    verify_witness_json(partial, block)  # type: ignore[arg-type]


async def test_blockhash_reads_bring_their_ancestor_headers(chain: Chain) -> None:
    address, _ = await chain.deploy(BLOCKHASH_RUNTIME, kind=0)
    await chain.rpc.call("anvil_mine", ["0x5"])
    head = await chain.rpc.block_number()
    receipt = await chain.send(2, to=address, data=word(head - 3))
    number = int(receipt["blockNumber"], 16)
    block = await chain.block(number)
    result = await synthesize_witness(chain.rpc, block)
    assert result.blockhash_numbers == (head - 3,)
    numbers = [decode_header(h).number for h in result.witness.headers]
    assert numbers == list(range(head - 3, number))
    verify_witness_json(result.witness.to_json(), block)  # type: ignore[arg-type]


async def test_block_with_mixed_transactions_verifies(chain: Chain) -> None:
    store, _ = await chain.deploy(STORE_RUNTIME)
    await chain.rpc.call("evm_setAutomine", [False])
    other = Chain(chain.rpc, ANVIL_DEV_KEYS[1])
    third = Chain(chain.rpc, ANVIL_DEV_KEYS[2])
    await chain.send(2, to=store, data=word(5) + word(1), automine=False)
    await other.send(0, to="0x" + "34" * 20, value=1, automine=False)
    listed = [{"address": to_checksum_address(store), "storageKeys": []}]
    await third.send(1, to=store, data=word(6) + word(2), access_list=listed, automine=False)
    await other.send(2, to=None, data=init_code(STORE_RUNTIME), automine=False)
    await chain.rpc.call("evm_mine", [])
    await chain.rpc.call("evm_setAutomine", [True])
    number = await chain.rpc.block_number()
    block = await chain.block(number)
    assert sorted(tx["type"] for tx in block["transactions"]) == ["0x0", "0x1", "0x2", "0x2"]
    witness = await synthesized_and_verified(chain, number)
    assert {"0x" + word(5).hex(), "0x" + word(6).hex(), "0x" + "34" * 20} <= keys_of(witness)


async def test_history_contract_slot_is_included_for_prague_blocks(chain: Chain) -> None:
    receipt = await chain.send(2, to="0x" + "56" * 20, value=1)
    number = int(receipt["blockNumber"], 16)
    witness = await synthesized_and_verified(chain, number)
    keys = [k.lower() for k in witness["keys"]]
    history = "0x" + HISTORY_STORAGE_ADDRESS.hex()
    assert keys[keys.index(history) + 1] == "0x" + word((number - 1) % 8191).hex()


async def test_auto_falls_back_to_synthesis_and_debug_mode_says_why(chain: Chain) -> None:
    receipt = await chain.send(2, to="0x" + "78" * 20, value=1)
    number = int(receipt["blockNumber"], 16)
    block = await chain.block(number)
    auto = await fetch_witness(chain.rpc, number, block, "auto")
    assert auto == await fetch_witness(chain.rpc, number, block, WitnessSourceMode.SYNTHESIZE)
    with pytest.raises(WitnessUnavailable, match="does not serve debug_executionWitness"):
        await fetch_witness(chain.rpc, number, block, WitnessSourceMode.DEBUG)


async def test_genesis_cannot_be_synthesized(chain: Chain) -> None:
    with pytest.raises(WitnessUnavailable, match="block 0 has no parent"):
        await fetch_witness(chain.rpc, 0, await chain.block(0), WitnessSourceMode.SYNTHESIZE)


async def test_geth_form_witness_is_completed_with_keys(chain: Chain) -> None:
    address, _ = await chain.deploy(STORE_RUNTIME)
    receipt = await chain.send(2, to=address, data=word(4) + word(4))
    number = int(receipt["blockNumber"], 16)
    block = await chain.block(number)
    reth_form = await fetch_witness(chain.rpc, number, block, WitnessSourceMode.SYNTHESIZE)
    parent = await chain.block(number - 1)
    header = {k: v for k, v in parent.items() if k not in ("transactions", "uncles", "size")}
    geth_doc = {**reth_form, "keys": None, "headers": [header]}
    geth = parse_witness(geth_doc)
    assert geth.keys is None and geth.headers == parse_witness(reth_form).headers
    completed = await complete_witness(chain.rpc, block, geth)
    assert completed.to_json() == reth_form
    verify_witness(completed, WitnessBlockFacts.from_block_json(block))


# --- pure helpers ---------------------------------------------------------------------------


def test_blockhash_scan_skips_push_data() -> None:
    assert blockhash_in_code(bytes.fromhex("5f3540"))
    assert not blockhash_in_code(bytes.fromhex("6040600140"[:-2]))  # 0x40 only as PUSH1 data
    assert not blockhash_in_code(bytes.fromhex("7f" + "40" * 32 + "00"))


def test_oldest_header_needed() -> None:
    assert oldest_header_needed(100, ()) == 99
    assert oldest_header_needed(300, (297, 298, 3, 350)) == 297  # 3 and 350: outside the window
    assert oldest_header_needed(300, None) == 44
    assert oldest_header_needed(10, None) == 0


def test_grind_preimage_hits_the_prefix_and_stays_bounded() -> None:
    found = grind_preimage((0xA, 0x3), 20)
    assert found is not None and len(found) == 20
    assert nibbles(keccak(found))[:2] == (0xA, 0x3)
    assert grind_preimage((1,) * 9, 20) is None


def test_collapse_detection_on_a_two_leaf_trie() -> None:
    def leaf(key: bytes, value: bytes) -> bytes:
        from ethproofs_daemon.eth.mpt import encode_hex_prefix

        return rlp.encode([encode_hex_prefix(nibbles(keccak(key))[1:], leaf=True), value])

    a, b = word(1), word(2)  # first nibbles b and 4
    leaf_a, leaf_b = leaf(a, b"\x07"), leaf(b, b"\x09")
    children: list[bytes] = [b""] * 17
    children[0xB], children[0x4] = keccak(leaf_a), keccak(leaf_b)
    root_node = rlp.encode(children)
    root = keccak(root_node)
    nodes = {root: root_node, keccak(leaf_a): leaf_a}
    assert find_collapse_sibling(root, nibbles(keccak(a)), nodes) == (keccak(leaf_b), (0x4,))
    nodes[keccak(leaf_b)] = leaf_b
    assert find_collapse_sibling(root, nibbles(keccak(a)), nodes) is None
    assert find_collapse_sibling(EMPTY_TRIE_ROOT, nibbles(keccak(a)), {}) is None


def test_partial_trie_updates_are_order_independent_and_deletes_undo_puts() -> None:
    from ethproofs_daemon.witness.trie_update import MissingNode, PartialTrie

    keys = [nibbles(keccak(word(i))) for i in range(40)]
    forward, backward, subset = ({} for _ in range(3))
    a, b = PartialTrie(EMPTY_TRIE_ROOT, forward), PartialTrie(EMPTY_TRIE_ROOT, backward)
    for i, key in enumerate(keys):
        a.put(key, rlp.encode(i + 1))
    for i, key in reversed(list(enumerate(keys))):
        b.put(key, rlp.encode(i + 1))
    assert a.root_hash() == b.root_hash() != EMPTY_TRIE_ROOT
    for key in keys[10:]:
        a.delete(key)
    c = PartialTrie(EMPTY_TRIE_ROOT, subset)
    for i, key in enumerate(keys[:10]):
        c.put(key, rlp.encode(i + 1))
    assert a.root_hash() == c.root_hash()
    # A trie known only by its root hash: any update needs the root node.
    with pytest.raises(MissingNode):
        PartialTrie(c.root_hash(), {}).delete(keys[0])
