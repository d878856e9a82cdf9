"""Check a witness before any proving time is spent on it (pure).

Three properties, each failing with its own error class (all ``WitnessInvalid``, which the daemon
records as the job failure ``input_error``):

1. **Headers** (``WitnessHeaderError``): they decode, form one chain by parent hash with consecutive
   numbers, and the newest is the block's parent (number ``block_number - 1``, and hash
   ``parent_hash`` when given).
2. **State** (``WitnessStateError``): the parent's ``stateRoot`` is among the nodes, every node
   decodes, and every node is reachable from that root: through the state trie, and through the
   storage root of every account leaf reached (inline children are followed in place). Hash
   references to nodes not in the witness are allowed: a witness is a partial trie.
3. **Codes** (``WitnessCodeError``): every code hashes to the ``codeHash`` of an account leaf
   reached in step 2, or is code the block itself creates. Real witnesses (reth and geth, hive block
   0x2d: erigontech/rpc-tests@73992926:integration/hive/debug_executionWitness/test_144.json,
   test_244.json) carry the post-state code of contracts deployed in the block and EIP-7702
   delegation designators set by it, which no pre-state account names. Such a code is accepted when
   it is empty, is a designator ``0xef0100 ‖ address`` for an address authorised by a type-4
   transaction of the block, is an EIP-1167 minimal proxy, or is a byte substring of a creation
   transaction's init code or of another code in the witness (a factory embedding its child). Init
   code may also *compute* the runtime code (hive block 0x1's reth witness, ``test_200.json`` there,
   has 256 bytes of keccak output deployed that way), so when the block has a creation transaction,
   a code no rule explains is accepted and counted as ``unverified_codes``. **Known limit:** in a
   block without a creation transaction, code computed by a contract's internal CREATE (other than
   EIP-1167 proxies) is rejected although the block is valid. An extra code can never be misused
   (the guest looks codes up by hash), so this check is about catching corrupted witnesses.

The node entry that is exactly ``0x80`` (RLP of the empty string) is ignored, as ethrex's node map
does (``execution_witness_from_rpc_chain_config``,
lambdaclass/ethrex@891528d:crates/networking/rpc/debug/execution_witness.rs). Trie format: see
``eth.mpt``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

from ethproofs_daemon.eth.json import JsonValue
from ethproofs_daemon.eth.mpt import (
    EMPTY_TRIE_ROOT,
    NodeKind,
    TrieError,
    decode_account,
    decode_node,
)
from ethproofs_daemon.eth.types import Block, EIP7702Transaction
from ethproofs_daemon.eth.witness import (
    ExecutionWitness,
    HeaderInfo,
    WitnessFormatError,
    WitnessInvalid,
    decode_header,
    hex_bytes,
    parse_witness,
)
from ethproofs_daemon.hashing import keccak

__all__ = [
    "WitnessBlockFacts",
    "WitnessCodeError",
    "WitnessHeaderError",
    "WitnessInvalid",
    "WitnessReport",
    "WitnessStateError",
    "verify_witness",
    "verify_witness_json",
]

_EMPTY_STRING_RLP: Final = b"\x80"
_SHOW: Final = 3


class WitnessHeaderError(WitnessInvalid):
    """The headers do not decode, do not chain, or do not end at the block's parent."""


class WitnessStateError(WitnessInvalid):
    """The parent state root is missing, a node does not decode, or a node is unreachable."""


class WitnessCodeError(WitnessInvalid):
    """A code's keccak is not the code hash of any account reached in the state trie."""


#: EIP-1167 minimal proxy runtime code: prefix ‖ 20-byte implementation ‖ suffix.
_EIP1167_PREFIX: Final = bytes.fromhex("363d3d373d3d3d363d73")
_EIP1167_SUFFIX: Final = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")
#: EIP-7702 delegation designator prefix (followed by a 20-byte address).
_DELEGATION_PREFIX: Final = bytes.fromhex("ef0100")


