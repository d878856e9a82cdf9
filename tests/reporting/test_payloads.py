"""Payload bodies for the proof status endpoints (ethproofs-api.md §1.5)."""

from __future__ import annotations

import base64
import json

import pytest

from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting.payloads import (
    PayloadError,
    ProvedFields,
    build_payload,
    proved_payload,
    proving_payload,
    queued_payload,
    summarize_payload,
)


def test_queued_and_proving_carry_only_block_and_cluster() -> None:
    assert json.loads(queued_payload(1200, 7)) == {"block_number": 1200, "cluster_id": 7}
    assert json.loads(proving_payload(1200, 7)) == {"block_number": 1200, "cluster_id": 7}


def test_proved_has_int_ms_base64_proof_cycles_and_verifier_id() -> None:
    proof = bytes(range(256)) * 3 + b"\x01"
    body = json.loads(
        proved_payload(
            1200,
            7,
            ProvedFields(
                proving_time_ms=83_456,
                proof=proof,
                proving_cycles=123_456_789,
                verifier_id="abc123",
            ),
        )
    )
    assert body == {
        "block_number": 1200,
        "cluster_id": 7,
        "proving_time": 83_456,
        "proving_cycles": 123_456_789,
        "proof": base64.b64encode(proof).decode(),
        "verifier_id": "abc123",
    }
    assert isinstance(body["proving_time"], int)
    assert base64.b64decode(body["proof"]) == proof


@pytest.mark.parametrize("cycles", [None, 0])
def test_unknown_or_zero_cycles_are_omitted(cycles: int | None) -> None:
    body = json.loads(proved_payload(1, 7, ProvedFields(10, b"p", proving_cycles=cycles)))
    assert "proving_cycles" not in body


def test_verifier_id_omitted_when_none() -> None:
    body = json.loads(proved_payload(1, 7, ProvedFields(10, b"p")))
    assert "verifier_id" not in body


def test_zero_ms_is_sent_as_one_because_the_api_requires_positive() -> None:
    body = json.loads(proved_payload(1, 7, ProvedFields(0, b"p")))
    assert body["proving_time"] == 1


@pytest.mark.parametrize(
    ("block", "cluster", "fields"),
    [
        (-1, 7, ProvedFields(1, b"p")),
        (1, "7", ProvedFields(1, b"p")),
        (1, True, ProvedFields(1, b"p")),
        (1, 7, ProvedFields(-5, b"p")),
        (1, 7, ProvedFields(1.5, b"p")),  # type: ignore[arg-type]
        (1, 7, ProvedFields(1, b"p", proving_cycles=-1)),
        (1, 7, ProvedFields(1, b"")),
    ],
)
def test_values_the_api_would_reject_raise(block: int, cluster: int, fields: ProvedFields) -> None:
    with pytest.raises(PayloadError):
        proved_payload(block, cluster, fields)


def test_build_payload_dispatches_and_requires_fields_for_proved() -> None:
    assert build_payload(ReportKind.QUEUED, 5, 1) == queued_payload(5, 1)
    assert build_payload(ReportKind.PROVING, 5, 1) == proving_payload(5, 1)
    with pytest.raises(PayloadError):
        build_payload(ReportKind.PROVED, 5, 1)


def test_summary_reads_back_without_the_proof() -> None:
    s = summarize_payload(proved_payload(9, 2, ProvedFields(1500, b"abcd", proving_cycles=77)))
    assert (s.block_number, s.cluster_id, s.proving_time_ms, s.proving_cycles) == (9, 2, 1500, 77)
    assert s.proof_base64_chars == 8
    with pytest.raises(PayloadError):
        summarize_payload("[1]")
