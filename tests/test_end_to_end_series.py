"""End to end per ZisK release series (issue 11): the real daemon process, the replay node with
real blocks and witnesses, the real input codecs, the stand-in cargo-zisk as 0.16.1, 0.18.0 and
1.1.0-alpha (``tests/standins/cargo_zisk.py``: each release's argv, framed input, proof file
encoding and stdout lines) and the stand-in EthProofs API.

The EthProofs ``proof`` field must equal the documented transform of the proof file
(``../shared/docs/zisk-coordinator.md`` §3.3), built here with ``tests/standins/
zisk_proof_encoders.py`` from the stand-in's own proof words for the input the daemon wrote.

- 1.1.0-alpha proves real mainnet blocks with the default guest profile, zec-reth (two frames);
- 0.16.1 and 0.18.0 prove the hive blocks with a test manifest whose ethrex profile is framed
  for those releases (an operator's own manifest, ``ETHPROOFS_GUEST_MANIFEST``);
- a 1.1.0-alpha stand-in with the ethrex 0.14 profile, and a 2.0.0 one, stop the daemon with
  exit 2.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.daemon_process import daemon_env, daemon_process
from tests.helpers import ETHREX_014_PROFILE
from tests.standins import cargo_zisk as standin_zisk
from tests.standins import zisk_proof_encoders as enc
from tests.standins.ethproofs_api import EthProofsState, run_standin_ethproofs
from tests.standins.replay_node import ReplayState, run_replay_node
from tests.standins.zisk import make_standin_cargo_zisk
from tests.test_end_to_end import API_KEY, CLUSTER, _enqueue, _proved, _wait_reports

MAINNET_BLOCK = 24628607


def _env(tmp_path: Path, rpc_url: str, api_url: str, version: str, **extra: str
         ) -> dict[str, str]:
    elf = tmp_path / "guest.elf"
    elf.write_bytes(b"\x7fELF stand-in guest for tests")
    return {
        "ETH_RPC_URL": rpc_url,
        "ELF_PATH": str(elf),
        "ALLOW_UNKNOWN_ELF": "1",
        "CARGO_ZISK": str(make_standin_cargo_zisk(tmp_path)),
        "STANDIN_ZISK_VERSION": version,
        "STANDIN_ZISK_BUILD": "gpu",
        "STANDIN_ZISK_DELAY_S": "0.1",
        "STANDIN_ZISK_HELPER_LIFETIME_S": "60",
        "STATE_DIR": str(tmp_path / "state"),
        "OUTPUT_DIR": str(tmp_path / "output"),
        "BLOCK_INTERVAL": "1000000000",
        "POLL_INTERVAL_SECONDS": "0.05",
        "RETRY_BASE_SECONDS": "0.2",
        "SHUTDOWN_TIMEOUT_SECONDS": "5",
        "ETHPROOFS_RPC_URL": api_url,
        "ETHPROOFS_API_KEY": API_KEY,
        "ETHPROOFS_CLUSTER_ID": str(CLUSTER),
        **extra,
    }


def _framed_manifest(tmp_path: Path, zisk_version: str) -> Path:
    """An operator's manifest: the built-in ethrex codec framed for ZisK >= 0.16."""
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"default": "ethrex-framed", "profiles": {"ethrex-framed": {
        "elf_file_name": "guest.elf", "ethrex_revision": "891528d", "zisk_version": zisk_version,
        "codec": "ethrex-891528d-rkyv", "framing": "zisk-stdin", "sha256": None}}}))
    return path


def _expected_proof(tmp_path: Path, block: int, version: str) -> bytes:
    """The documented EthProofs bytes of the stand-in's proof for the input the daemon wrote."""
    elf = (tmp_path / "guest.elf").read_bytes()
    inputs = list((tmp_path / "state" / "inputs").glob(f"{block}-*.bin"))
    assert len(inputs) == 1, inputs
    inp = inputs[0].read_bytes()
    vk = standin_zisk.program_vk_words(elf)
    outputs = standin_zisk.output_words(inp)
    words = standin_zisk.stark_words(vk, outputs, elf, inp)
    if version.startswith("1."):
        tag = 0 if version >= "1.3" else None
        return enc.ethproofs_bytes_v1_d(words, standin_zisk.ZISK_VK, enc.KIND_MINIMAL,
                                        [*vk, *outputs], tag)
    if version.startswith("0.18."):
        return enc.ethproofs_bytes_v018(True, vk, outputs, words, standin_zisk.ZISK_VK)
    assert version.startswith("0.16.")
    return enc.le_words(words)


