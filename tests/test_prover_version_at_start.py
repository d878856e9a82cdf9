"""Issue 11: the daemon started with a cargo-zisk it cannot drive stops with exit status 2 (a
configuration error, which systemd's ``RestartPreventExitStatus=2`` does not restart), naming
the version found, the versions supported and the guest profile; a driven one still starts.

Real daemon process (``python -m ethproofs_daemon run``) and the stand-in cargo-zisk
(``tests/standins/cargo_zisk.py``: ``STANDIN_ZISK_VERSION`` sets its ``--version`` line).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import trio

from tests.daemon_process import daemon_process, free_port
from tests.standins.zisk import make_standin_cargo_zisk

DEFAULT_PROFILE = "zec-reth"  # the manifest default: ZisK 1.1.0-alpha


def _env(tmp_path: Path, version: str) -> dict[str, str]:
    elf = tmp_path / "guest.elf"
    elf.write_bytes(b"\x7fELF stand-in guest for tests")
    return {
        "ETH_RPC_URL": "http://127.0.0.1:9/",
        "ELF_PATH": str(elf),
        "ALLOW_UNKNOWN_ELF": "1",
        "CARGO_ZISK": str(make_standin_cargo_zisk(tmp_path)),
        "STANDIN_ZISK_VERSION": version,
        "STATE_DIR": str(tmp_path / "state"),
        "OUTPUT_DIR": str(tmp_path / "output"),
        "HEALTH_HOST": "127.0.0.1",
        "HEALTH_PORT": str(free_port()),
        "LOG_FORMAT": "json",
    }


async def _run_to_exit(tmp_path: Path, version: str) -> tuple[int, str]:
    """Run the daemon until it exits by itself (bounded); its return code and its output."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ETH", "ZISK", "STANDIN", "NOTIFY_SOCKET", "WATCHDOG"))}
    env.update(_env(tmp_path, version))
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, "-m", "ethproofs_daemon", "run"], env=env, check=False,
            capture_stdout=True, capture_stderr=True, cwd=tmp_path)
    return result.returncode, (result.stdout + result.stderr).decode()


def _misconfigured(output: str) -> dict[str, object]:
    for line in output.splitlines():
        if '"prover_misconfigured"' in line:
            event: dict[str, object] = json.loads(line)
            return event
    raise AssertionError(f"no prover_misconfigured line in:\n{output[-3000:]}")


async def test_an_unknown_zisk_series_stops_the_daemon_with_exit_2(tmp_path: Path) -> None:
    code, output = await _run_to_exit(tmp_path, "2.0.0")
    assert code == 2
    message = str(_misconfigured(output)["error"])
    assert "cargo-zisk 2.0.0" in message and "does not know" in message
    assert "0.14.x/0.15.x, 0.16.x, 0.17.x/0.18.x, 1.x" in message and DEFAULT_PROFILE in message
    assert '"daemon_failed"' in output


@pytest.mark.parametrize("version", ["0.14.0", "0.18.0"])
async def test_a_driven_series_other_than_the_profiles_exits_2(
    tmp_path: Path, version: str
) -> None:
    code, output = await _run_to_exit(tmp_path, version)
    assert code == 2
    event = _misconfigured(output)
    message = str(event["error"])
    assert f"cargo-zisk {version}" in message
    assert "does not match the guest profile" in message
    assert "0.14.x/0.15.x, 0.16.x, 0.17.x/0.18.x, 1.x" in message
    assert DEFAULT_PROFILE in message and "ZisK 1.1.0-alpha" in message
    assert f"cargo-zisk {version}" in message and "set GUEST_PROFILE" in message
    assert event["profile"] == DEFAULT_PROFILE


async def test_a_version_line_that_cannot_be_parsed_exits_2_with_the_raw_text(
    tmp_path: Path,
) -> None:
    code, output = await _run_to_exit(tmp_path, "banana")
    assert code == 2
    message = str(_misconfigured(output)["error"])
    assert "cannot be parsed" in message and "cargo-zisk banana" in message


@pytest.mark.parametrize(("version", "profile"), [
    ("1.1.0-alpha", DEFAULT_PROFILE), ("0.14.0", "ethrex-24d4b6404-zisk-0.14.0")])
async def test_a_driven_series_matching_the_profile_still_starts(
    tmp_path: Path, version: str, profile: str
) -> None:
    env = {**_env(tmp_path, version), "GUEST_PROFILE": profile}
    async with daemon_process(env, tmp_path) as daemon:
        health = (await daemon.get("/health")).json()
        assert version in json.dumps(health)
        assert await daemon.stop(timeout_s=40) == 0
