"""SSZ of the zkEVM stateless-validation input and output (``tests-zkevm@v0.8.x`` layout).

Input bytes (``statelessInputBytes``) are a 2-byte big-endian schema id and the SSZ
``StatelessInput``::

    schema_id = fork_index << 8 | 0x01          # big-endian u16, e.g. 0x14 0x01 for BPO2
    StatelessInput {                            # fixed part 20 bytes
        new_payload_request: NewPayloadRequest  # the fork's container (``types.py``)
        witness: ExecutionWitness {
            state:   List[ByteList[2**10], 2**22]   # trie node RLPs
            codes:   List[ByteList[2**16], 2**18]   # bytecodes
            headers: List[ByteList[2**10], 256]     # RLP headers, ascending, parent last
        }
        chain_id: uint64
        public_keys: List[ByteVector[65], 2**15]  # 0x04 ‖ X ‖ Y, one per transaction, in order
    }

Sources: ``ethereum/execution-specs@3f042e0b:src/ethereum/forks/amsterdam/stateless_ssz.py``
(containers, limits, schema id; that revision still had ``chain_config`` where v0.8 has
``chain_id``) and ``paradigmxyz/stateless@3e430006:crates/stateless-validator-common/src/guest/
input.rs`` (v0.8.2 layout with ``chain_id``; the multi-fork ids below, which the spec does not
have: it fixes the fork to Amsterdam, 0x15). That guest makes ``state``, ``codes`` and
``public_keys`` progressive lists (EIP-7916): same bytes, no count limit; the spec's limits are
kept here as sanity bounds. Only the serialization matters for the input (no root of it is
taken).

Output (the guest's public values): ``StatelessValidationResult``, 43 bytes (see
``parse_stateless_output``). Pure; no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from ssz.sedes.byte_list import ByteList
from ssz.sedes.byte_vector import ByteVector
from ssz.sedes.list import List
from ssz.sedes.uint import uint64

from .errors import SszError, SszLengthError, SszUnknownLayout
from .types import NEW_PAYLOAD_REQUEST, Fork, NamedContainer

SCHEMA_REVISION: Final = 0x01
SCHEMA_ID_BYTES: Final = 2

MAX_WITNESS_NODES: Final = 2**22
MAX_WITNESS_CODES: Final = 2**18
MAX_WITNESS_HEADERS: Final = 256
MAX_BYTES_PER_WITNESS_NODE: Final = 2**10
MAX_BYTES_PER_CODE: Final = 2**16
MAX_BYTES_PER_HEADER: Final = 2**10
MAX_PUBLIC_KEYS: Final = 2**15
PUBLIC_KEY_BYTES: Final = 65

#: Bytes of ``StatelessInput``'s fixed part: three offsets (u32) and ``chain_id`` (u64).
STATELESS_INPUT_FIXED_BYTES: Final = 4 + 4 + 8 + 4


class ProtocolFork(enum.IntEnum):
    """Fork index of the schema id (``paradigmxyz/stateless@3e430006``, ``ProtocolFork``).

    The spec has only Amsterdam; the reth guest and ere-guests accept Paris … Amsterdam.
    """

    PARIS = 0x0E
    SHANGHAI = 0x0F
    CANCUN = 0x10
    PRAGUE = 0x11
    OSAKA = 0x12
    BPO1 = 0x13
    BPO2 = 0x14
    AMSTERDAM = 0x15

    @property
    def schema_id(self) -> int:
        """``fork_index << 8 | 0x01``, e.g. ``0x1401`` for BPO2."""
        return (int(self) << 8) | SCHEMA_REVISION

    @property
    def request_fork(self) -> Fork:
        """The ``NewPayloadRequest`` container this fork uses (Prague … BPO2: Electra/Fulu)."""
        return _REQUEST_FORK[self]


_REQUEST_FORK: Final = {
    ProtocolFork.PARIS: Fork.BELLATRIX,
    ProtocolFork.SHANGHAI: Fork.CAPELLA,
    ProtocolFork.CANCUN: Fork.DENEB,
    ProtocolFork.PRAGUE: Fork.ELECTRA,
    ProtocolFork.OSAKA: Fork.ELECTRA,
    ProtocolFork.BPO1: Fork.ELECTRA,
    ProtocolFork.BPO2: Fork.ELECTRA,
    ProtocolFork.AMSTERDAM: Fork.GLOAS,
}


def fork_of_schema_id(schema_id: int) -> ProtocolFork:
    """The fork a schema id names.

    Raises:
        SszUnknownLayout: revision byte not 0x01, or an unknown fork index.
    """
    if schema_id & 0xFF != SCHEMA_REVISION:
        raise SszUnknownLayout(f"schema id 0x{schema_id:04x}: revision is not 0x01")
    try:
        return ProtocolFork(schema_id >> 8)
    except ValueError:
        raise SszUnknownLayout(f"schema id 0x{schema_id:04x}: unknown fork index") from None


EXECUTION_WITNESS_CONTAINER: Final = NamedContainer(
    (
        ("state", List(ByteList(MAX_BYTES_PER_WITNESS_NODE), MAX_WITNESS_NODES)),
        ("codes", List(ByteList(MAX_BYTES_PER_CODE), MAX_WITNESS_CODES)),
        ("headers", List(ByteList(MAX_BYTES_PER_HEADER), MAX_WITNESS_HEADERS)),
    )
)

#: ``StatelessInput`` per ``NewPayloadRequest`` fork (py-ssz sedes). The Gloas entry uses the
#: package's unconfirmed Gloas request (``types.py``), which is not the spec's (its requests add
#: builder lists): do not encode Amsterdam inputs with it.
STATELESS_INPUT: Final[dict[Fork, NamedContainer]] = {
    fork: NamedContainer(
        (
            ("new_payload_request", request),
            ("witness", EXECUTION_WITNESS_CONTAINER),
            ("chain_id", uint64),
            ("public_keys", List(ByteVector(PUBLIC_KEY_BYTES), MAX_PUBLIC_KEYS)),
        )
    )
    for fork, request in NEW_PAYLOAD_REQUEST.items()
}

#: Size of the guest's output in bytes.
STATELESS_OUTPUT_BYTES: Final = 32 + 1 + 8 + 2


@dataclass(frozen=True, slots=True)
class StatelessOutput:
    """The guest's public output.

    ``new_payload_request_root``: 32 bytes; ``chain_id`` and ``schema_id`` as the guest decoded
    them. All fields zero (``is_decode_failure``) is what the guest commits when it could not
    decode its input.
    """

    new_payload_request_root: bytes
    successful_validation: bool
    chain_id: int
    schema_id: int

    @property
    def is_decode_failure(self) -> bool:
        """The 43-zero-byte sentinel (the guest could not decode its input)."""
        return (
            self.new_payload_request_root == bytes(32)
            and not self.successful_validation
            and self.chain_id == 0
            and self.schema_id == 0
        )


def parse_stateless_output(data: bytes) -> StatelessOutput:
    """Read the guest's 43-byte ``StatelessValidationResult`` (SSZ, fixed size)::

        new_payload_request_root B32 ‖ successful_validation bool (0x00/0x01) ‖
        chain_id u64 LE ‖ schema_id u16 LE

    Source: ``paradigmxyz/stateless@0aa0c19d:crates/stateless-validator-common/src/guest/
    output.rs`` (test ``validation_result_has_fixed_v08_layout``; the default value is 43 zero
    bytes), matching EIP-8025's ``PublicInput`` fields. Note that the schema id is little-endian
    here (an SSZ ``uint16``) while the input's prefix is big-endian.

    Raises:
        SszLengthError: not exactly 43 bytes.
        SszError: the boolean byte is neither 0 nor 1.
    """
    if len(data) != STATELESS_OUTPUT_BYTES:
        raise SszLengthError(
            f"stateless output is {len(data)} bytes, expected {STATELESS_OUTPUT_BYTES}"
        )
    flag = data[32]
    if flag not in (0, 1):
        raise SszError(f"successful_validation byte 0x{flag:02x} is not an SSZ boolean")
    return StatelessOutput(
        new_payload_request_root=bytes(data[0:32]),
        successful_validation=flag == 1,
        chain_id=int.from_bytes(data[33:41], "little"),
        schema_id=int.from_bytes(data[41:43], "little"),
    )