def _check_reports(api: EthProofsState, tmp_path: Path, blocks: tuple[int, ...], version: str
                   ) -> None:
    for block in blocks:
        kinds = [kind for (b, kind) in api.sequence() if b == block]
        assert kinds == ["queued", "proving", "proved"], (block, kinds)
        proved: dict[str, Any] = next(
            r.body for r in api.accepted("proved") if r.body["block_number"] == block)
        assert base64.b64decode(proved["proof"]) == _expected_proof(tmp_path, block, version)
        inp = next((tmp_path / "state" / "inputs").glob(f"{block}-*.bin")).read_bytes()
        assert proved["proving_cycles"] == standin_zisk.cycles_of(inp)
        assert isinstance(proved["proving_time"], int) and proved["proving_time"] >= 0
        assert proved["verifier_id"]


def _mainnet_node(fixtures: Path) -> ReplayState:
    zec = fixtures / "zec-reth"
    state = ReplayState(head=MAINNET_BLOCK, max_head=MAINNET_BLOCK)
    state.blocks[MAINNET_BLOCK] = json.loads((zec / f"block_{MAINNET_BLOCK}.json").read_text())
    state.witnesses[MAINNET_BLOCK] = json.loads(
        (zec / f"witness_{MAINNET_BLOCK}.json").read_text())
    return state


async def test_v1_proves_a_mainnet_block_with_the_zec_reth_guest(
    tmp_path: Path, shared_fixtures: Path
) -> None:
    node = _mainnet_node(shared_fixtures)
    async with run_replay_node(node) as rpc_url, run_standin_ethproofs() as (api_url, api):
        env = _env(tmp_path, rpc_url, api_url, "1.1.0-alpha", GUEST_PROFILE="zec-reth")
        async with daemon_process(env, tmp_path) as daemon:
            await _enqueue(daemon.url, MAINNET_BLOCK)
            await daemon.wait_for(lambda d: _proved(d, (MAINNET_BLOCK,)), timeout_s=120)
            await _wait_reports(api, (MAINNET_BLOCK,))
            assert await daemon.stop() == 0
    _check_reports(api, tmp_path, (MAINNET_BLOCK,), "1.1.0-alpha")
    inp = next((tmp_path / "state" / "inputs").glob(f"{MAINNET_BLOCK}-*.bin")).read_bytes()
    golden = shared_fixtures / "zec-reth" / "mainnet_24628607_66_7_zec_reth.bin"
    assert inp == golden.read_bytes()  # the zec-reth guest's own golden input


@pytest.mark.parametrize("version", ["0.16.1", "0.18.0"])
async def test_framed_releases_prove_and_report_the_hive_blocks(
    tmp_path: Path, hive: ReplayState, version: str
) -> None:
    blocks = (0x1, 0x2D)
    async with run_replay_node(hive) as rpc_url, run_standin_ethproofs() as (api_url, api):
        env = _env(tmp_path, rpc_url, api_url, version, BLOCK_INTERVAL="45", START_BLOCK="1",
                   ETHPROOFS_GUEST_MANIFEST=str(_framed_manifest(tmp_path, version)),
                   GUEST_PROFILE="ethrex-framed")
        async with daemon_process(env, tmp_path) as daemon:
            await _enqueue(daemon.url, 0x1)
            await daemon.wait_for(lambda d: _proved(d, blocks), timeout_s=120)
            await _wait_reports(api, blocks)
            assert await daemon.stop() == 0
    _check_reports(api, tmp_path, blocks, version)


@pytest.mark.parametrize(("version", "profile", "words"), [
    ("1.1.0-alpha", ETHREX_014_PROFILE, ["does not match the guest profile", "0.14.0"]),
    ("2.0.0", "zec-reth", ["does not know"]),
])
async def test_a_release_the_profile_cannot_use_exits_2(
    tmp_path: Path, version: str, profile: str, words: list[str]
) -> None:
    env = daemon_env({k: v for k, v in _env(tmp_path, "http://127.0.0.1:9/", "http://x/",
                                            version, GUEST_PROFILE=profile).items()
                      if not k.startswith("ETHPROOFS")})
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, "-m", "ethproofs_daemon", "run"], env=env, check=False,
            capture_stdout=True, capture_stderr=True, cwd=tmp_path)
    assert result.returncode == 2
    log = (result.stdout + result.stderr).decode()
    assert all(w in log for w in words) and f"cargo-zisk {version}" in log
