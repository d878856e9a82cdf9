"""Build the guest input file: convert, check, encode, frame. Pure functions.

``build_typed_input(block, witness, profile, chain)`` takes the typed values the daemon parsed at
the RPC edge (``eth.types.Block``, ``eth.witness.ExecutionWitness``); ``build_input`` takes node
JSON documents (the ``build-input`` CLI's edge), parses them once with ethrex's serde rules and
goes the same way. Both do what the ethrex-ethproofs NIF does
(``lambdaclass/ethrex-ethproofs@b45cda3:native/ethrex_ethproofs_input_generator/src/lib.rs``):
``ProgramInput { blocks: [block], execution_witness, elasticity_multiplier: 2, fee_configs: None }``
with the mainnet ``ChainConfig`` unless another is given, then runs the checks of ``checks.py``
(block hash, transactions root, parent state root) before encoding, and frames the bytes as the
profile says. Accepted document forms for ``block`` and ``witness``: the bare result object, a whole
JSON-RPC response (``{"jsonrpc", "id", "result"}``), or an ethrex-replay cache
(``{"blocks": [{header, body}], "witness": {...}, "network": ...}``; its block is read with ethrex's
own ``Block`` serde, as the golden ``hoodi_1265656`` vector was).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ethproofs_daemon.eth.witness import ExecutionWitness

from . import hexjson as hj
from .chain_config import MAINNET, chain_config_by_name
from .checks import check_all, check_block_hash, check_state_root, check_transactions_root
from .errors import InputError
from .profiles import Codec, GuestProfile, frame
from .rpc_block import block_from_json
from .rpc_witness import guest_witness, read_rpc_witness
from .schema import encode_program_input
from .types import Block, ChainConfig, ProgramInput

__all__ = [
    "ConvertedInput",
    "build_input",
    "build_typed_input",
    "chain_config_by_name",
    "convert",
    "convert_typed",
    "unwrap_document",
]

ELASTICITY_MULTIPLIER: Final[int] = 2


@dataclass(frozen=True, slots=True)
class ConvertedInput:
    """The typed input and what the checks need: the block hash the JSON claimed (if any)."""

    program_input: ProgramInput
    claimed_block_hash: bytes | None

    @property
    def block(self) -> Block:
        """The (single) block."""
        return self.program_input.blocks[0]


def unwrap_document(doc: object, what: str) -> tuple[Mapping[str, object], bool]:
    """Unwrap a JSON-RPC response or an ethrex-replay cache to the block or witness object.

    Returns:
        ``(object, is_rpc_form)``: ``is_rpc_form`` is False only for an ethrex-replay cache's
        block, which is read with ethrex's ``Block`` serde rather than ``RpcBlock``'s.

    Raises:
        InputError: not an object, a JSON-RPC error response, or a cache without exactly one
            block.
    """
    o = hj.obj(doc, what)
    if "jsonrpc" in o or ("result" in o and "id" in o):
        if o.get("error") is not None:
            raise InputError(what, f"JSON-RPC error response: {o['error']!r:.200}")
        return hj.obj(o.get("result"), f"{what}.result"), True
    if "blocks" in o and "witness" in o:  # ethrex-replay cache
        if what == "witness":
            return hj.obj(o["witness"], "witness"), True
        blocks = hj.array(o["blocks"], f"{what}.blocks")
        if len(blocks) != 1:
            raise InputError(f"{what}.blocks", f"expected one block, the cache has {len(blocks)}")
        return hj.obj(blocks[0], f"{what}.blocks[0]"), False
    return o, True


def convert(
    block: Mapping[str, object], witness: Mapping[str, object], chain: ChainConfig | None = None
) -> ConvertedInput:
    """Node JSON → typed ``ProgramInput`` (no checks, no encoding).

    Raises:
        InputError: a field breaks ethrex's serde or conversion rules (the field is named).
    """
    block_obj, rpc = unwrap_document(block, "block")
    witness_obj, _ = unwrap_document(witness, "witness")
    typed_block = block_from_json(block_obj, rpc=rpc)
    typed_witness = read_rpc_witness(witness_obj)
    program_input = _program_input(typed_block, typed_witness, chain)
    claimed = hj.h256(block_obj["hash"], "block.hash") if "hash" in block_obj else None
    return ConvertedInput(program_input, claimed)


def convert_typed(
    block: Block,
    witness: ExecutionWitness,
    chain: ChainConfig | None = None,
    *,
    claimed_block_hash: bytes | None = None,
) -> ConvertedInput:
    """Typed block + node witness → typed ``ProgramInput`` (no checks, no encoding).

    Args:
        claimed_block_hash: the hash the node gave for the block (32 bytes; checked later by
            ``check_block_hash``).

    Raises:
        InputError: the witness cannot be converted (see ``rpc_witness.guest_witness``).
    """
    return ConvertedInput(_program_input(block, witness, chain), claimed_block_hash)


def _program_input(
    block: Block, witness: ExecutionWitness, chain: ChainConfig | None
) -> ProgramInput:
    guest = guest_witness(witness, block_number=block.header.number, chain_config=chain or MAINNET)
    return ProgramInput(
        blocks=(block,),
        execution_witness=guest,
        elasticity_multiplier=ELASTICITY_MULTIPLIER,
        fee_configs=None,
    )


def _check_codec(profile: GuestProfile) -> None:
    if profile.codec is not Codec.ETHREX_891528D_RKYV:
        raise InputError(
            "profile",
            f"profile {profile.name} uses codec {profile.codec}; use the external builder",
        )


def build_input(
    block: Mapping[str, object],
    witness: Mapping[str, object],
    profile: GuestProfile,
    chain: ChainConfig | None = None,
    *,
    check: bool = True,
) -> bytes:
    """The guest input file's bytes for one block (framed per ``profile``), from node JSON.

    Args:
        block: ``eth_getBlockByNumber(n, true)`` (any form ``unwrap_document`` takes).
        witness: ``debug_executionWitness`` in the reth form (any form ``unwrap_document`` takes).
        chain: defaults to mainnet (as the NIF).
        check: run the pre-proving checks (block hash, transactions root, state root).

    Raises:
        CheckFailed: a pre-proving check failed.
        InputError: anything else wrong, including a profile whose codec is not built in (use
            ``external.run_external_builder``).
    """
    _check_codec(profile)
    converted = convert(block, witness, chain)
    if check:
        check_all(
            converted.block,
            converted.program_input.execution_witness,
            converted.claimed_block_hash,
        )
    return frame(encode_program_input(converted.program_input), profile.framing)


def build_typed_input(
    block: Block,
    witness: ExecutionWitness,
    profile: GuestProfile,
    chain: ChainConfig | None = None,
    *,
    claimed_block_hash: bytes | None = None,
    witness_verified: bool = False,
) -> bytes:
    """The guest input file's bytes for one block (framed per ``profile``), from typed values.

    Runs the pre-proving checks: block hash (against ``claimed_block_hash``, when given),
    transactions root and, unless ``witness_verified``, the parent state root. The daemon passes
    ``witness_verified=True`` after ``witness.verify.verify_witness``, which is its one state-root
    check (every node reachable from the parent's ``stateRoot``).

    Raises:
        CheckFailed: a pre-proving check failed.
        InputError: as ``build_input``.
    """
    _check_codec(profile)
    converted = convert_typed(block, witness, chain, claimed_block_hash=claimed_block_hash)
    check_block_hash(converted.block, claimed_block_hash)
    check_transactions_root(converted.block)
    if not witness_verified:
        check_state_root(converted.program_input.execution_witness)
    return frame(encode_program_input(converted.program_input), profile.framing)
