"""Branch collapse and the post-state check for witness synthesis ("Post-state check" and "Known
limit: branch collapse" in ``witness.synthesis``'s module docstring).

When the block deletes a key and the branch above it is left with one child, the trie update must
read that sibling, which no pre-state proof contains. ``resolve_collapses`` finds such deletions
and tries to fetch the sibling by proving a ground key whose path runs through it (at most
``_GRIND_MAX_NIBBLES`` nibbles of prefix); ``check_post_state`` re-applies the block's writes to
the witness tries. Sources: the yellow paper's trie rules (appendix D), EIP-1186 (``eth_getProof``
at N for post-state values); node witnesses for such blocks are in tests 145–156 of
erigontech/rpc-tests@73992926:integration/hive/debug_executionWitness/ (the branch-collapse cases).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import rlp
import structlog

from ethproofs_daemon.eth.mpt import (
    EMPTY_TRIE_ROOT,
    TrieError,
    decode_account,
    lookup,
    lowest_branch,
    nibbles,
)
from ethproofs_daemon.hashing import keccak
from ethproofs_daemon.node.rpc import JsonRpcClient
from ethproofs_daemon.witness.account_proofs import AccountProof, hex_0x, parse_proof
from ethproofs_daemon.witness.touched_state import Touched
from ethproofs_daemon.witness.trie_update import MissingNode, PartialTrie

log = structlog.get_logger(__name__)

_GRIND_MAX_NIBBLES: Final = 5


@dataclass(frozen=True, slots=True)
class CollapseRisk:
    """A deletion whose branch may collapse onto a sibling node the witness does not hold.

    ``account``: the 20-byte address; ``slot``: the 32-byte slot, or None for the account itself
    (state trie); ``sibling``: the missing node's hash; ``depth``: nibbles from the trie root to it.
    """

    account: bytes
    slot: bytes | None
    sibling: bytes
    depth: int


def find_collapse_sibling(
    root: bytes, key_path: tuple[int, ...], nodes: Mapping[bytes, bytes]
) -> tuple[bytes, tuple[int, ...]] | None:
    """The sibling a deletion of ``key_path`` would need but ``nodes`` lacks, if any.

    Args:
        root: the trie's root hash (32 bytes).
        key_path: 64 nibbles (``keccak`` of the address or slot).
        nodes: keccak → node RLP (not modified).

    Returns:
        ``(hash, nibble path)`` of the lone remaining child when deleting the leaf at ``key_path``
        leaves its lowest branch with a single child referenced by hash and absent from
        ``nodes``; None otherwise (leaf absent or unknown, or no collapse onto a missing node).
    """
    found = lowest_branch(root, key_path, dict(nodes))
    if found is None:
        return None
    branch, branch_depth = found
    others = [
        (i, c)
        for i, c in enumerate(branch.children)
        if c is not None and i != key_path[branch_depth]
    ]
    if len(others) != 1:
        return None
    nibble, child = others[0]
    if child.hash is None or child.hash in nodes:
        return None
    return child.hash, (*key_path[:branch_depth], nibble)


def grind_preimage(prefix: tuple[int, ...], length: int) -> bytes | None:
    """A ``length``-byte string whose keccak starts with the nibbles ``prefix``, found by counting;
    None when ``prefix`` is longer than ``_GRIND_MAX_NIBBLES`` (bounded work: ~16^len tries)."""
    if len(prefix) > _GRIND_MAX_NIBBLES:
        return None
    budget = 64 * 16 ** len(prefix)
    for counter in itertools.islice(itertools.count(1), budget):
        candidate = counter.to_bytes(length, "big")
        if nibbles(keccak(candidate)[: (len(prefix) + 1) // 2])[: len(prefix)] == prefix:
            return candidate
    return None


async def resolve_collapses(
    rpc: JsonRpcClient,
    block_number: int,
    touched: Touched,
    pre: Mapping[bytes, AccountProof],
    post: Mapping[bytes, AccountProof],
    nodes: dict[bytes, bytes],
    state_root: bytes,
) -> list[CollapseRisk]:
    """Find deletions that may need a missing sibling and fetch those siblings where possible.

    Args:
        block_number: block N; siblings are proved at N - 1.
        pre: ``eth_getProof`` answers at N - 1, by 20-byte address.
        post: ``eth_getProof`` answers at N, by 20-byte address (deletions are read from them).
        nodes: keccak → node RLP of the witness; fetched siblings are added to it.
        state_root: the parent's state root (32 bytes).

    Returns:
        The risks left unresolved (siblings that could not be fetched).

    Raises:
        RpcError: an ``eth_getProof`` call failed (the ``node.rpc`` family).
        WitnessSynthesisError: an ``eth_getProof`` answer is malformed.
        TrieError: a witness node on a deleted key's path does not decode.
    """
    risks: list[tuple[CollapseRisk, bytes]] = []  # (risk, root of the trie it is in)
    for address, proof in pre.items():
        path = nibbles(keccak(address))
        existed = lookup(state_root, path, nodes) is not None
        if existed and not _exists_after(post[address], path):
            found = find_collapse_sibling(state_root, path, nodes)
            if found is not None:
                risks.append((CollapseRisk(address, None, found[0], len(found[1])), state_root))
        if proof.storage_hash in (EMPTY_TRIE_ROOT, b"\0" * 32):
            continue
        for slot, value in proof.slot_values.items():
            if value != 0 and post[address].slot_values.get(slot, 0) == 0:
                found = find_collapse_sibling(proof.storage_hash, nibbles(keccak(slot)), nodes)
                if found is not None:
                    risk = CollapseRisk(address, slot, found[0], len(found[1]))
                    risks.append((risk, proof.storage_hash))
    unresolved: list[CollapseRisk] = []
    for risk, root in risks:
        if risk.sibling in nodes or await _fetch_sibling(rpc, risk, root, block_number - 1, nodes):
            log.info(
                "witness_collapse_sibling_fetched",
                block_number=block_number,
                sibling=hex_0x(risk.sibling),
                depth=risk.depth,
            )
            continue
        unresolved.append(risk)
        log.warning(
            "witness_collapse_risk",
            block_number=block_number,
            account=hex_0x(risk.account),
            slot=hex_0x(risk.slot) if risk.slot else None,
            sibling=hex_0x(risk.sibling),
            depth=risk.depth,
        )
    return unresolved


def check_post_state(
    touched: Touched,
    pre: Mapping[bytes, AccountProof],
    post: Mapping[bytes, AccountProof],
    nodes: Mapping[bytes, bytes],
    parent_state_root: bytes,
    expected_root: bytes,
) -> str | None:
    """Re-apply the block's writes to the witness tries and compare with block N's ``stateRoot``.

    The writes are the post-state values of ``post`` (``eth_getProof`` at N) for the touched
    accounts and slots; ``nodes`` is copied, not modified.

    Returns:
        None when the recomputed root is ``expected_root``; else the reason: the node keeps a
        zero-valued slot in its trie (anvil 1.7.1), a node the update needs is missing (e.g. a
        branch-collapse sibling), a storage root differs (a write outside the touched slots) or
        the state root differs (a write outside the touched accounts).
    """
    store = dict(nodes)
    state = PartialTrie(parent_state_root, store)
    try:
        for address in touched.slots:
            path = nibbles(keccak(address))
            after = _account_after(post[address], path)
            if after is None:
                state.delete(path)
                continue
            account = decode_account(after)
            kept = _zero_slot_kept(post[address], account.storage_root, touched.slots[address])
            if kept is not None:
                return (
                    f"the node keeps storage slot {hex_0x(kept)} of {hex_0x(address)} in its trie "
                    "with value zero (anvil 1.7.1 does this for every SSTORE of 0), so the block's "
                    "stateRoot is not the one a conforming client (the guest) computes"
                )
            storage = PartialTrie(pre[address].storage_hash, store)
            for slot in touched.slots[address]:
                value = post[address].slot_values.get(slot, 0)
                if value:
                    storage.put(nibbles(keccak(slot)), rlp.encode(value))
                else:
                    storage.delete(nibbles(keccak(slot)))
            if storage.root_hash() != account.storage_root:
                return (
                    f"storage root of {hex_0x(address)} recomputes to "
                    f"{hex_0x(storage.root_hash())}, not {hex_0x(account.storage_root)} "
                    "(a write outside the traced slots?)"
                )
            state.put(path, after)
    except MissingNode as exc:
        return f"the update needs a node the witness lacks: {exc}"
    except TrieError as exc:
        return f"a witness node does not decode: {exc}"
    if state.root_hash() != expected_root:
        return (
            f"state root recomputes to {hex_0x(state.root_hash())}, not the block's "
            f"{hex_0x(expected_root)} (a write outside the traced accounts?)"
        )
    return None


def _zero_slot_kept(
    post: AccountProof, storage_root: bytes, slots: Mapping[bytes, None]
) -> bytes | None:
    """A touched slot whose post value is 0 but which the post-state trie still holds."""
    post_nodes = {keccak(raw): raw for raw in post.nodes}
    for slot in slots:
        if post.slot_values.get(slot, 0) == 0:
            value = lookup(storage_root, nibbles(keccak(slot)), post_nodes)
            if value is not None:
                return slot
    return None


def _account_after(post: AccountProof, path: tuple[int, ...]) -> bytes | None:
    """The account's RLP in the post-state, read from its own (post) proof; None if absent."""
    if not post.nodes:
        return None
    post_nodes = {keccak(raw): raw for raw in post.nodes}
    return lookup(keccak(post.nodes[0]), path, post_nodes)


