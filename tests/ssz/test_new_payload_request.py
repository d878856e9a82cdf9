"""Decoding ``NewPayloadRequest`` bodies: the pyspec vectors, the zkboost fixture, malformed bodies.

Vectors: ``../shared/fixtures/ssz/`` (README there): 60 pyspec cases, 12 per fork, and zkboost's
602-byte Electra fixture with its recorded root.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import ssz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ssz.sedes import ByteList, List

from ethproofs_daemon.ssz import (
    DecodedNewPayloadRequest,
    Fork,
    SszBodyTooLarge,
    SszError,
    SszForkDisabled,
    SszLengthError,
    SszListTooLong,
    SszOffsetError,
    SszUnknownLayout,
    decode_new_payload_request,
    detect_fork,
    encode_new_payload_request,
)
from ethproofs_daemon.ssz.types import NEW_PAYLOAD_REQUEST, WITHDRAWAL, NamedContainer

ZKBOOST_ROOT = "0x2b1cf251b5b8cabf41828761b5105b307544c6280b5c8e66fd30170f7fe7ddbf"
ZKBOOST_BLOCK_HASH = "0xd476edae3156bde084857720103e5d5b58fbe2e0e23fa5e65e95888cdfd7e3c6"


def _cases(shared: Path) -> list[dict[str, Any]]:
    doc = json.loads((shared / "ssz" / "npr_pyspec_vectors.json").read_text())
    cases: list[dict[str, Any]] = doc["cases"]
    return cases


def _payload(fork: Fork, *, extra: bytes = b"", txs: tuple[bytes, ...] = (), wds: int = 0) -> Any:
    """A py-ssz payload value of ``fork`` (tuples in field order)."""
    fields: list[Any] = [
        b"\x01" * 32, b"\x02" * 20, b"\x03" * 32, b"\x04" * 32, b"\x00" * 256, b"\x05" * 32,
        7, 30_000_000, 21_000, 1_700_000_000, extra, 10**9, b"\x06" * 32, txs,
    ]  # fmt: skip
    if fork is not Fork.BELLATRIX:
        fields.append(tuple((i, i, b"\x07" * 20, 1) for i in range(wds)))
    if fork in (Fork.DENEB, Fork.ELECTRA, Fork.GLOAS):
        fields += [0, 0]
    if fork is Fork.GLOAS:
        fields += [b"", 9]
    return tuple(fields)


def _request(fork: Fork, **kw: Any) -> Any:
    payload = _payload(fork, **kw)
    if fork in (Fork.BELLATRIX, Fork.CAPELLA):
        return (payload,)
    tail: tuple[Any, ...] = ((), b"\x08" * 32)
    if fork in (Fork.ELECTRA, Fork.GLOAS):
        tail += (((), (), ()),)
    return (payload, *tail)


def _relaxed(fork: Fork, index: int, sedes: Any) -> NamedContainer:
    """``fork``'s request container with payload field ``index`` replaced (to encode bad bodies)."""
    outer = NEW_PAYLOAD_REQUEST[fork]
    payload = outer.field_sedes[0]
    fields = list(zip(payload.field_names, payload.field_sedes, strict=True))
    fields[index] = (fields[index][0], sedes)
    rest = list(zip(outer.field_names[1:], outer.field_sedes[1:], strict=True))
    return NamedContainer((("execution_payload", NamedContainer(tuple(fields))), *rest))


def test_every_pyspec_vector_decodes_to_its_fork_and_root(shared_fixtures: Path) -> None:
    cases = _cases(shared_fixtures)
    assert len(cases) == 60
    for case in cases:
        body = bytes.fromhex(case["ssz"])
        decoded = decode_new_payload_request(body)
        expected = Fork.ELECTRA if case["fork"] == "fulu" else Fork(case["fork"])
        label = f"{case['fork']}/{case['mode']}/chaos={case['chaos']}"
        assert decoded.fork is expected, label
        assert decoded.root_hex == case["root"], label


def test_pyspec_vectors_reencode_to_the_same_bytes(shared_fixtures: Path) -> None:
    for case in _cases(shared_fixtures):
        body = bytes.fromhex(case["ssz"])
        fork = detect_fork(body)
        assert encode_new_payload_request(ssz.decode(body, NEW_PAYLOAD_REQUEST[fork]), fork) == body


def test_zero_bodies_of_later_forks_are_not_taken_for_bellatrix(shared_fixtures: Path) -> None:
    zero = [c for c in _cases(shared_fixtures) if c["mode"] == "zero"]
    assert {detect_fork(bytes.fromhex(c["ssz"])) for c in zero} == {
        Fork.BELLATRIX, Fork.CAPELLA, Fork.DENEB, Fork.ELECTRA,
    }  # fmt: skip


def test_zkboost_fixture_gives_its_recorded_root(shared_fixtures: Path) -> None:
    body = (shared_fixtures / "ssz" / "zkboost_new_payload_request.ssz").read_bytes()
    decoded = decode_new_payload_request(body)
    assert decoded == DecodedNewPayloadRequest(
        fork=Fork.ELECTRA,
        root=bytes.fromhex(ZKBOOST_ROOT[2:]),
        block_hash=bytes.fromhex(ZKBOOST_BLOCK_HASH[2:]),
        parent_hash=decoded.parent_hash,
        block_number=1200,
        timestamp=decoded.timestamp,
        transaction_count=0,
        body=body,
    )
    assert decoded.root_hex == ZKBOOST_ROOT


