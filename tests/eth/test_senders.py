"""Sender recovery: every transaction type against eth_account as an independent signer, the real
mainnet blocks' ``from`` fields, and the signature rules (EIP-2, EIP-155) as ``InputError``s."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import keccak as pycryptodome_keccak
from eth_account import Account
from eth_keys.datatypes import PrivateKey

from ethproofs_daemon.eth.errors import InputError
from ethproofs_daemon.eth.senders import SECP256K1_N, recover_sender, recover_senders
from ethproofs_daemon.eth.tx_encoding import tx_encoding
from ethproofs_daemon.eth.types import (
    AccessListItem,
    AuthorizationTuple,
    EIP1559Transaction,
    EIP2930Transaction,
    EIP4844Transaction,
    EIP7702Transaction,
    LegacyTransaction,
    PrivilegedL2Transaction,
    Transaction,
)
from ethproofs_daemon.inputs.rpc_block import rpc_block_from_json
from tests.conftest import SHARED_FIXTURES

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ACCOUNT = Account.from_key(KEY)
ADDRESS = bytes.fromhex(ACCOUNT.address[2:])
#: eth-keys' public key, uncompressed with the SEC1 0x04 prefix.
PUBLIC_KEY = b"\x04" + PrivateKey(KEY).public_key.to_bytes()
TO = bytes.fromhex("22" * 20)
SLOT = bytes.fromhex("44" * 32)
ACCESS = (AccessListItem(bytes.fromhex("33" * 20), (SLOT,)),)
ACCESS_JSON = [{"address": "0x" + "33" * 20, "storageKeys": ["0x" + "44" * 32]}]
BASE: dict[str, Any] = {
    "nonce": 3,
    "gas": 21000,
    "to": "0x" + "22" * 20,
    "value": 5,
    "data": b"\x01\x02",
}
BLOB_HASH = b"\x01" + b"\x55" * 31


def _signed(tx: dict[str, Any]) -> Any:
    return ACCOUNT.sign_transaction(tx)


def legacy(chain_id: int | None) -> tuple[Transaction, bytes]:
    tx = dict(BASE, gasPrice=7) if chain_id is None else dict(BASE, gasPrice=7, chainId=chain_id)
    s = _signed(tx)
    typed = LegacyTransaction(3, 7, 21000, TO, 5, b"\x01\x02", s.v, s.r, s.s)
    return typed, bytes(s.raw_transaction)


def eip2930() -> tuple[Transaction, bytes]:
    s = _signed(dict(BASE, type=1, gasPrice=7, chainId=1, accessList=ACCESS_JSON))
    typed = EIP2930Transaction(1, 3, 7, 21000, TO, 5, b"\x01\x02", ACCESS, bool(s.v), s.r, s.s)
    return typed, bytes(s.raw_transaction)


def eip1559() -> tuple[Transaction, bytes]:
    s = _signed(
        dict(
            BASE, type=2, maxFeePerGas=9, maxPriorityFeePerGas=2, chainId=1, accessList=ACCESS_JSON
        )
    )
    typed = EIP1559Transaction(1, 3, 2, 9, 21000, TO, 5, b"\x01\x02", ACCESS, bool(s.v), s.r, s.s)
    return typed, bytes(s.raw_transaction)


def eip4844() -> tuple[Transaction, bytes]:
    s = _signed(
        dict(
            BASE, type=3, maxFeePerGas=9, maxPriorityFeePerGas=2, chainId=1, accessList=[],
            maxFeePerBlobGas=3, blobVersionedHashes=[BLOB_HASH],
        )
    )  # fmt: skip
    typed = EIP4844Transaction(
        1, 3, 2, 9, 21000, TO, 5, b"\x01\x02", (), 3, (BLOB_HASH,), bool(s.v), s.r, s.s
    )
    return typed, bytes(s.raw_transaction)


def eip7702() -> tuple[Transaction, bytes]:
    auth = ACCOUNT.sign_authorization({"chainId": 1, "address": "0x" + "66" * 20, "nonce": 4})
    s = _signed(
        dict(
            BASE, type=4, maxFeePerGas=9, maxPriorityFeePerGas=2, chainId=1, accessList=[],
            authorizationList=[auth],
        )
    )  # fmt: skip
    typed_auth = AuthorizationTuple(1, bytes.fromhex("66" * 20), 4, auth.y_parity, auth.r, auth.s)
    typed = EIP7702Transaction(
        1, 3, 2, 9, 21000, TO, 5, b"\x01\x02", (), (typed_auth,), bool(s.v), s.r, s.s
    )
    return typed, bytes(s.raw_transaction)


CASES = {
    "legacy-pre-eip155": lambda: legacy(None),
    "legacy-eip155-mainnet": lambda: legacy(1),
    "legacy-eip155-hoodi": lambda: legacy(560048),
    "eip2930": eip2930,
    "eip1559": eip1559,
    "eip4844": eip4844,
    "eip7702": eip7702,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_type_recovers_the_eth_account_signer(name: str) -> None:
    tx, raw = CASES[name]()
    assert tx_encoding(tx) == raw  # the typed value is the transaction eth_account signed
    got = recover_sender(tx, expected=ADDRESS)
    assert got.address == ADDRESS
    assert got.public_key == PUBLIC_KEY


def test_a_pre_eip155_legacy_transaction_passes_any_chain_check() -> None:
    tx, _ = legacy(None)
    assert recover_sender(tx, chain_id=560048).address == ADDRESS


ZEC = SHARED_FIXTURES / "zec-reth"
BLOCKS = sorted(p.name for p in ZEC.glob("block_*.json")) if ZEC.is_dir() else []


@pytest.mark.parametrize("name", BLOCKS)
def test_real_mainnet_senders_match_the_nodes_from(shared_fixtures: Path, name: str) -> None:
    doc = json.loads((shared_fixtures / "zec-reth" / name).read_text())
    block = rpc_block_from_json(doc).block
    recovered = recover_senders(block.body.transactions, chain_id=1)
    for i, (tx_json, r) in enumerate(zip(doc["transactions"], recovered, strict=True)):
        assert "0x" + r.address.hex() == tx_json["from"].lower(), i
        h = pycryptodome_keccak.new(data=r.public_key[1:], digest_bits=256).digest()
        assert h[12:] == r.address


def test_real_mainnet_blocks_are_present(shared_fixtures: Path) -> None:
    assert len(BLOCKS) >= 3


def test_a_from_that_is_not_the_signer_names_index_and_both_addresses() -> None:
    tx, _ = eip1559()
    other = bytes.fromhex("ab" * 20)
    with pytest.raises(InputError) as info:
        recover_senders([tx, tx], [ADDRESS, other])
    assert info.value.field == "block.transactions[1].from"
    assert "ab" * 20 in info.value.reason and ADDRESS.hex() in info.value.reason


def test_high_s_is_refused() -> None:
    tx, _ = eip1559()
    assert isinstance(tx, EIP1559Transaction)
    flipped = replace(tx, signature_s=SECP256K1_N - tx.signature_s)
    with pytest.raises(InputError) as info:
        recover_sender(flipped, "block.transactions[0]")
    assert info.value.field == "block.transactions[0].s"
    assert "n/2" in info.value.reason


@pytest.mark.parametrize(("r", "s", "field"), [(0, 1, "r"), (SECP256K1_N, 1, "r"), (1, 0, "s")])
def test_r_and_s_out_of_range_are_refused(r: int, s: int, field: str) -> None:
    tx, _ = eip1559()
    assert isinstance(tx, EIP1559Transaction)
    with pytest.raises(InputError) as info:
        recover_sender(replace(tx, signature_r=r, signature_s=s), "tx")
    assert info.value.field == f"tx.{field}"


@pytest.mark.parametrize("v", [0, 1, 26, 29, 34])
def test_a_legacy_v_that_is_neither_27_28_nor_eip155_is_refused(v: int) -> None:
    tx, _ = legacy(1)
    assert isinstance(tx, LegacyTransaction)
    with pytest.raises(InputError) as info:
        recover_sender(replace(tx, v=v), "tx")
    assert info.value.field == "tx.v"


def test_an_r_that_is_no_curve_point_is_refused() -> None:
    tx, _ = eip1559()
    assert isinstance(tx, EIP1559Transaction)
    with pytest.raises(InputError) as info:
        recover_sender(replace(tx, signature_r=5, signature_y_parity=False), "tx")
    assert info.value.field == "tx.signature"


def test_a_transaction_signed_for_another_chain_is_refused() -> None:
    typed, _ = eip1559()
    with pytest.raises(InputError) as info:
        recover_sender(typed, "tx", chain_id=560048)
    assert info.value.field == "tx.chainId"
    legacy_tx, _ = legacy(1)
    with pytest.raises(InputError) as info:
        recover_sender(legacy_tx, "tx", chain_id=560048)
    assert info.value.field == "tx.v"


def test_a_changed_field_changes_the_signer() -> None:
    tx, _ = eip1559()
    assert isinstance(tx, EIP1559Transaction)
    assert recover_sender(replace(tx, value=6)).address != ADDRESS


def test_an_l2_transaction_has_no_signature_to_recover() -> None:
    tx = PrivilegedL2Transaction(1, 0, 0, 0, 0, None, 0, b"", (), ADDRESS)
    with pytest.raises(InputError):
        recover_sender(tx)


def test_a_senders_list_of_another_length_is_refused() -> None:
    tx, _ = eip1559()
    with pytest.raises(InputError) as info:
        recover_senders([tx], [ADDRESS, ADDRESS])
    assert info.value.field == "block.transactions"
