"""The Beacon API client against a stand-in beacon node on 127.0.0.1.

Expected request bytes and hashes are computed here from the specs' text, not by the package:
SSZ items are fixed-size concatenations (consensus-specs Electra ``DepositRequest`` 192 B,
``WithdrawalRequest`` 76 B, ``ConsolidationRequest`` 116 B; uints little-endian) and EIP-7685's
``requests_hash = sha256(sha256(type ‖ data) for each non-empty list)``.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
from typing import Any

import httpx
import pytest

from ethproofs_daemon.node.beacon import (
    BeaconBlockMismatch,
    BeaconBlockNotFound,
    BeaconError,
    BeaconMalformedResponse,
    BeaconTransportError,
    fetch_execution_requests,
    slot_at,
)
from ethproofs_daemon.ssz.requests import EMPTY_REQUESTS_HASH, ExecutionRequests
from tests.standins.beacon_node import BeaconState, beacon_node, block_response

BLOCK_HASH = "0x" + "ab" * 32
DEPOSITS = [
    {"pubkey": "0x" + "a1" * 48, "withdrawal_credentials": "0x01" + "00" * 11 + "c2" * 20,
     "amount": "32000000000", "signature": "0x" + "b3" * 96, "index": "1234567"},
    {"pubkey": "0x" + "a4" * 48, "withdrawal_credentials": "0x02" + "00" * 11 + "c5" * 20,
     "amount": "2048000000000", "signature": "0x" + "b6" * 96, "index": "1234568"},
]  # fmt: skip
WITHDRAWALS = [
    {"source_address": "0x" + "d7" * 20, "validator_pubkey": "0x" + "e8" * 48, "amount": "0"},
]
CONSOLIDATIONS = [
    {"source_address": "0x" + "f9" * 20, "source_pubkey": "0x" + "1a" * 48,
     "target_pubkey": "0x" + "2b" * 48},
]  # fmt: skip
REQUESTS_JSON = {
    "deposits": DEPOSITS,
    "withdrawals": WITHDRAWALS,
    "consolidations": CONSOLIDATIONS,
}


def _b(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text[2:])


def _expected_lists() -> tuple[bytes, bytes, bytes]:
    deposits = b"".join(
        _b(d["pubkey"]) + _b(d["withdrawal_credentials"]) + struct.pack("<Q", int(d["amount"]))
        + _b(d["signature"]) + struct.pack("<Q", int(d["index"]))
        for d in DEPOSITS
    )  # fmt: skip
    withdrawals = b"".join(
        _b(w["source_address"]) + _b(w["validator_pubkey"]) + struct.pack("<Q", int(w["amount"]))
        for w in WITHDRAWALS
    )
    consolidations = b"".join(
        _b(c["source_address"]) + _b(c["source_pubkey"]) + _b(c["target_pubkey"])
        for c in CONSOLIDATIONS
    )
    return deposits, withdrawals, consolidations


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


async def _fetch(state: BeaconState, block_id: str | int, **kw: Any) -> ExecutionRequests:
    async with beacon_node(state) as base, httpx.AsyncClient() as client:
        return await fetch_execution_requests(client, base, block_id, **kw)


async def _failure(state: BeaconState, block_id: str | int, **kw: Any) -> BeaconError:
    """The error fetching ``block_id`` raises (caught inside the server's nursery)."""
    async with beacon_node(state) as base, httpx.AsyncClient() as client:
        try:
            await fetch_execution_requests(client, base, block_id, **kw)
        except BeaconError as exc:
            return exc
    raise AssertionError("no error raised")


async def test_requests_are_read_as_the_ssz_lists_the_spec_defines() -> None:
    state = BeaconState(blocks={"9000": block_response(9000, REQUESTS_JSON, BLOCK_HASH)})
    got = await _fetch(state, 9000, expected_block_hash=_b(BLOCK_HASH))
    deposits, withdrawals, consolidations = _expected_lists()
    assert (len(deposits), len(withdrawals), len(consolidations)) == (384, 76, 116)
    assert got == ExecutionRequests(deposits, withdrawals, consolidations)
    assert got.counts == (2, 1, 1)
    assert state.requests == ["/eth/v2/beacon/blocks/9000"]


async def test_requests_hash_follows_eip_7685() -> None:
    state = BeaconState(blocks={"head": block_response(1, REQUESTS_JSON, BLOCK_HASH)})
    got = await _fetch(state, "head")
    deposits, withdrawals, consolidations = _expected_lists()
    expected = _sha(
        _sha(b"\x00" + deposits) + _sha(b"\x01" + withdrawals) + _sha(b"\x02" + consolidations)
    )
    assert got.requests_hash() == expected


async def test_a_block_without_requests_hashes_to_sha256_of_nothing() -> None:
    empty: dict[str, Any] = {"deposits": [], "withdrawals": [], "consolidations": []}
    state = BeaconState(blocks={"5": block_response(5, empty, BLOCK_HASH)})
    got = await _fetch(state, 5)
    assert got == ExecutionRequests()
    # EIP-7685: no requests commit to sha256(b"") = 0xe3b0c442…b855.
    sha256_of_nothing = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert got.requests_hash().hex() == EMPTY_REQUESTS_HASH.hex() == sha256_of_nothing


async def test_unknown_block_is_not_found() -> None:
    error = await _failure(BeaconState(), 77)
    assert isinstance(error, BeaconBlockNotFound)
    assert "404" in str(error)


async def test_a_syncing_node_is_a_transport_error() -> None:
    error = await _failure(BeaconState(down=True), 77)
    assert isinstance(error, BeaconTransportError)
    assert "HTTP 503" in str(error)


async def test_a_closed_port_is_a_transport_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with httpx.AsyncClient() as client:
        with pytest.raises(BeaconTransportError):
            await fetch_execution_requests(client, f"http://127.0.0.1:{port}", 1, timeout_s=5)


async def test_another_execution_payload_is_a_mismatch() -> None:
    state = BeaconState(blocks={"9": block_response(9, REQUESTS_JSON, BLOCK_HASH)})
    error = await _failure(state, 9, expected_block_hash=b"\xcd" * 32)
    assert isinstance(error, BeaconBlockMismatch)
    assert "0x" + "ab" * 32 in str(error)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r["deposits"][1].update(amount="0x20"),
         "data.message.body.execution_requests.deposits[1].amount"),
        (lambda r: r["deposits"][0].update(amount=str(1 << 64)),
         "data.message.body.execution_requests.deposits[0].amount"),
        (lambda r: r["withdrawals"][0].update(validator_pubkey="0x" + "e8" * 47),
         "data.message.body.execution_requests.withdrawals[0].validator_pubkey"),
        (lambda r: r["consolidations"][0].pop("target_pubkey"),
         "data.message.body.execution_requests.consolidations[0].target_pubkey"),
        (lambda r: r.pop("withdrawals"), "data.message.body.execution_requests.withdrawals"),
        (lambda r: r.update(consolidations=CONSOLIDATIONS * 3),
         "data.message.body.execution_requests.consolidations"),
        (lambda r: r["deposits"][0].update(pubkey="0x" + "zz" * 48),
         "data.message.body.execution_requests.deposits[0].pubkey"),
    ],
)  # fmt: skip
async def test_a_malformed_request_names_its_field(change: Any, field: str) -> None:
    requests = json.loads(json.dumps(REQUESTS_JSON))
    change(requests)
    state = BeaconState(blocks={"3": block_response(3, requests, BLOCK_HASH)})
    error = await _failure(state, 3)
    assert isinstance(error, BeaconMalformedResponse)
    assert error.field == field


async def test_a_pre_electra_block_has_no_execution_requests() -> None:
    state = BeaconState(blocks={"3": block_response(3, None, BLOCK_HASH, version="deneb")})
    error = await _failure(state, 3)
    assert isinstance(error, BeaconMalformedResponse)
    assert error.field == "data.message.body.execution_requests"


async def test_a_body_that_is_not_json_is_malformed() -> None:
    state = BeaconState(raw={"3": b"<html>gateway</html>"})
    error = await _failure(state, 3)
    assert isinstance(error, BeaconMalformedResponse)
    assert error.field == "body"


def test_slot_of_a_mainnet_block_timestamp() -> None:
    # Mainnet beacon genesis: 2020-12-01 12:00:23 UTC = 1606824023; slots are 12 s.
    assert slot_at(1_606_824_023) == 0
    assert slot_at(1_606_824_023 + 12 * 13_859_945) == 13_859_945
