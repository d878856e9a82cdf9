"""Progressive roots (EIP-7916/7495) against the reth guest's own reference vectors.

Values and expected roots from ``paradigmxyz/stateless@262ce4ec:crates/stateless-validator-common/
src/guest/input/new_payload_request.rs`` (tests ``payload_v1`` … ``payload_v3``,
``execution_requests_electra_fulu``, ``progressive_container_roots_match_reference_vectors``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ethproofs_daemon.ssz.progressive import (
    progressive_payload_root,
    progressive_request_root,
    progressive_requests_root,
)
from ethproofs_daemon.ssz.types import Fork

PAYLOAD_V1: tuple[Any, ...] = (
    b"\x01" * 32, b"\x02" * 20, b"\x03" * 32, b"\x04" * 32, b"\x05" * 256, b"\x06" * 32,
    100, 30_000_000, 21_000, 1_700_000_000, b"\xee" * 7,
    int.from_bytes(b"\x07" * 32, "little"),  # base_fee_per_gas: the bytes [7; 32]
    b"\x08" * 32, (b"\xdd" * 8,),
)  # fmt: skip
PAYLOAD_V2 = (*PAYLOAD_V1, ((1, 2, b"\x03" * 20, 4),))
PAYLOAD_V3 = (*PAYLOAD_V2, 131_072, 262_144)
REQUESTS = (
    ((b"\x01" * 48, b"\x02" * 32, 3, b"\x04" * 96, 5),),
    ((b"\x01" * 20, b"\x02" * 48, 3),),
    ((b"\x01" * 20, b"\x02" * 48, b"\x03" * 48),),
)


@pytest.mark.parametrize(
    ("payload", "root"),
    [
        (PAYLOAD_V1, "7607fcf862b0f219726ad51d8651d49a9bbbe12fb62edaacd399c25db92b8d77"),
        (PAYLOAD_V2, "2e3ce606be3d7aa667c2babf22196711f68b45bea6716c6446ec5dce4bd39449"),
        (PAYLOAD_V3, "b9ccbb429059770fb1c3796aa98dc5d5df321b6226d46ed14203cfe8df186834"),
    ],
)
def test_payload_roots_match_the_guests_vectors(payload: tuple[Any, ...], root: str) -> None:
    assert progressive_payload_root(payload).hex() == root


def test_requests_root_matches_the_guests_vector() -> None:
    expected = "56dff976fcc8547491480bb0c68c391852c66410c1768707a851c5038047b78f"
    assert progressive_requests_root(REQUESTS).hex() == expected


def test_request_root_is_a_plain_container_of_the_progressive_parts() -> None:
    # NewPayloadRequestElectraFulu is a plain container of 4 fields: merkleize 4 chunks.
    def h(a: bytes, b: bytes) -> bytes:
        return hashlib.sha256(a + b).digest()

    versioned = (b"\x09" * 32,)
    # ProgressiveList[Bytes32] of one item: mix_in_length(hash(item, ZERO), 1)
    hashes_root = h(h(versioned[0], bytes(32)), (1).to_bytes(32, "little"))
    payload = bytes.fromhex("b9ccbb429059770fb1c3796aa98dc5d5df321b6226d46ed14203cfe8df186834")
    requests = bytes.fromhex("56dff976fcc8547491480bb0c68c391852c66410c1768707a851c5038047b78f")
    expected = h(h(payload, hashes_root), h(b"\x0a" * 32, requests))
    value = (PAYLOAD_V3, versioned, b"\x0a" * 32, REQUESTS)
    assert progressive_request_root(value, Fork.ELECTRA) == expected


def test_gloas_is_refused() -> None:
    with pytest.raises(ValueError, match="Gloas"):
        progressive_request_root((), Fork.GLOAS)
