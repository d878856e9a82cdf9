"""SSZ types of ``NewPayloadRequest`` per fork, mainnet preset, as py-ssz (``ssz`` 0.6) sedes.

Shapes from ``ethereum/consensus-specs@a08d8a6e``: the containers in
``specs/{bellatrix,capella,deneb,electra}/beacon-chain.md``, the limits in
``presets/mainnet/*.yaml``. The specs' markdown gives ``NewPayloadRequest.versioned_hashes`` no
SSZ limit; 4096 (``MAX_BLOB_COMMITMENTS_PER_BLOCK``) is Lighthouse's, which zkboost copies
(``eth-act/zkboost@9be2085d:crates/types/src/new_payload_request.rs``), and the
``VersionedHashes`` of the eth-consensus-specs 1.7.0b4 package::

    ExecutionPayload (Bellatrix) = {parent_hash B32, fee_recipient B20, state_root B32,
        receipts_root B32, logs_bloom B256, prev_randao B32, block_number u64, gas_limit u64,
        gas_used u64, timestamp u64, extra_data ByteList[32], base_fee_per_gas u256,
        block_hash B32, transactions List[ByteList[2**30], 2**20]}          # fixed part 508 B
      Capella = + withdrawals List[Withdrawal, 16]                           # 512 B
      Deneb   = + blob_gas_used u64, excess_blob_gas u64 (Electra, Fulu same) # 528 B
    NewPayloadRequest Bellatrix/Capella = {execution_payload}                # fixed part 4 B
      Deneb = {execution_payload, versioned_hashes List[B32,4096], parent_beacon_block_root} # 40
      Electra/Fulu = Deneb + {execution_requests: ExecutionRequests}         # 44 B

Gloas (off unless configured) follows Lighthouse
(``sigp/lighthouse@a70500a4:consensus/types/src/execution/execution_payload.rs``): the Deneb
payload + ``block_access_list ByteList[2**30]`` + ``slot_number u64`` (payload fixed part 540 B),
requests as Electra, plain (not progressive) containers. The field order and limits are
**unconfirmed**: the Lighthouse revision zkboost pins was not read, ere-guests limits
``block_access_list`` to 2**24, and consensus-specs and the eth-consensus-specs 1.7.0b4 package
make Gloas progressive containers (EIP-7688), so a root computed here may not match other
implementations.
"""

from __future__ import annotations

import enum
from typing import Any, Final, TypeAlias

from ssz.sedes.base import BaseSedes
from ssz.sedes.byte_list import ByteList
from ssz.sedes.byte_vector import ByteVector
from ssz.sedes.container import Container
from ssz.sedes.list import List
from ssz.sedes.uint import uint64, uint256

#: Any py-ssz sedes (the library's generic parameters carry no useful types here).
Sedes: TypeAlias = BaseSedes[Any, Any]

BYTES_PER_LOGS_BLOOM: Final = 256
MAX_EXTRA_DATA_BYTES: Final = 32
MAX_BYTES_PER_TRANSACTION: Final = 2**30
MAX_TRANSACTIONS_PER_PAYLOAD: Final = 2**20
MAX_WITHDRAWALS_PER_PAYLOAD: Final = 16
MAX_BLOB_COMMITMENTS_PER_BLOCK: Final = 4096
MAX_DEPOSIT_REQUESTS_PER_PAYLOAD: Final = 8192
MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD: Final = 16
MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD: Final = 2
#: Gloas ``block_access_list`` limit as in Lighthouse (unconfirmed, see the module docstring).
MAX_BYTES_PER_BLOCK_ACCESS_LIST: Final = 2**30


class Fork(enum.StrEnum):
    """The ``NewPayloadRequest`` variant a body was decoded as.

    Electra and Fulu have the same layout and root; like zkboost, both decode as ``electra``.
    """

    BELLATRIX = "bellatrix"
    CAPELLA = "capella"
    DENEB = "deneb"
    ELECTRA = "electra"
    GLOAS = "gloas"


class NamedContainer(Container):
    """A py-ssz ``Container`` that also knows its field names (for error messages)."""

    def __init__(self, fields: tuple[tuple[str, Sedes], ...]) -> None:
        super().__init__(tuple(sedes for _, sedes in fields))
        self.field_names: tuple[str, ...] = tuple(name for name, _ in fields)


bytes20 = ByteVector(20)
bytes32 = ByteVector(32)
bytes48 = ByteVector(48)
bytes96 = ByteVector(96)