@pytest.mark.parametrize("fork", [Fork.BELLATRIX, Fork.CAPELLA, Fork.DENEB, Fork.ELECTRA])
def test_built_bodies_round_trip_per_fork(fork: Fork) -> None:
    body = encode_new_payload_request(_request(fork, extra=b"x", txs=(b"\x02ab", b"")), fork)
    decoded = decode_new_payload_request(body)
    assert decoded.fork is fork
    assert decoded.block_number == 7
    assert decoded.transaction_count == 2


def test_body_over_the_limit_is_refused_before_decoding() -> None:
    with pytest.raises(SszBodyTooLarge, match="exceeds the limit of 100 bytes"):
        decode_new_payload_request(b"\xff" * 101, max_bytes=100)


def test_gloas_layout_is_refused_unless_enabled() -> None:
    body = encode_new_payload_request(_request(Fork.GLOAS), Fork.GLOAS)
    with pytest.raises(SszForkDisabled, match="Gloas"):
        decode_new_payload_request(body)
    assert decode_new_payload_request(body, gloas_enabled=True).fork is Fork.GLOAS


@pytest.mark.parametrize(
    "body", [b"", b"\x04\x00", b"\x05\x00\x00\x00" + bytes(600), b"\x04\x00\x00\x00" + bytes(600)]
)
def test_unknown_layouts_are_refused(body: bytes) -> None:
    with pytest.raises(SszUnknownLayout):
        decode_new_payload_request(body)


def test_trailing_byte_after_fixed_size_elements_is_refused() -> None:
    body = encode_new_payload_request(_request(Fork.ELECTRA), Fork.ELECTRA) + b"\x00"
    with pytest.raises(SszLengthError, match=r"consolidations.*trailing bytes"):
        decode_new_payload_request(body)


def test_seventeen_withdrawals_are_refused() -> None:
    body = encode_new_payload_request(_request(Fork.CAPELLA, wds=16), Fork.CAPELLA)
    body += ssz.encode((99, 99, b"\x07" * 20, 1), WITHDRAWAL)
    with pytest.raises(SszListTooLong, match="withdrawals: 17 elements exceed the limit of 16"):
        decode_new_payload_request(body)


def test_extra_data_of_33_bytes_is_refused() -> None:
    sedes = _relaxed(Fork.BELLATRIX, 10, ByteList(64))
    body = ssz.encode(_request(Fork.BELLATRIX, extra=b"e" * 33), sedes)
    with pytest.raises(SszListTooLong, match="extra_data: byte list of 33 bytes"):
        decode_new_payload_request(body)


def test_more_versioned_hashes_than_4096_are_refused() -> None:
    value = list(_request(Fork.DENEB))
    value[1] = tuple(b"\x01" * 32 for _ in range(4097))
    outer = NEW_PAYLOAD_REQUEST[Fork.DENEB]
    sedes = NamedContainer(
        (
            ("execution_payload", outer.field_sedes[0]),
            ("versioned_hashes", List(outer.field_sedes[1].element_sedes, 5000)),
            ("parent_beacon_block_root", outer.field_sedes[2]),
        )
    )
    with pytest.raises(SszListTooLong, match="versioned_hashes: 4097 elements"):
        decode_new_payload_request(ssz.encode(tuple(value), sedes))


def test_offset_skipping_bytes_is_refused() -> None:
    body = bytearray(encode_new_payload_request(_request(Fork.DENEB), Fork.DENEB))
    body[0:4] = (44).to_bytes(4, "little")  # an Electra-sized fixed part, but Deneb fields
    with pytest.raises(SszError):
        decode_new_payload_request(bytes(body))
    electra = bytearray(encode_new_payload_request(_request(Fork.ELECTRA), Fork.ELECTRA))
    electra[4:8] = (9999).to_bytes(4, "little")  # versioned_hashes offset past the end
    with pytest.raises(SszOffsetError):
        decode_new_payload_request(bytes(electra))


def test_decreasing_transaction_offsets_are_refused() -> None:
    body = bytearray(
        encode_new_payload_request(_request(Fork.BELLATRIX, txs=(b"ab", b"cd")), Fork.BELLATRIX)
    )
    tx_offset = int.from_bytes(body[4 + 504 : 4 + 508], "little") + 4
    body[tx_offset + 4 : tx_offset + 8] = (2).to_bytes(4, "little")
    with pytest.raises(SszOffsetError, match="transactions"):
        decode_new_payload_request(bytes(body))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_bodies_raise_only_ssz_errors(data: st.DataObject) -> None:
    fork = data.draw(st.sampled_from([Fork.BELLATRIX, Fork.CAPELLA, Fork.DENEB, Fork.ELECTRA]))
    base = bytearray(encode_new_payload_request(_request(fork, txs=(b"tx",), wds=1), fork))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(base) - 1))
        base[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(base)))
    body = bytes(base[:cut]) + data.draw(st.binary(max_size=8))
    try:
        decoded = decode_new_payload_request(body)
    except SszError:
        return
    assert encode_new_payload_request(ssz.decode(body, NEW_PAYLOAD_REQUEST[decoded.fork]),
                                      decoded.fork) == body  # fmt: skip
