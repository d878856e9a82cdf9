"""``ethproofs-daemon demo`` as a newcomer runs it: the real command in a subprocess, a real anvil
on 127.0.0.1, the daemon in-process, the simulated prover and the demo's local EthProofs endpoint.
Plus the pure parts (transaction plan, endpoint answers, when to stop mining).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import psutil
import pytest
import trio

from ethproofs_daemon.demo.anvil import AnvilNotFound, find_anvil
from ethproofs_daemon.demo.endpoint import LocalEthProofs
from ethproofs_daemon.demo.runner import targets_still_needed
from ethproofs_daemon.demo.transactions import TxKind, create_address, plan_batch
from ethproofs_daemon.jobs import Job, JobState
from ethproofs_daemon.prover.simulated import MAGIC
from tests.standins.zisk import end_pids

DEMO_TIMEOUT_S = 110
#: The subprocess is ended after this (the demo's own timeout plus start-up and shutdown).
HARD_LIMIT_S = 170


def _anvil_or_skip() -> None:
    try:
        find_anvil()
    except AnvilNotFound as exc:
        pytest.skip(str(exc))


def _is_anvil(pid: int) -> bool:
    """True when ``pid`` is a live (non-zombie) anvil process."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and "anvil" in proc.name()
    except psutil.NoSuchProcess:
        return False


async def test_demo_proves_and_reports_blocks_and_leaves_no_process(tmp_path: Path) -> None:
    _anvil_or_skip()
    workdir = tmp_path / "demo"
    argv = [sys.executable, "-m", "ethproofs_daemon", "demo", "--blocks", "3",
            "--timeout", str(DEMO_TIMEOUT_S), "--workdir", str(workdir)]
    with trio.fail_after(HARD_LIMIT_S):  # cancelling kills the subprocess
        done = await trio.run_process(argv, capture_stdout=True, capture_stderr=True,
                                      check=False, cwd=tmp_path)
    out = " ".join((done.stdout.decode() + done.stderr.decode()).split())
    pid_match = re.search(r"anvil pid (\d+)", out)
    anvil_pid = int(pid_match.group(1)) if pid_match else None
    try:
        assert done.returncode == 0, out
        assert "demo OK: " in out
        assert "SIMULATED" in out
        assert "proves nothing" in out
        for label in ("output dir:", "state dir:", "received log:"):
            assert label in out
        assert anvil_pid is not None, out
        assert not _is_anvil(anvil_pid), f"anvil pid {anvil_pid} still running"

        received = [json.loads(line) for line in
                    (workdir / "ethproofs-api" / "received.jsonl").read_text().splitlines()]
        kinds: dict[int, list[str]] = defaultdict(list)
        for entry in received:
            assert entry["status"] == 200, entry
            kinds[entry["block_number"]].append(entry["kind"])
        proved = sorted(b for b, k in kinds.items() if "proved" in k)
        assert len(proved) >= 3, kinds
        for block in proved:
            assert kinds[block] == ["queued", "proving", "proved"], (block, kinds[block])
            assert block % 2 == 0 and block >= 2
            placeholder = (workdir / "output" / str(block) / "simulated_proof.bin").read_bytes()
            assert placeholder.startswith(MAGIC)
        assert (workdir / "state" / "ethproofs-daemon.sqlite").is_file()
        assert (workdir / "daemon.log").stat().st_size > 0
    finally:
        if anvil_pid is not None and _is_anvil(anvil_pid):
            end_pids([anvil_pid])


