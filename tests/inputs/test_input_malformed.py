"""Property: malformed node JSON always gives ``InputError`` (never another exception).

Mutations of consumed fields of the hive block 45 + reth witness: missing fields, bad hex, wrong
lengths, non-string values, unknown transaction types, truncated witness entries.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ethproofs_daemon.inputs.build import build_input
from ethproofs_daemon.inputs.errors import InputError
from ethproofs_daemon.inputs.profiles import get_profile
from tests.conftest import SHARED_FIXTURES
from tests.helpers import ETHREX_014_PROFILE

HIVE = SHARED_FIXTURES / "real-data" / "hive-chain"
pytestmark = pytest.mark.skipif(not HIVE.is_dir(), reason=f"shared fixtures not at {HIVE}")

FIXED = {  # fields with an exact byte length
    "parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot",
    "logsBloom", "mixHash", "withdrawalsRoot", "parentBeaconBlockRoot", "requestsHash", "hash",
}  # fmt: skip
QUANTITIES = {"number", "gasLimit", "gasUsed", "timestamp", "nonce", "baseFeePerGas",
              "blobGasUsed", "excessBlobGas", "extraData", "size"}  # fmt: skip
TX_CONSUMED = {
    "0x0": ["nonce", "gasPrice", "gas", "to", "value", "input", "v", "r", "s"],
    "0x1": ["chainId", "nonce", "gasPrice", "gas", "to", "value", "input", "accessList",
            "yParity", "r", "s"],
    "0x2": ["chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas", "to", "value",
            "input", "accessList", "yParity", "r", "s"],
    "0x4": ["chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas", "to", "value",
            "input", "accessList", "authorizationList", "yParity", "r", "s"],
}  # fmt: skip
BAD_VALUES = st.sampled_from(["0xzz", "0x0g", "zz", 12, [], {}, True, "0x" + "1" * 80])


def _load() -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        json.loads((HIVE / "block_0x2d.json").read_text()),
        json.loads((HIVE / "witness_0x2d.reth.json").read_text()),
    )


BLOCK, WITNESS = _load() if HIVE.is_dir() else ({}, {})
PROFILE = get_profile(ETHREX_014_PROFILE)
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _expect_input_error(block: dict[str, Any], witness: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as info:
        build_input(block, witness, PROFILE)
    return info.value


@SETTINGS
@given(st.sampled_from(sorted(FIXED | QUANTITIES)), st.sampled_from(["delete", "bad", "length"]),
       BAD_VALUES, st.integers(1, 40))  # fmt: skip
def test_block_header_field_mutations(key: str, kind: str, bad: object, n: int) -> None:
    block = copy.deepcopy(BLOCK)
    if kind == "delete":
        del block[key]
    elif kind == "bad":
        block[key] = bad
    else:
        if key not in FIXED:
            return
        block[key] = "0x" + "ab" * n if n * 2 != len(block[key]) - 2 else "0x"
    err = _expect_input_error(block, WITNESS)
    assert err.field.startswith("block")


@SETTINGS
@given(st.integers(0, 5), st.data(), st.sampled_from(["delete", "bad"]), BAD_VALUES)
def test_transaction_field_mutations(i: int, data: st.DataObject, kind: str, bad: object) -> None:
    block = copy.deepcopy(BLOCK)
    tx = block["transactions"][i]
    key = data.draw(st.sampled_from(TX_CONSUMED[tx["type"]]))
    if kind == "delete":
        del tx[key]
    else:
        assume(tx.get(key) != bad)  # e.g. accessList [] set to []: no mutation at all
        tx[key] = bad
    _expect_input_error(block, WITNESS)


@SETTINGS
@given(st.integers(0, 5), st.integers(5, 2**16).filter(lambda t: t not in (0x7D, 0x7E)))
def test_unknown_transaction_type(i: int, tx_type: int) -> None:
    block = copy.deepcopy(BLOCK)
    block["transactions"][i]["type"] = hex(tx_type)
    err = _expect_input_error(block, WITNESS)
    assert err.field == f"block.transactions[{i}].type"


@SETTINGS
@given(st.sampled_from(["state", "headers"]), st.data(), st.integers(1, 200))
def test_truncated_witness_entries(key: str, data: st.DataObject, cut: int) -> None:
    witness = copy.deepcopy(WITNESS)
    j = data.draw(st.integers(0, len(witness[key]) - 1))
    entry = witness[key][j]
    witness[key][j] = entry[: max(2, len(entry) - cut)]
    err = _expect_input_error(BLOCK, witness)
    assert err.field.startswith("witness")


@SETTINGS
@given(st.sampled_from(["state", "keys", "codes", "headers"]),
       st.sampled_from(["delete", "null", "bad-entry", "object-entry", "not-a-list"]))  # fmt: skip
def test_witness_list_mutations(key: str, kind: str) -> None:
    witness = copy.deepcopy(WITNESS)
    if kind == "delete":
        del witness[key]
    elif kind == "null":
        witness[key] = None
    elif kind == "bad-entry":
        witness[key] = [*witness[key], "0xzz"]
    elif kind == "object-entry":
        witness[key] = [{"number": "0x1"}, *witness[key]]
    else:
        witness[key] = "0x00"
    err = _expect_input_error(BLOCK, witness)
    assert err.field.startswith(f"witness.{key}")


def test_headers_without_the_parent_are_refused() -> None:
    err = _expect_input_error(BLOCK, {**WITNESS, "headers": []})
    assert "not found" in err.reason


@SETTINGS
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c,
                                                                         max_size=3),
                    max_leaves=10))  # fmt: skip
def test_arbitrary_json_never_escapes_input_error(doc: Any) -> None:
    for block, witness in ((doc, WITNESS), (BLOCK, doc)):
        if not isinstance(block, dict) or not isinstance(witness, dict):
            continue
        _expect_input_error(block, witness)