@dataclass(frozen=True, slots=True)
class WitnessBlockFacts:
    """What verification needs from the block the witness is for.

    ``parent_hash`` None skips only the hash comparison of the newest header (for a witness whose
    block is not at hand). ``creation_inputs``: the ``input`` of every transaction with no ``to``;
    ``delegations``: the 20-byte addresses in every type-4 ``authorizationList``.
    """

    number: int
    parent_hash: bytes | None
    creation_inputs: tuple[bytes, ...] = ()
    delegations: frozenset[bytes] = frozenset()

    @classmethod
    def from_block(cls, block: Block) -> WitnessBlockFacts:
        """From the typed block (``inputs.rpc_block``, parsed at the RPC edge)."""
        txs = block.body.transactions
        return cls(
            number=block.header.number,
            parent_hash=block.header.parent_hash,
            creation_inputs=tuple(tx.data for tx in txs if tx.to is None),
            delegations=frozenset(
                auth.address
                for tx in txs
                if isinstance(tx, EIP7702Transaction)
                for auth in tx.authorization_list
            ),
        )

    @classmethod
    def from_block_json(cls, block: JsonValue) -> WitnessBlockFacts:
        """From an ``eth_getBlockByNumber(n, true)`` result (an ethrex-replay ``header`` works too,
        without transactions).

        Raises:
            WitnessFormatError: ``number``/``parentHash`` missing or malformed.
        """
        if not isinstance(block, dict):
            raise WitnessFormatError("block is not a JSON object")
        number = block.get("number")
        try:
            assert isinstance(number, str) and number.startswith("0x")
            block_number = int(number, 16)
        except (AssertionError, ValueError) as exc:
            raise WitnessFormatError(f"block.number: not a hex quantity: {number!r:.40}") from exc
        creation: list[bytes] = []
        delegations: set[bytes] = set()
        txs = block.get("transactions")
        for i, tx in enumerate(txs if isinstance(txs, list) else []):
            if not isinstance(tx, dict):
                continue
            if tx.get("to") in (None, "") and tx.get("input") is not None:
                creation.append(hex_bytes(tx.get("input"), f"transactions[{i}].input"))
            auths = tx.get("authorizationList")
            for j, auth in enumerate(auths if isinstance(auths, list) else []):
                if isinstance(auth, dict):
                    where = f"transactions[{i}].authorizationList[{j}].address"
                    delegations.add(hex_bytes(auth.get("address"), where))
        return cls(
            number=block_number,
            parent_hash=hex_bytes(block.get("parentHash"), "block.parentHash"),
            creation_inputs=tuple(creation),
            delegations=frozenset(delegations),
        )


@dataclass(frozen=True, slots=True)
class WitnessReport:
    """What a passing witness holds.

    ``parent_state_root``: the root checked against (32 bytes); ``first_header_number``: the oldest
    header; counts are of distinct nodes, account leaves reached, storage tries entered, codes,
    codes the block creates (accepted by the rules above) and hash references left open (nodes not
    in the witness: the partial trie's frontier).
    """

    parent_number: int
    parent_state_root: bytes
    first_header_number: int
    state_nodes: int
    accounts_reached: int
    storage_tries: int
    codes: int
    created_codes: int
    unverified_codes: int
    open_references: int


def _short(data: bytes) -> str:
    return "0x" + data.hex()


def check_headers(
    headers: tuple[bytes, ...], *, block_number: int, parent_hash: bytes | None
) -> list[HeaderInfo]:
    """Decode and chain-check ``headers``; returns them oldest first, parent last.

    Raises:
        WitnessHeaderError: as described in the module docstring, naming the header at fault.
    """
    if not headers:
        raise WitnessHeaderError("witness has no headers (the parent header is required)")
    infos: dict[bytes, HeaderInfo] = {}
    for i, raw in enumerate(headers):
        try:
            info = decode_header(raw, f"headers[{i}]")
        except WitnessFormatError as exc:
            raise WitnessHeaderError(str(exc)) from exc
        infos.setdefault(info.hash, info)
    chain = sorted(infos.values(), key=lambda h: h.number)
    for older, newer in itertools.pairwise(chain):
        if newer.number == older.number:
            raise WitnessHeaderError(
                f"two different headers for block {newer.number}: "
                f"{_short(older.hash)} and {_short(newer.hash)}"
            )
        if newer.number != older.number + 1:
            raise WitnessHeaderError(
                f"headers skip from block {older.number} to {newer.number} (not one chain)"
            )
        if newer.parent_hash != older.hash:
            raise WitnessHeaderError(
                f"header {newer.number} has parentHash {_short(newer.parent_hash)}, but header "
                f"{older.number} hashes to {_short(older.hash)}"
            )
    parent = chain[-1]
    if parent.number != block_number - 1:
        raise WitnessHeaderError(
            f"newest header is block {parent.number}, not the parent {block_number - 1} "
            f"of block {block_number}"
        )
    if parent_hash is not None and parent.hash != parent_hash:
        raise WitnessHeaderError(
            f"header {parent.number} hashes to {_short(parent.hash)}, but block {block_number} "
            f"has parentHash {_short(parent_hash)}"
        )
    return chain


