"""anvil (foundry's local Ethereum node) as a subprocess on loopback, for tests and the demo.

anvil is installed from the npm registry by ``scripts/install-anvil.sh`` (package
``@foundry-rs/anvil-linux-amd64``, pinned). Facts about it (start-up in under 0.1 s, defaults:
chain id 31337, 10 funded dev accounts, gas limit 30,000,000, base fee 1 gwei; the methods it
serves and the ones it does not, e.g. ``debug_executionWitness`` answers ``-32601 Method not
found``) were observed by running anvil 1.7.1 from ``@foundry-rs/anvil-linux-amd64@1.7.1``; no
published source lists them.

``start_anvil`` starts one node on ``127.0.0.1``, waits until it answers ``eth_blockNumber`` and,
on exit, ends it by its pid (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import structlog
import trio

from ethproofs_daemon.node.rpc import JsonRpcClient, RpcEndpoint, RpcError

log = structlog.get_logger(__name__)

#: The npm package and the binary's place inside ``node_modules`` (``scripts/install-anvil.sh``).
ANVIL_NPM_PACKAGE: Final = "@foundry-rs/anvil-linux-amd64"
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]
PROJECT_ANVIL: Final = (
    PROJECT_ROOT / ".tools" / "node_modules" / ANVIL_NPM_PACKAGE / "bin" / "anvil"
)
INSTALL_HINT: Final = "run scripts/install-anvil.sh (npm install into .tools/) or set ANVIL_BIN"

#: anvil's chain id and the private keys of its first four dev accounts (mnemonic
#: "test test … junk"), anvil's defaults as anvil 1.7.1 reports them.
ANVIL_CHAIN_ID: Final = 31337
ANVIL_DEV_KEYS: Final = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
)

#: anvil's chain as an ethrex/geth genesis ``config`` object, for the guest input's chain config
#: (``CHAIN=<file>``; ``ethproofs_daemon.inputs.chain_config.chain_config_from_genesis``): chain id
#: 31337, every fork active from genesis up to anvil 1.7.1's default hardfork, Bpo1 (as its
#: ``anvil_nodeInfo`` reports, observed; no published source). Blob schedules are left to the
#: defaults.
ANVIL_GENESIS_CONFIG: Final = {
    "chainId": ANVIL_CHAIN_ID,
    **{
        f"{fork}Block": 0
        for fork in (
            "homestead", "eip150", "eip155", "eip158", "byzantium", "constantinople",
            "petersburg", "istanbul", "muirGlacier", "berlin", "london", "arrowGlacier",
            "grayGlacier", "mergeNetsplit",
        )
    },
    "terminalTotalDifficulty": 0,
    "terminalTotalDifficultyPassed": True,
    **{f"{fork}Time": 0 for fork in ("shanghai", "cancun", "prague", "osaka", "bpo1")},
}  # fmt: skip

_POLL_INTERVAL_S: Final = 0.02
_STOP_GRACE_S: Final = 5.0
_PORT_ATTEMPTS: Final = 3


class AnvilError(Exception):
    """Base of the errors this module raises."""


class AnvilNotFound(AnvilError):
    """No anvil binary at ``$ANVIL_BIN``, in ``.tools/`` or on ``PATH``."""


class AnvilStartError(AnvilError):
    """anvil exited early or did not answer ``eth_blockNumber`` within the start-up timeout."""


@dataclass(frozen=True, slots=True)
class AnvilNode:
    """A running anvil: its JSON-RPC ``url`` (``http://127.0.0.1:<port>``), ``port`` and ``pid``."""

    url: str
    port: int
    pid: int
    chain_id: int = ANVIL_CHAIN_ID


def find_anvil() -> Path:
    """Locate the anvil binary: ``$ANVIL_BIN``, then the project's ``.tools/`` install, then PATH.

    Raises:
        AnvilNotFound: none of them is an executable file; the message names the set-up step.
    """
    env = os.environ.get("ANVIL_BIN")
    if env:
        path = Path(env)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise AnvilNotFound(f"ANVIL_BIN={env} is not an executable file; {INSTALL_HINT}")
    if PROJECT_ANVIL.is_file() and os.access(PROJECT_ANVIL, os.X_OK):
        return PROJECT_ANVIL
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise AnvilNotFound(f"anvil not found (not at {PROJECT_ANVIL}, not on PATH); {INSTALL_HINT}")


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def anvil_command(
    binary: Path,
    *,
    port: int,
    block_time_s: float | None,
    hardfork: str | None,
    extra_args: Sequence[str],
) -> list[str]:
    """The argv that starts anvil on ``127.0.0.1:port``, quiet (``--silent``).

    ``block_time_s`` None leaves anvil's default (automine, unless ``extra_args`` says
    ``--no-mining``); ``hardfork`` None keeps anvil's default.
    """
    argv = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent"]
    if block_time_s is not None:
        argv += ["--block-time", format(block_time_s, "g")]
    if hardfork is not None:
        argv += ["--hardfork", hardfork]
    argv += list(extra_args)
    return argv


@asynccontextmanager
async def start_anvil(
    *,
    block_time_s: float | None = None,
    port: int = 0,
    hardfork: str | None = None,
    extra_args: Sequence[str] = (),
    binary: Path | None = None,
    startup_timeout_s: float = 15.0,
) -> AsyncIterator[AnvilNode]:
    """Run anvil on 127.0.0.1 for the duration of the ``async with`` block.

    Args:
        block_time_s: seconds between mined blocks (``--block-time``); None mines one block per
            transaction (automine).
        port: TCP port; 0 picks a free one (retried up to 3 times if another process takes it).
        hardfork: anvil's ``--hardfork`` (e.g. ``"prague"``); None keeps anvil's default.
        extra_args: more anvil arguments, passed as is.
        binary: the anvil binary; None uses ``find_anvil()``.
        startup_timeout_s: seconds to wait for the first answer to ``eth_blockNumber``.

    Yields:
        AnvilNode with the url and pid. On exit the process is sent SIGTERM, then SIGKILL after
        5 s, by its pid, and reaped.

    Raises:
        AnvilNotFound: no binary given and ``find_anvil`` found none.
        AnvilStartError: anvil exited before answering (after the port attempts) or did not
            answer within ``startup_timeout_s``.
    """
    exe = binary if binary is not None else find_anvil()
    attempts = 1 if port else _PORT_ATTEMPTS
    last_error = "not started"
    for _attempt in range(attempts):
        chosen = port or free_loopback_port()
        argv = anvil_command(
            exe, port=chosen, block_time_s=block_time_s, hardfork=hardfork, extra_args=extra_args
        )
        with tempfile.TemporaryFile() as errlog:
            process = await trio.lowlevel.open_process(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog
            )
            try:
                node = AnvilNode(url=f"http://127.0.0.1:{chosen}", port=chosen, pid=process.pid)
                ready = await _wait_ready(node, process, startup_timeout_s)
                if not ready:
                    errlog.seek(0)
                    tail = errlog.read()[-500:].decode(errors="replace").strip()
                    last_error = f"anvil on port {chosen} exited with {process.returncode}: {tail}"
                    log.warning("anvil_start_failed", port=chosen, error=last_error)
                    continue
                log.info("anvil_started", pid=process.pid, port=chosen, block_time_s=block_time_s)
                yield node
                return
            finally:
                await _stop(process)
    raise AnvilStartError(last_error)


async def _wait_ready(node: AnvilNode, process: trio.Process, timeout_s: float) -> bool:
    """Poll ``eth_blockNumber`` every 20 ms; False when anvil exits first.

    Raises:
        AnvilStartError: still not answering after ``timeout_s`` seconds.
    """
    async with httpx.AsyncClient(timeout=1.0) as http:
        rpc = JsonRpcClient(RpcEndpoint(node.url, timeout_s=1.0), http=http)
        with trio.move_on_after(timeout_s):
            while True:
                if process.poll() is not None:
                    return False
                try:
                    await rpc.block_number()
                except RpcError:
                    await trio.sleep(_POLL_INTERVAL_S)
                    continue
                return True
    raise AnvilStartError(f"anvil (pid {process.pid}) did not answer within {timeout_s} s")


async def _stop(process: trio.Process) -> None:
    """End ``process`` by its pid: SIGTERM, wait up to 5 s, then SIGKILL; always reap it."""
    with trio.CancelScope(shield=True):
        if process.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            with trio.move_on_after(_STOP_GRACE_S):
                await process.wait()
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                await process.wait()
        log.info("anvil_stopped", pid=process.pid, returncode=process.returncode)
