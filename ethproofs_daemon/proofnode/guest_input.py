"""The guest input of a proof node request: the EIP-8025 form the ethrex guest reads.

With ethrex's ``experimental-devnet`` feature the ZisK guest reads (lambdaclass/ethrex
``crates/guest-program/bin/zisk/src/main.rs``; compare zkboost's input construction,
eth-act/zkboost@9be2085d:crates/server/src/proof/input.rs)::

    u32 LE len(ssz) ‖ SSZ NewPayloadRequest (as received) ‖ rkyv ExecutionWitness

and for ZisK ≥ 0.16 the whole file is one frame: ``u64 LE len ‖ bytes ‖ zero pad to 8``
(0xPolygonHermez/zisk@v0.16.1:common/src/io/stdin/file.rs and ``emulator/src/emu_context.rs``).
The rkyv ``ExecutionWitness`` encoding belongs to the inputs package and the guest ELF's ethrex
revision (lambdaclass/ethrex@891528d:crates/common/types/block_execution_witness.rs; later
revisions change it, e.g. ethrex PR #6356 drops ``keys``); it is injected here as a
``WitnessEncoder`` so this module stays pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from ethproofs_daemon.eth.json import JsonValue
from ethproofs_daemon.eth.witness import ExecutionWitness
from ethproofs_daemon.ssz import DecodedNewPayloadRequest


class GuestInputError(Exception):
    """The input could not be built (witness unusable for this guest); a ``proving_error``."""


#: A witness as a source hands it over: the node's JSON (geth or reth form, as
#: ``debug_executionWitnessByBlockHash`` returned it) or already typed (the daemon's own sources).
NodeWitness: TypeAlias = "JsonValue | ExecutionWitness"

#: Turns a witness into the guest's ``ExecutionWitness`` bytes.
#: Raises ``GuestInputError`` (or ``ValueError``, wrapped) when the witness cannot be encoded.
WitnessEncoder = Callable[[NodeWitness, DecodedNewPayloadRequest], bytes]


class GuestInputBuilder(Protocol):
    """Builds the bytes of the input file the prover reads."""

    def build(self, request: DecodedNewPayloadRequest, witness: NodeWitness) -> bytes:
        """The input file bytes.

        Raises:
            GuestInputError: the witness cannot be encoded for this guest.
        """
        ...


def eip8025_input(ssz_body: bytes, witness_bytes: bytes) -> bytes:
    """``u32 LE len(ssz_body) ‖ ssz_body ‖ witness_bytes`` (lengths in bytes).

    Raises:
        GuestInputError: ``ssz_body`` is 4 GiB or longer (its length does not fit a u32).
    """
    if len(ssz_body) >= 1 << 32:
        raise GuestInputError(f"SSZ body of {len(ssz_body)} bytes does not fit a u32 length")
    return len(ssz_body).to_bytes(4, "little") + ssz_body + witness_bytes


def zisk_frame(data: bytes) -> bytes:
    """One ZisK ≥ 0.16 input frame: ``u64 LE len ‖ data ‖ zero pad to a multiple of 8``."""
    pad = -len(data) % 8
    return len(data).to_bytes(8, "little") + data + b"\x00" * pad


@dataclass(frozen=True, slots=True)
class Eip8025InputBuilder:
    """``GuestInputBuilder`` for the EIP-8025 ethrex guest; ``framed`` for ZisK ≥ 0.16."""

    encode_witness: WitnessEncoder
    framed: bool = True

    def build(self, request: DecodedNewPayloadRequest, witness: NodeWitness) -> bytes:
        """See ``GuestInputBuilder.build``."""
        try:
            witness_bytes = self.encode_witness(witness, request)
        except ValueError as exc:
            raise GuestInputError(f"input construction failed: {exc}") from exc
        data = eip8025_input(request.body, witness_bytes)
        return zisk_frame(data) if self.framed else data
