"""``inspect-input``: read an input file back (validating) and summarize it.

Block numbers and recomputed hashes, transaction counts by type, withdrawals, witness node /
code / header / key counts, storage tries, and sizes in bytes. Raises ``InputError`` (e.g.
``ArchiveError`` for bytes that are not a valid ``ProgramInput`` archive).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .checks import block_hash
from .errors import InputError
from .profiles import Codec, GuestProfile, unframe
from .schema import decode_program_input
from .types import BranchNode, ExtensionNode, LeafNode, Node, NodeRef

_TX_NAMES = {
    "LegacyTransaction": "legacy",
    "EIP2930Transaction": "eip2930",
    "EIP1559Transaction": "eip1559",
    "EIP4844Transaction": "eip4844",
    "EIP7702Transaction": "eip7702",
    "PrivilegedL2Transaction": "privileged_l2",
    "FeeTokenTransaction": "fee_token",
}


@dataclass(frozen=True, slots=True)
class BlockSummary:
    """One block of the input. ``hash`` is recomputed from the header."""

    number: int
    hash: bytes
    tx_counts: dict[str, int]
    withdrawals: int | None
    ommers: int


@dataclass(frozen=True, slots=True)
class InputSummary:
    """What an input file holds; sizes in bytes."""

    profile: str
    file_bytes: int
    payload_bytes: int
    blocks: tuple[BlockSummary, ...]
    first_block_number: int
    chain_id: int
    state_trie_nodes: int
    storage_tries: int
    storage_trie_nodes: int
    codes: int
    code_bytes: int
    headers: int
    keys: int
    elasticity_multiplier: int

    def lines(self) -> list[str]:
        """Human-readable report lines."""
        out = [
            f"profile: {self.profile}",
            f"size: {self.file_bytes} bytes (ProgramInput archive {self.payload_bytes} bytes)",
        ]
        for b in self.blocks:
            txs = ", ".join(f"{k} {v}" for k, v in sorted(b.tx_counts.items())) or "none"
            wd = "none" if b.withdrawals is None else str(b.withdrawals)
            out.append(
                f"block {b.number} hash 0x{b.hash.hex()}: {sum(b.tx_counts.values())} txs "
                f"({txs}), withdrawals {wd}, ommers {b.ommers}"
            )
        out += [
            f"witness: first block {self.first_block_number}, chain id {self.chain_id}",
            f"  state trie nodes (embedded): {self.state_trie_nodes}",
            f"  storage tries: {self.storage_tries} ({self.storage_trie_nodes} embedded nodes)",
            f"  codes: {self.codes} ({self.code_bytes} bytes)",
            f"  headers: {self.headers}",
            f"  keys: {self.keys}",
            f"elasticity multiplier: {self.elasticity_multiplier}",
        ]
        return out


def count_nodes(node: NodeRef | None) -> int:
    """Embedded nodes in a trie (hash references not counted)."""
    if node is None:
        return 0
    stack: list[NodeRef] = [node]
    n = 0
    while stack:
        cur = stack.pop()
        if isinstance(cur, BranchNode):
            n += 1
            stack.extend(cur.choices)
        elif isinstance(cur, ExtensionNode):
            n += 1
            stack.append(cur.child)
        elif isinstance(cur, LeafNode):
            n += 1
    return n


def summarize_input(data: bytes, profile: GuestProfile) -> InputSummary:
    """Unframe per ``profile``, validate-read the ``ProgramInput`` and summarize it.

    Raises:
        ArchiveError: the payload is not a valid ``ProgramInput`` archive.
        ProfileError: the bytes are not in the profile's framing.
        InputError: the profile's codec is not the built-in one.
    """
    if profile.codec is not Codec.ETHREX_891528D_RKYV:
        raise InputError("profile", f"cannot read codec {profile.codec} of {profile.name}")
    payload = unframe(data, profile.framing)
    pi = decode_program_input(payload)
    w = pi.execution_witness
    blocks = tuple(
        BlockSummary(
            number=b.header.number,
            hash=block_hash(b),
            tx_counts=dict(Counter(_TX_NAMES[type(t).__name__] for t in b.body.transactions)),
            withdrawals=None if b.body.withdrawals is None else len(b.body.withdrawals),
            ommers=len(b.body.ommers),
        )
        for b in pi.blocks
    )
    storage_roots: list[Node] = list(w.storage_trie_roots.values())
    return InputSummary(
        profile=profile.name,
        file_bytes=len(data),
        payload_bytes=len(payload),
        blocks=blocks,
        first_block_number=w.first_block_number,
        chain_id=w.chain_config.chain_id,
        state_trie_nodes=count_nodes(w.state_trie_root),
        storage_tries=len(storage_roots),
        storage_trie_nodes=sum(count_nodes(r) for r in storage_roots),
        codes=len(w.codes),
        code_bytes=sum(len(c) for c in w.codes),
        headers=len(w.block_headers_bytes),
        keys=len(w.keys),
        elasticity_multiplier=pi.elasticity_multiplier,
    )
