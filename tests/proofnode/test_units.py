"""Pure pieces of the proof node: events, reasons, query parsing, guest input, settings, cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import trio
import trio.lowlevel

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.proofnode.app import ApiError, parse_proof_types, parse_root
from ethproofs_daemon.proofnode.cache import PROOF_CACHE_SCHEMA, ProofCache
from ethproofs_daemon.proofnode.events import EventHub, ProofEvent, api_failure_reason
from ethproofs_daemon.proofnode.guest_input import (
    Eip8025InputBuilder,
    GuestInputError,
    eip8025_input,
    zisk_frame,
)
from ethproofs_daemon.proofnode.settings import ProofNodeSettings, SettingsError
from ethproofs_daemon.ssz import decode_new_payload_request

from .harness import json_witness_encoder

ROOT = "0x" + "11" * 32


def test_failure_reasons_map_onto_the_four_of_the_spec() -> None:
    assert api_failure_reason(FailureReason.WITNESS_UNAVAILABLE) is FailureReason.WITNESS_TIMEOUT
    assert api_failure_reason(FailureReason.BLOCK_UNAVAILABLE) is FailureReason.WITNESS_TIMEOUT
    assert api_failure_reason(FailureReason.INPUT_ERROR) is FailureReason.PROVING_ERROR
    assert api_failure_reason(FailureReason.PROOF_DATA_UNREADABLE) is FailureReason.PROVING_ERROR
    for reason in ("witness_timeout", "proving_timeout", "proving_error", "internal_error"):
        assert api_failure_reason(FailureReason(reason)) == reason


def test_event_payloads_match_the_spec_schemas() -> None:
    assert ProofEvent.complete(ROOT, "ethrex-zisk").data_json() == (
        f'{{"new_payload_request_root":"{ROOT}","proof_type":"ethrex-zisk"}}'
    )
    failure = ProofEvent.failure(ROOT, "ethrex-zisk", FailureReason.INPUT_ERROR, "bad")
    assert failure.data_json() == (
        f'{{"new_payload_request_root":"{ROOT}","proof_type":"ethrex-zisk",'
        '"reason":"proving_error","error":"bad"}'
    )


def test_hub_drops_for_a_full_subscriber_and_remembers_bounded_failures() -> None:
    hub = EventHub(buffer=1, failure_entries=2)
    with hub.subscribe(None) as sub:
        assert hub.subscriber_count == 1
        for i in range(3):
            hub.publish(
                ProofEvent.failure(f"0x{i:064x}", "ethrex-zisk", FailureReason.PROVING_ERROR, "e")
            )
        assert hub.dropped == 2
        assert sub.receive.receive_nowait().root == f"0x{0:064x}"
    assert hub.subscriber_count == 0
    assert hub.failures_for(f"0x{0:064x}") == []  # evicted (bound 2)
    assert len(hub.failures_for(f"0x{2:064x}")) == 1
    hub.publish(ProofEvent.complete(f"0x{2:064x}", "ethrex-zisk"))
    assert hub.failures_for(f"0x{2:064x}") == []  # a completion clears the failure


def test_proof_types_query_parsing() -> None:
    assert parse_proof_types(" ethrex-zisk ", ("ethrex-zisk",)) == ["ethrex-zisk"]
    assert parse_proof_types("ethrex-zisk,reth-sp1", ("ethrex-zisk", "reth-sp1")) == [
        "ethrex-zisk",
        "reth-sp1",
    ]
    for raw in (None, "", " , ", "ETHREX-ZISK", "ethrex-zisk,", "reth-sp1"):
        with pytest.raises(ApiError) as err:
            parse_proof_types(raw, ("ethrex-zisk",))
        assert err.value.status == 400


def test_roots_must_be_lowercase_0x_hex() -> None:
    assert parse_root(ROOT) == b"\x11" * 32
    for bad in (None, ROOT.upper(), ROOT[2:], ROOT + "0", "0x" + "g" * 64):
        with pytest.raises(ApiError):
            parse_root(bad)


def test_guest_input_is_length_prefixed_ssz_then_witness_in_a_zisk_frame(
    shared_fixtures: Path,
) -> None:
    body = (shared_fixtures / "ssz" / "zkboost_new_payload_request.ssz").read_bytes()
    request = decode_new_payload_request(body)
    raw = eip8025_input(body, b"WIT")
    assert raw == (602).to_bytes(4, "little") + body + b"WIT"
    framed = zisk_frame(raw)
    assert len(framed) % 8 == 0
    assert int.from_bytes(framed[:8], "little") == len(raw)
    assert framed[8 : 8 + len(raw)] == raw
    builder = Eip8025InputBuilder(lambda witness, req: b"W" if witness else b"", framed=False)
    assert builder.build(request, {"state": []}) == (602).to_bytes(4, "little") + body + b"W"

    def refuse(witness: object, req: object) -> bytes:
        raise ValueError("no headers")

    with pytest.raises(GuestInputError, match="input construction failed: no headers"):
        Eip8025InputBuilder(refuse).build(request, {})


def test_settings_are_validated() -> None:
    with pytest.raises(SettingsError, match="unknown proof type 'foo'"):
        ProofNodeSettings(proof_types=("foo",))
    with pytest.raises(SettingsError, match="witness_timeout_s must be > 0"):
        ProofNodeSettings(witness_timeout_s=0)


def _cache(tmp_path: Path, max_entries: int = 2) -> tuple[sqlite3.Connection, ProofCache]:
    conn = sqlite3.connect(tmp_path / "store.sqlite3")
    conn.executescript(PROOF_CACHE_SCHEMA)
    return conn, ProofCache(conn, tmp_path / "proofs", max_entries)


def _proof(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_cache_evicts_the_oldest_beyond_its_bound(tmp_path: Path) -> None:
    conn, cache = _cache(tmp_path)
    roots = [f"0x{i:064x}" for i in range(3)]
    for i, root in enumerate(roots):
        cache.put(root, "ethrex-zisk", _proof(tmp_path, f"p{i}", bytes([i]) * 10), cycles=i)
    assert cache.size == 2
    assert cache.get(roots[0], "ethrex-zisk") is None
    assert not (tmp_path / "proofs" / roots[0]).exists()
    assert cache.get(roots[2], "ethrex-zisk") == b"\x02" * 10
    assert cache.proof_types_for(roots[1]) == ["ethrex-zisk"]
    assert cache.total_bytes == 20
    conn.close()


def test_cache_survives_reopening_and_drops_rows_whose_file_vanished(tmp_path: Path) -> None:
    conn, cache = _cache(tmp_path)
    cache.put(ROOT, "ethrex-zisk", _proof(tmp_path, "p", b"proof"))
    cache.put(ROOT, "reth-zisk", _proof(tmp_path, "q", b"other"))
    conn.close()
    conn, cache = _cache(tmp_path)
    assert cache.get(ROOT, "ethrex-zisk") == b"proof"
    (tmp_path / "proofs" / ROOT / "reth-zisk.proof").unlink()
    assert cache.reconcile() == 1
    assert cache.proof_types_for(ROOT) == ["ethrex-zisk"]
    conn.close()


def test_cache_refuses_keys_that_are_not_roots(tmp_path: Path) -> None:
    conn, cache = _cache(tmp_path)
    with pytest.raises(ValueError):
        cache.put("../../etc", "ethrex-zisk", _proof(tmp_path, "p", b"x"))
    assert cache.get("../../etc", "ethrex-zisk") is None
    conn.close()


async def test_service_run_ends_subscriber_streams_when_cancelled(
    tmp_path: Path, shared_fixtures: Path
) -> None:

    from ethproofs_daemon.proofnode.service import ProofNodeService, ServiceNotRunning
    from ethproofs_daemon.proofnode.witness import RpcWitnessProvider

    conn, cache = _cache(tmp_path)
    service = ProofNodeService(
        settings=ProofNodeSettings(port=0), cache=cache, prover=None, verifier=None,
        witness=RpcWitnessProvider(None), input_builder=Eip8025InputBuilder(json_witness_encoder),
        work_dir=tmp_path / "work",
    )  # fmt: skip
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        assert service.running
        with service.hub.subscribe(None) as sub:
            nursery.cancel_scope.cancel()
            await trio.lowlevel.checkpoint()  # let run's finally happen
            with trio.fail_after(2):
                async for _ in sub.receive:
                    pass
    assert not service.running
    with pytest.raises(ServiceNotRunning):
        body = (shared_fixtures / "ssz" / "zkboost_new_payload_request.ssz").read_bytes()
        service.submit(decode_new_payload_request(body), ["ethrex-zisk"])
    conn.close()
