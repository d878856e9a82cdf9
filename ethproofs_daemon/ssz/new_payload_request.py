"""Decode an SSZ ``NewPayloadRequest`` body: exact fork dispatch, strict checks, root.

The fork is chosen from the fixed-part layout, never by trying variants in turn: py-ssz 0.6.0
and remerkleable 0.1.28 accept some bodies of a later fork as an earlier one and give the wrong
root (seen when trial-decoding vectors generated with eth-consensus-specs 1.7.0b4: remerkleable
reads an empty Capella payload as Bellatrix, py-ssz some Deneb/Electra bodies; no published
source). zkboost does try the variants in declaration order, but its decoder
(``sigp/ethereum_ssz@v0.10.1``) requires every container's first offset to equal its fixed-part
length, so the layout alone decides there too. Dispatch, with ``o = u32le(body[0:4])`` the
request's first offset and ``p`` the payload's ``extra_data`` offset (the payload's fixed length;
both sizes follow from the containers in ``types.py``)::

    o == 4  and p == 508 → Bellatrix      o == 4  and p == 512 → Capella
    o == 40 and p == 528 → Deneb          o == 44 and p == 528 → Electra (= Fulu, same bytes)
    o == 44 and p == 540 → Gloas (only when enabled; layout unconfirmed, see ``types.py``)

then ``check_strict`` (offsets, lengths, limits), then py-ssz decodes and hashes. The root is
``hash_tree_root`` of the per-fork container with no selector mixed in (zkboost's
``#[tree_hash(enum_behaviour = "transparent")]``,
``eth-act/zkboost@9be2085d:crates/types/src/new_payload_request.rs``; the ``NewPayloadRequest``
container of the eth-consensus-specs 1.7.0b4 package gives the same roots).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ssz.exceptions import DeserializationError

from .errors import SszBodyTooLarge, SszError, SszForkDisabled, SszUnknownLayout
from .strict import OFFSET_SIZE, check_strict
from .types import (
    EXTRA_DATA_OFFSET_POSITION,
    NEW_PAYLOAD_REQUEST,
    PAYLOAD_BLOCK_HASH,
    PAYLOAD_BLOCK_NUMBER,
    PAYLOAD_PARENT_HASH,
    PAYLOAD_TIMESTAMP,
    PAYLOAD_TRANSACTIONS,
    Fork,
)

#: zkboost's request body limit in bytes (``DefaultBodyLimit::max(1 << 30)``,
#: ``eth-act/zkboost@9be2085d:crates/server/src/http.rs``), the default here too.
DEFAULT_MAX_BODY_BYTES: Final = 1 << 30

#: (request fixed length, payload fixed length) → fork.
_LAYOUTS: Final[dict[tuple[int, int], Fork]] = {
    (4, 508): Fork.BELLATRIX,
    (4, 512): Fork.CAPELLA,
    (40, 528): Fork.DENEB,
    (44, 528): Fork.ELECTRA,
    (44, 540): Fork.GLOAS,
}


@dataclass(frozen=True, slots=True)
class DecodedNewPayloadRequest:
    """A decoded request: its fork, ``root`` (32-byte ``hash_tree_root``) and the fields the
    proof node needs (hashes as 32 raw bytes, ``timestamp`` in Unix seconds). ``body`` is the
    SSZ exactly as received (it goes into the guest input)."""

    fork: Fork
    root: bytes
    block_hash: bytes
    parent_hash: bytes
    block_number: int
    timestamp: int
    transaction_count: int
    body: bytes

    @property
    def root_hex(self) -> str:
        """``0x`` + 64 lower-case hex digits (the API's ``Hash256``)."""
        return "0x" + self.root.hex()

    @property
    def block_hash_hex(self) -> str:
        """The payload's block hash as ``0x`` + 64 hex digits."""
        return "0x" + self.block_hash.hex()


def detect_fork(body: bytes, *, gloas_enabled: bool = False) -> Fork:
    """The fork whose layout ``body`` has, from its first offsets only (no decoding).

    Args:
        body: the SSZ request body.
        gloas_enabled: accept the (unconfirmed) Gloas layout.

    Returns:
        The fork; ``Fork.ELECTRA`` also for Fulu bodies (same layout).

    Raises:
        SszUnknownLayout: too short, or offsets matching no supported fork.
        SszForkDisabled: the Gloas layout while ``gloas_enabled`` is false.
    """
    if len(body) < OFFSET_SIZE:
        raise SszUnknownLayout(f"body of {len(body)} bytes is too short for a NewPayloadRequest")
    outer = int.from_bytes(body[0:OFFSET_SIZE], "little")
    if outer not in (4, 40, 44):
        raise SszUnknownLayout(
            f"first offset {outer} matches no NewPayloadRequest variant (expected 4, 40 or 44)"
        )
    at = outer + EXTRA_DATA_OFFSET_POSITION
    if len(body) < at + OFFSET_SIZE:
        raise SszUnknownLayout(
            f"body of {len(body)} bytes is too short for an execution payload at offset {outer}"
        )
    inner = int.from_bytes(body[at : at + OFFSET_SIZE], "little")
    fork = _LAYOUTS.get((outer, inner))
    if fork is None:
        raise SszUnknownLayout(
            f"execution payload with fixed part {inner} bytes after a request fixed part of "
            f"{outer} bytes matches no NewPayloadRequest variant"
        )
    if fork is Fork.GLOAS and not gloas_enabled:
        raise SszForkDisabled("Gloas NewPayloadRequest bodies are not accepted by this server")
    return fork


def decode_new_payload_request(
    body: bytes, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES, gloas_enabled: bool = False
) -> DecodedNewPayloadRequest:
    """Decode and hash an SSZ ``NewPayloadRequest`` (mainnet limits).

    CPU-bound: about 14 ms for a 63 kB Electra request (300 transactions), measured with py-ssz
    0.6.0 on CPython 3.11 (no published source); callers on trio run it in a worker thread for
    large bodies.

    Args:
        body: the request body as received.
        max_bytes: largest body accepted, in bytes.
        gloas_enabled: accept the (unconfirmed) Gloas layout.

    Returns:
        The fork, root and payload fields, with ``body`` kept as given.

    Raises:
        SszBodyTooLarge: ``len(body) > max_bytes`` (checked first, nothing decoded).
        SszUnknownLayout: from ``detect_fork``.
        SszForkDisabled: from ``detect_fork``.
        SszOffsetError: from the strict check.
        SszLengthError: from the strict check.
        SszListTooLong: from the strict check.
        SszError: py-ssz refused a body the strict check passed (a bug on one side).
    """
    if len(body) > max_bytes:
        raise SszBodyTooLarge(len(body), max_bytes)
    fork = detect_fork(body, gloas_enabled=gloas_enabled)
    sedes = NEW_PAYLOAD_REQUEST[fork]
    check_strict(sedes, body)
    try:
        value: Any = sedes.deserialize(body)
        root = bytes(sedes.get_hash_tree_root(value))
    except (DeserializationError, ValueError) as exc:  # strict check passed: a library bug
        raise SszError(f"{fork} body rejected by the SSZ library: {exc}") from exc
    payload = value[0]
    return DecodedNewPayloadRequest(
        fork=fork,
        root=root,
        block_hash=bytes(payload[PAYLOAD_BLOCK_HASH]),
        parent_hash=bytes(payload[PAYLOAD_PARENT_HASH]),
        block_number=int(payload[PAYLOAD_BLOCK_NUMBER]),
        timestamp=int(payload[PAYLOAD_TIMESTAMP]),
        transaction_count=len(payload[PAYLOAD_TRANSACTIONS]),
        body=bytes(body),
    )


def encode_new_payload_request(value: Any, fork: Fork) -> bytes:
    """Encode a py-ssz value (nested tuples in field order) of ``fork``'s container.

    Used by tests and tools to build bodies.

    Raises:
        ssz.exceptions.SerializationError: wrong field or element count, or a value out of
            range.
        TypeError: a field of the wrong Python type (py-ssz does not wrap these).
    """
    return bytes(NEW_PAYLOAD_REQUEST[fork].serialize(value))