WITHDRAWAL: Final = Container((uint64, uint64, bytes20, uint64))
DEPOSIT_REQUEST: Final = Container((bytes48, bytes32, uint64, bytes96, uint64))
WITHDRAWAL_REQUEST: Final = Container((bytes20, bytes48, uint64))
CONSOLIDATION_REQUEST: Final = Container((bytes20, bytes48, bytes48))

EXECUTION_REQUESTS: Final = NamedContainer(
    (
        ("deposits", List(DEPOSIT_REQUEST, MAX_DEPOSIT_REQUESTS_PER_PAYLOAD)),
        ("withdrawals", List(WITHDRAWAL_REQUEST, MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD)),
        ("consolidations", List(CONSOLIDATION_REQUEST, MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD)),
    )
)

_PAYLOAD_BELLATRIX_FIELDS: Final[tuple[tuple[str, Sedes], ...]] = (
    ("parent_hash", bytes32),
    ("fee_recipient", bytes20),
    ("state_root", bytes32),
    ("receipts_root", bytes32),
    ("logs_bloom", ByteVector(BYTES_PER_LOGS_BLOOM)),
    ("prev_randao", bytes32),
    ("block_number", uint64),
    ("gas_limit", uint64),
    ("gas_used", uint64),
    ("timestamp", uint64),
    ("extra_data", ByteList(MAX_EXTRA_DATA_BYTES)),
    ("base_fee_per_gas", uint256),
    ("block_hash", bytes32),
    ("transactions", List(ByteList(MAX_BYTES_PER_TRANSACTION), MAX_TRANSACTIONS_PER_PAYLOAD)),
)
_PAYLOAD_CAPELLA_FIELDS: Final[tuple[tuple[str, Sedes], ...]] = (
    *_PAYLOAD_BELLATRIX_FIELDS,
    ("withdrawals", List(WITHDRAWAL, MAX_WITHDRAWALS_PER_PAYLOAD)),
)
_PAYLOAD_DENEB_FIELDS: Final[tuple[tuple[str, Sedes], ...]] = (
    *_PAYLOAD_CAPELLA_FIELDS,
    ("blob_gas_used", uint64),
    ("excess_blob_gas", uint64),
)
_PAYLOAD_GLOAS_FIELDS: Final[
    tuple[tuple[str, Sedes], ...]
] = (  # the two added fields are unconfirmed (module docstring)
    *_PAYLOAD_DENEB_FIELDS,
    ("block_access_list", ByteList(MAX_BYTES_PER_BLOCK_ACCESS_LIST)),
    ("slot_number", uint64),
)

#: Field indexes inside every payload variant (the prefix is shared by all forks).
PAYLOAD_PARENT_HASH: Final = 0
PAYLOAD_BLOCK_NUMBER: Final = 6
PAYLOAD_TIMESTAMP: Final = 9
PAYLOAD_BLOCK_HASH: Final = 12
PAYLOAD_TRANSACTIONS: Final = 13

#: Byte position of ``extra_data``'s offset inside every payload's fixed part: 436, the sizes of
#: the ten fixed fields before it.
EXTRA_DATA_OFFSET_POSITION: Final = 32 + 20 + 32 + 32 + BYTES_PER_LOGS_BLOOM + 32 + 4 * 8

_VERSIONED_HASHES: Final[Sedes] = List(bytes32, MAX_BLOB_COMMITMENTS_PER_BLOCK)


def _request(
    payload_fields: tuple[tuple[str, Sedes], ...], *, deneb: bool, electra: bool
) -> NamedContainer:
    fields: list[tuple[str, Sedes]] = [("execution_payload", NamedContainer(payload_fields))]
    if deneb:
        fields += [("versioned_hashes", _VERSIONED_HASHES), ("parent_beacon_block_root", bytes32)]
    if electra:
        fields.append(("execution_requests", EXECUTION_REQUESTS))
    return NamedContainer(tuple(fields))


NEW_PAYLOAD_REQUEST: Final[dict[Fork, NamedContainer]] = {
    Fork.BELLATRIX: _request(_PAYLOAD_BELLATRIX_FIELDS, deneb=False, electra=False),
    Fork.CAPELLA: _request(_PAYLOAD_CAPELLA_FIELDS, deneb=False, electra=False),
    Fork.DENEB: _request(_PAYLOAD_DENEB_FIELDS, deneb=True, electra=False),
    Fork.ELECTRA: _request(_PAYLOAD_DENEB_FIELDS, deneb=True, electra=True),
    Fork.GLOAS: _request(_PAYLOAD_GLOAS_FIELDS, deneb=True, electra=True),
}
"""The ``NewPayloadRequest`` container of each fork (py-ssz sedes, mainnet limits)."""
