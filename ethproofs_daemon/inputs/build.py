"""Build the guest input file from node JSON: convert, check, encode, frame. Pure functions.

``build_input(block, witness, profile, chain)`` does what the ethrex-ethproofs NIF does
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

from . import hexjson as hj
from .chain_config import MAINNET, chain_config_by_name
from .checks import check_all
from .errors import InputError
from .profiles import Codec, GuestProfile, frame
from .rpc_block import block_from_json
from .rpc_witness import witness_from_json
from .schema import encode_program_input
from .types import Block, ChainConfig, ProgramInput

__all__ = ["ConvertedInput", "build_input", "chain_config_by_name", "convert", "unwrap_document"]

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
    """``(object, is_rpc_form)``: unwraps a JSON-RPC response and an ethrex-replay cache."""
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
    """Node JSON → typed ``ProgramInput`` (no checks, no encoding). Raises ``InputError``."""
    block_obj, rpc = unwrap_document(block, "block")
    witness_obj, _ = unwrap_document(witness, "witness")
    typed_block = block_from_json(block_obj, rpc=rpc)
    typed_witness = witness_from_json(
        witness_obj, block_number=typed_block.header.number, chain_config=chain or MAINNET
    )
    claimed = hj.h256(block_obj["hash"], "block.hash") if "hash" in block_obj else None
    program_input = ProgramInput(
        blocks=(typed_block,),
        execution_witness=typed_witness,
        elasticity_multiplier=ELASTICITY_MULTIPLIER,
        fee_configs=None,
    )
    return ConvertedInput(program_input, claimed)


def build_input(
    block: Mapping[str, object],
    witness: Mapping[str, object],
    profile: GuestProfile,
    chain: ChainConfig | None = None,
    *,
    check: bool = True,
) -> bytes:
    """The guest input file's bytes for one block (framed per ``profile``).

    ``chain`` defaults to mainnet (as the NIF). ``check`` runs the pre-proving checks (block hash,
    transactions root, state root → ``CheckFailed``). Raises ``InputError`` for anything wrong,
    including a profile whose codec is not built in (use ``external.run_external_builder``).
    """
    if profile.codec is not Codec.ETHREX_891528D_RKYV:
        raise InputError(
            "profile",
            f"profile {profile.name} uses codec {profile.codec}; use the external builder",
        )
    converted = convert(block, witness, chain)
    if check:
        check_all(
            converted.block,
            converted.program_input.execution_witness,
            converted.claimed_block_hash,
        )
    return frame(encode_program_input(converted.program_input), profile.framing)