def _walk(root: bytes, nodes: dict[bytes, bytes]) -> tuple[set[bytes], set[bytes], int, int, int]:
    """Walk the state trie and the storage tries below it.

    Returns:
        (reached node hashes, code hashes seen, account leaves, storage tries, open refs).

    Raises:
        WitnessStateError: a node or an account does not decode, or the walk does not end.
    """
    reached: set[bytes] = set()
    code_hashes: set[bytes] = set()
    accounts = storage_tries = open_refs = 0
    # Work items: (node RLP, node hash or None when inline, is-state-trie, nibble depth).
    stack: list[tuple[bytes, bytes | None, bool, int]] = [(nodes[root], root, True, 0)]
    reached.add(root)
    budget = 4 * (len(nodes) + 1) * 17  # every node is pushed at most once per parent slot
    while stack:
        budget -= 1
        if budget < 0:
            raise WitnessStateError("trie walk did not end (cyclic references?)")
        raw, node_hash, in_state, depth = stack.pop()
        label = _short(node_hash) if node_hash else f"inline node {_short(raw)}"
        try:
            node = decode_node(raw)
        except TrieError as exc:
            raise WitnessStateError(f"state node {label} does not decode: {exc}") from exc
        if node.kind is NodeKind.LEAF:
            if depth + len(node.path) != 64:
                raise WitnessStateError(
                    f"leaf {label} ends at nibble {depth + len(node.path)}, not 64"
                )
            if in_state:
                accounts += 1
                try:
                    account = decode_account(node.value)
                except TrieError as exc:
                    raise WitnessStateError(f"account leaf {label}: {exc}") from exc
                code_hashes.add(account.code_hash)
                sroot = account.storage_root
                if sroot != EMPTY_TRIE_ROOT and sroot in nodes:
                    storage_tries += 1
                    if sroot not in reached:
                        reached.add(sroot)
                        stack.append((nodes[sroot], sroot, False, 0))
            continue
        step = 1 if node.kind is NodeKind.BRANCH else len(node.path)
        for child in node.children:
            if child is None:
                continue
            if child.inline is not None:
                # Some witnesses also list inline nodes; count them as reached.
                reached.add(keccak(child.inline))
                stack.append((child.inline, None, in_state, depth + step))
                continue
            assert child.hash is not None
            if child.hash not in nodes:
                open_refs += 1
            elif child.hash not in reached:
                reached.add(child.hash)
                stack.append((nodes[child.hash], child.hash, in_state, depth + step))
    return reached, code_hashes, accounts, storage_tries, open_refs


def _created_by_block(code: bytes, block: WitnessBlockFacts, others: tuple[bytes, ...]) -> bool:
    """True when ``code`` is one the block can create (module docstring, rule 3)."""
    if not code:
        return True
    if len(code) == 23 and code.startswith(_DELEGATION_PREFIX):
        return code[3:] in block.delegations
    if len(code) == 45 and code.startswith(_EIP1167_PREFIX) and code.endswith(_EIP1167_SUFFIX):
        return True
    if any(code in init for init in block.creation_inputs):
        return True
    return any(code in other and code != other for other in others)


def verify_witness(witness: ExecutionWitness, block: WitnessBlockFacts) -> WitnessReport:
    """Verify ``witness`` for ``block`` (see the module docstring for the three checks).

    Returns:
        What the passing witness holds (counts, parent state root).

    Raises:
        WitnessHeaderError: check 1 failed.
        WitnessStateError: check 2 failed.
        WitnessCodeError: check 3 failed.
    """
    chain = check_headers(witness.headers, block_number=block.number, parent_hash=block.parent_hash)
    parent = chain[-1]
    nodes = {keccak(raw): raw for raw in witness.state if raw != _EMPTY_STRING_RLP}
    root = parent.state_root
    if root == EMPTY_TRIE_ROOT:
        reached: set[bytes] = set()
        code_hashes: set[bytes] = set()
        accounts = storage_tries = open_refs = 0
    elif root not in nodes:
        raise WitnessStateError(
            f"parent state root {_short(root)} (block {parent.number}) is not among the "
            f"{len(nodes)} state nodes"
        )
    else:
        reached, code_hashes, accounts, storage_tries, open_refs = _walk(root, nodes)
    unreachable = [h for h in nodes if h not in reached]
    if unreachable:
        shown = ", ".join(_short(h) for h in unreachable[:_SHOW])
        raise WitnessStateError(
            f"{len(unreachable)} of {len(nodes)} state nodes are not reachable from the parent "
            f"state root {_short(root)}: {shown}" + (" …" if len(unreachable) > _SHOW else "")
        )
    created = unverified = 0
    for i, code in enumerate(witness.codes):
        code_hash = keccak(code)
        if code_hash in code_hashes:
            continue
        if _created_by_block(code, block, witness.codes):
            created += 1
            continue
        if block.creation_inputs:
            unverified += 1
            continue
        raise WitnessCodeError(
            f"codes[{i}] ({len(code)} bytes, keccak {_short(code_hash)}) is not the code hash "
            f"of any account reached from state root {_short(root)}, nor code block "
            f"{block.number} creates"
        )
    return WitnessReport(
        parent_number=parent.number,
        parent_state_root=root,
        first_header_number=chain[0].number,
        state_nodes=len(nodes),
        accounts_reached=accounts,
        storage_tries=storage_tries,
        codes=len(set(witness.codes)),
        created_codes=created,
        unverified_codes=unverified,
        open_references=open_refs,
    )


def verify_witness_json(witness: JsonValue, block: JsonValue) -> WitnessReport:
    """Parse then verify: ``witness`` in either wire form, ``block`` an
    ``eth_getBlockByNumber(n, true)`` result (see ``WitnessBlockFacts.from_block_json``).

    Raises:
        WitnessFormatError: the witness or the block JSON is malformed.
        WitnessHeaderError: as ``verify_witness``.
        WitnessStateError: as ``verify_witness``.
        WitnessCodeError: as ``verify_witness``.
    """
    return verify_witness(parse_witness(witness), WitnessBlockFacts.from_block_json(block))