def _exists_after(post: AccountProof, path: tuple[int, ...]) -> bool:
    """Whether the account at ``path`` is in the post-state, read from its own (post) proof."""
    if not post.nodes:
        return False
    post_nodes = {keccak(raw): raw for raw in post.nodes}
    return lookup(keccak(post.nodes[0]), path, post_nodes) is not None


async def _fetch_sibling(
    rpc: JsonRpcClient, risk: CollapseRisk, root: bytes, parent: int, nodes: dict[bytes, bytes]
) -> bool:
    """Prove a ground key whose path runs through the sibling; True once it is in ``nodes``."""
    key = risk.slot if risk.slot is not None else risk.account
    found = find_collapse_sibling(root, nibbles(keccak(key)), nodes)
    if found is None:
        return risk.sibling in nodes
    preimage = grind_preimage(found[1], 32 if risk.slot is not None else 20)
    if preimage is None:
        return False
    if risk.slot is not None:
        doc = await rpc.call(
            "eth_getProof", [hex_0x(risk.account), [hex_0x(preimage)], hex(parent)]
        )
        fetched = parse_proof(doc, risk.account)
    else:
        doc = await rpc.call("eth_getProof", [hex_0x(preimage), [], hex(parent)])
        fetched = parse_proof(doc, preimage)
    for raw in fetched.nodes:
        nodes.setdefault(keccak(raw), raw)
    return risk.sibling in nodes


__all__ = [
    "CollapseRisk",
    "check_post_state",
    "find_collapse_sibling",
    "grind_preimage",
    "resolve_collapses",
]
