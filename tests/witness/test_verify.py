"""Witness verification against the real witnesses in ../shared/fixtures/real-data/ (read in place).

Pairs (fixture README): hive blocks 0x1 and 0x2d with geth, reth and reth-canonical witnesses;
Hoodi 1265656 (block header and witness in one ethrex-replay cache); the mainnet witnesses
15537394 and 19426587 whose blocks are not available (their own header is the parent).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rlp

from ethproofs_daemon.eth.mpt import NodeKind, decode_node, keccak
from ethproofs_daemon.eth.witness import (
    ExecutionWitness,
    WitnessFormatError,
    decode_header,
    encode_header_json,
    parse_witness,
)
from ethproofs_daemon.inputs.rpc_block import block_from_json
from ethproofs_daemon.witness.synthesis_block import SynthesisBlock
from ethproofs_daemon.witness.verify import (
    WitnessBlockFacts,
    WitnessCodeError,
    WitnessHeaderError,
    WitnessStateError,
    verify_witness,
    verify_witness_json,
)

#: Hash of mainnet block 15537393, the last proof-of-work block (the parent of The Merge block).
MAINNET_15537393_HASH = bytes.fromhex(
    "55b11b918355b1ef9c5db810302ebad0bf2544255b530cdce90674d5887bb286"
)


def load(path: Path) -> object:
    return json.loads(path.read_text())


def hoodi(shared_fixtures: Path) -> tuple[ExecutionWitness, WitnessBlockFacts]:
    cache = json.loads(
        (shared_fixtures / "real-data/hoodi-replay/cache_hoodi_1265656.json").read_text()
    )
    header = cache["blocks"][0]["header"]
    return parse_witness(cache["witness"]), WitnessBlockFacts.from_block_json(header)


def mainnet(shared_fixtures: Path, number: int) -> ExecutionWitness:
    path = shared_fixtures / f"real-data/mainnet-witness/witness_{number}.geth.json"
    return parse_witness(json.loads(path.read_text()))


@pytest.mark.parametrize("block", ["0x1", "0x2d"])
@pytest.mark.parametrize("flavour", ["geth", "reth", "reth-canonical"])
def test_hive_witnesses_pass_against_their_blocks(
    shared_fixtures: Path, block: str, flavour: str
) -> None:
    hive = shared_fixtures / "real-data/hive-chain"
    witness = json.loads((hive / f"witness_{block}.{flavour}.json").read_text())
    block_json = json.loads((hive / f"block_{block}.json").read_text())
    report = verify_witness_json(witness, block_json)
    assert report.parent_number == int(block, 16) - 1
    assert report.parent_state_root == bytes.fromhex(
        {
            "0x1": "e5d8b049a78427be8c23ebd6811ed436b3a36cc117954b496848b90f0c654844",
            "0x2d": "cd2e193f7b3807b961167247bffc4e987ed72457273424814fcc9163c399a694",
        }[block]
    )


def test_hoodi_witness_with_six_headers_passes(shared_fixtures: Path) -> None:
    witness, block = hoodi(shared_fixtures)
    report = verify_witness(witness, block)
    assert (report.first_header_number, report.parent_number) == (1265650, 1265655)
    assert report.codes == 22 and report.storage_tries > 0


@pytest.mark.parametrize("number", [15537394, 19426587])
def test_mainnet_geth_witnesses_pass(shared_fixtures: Path, number: int) -> None:
    witness = mainnet(shared_fixtures, number)
    parent_hash = MAINNET_15537393_HASH if number == 15537394 else None
    report = verify_witness(witness, WitnessBlockFacts(number, parent_hash))
    assert report.parent_number == number - 1
    assert report.codes > 20 and report.accounts_reached > 50


def test_geth_json_header_is_reencoded_to_its_hash(shared_fixtures: Path) -> None:
    doc = load(shared_fixtures / "real-data/mainnet-witness/witness_15537394.geth.json")
    assert isinstance(doc, dict)
    raw = encode_header_json(doc["headers"][0])
    assert keccak(raw) == MAINNET_15537393_HASH
    assert decode_header(raw).number == 15537393


def test_a_header_that_does_not_match_its_hash_is_rejected(shared_fixtures: Path) -> None:
    doc = load(shared_fixtures / "real-data/mainnet-witness/witness_15537394.geth.json")
    assert isinstance(doc, dict)
    header = dict(doc["headers"][0])
    header["gasUsed"] = "0x1"
    with pytest.raises(WitnessFormatError, match="re-encoded header hashes to"):
        encode_header_json(header)


# --- tampering: each kind of damage is caught, with a message naming it ---------------------------


def _interior_node_with_children_present(witness: ExecutionWitness, root: bytes) -> bytes:
    """A non-root node whose hashed children are in the witness (removing it strands them)."""
    by_hash = {keccak(raw): raw for raw in witness.state}
    for node_hash, raw in by_hash.items():
        if node_hash == root:
            continue
        node = decode_node(raw)
        if node.kind is not NodeKind.LEAF and any(
            c is not None and c.hash in by_hash for c in node.children
        ):
            return raw
    raise AssertionError("no interior node found")


def test_removed_node_is_rejected(shared_fixtures: Path) -> None:
    witness, block = hoodi(shared_fixtures)
    root = decode_header(witness.headers[-1]).state_root
    victim = _interior_node_with_children_present(witness, root)
    damaged = ExecutionWitness(
        tuple(n for n in witness.state if n != victim), witness.codes, witness.keys, witness.headers
    )
    with pytest.raises(WitnessStateError, match="not reachable from the parent state root"):
        verify_witness(damaged, block)


def test_removed_root_node_is_rejected(shared_fixtures: Path) -> None:
    witness, block = hoodi(shared_fixtures)
    root = decode_header(witness.headers[-1]).state_root
    damaged = ExecutionWitness(
        tuple(n for n in witness.state if keccak(n) != root),
        witness.codes,
        witness.keys,
        witness.headers,
    )
    with pytest.raises(WitnessStateError, match="is not among the"):
        verify_witness(damaged, block)


def test_altered_node_is_rejected(shared_fixtures: Path) -> None:
    witness = mainnet(shared_fixtures, 19426587)
    state = list(witness.state)
    # Flip a byte inside a 32-byte child hash of a branch (the RLP stays valid).
    index = next(
        i
        for i, raw in enumerate(state)
        if decode_node(raw).kind is NodeKind.BRANCH
        and keccak(raw) != decode_header(witness.headers[-1]).state_root
    )
    raw = bytearray(state[index])
    raw[-5] ^= 0x01
    state[index] = bytes(raw)
    damaged = ExecutionWitness(tuple(state), witness.codes, witness.keys, witness.headers)
    with pytest.raises(WitnessStateError, match="not reachable"):
        verify_witness(damaged, WitnessBlockFacts(19426587, None))


def test_junk_node_is_rejected(shared_fixtures: Path) -> None:
    witness, block = hoodi(shared_fixtures)
    root = decode_header(witness.headers[-1]).state_root
    root_node = decode_node(next(n for n in witness.state if keccak(n) == root))
    child = next(c for c in root_node.children if c is not None and c.hash is not None)
    assert child.hash is not None
    # An extra node (not even a valid one: a 31-byte child is neither a hash nor inline).
    junk = rlp.encode([child.hash[:31]] + [b""] * 16)
    damaged = ExecutionWitness((*witness.state, junk), witness.codes, witness.keys, witness.headers)
    with pytest.raises(WitnessStateError, match=f"not reachable.*0x{keccak(junk).hex()}"):
        verify_witness(damaged, block)


def test_wrong_code_is_rejected(shared_fixtures: Path) -> None:
    witness = mainnet(shared_fixtures, 15537394)
    codes = list(witness.codes)
    code = bytearray(codes[3])
    code[len(code) // 2] ^= 0xFF
    codes[3] = bytes(code)
    damaged = ExecutionWitness(witness.state, tuple(codes), witness.keys, witness.headers)
    with pytest.raises(WitnessCodeError, match=r"codes\[3\]"):
        verify_witness(damaged, WitnessBlockFacts(15537394, MAINNET_15537393_HASH))


def test_header_chain_with_a_gap_is_rejected(shared_fixtures: Path) -> None:
    witness, block = hoodi(shared_fixtures)
    headers = witness.headers[:2] + witness.headers[3:]
    damaged = ExecutionWitness(witness.state, witness.codes, witness.keys, headers)
    with pytest.raises(WitnessHeaderError, match="skip from block"):
        verify_witness(damaged, block)


def test_header_chain_with_an_altered_ancestor_is_rejected(shared_fixtures: Path) -> None:
    witness, block = hoodi(shared_fixtures)
    items = rlp.decode(witness.headers[1])
    items[12] = b"tampered extra data"
    headers = (witness.headers[0], rlp.encode(items), *witness.headers[2:])
    damaged = ExecutionWitness(witness.state, witness.codes, witness.keys, headers)
    with pytest.raises(WitnessHeaderError, match="has parentHash"):
        verify_witness(damaged, block)


def test_headers_not_ending_at_the_blocks_parent_are_rejected(shared_fixtures: Path) -> None:
    witness, block = hoodi(shared_fixtures)
    with pytest.raises(WitnessHeaderError, match="but block 1265656 has parentHash"):
        verify_witness(witness, WitnessBlockFacts(block.number, b"\x11" * 32))
    with pytest.raises(WitnessHeaderError, match="not the parent"):
        verify_witness(witness, WitnessBlockFacts(block.number + 1, None))
    empty = ExecutionWitness(witness.state, witness.codes, witness.keys, ())
    with pytest.raises(WitnessHeaderError, match="no headers"):
        verify_witness(empty, block)


def test_block_facts_from_the_typed_block_equal_those_read_from_json(shared_fixtures: Path) -> None:
    """The daemon reads the block once (typed); what verification and synthesis take from it is
    what the JSON readers take (hive block 0x2d: a creation and a type-4 delegation, Prague)."""
    doc = load(shared_fixtures / "real-data/hive-chain/block_0x2d.json")
    block = block_from_json(doc)
    assert WitnessBlockFacts.from_block(block) == WitnessBlockFacts.from_block_json(doc)  # type: ignore[arg-type]
    assert SynthesisBlock.from_block(block) == SynthesisBlock.from_json(doc)  # type: ignore[arg-type]