def test_demo_refuses_a_non_empty_workdir(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("x")
    done = subprocess.run(
        [sys.executable, "-m", "ethproofs_daemon", "demo", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert "not empty" in done.stderr


def test_transaction_plan_covers_every_kind_and_never_deletes_storage() -> None:
    contract = create_address("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", 0)
    batches = [plan_batch(i, contract) for i in range(4)]
    assert {s.kind for b in batches for s in b} == set(TxKind)
    assert {s.tx_type for b in batches for s in b} == {0, 1, 2}
    assert batches[0][0].kind is TxKind.DEPLOYMENT and batches[0][0].to is None
    for spec in (s for b in batches for s in b):
        if spec.kind in (TxKind.STORAGE_WRITE, TxKind.ACCESS_LIST_WRITE):
            assert int.from_bytes(spec.data[32:64], "big") != 0
        if spec.kind is TxKind.ACCESS_LIST_WRITE:
            assert spec.access_list == ((contract, (spec.data[:32],)),)


def test_create_address_matches_anvils_first_deployment() -> None:
    # anvil's dev account 0 deploying at nonce 0 (well known: the first Foundry deployment).
    assert create_address("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", 0) == (
        "0x5fbdb2315678afecb367f032d93f642f64180aa3"
    )


def test_local_endpoint_answers_ids_then_409_after_proved(tmp_path: Path) -> None:
    ep = LocalEthProofs(api_key="k", log_path=tmp_path / "r.jsonl")
    auth = "Bearer k"
    body = b'{"block_number": 4, "cluster_id": 1}'
    assert ep.answer("queued", auth, body) == (200, {"proof_id": 1})
    assert ep.answer("proving", auth, body) == (200, {"proof_id": 1})
    proved = b'{"block_number": 4, "cluster_id": 1, "proving_time": 5, "proof": "AAAA"}'
    assert ep.answer("proved", auth, proved) == (200, {"proof_id": 1})
    assert ep.answer("proved", auth, proved)[0] == 409
    assert ep.answer("queued", None, body)[0] == 401
    assert ep.answer("queued", "Bearer wrong", body)[0] == 401
    assert ep.answer("queued", auth, b'{"block_number": "x", "cluster_id": 1}')[0] == 400
    assert ep.kinds_for(4) == ["queued", "proving", "proved"]
    assert ep.proved_blocks() == {4}
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [x["status"] for x in lines] == [200, 200, 200, 409, 401, 401, 400]
    assert "proof" not in lines[2]["body"] and lines[2]["body"]["proof_bytes"] == 3
    assert all("authorization" not in x for x in lines)


def _job(block: int, state: JobState, next_attempt_at: float | None = None) -> Job:
    return Job(id=block, block_number=block, proof_type="ethrex-zisk", state=state, attempts=1,
               priority=0, created_at=0.0, updated_at=0.0, next_attempt_at=next_attempt_at)


def test_mining_continues_until_enough_live_targets_exist() -> None:
    assert targets_still_needed(0, [], wanted=3, interval=2)
    assert targets_still_needed(4, [], wanted=3, interval=2)  # targets 2, 4
    assert not targets_still_needed(6, [], wanted=3, interval=2)  # 2, 4, 6
    dead = [_job(4, JobState.FAILED)]
    assert targets_still_needed(6, dead, wanted=3, interval=2)
    retrying = [_job(4, JobState.FAILED, next_attempt_at=1.0)]
    assert not targets_still_needed(6, retrying, wanted=3, interval=2)


async def test_sigterm_stops_the_demo_and_ends_anvil(tmp_path: Path) -> None:
    _anvil_or_skip()
    argv = [sys.executable, "-m", "ethproofs_daemon", "demo", "--blocks", "50",
            "--workdir", str(tmp_path / "demo")]
    process = await trio.lowlevel.open_process(argv, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT, cwd=tmp_path)
    anvil_pids: list[int] = []
    seen = b""
    try:
        assert process.stdout is not None
        with trio.fail_after(90):
            while b"proved (reports: queued" not in seen:
                chunk = await process.stdout.receive_some(4096)
                assert chunk, seen.decode()
                seen += chunk
                if not anvil_pids:
                    anvil_pids = [c.pid for c in psutil.Process(process.pid).children()
                                  if "anvil" in c.name()]
        assert anvil_pids, "the demo's anvil was not its child"
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(60):
            while chunk := await process.stdout.receive_some(4096):
                seen += chunk
            await process.wait()
        out = " ".join(seen.decode().split())
        assert process.returncode == 130, out
        assert "demo stopped: interrupted by SIGTERM" in out
        assert not _is_anvil(anvil_pids[0])
    finally:
        end_pids([*anvil_pids, process.pid])
        with trio.move_on_after(5):
            await process.wait()
