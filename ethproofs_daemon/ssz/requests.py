"""Execution-layer requests of a block (EIP-7685): the three SSZ lists and their commitment.

A Prague+ execution header carries only ``requestsHash``; the requests themselves are in the
beacon block (``body.execution_requests``) and go into ``NewPayloadRequest.execution_requests``.
Each list is held here as its SSZ serialization, a concatenation of fixed-size items
(``ethereum/consensus-specs@a08d8a6e:specs/electra/beacon-chain.md``, containers
``DepositRequest``, ``WithdrawalRequest``, ``ConsolidationRequest``)::

    deposit       = pubkey B48 ‖ withdrawal_credentials B32 ‖ amount u64 LE ‖ signature B96 ‖
                    index u64 LE                                               # 192 bytes
    withdrawal    = source_address B20 ‖ validator_pubkey B48 ‖ amount u64 LE  # 76 bytes
    consolidation = source_address B20 ‖ source_pubkey B48 ‖ target_pubkey B48 # 116 bytes

The execution layer's request list is ``[type ‖ ssz(list)]`` for each non-empty list, types
0x00 deposits, 0x01 withdrawals, 0x02 consolidations (``get_execution_requests_list`` in the same
consensus-specs file), and the header commits to it with EIP-7685's hash::

    requests_hash = sha256(sha256(r_0) ‖ sha256(r_1) ‖ …)   over the r_i with len(r_i) > 1

so a block without requests has ``requestsHash = sha256(b"")``
(``0xe3b0c442…b855``; EIP-7685, "Block header" and ``compute_requests_hash``). Pure; no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from ethproofs_daemon.eth.errors import InputError

from .types import (
    MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD,
    MAX_DEPOSIT_REQUESTS_PER_PAYLOAD,
    MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD,
)

DEPOSIT_REQUEST_TYPE: Final = b"\x00"
WITHDRAWAL_REQUEST_TYPE: Final = b"\x01"
CONSOLIDATION_REQUEST_TYPE: Final = b"\x02"

DEPOSIT_REQUEST_BYTES: Final = 48 + 32 + 8 + 96 + 8
WITHDRAWAL_REQUEST_BYTES: Final = 20 + 48 + 8
CONSOLIDATION_REQUEST_BYTES: Final = 20 + 48 + 48

#: ``requestsHash`` of a block without requests: ``sha256(b"")`` (EIP-7685).
EMPTY_REQUESTS_HASH: Final = hashlib.sha256(b"").digest()


def compute_requests_hash(requests: Sequence[bytes]) -> bytes:
    """EIP-7685's commitment to ``requests`` (each ``type ‖ data``): 32 bytes.

    Entries of one byte or less (a type without data) are left out, as EIP-7685 says.
    """
    outer = hashlib.sha256()
    for request in requests:
        if len(request) > 1:
            outer.update(hashlib.sha256(request).digest())
    return outer.digest()


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@dataclass(frozen=True, slots=True)
class ExecutionRequests:
    """The Electra ``ExecutionRequests`` of one block, each list as its SSZ bytes.

    ``deposits``/``withdrawals``/``consolidations`` are concatenations of 192/76/116-byte items
    (module docstring), at most 8192/16/2 of them (mainnet preset). Empty by default: a block
    without requests.

    Raises:
        InputError: a list whose length is not a multiple of its item size, or too long (the
            field is ``execution_requests.<list>``).
    """

    deposits: bytes = b""
    withdrawals: bytes = b""
    consolidations: bytes = b""

    def __post_init__(self) -> None:
        for name, size, limit in (
            ("deposits", DEPOSIT_REQUEST_BYTES, MAX_DEPOSIT_REQUESTS_PER_PAYLOAD),
            ("withdrawals", WITHDRAWAL_REQUEST_BYTES, MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD),
            ("consolidations", CONSOLIDATION_REQUEST_BYTES, MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD),
        ):
            data: bytes = getattr(self, name)
            if len(data) % size:
                raise InputError(
                    f"execution_requests.{name}",
                    f"{len(data)} bytes is not a multiple of the {size}-byte item",
                )
            if len(data) // size > limit:
                raise InputError(
                    f"execution_requests.{name}",
                    f"{len(data) // size} items exceed the limit of {limit}",
                )

    @property
    def counts(self) -> tuple[int, int, int]:
        """``(deposits, withdrawals, consolidations)`` item counts."""
        return (
            len(self.deposits) // DEPOSIT_REQUEST_BYTES,
            len(self.withdrawals) // WITHDRAWAL_REQUEST_BYTES,
            len(self.consolidations) // CONSOLIDATION_REQUEST_BYTES,
        )

    def requests_list(self) -> tuple[bytes, ...]:
        """The execution layer's requests: ``type ‖ ssz(list)`` for each non-empty list."""
        return tuple(
            kind + data
            for kind, data in (
                (DEPOSIT_REQUEST_TYPE, self.deposits),
                (WITHDRAWAL_REQUEST_TYPE, self.withdrawals),
                (CONSOLIDATION_REQUEST_TYPE, self.consolidations),
            )
            if data
        )

    def requests_hash(self) -> bytes:
        """The header's ``requestsHash`` for these requests (EIP-7685), 32 bytes."""
        return compute_requests_hash(self.requests_list())

    def ssz_value(self) -> Any:
        """The value for py-ssz's ``EXECUTION_REQUESTS`` sedes (tuples in field order)."""

        def u64(b: bytes) -> int:
            return int.from_bytes(b, "little")

        deposits = tuple(
            (d[0:48], d[48:80], u64(d[80:88]), d[88:184], u64(d[184:192]))
            for d in _split(self.deposits, DEPOSIT_REQUEST_BYTES)
        )
        withdrawals = tuple(
            (w[0:20], w[20:68], u64(w[68:76]))
            for w in _split(self.withdrawals, WITHDRAWAL_REQUEST_BYTES)
        )
        consolidations = tuple(
            (c[0:20], c[20:68], c[68:116])
            for c in _split(self.consolidations, CONSOLIDATION_REQUEST_BYTES)
        )
        return (deposits, withdrawals, consolidations)
