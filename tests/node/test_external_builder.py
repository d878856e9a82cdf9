"""External input builder: a real subprocess, output framed per profile, failures, timeout."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from ethproofs_daemon.inputs.errors import ExternalBuilderError, InputError
from ethproofs_daemon.inputs.profiles import get_profile
from ethproofs_daemon.node.external_builder import render_argv, run_external_builder
from tests.helpers import ETHREX_014_PROFILE

WRITER = (
    "import sys; n, url, out = sys.argv[1:4]; open(out, 'wb').write(('%s|%s' % (n, url)).encode())"
)


@pytest.fixture
def pid_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "child.pid"
    yield path
    if path.exists():  # end any child that outlived its test, by its pid
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(path.read_text()), signal.SIGKILL)


async def test_output_is_read_and_framed_per_profile(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", WRITER, "{block_number}", "{rpc_url}", "{output_path}"]
    out = tmp_path / "input.bin"
    raw = await run_external_builder(
        argv, block_number=45, rpc_url="http://node:8545", output_path=out, timeout_s=30,
        profile=get_profile(ETHREX_014_PROFILE),
    )  # fmt: skip
    assert raw == b"45|http://node:8545"
    framed = await run_external_builder(
        argv, block_number=45, rpc_url="http://node:8545", output_path=out, timeout_s=30,
        profile=get_profile("ethrex-c5de3bd-zisk-0.16.1"),
    )  # fmt: skip
    assert framed == (19).to_bytes(8, "little") + raw + bytes(5)


async def test_nonzero_exit_reports_status_and_stderr(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; sys.stderr.write('no witness'); sys.exit(3)"]
    with pytest.raises(ExternalBuilderError, match=r"status 3.*no witness"):
        await run_external_builder(
            argv, block_number=1, rpc_url="u", output_path=tmp_path / "o", timeout_s=30,
            profile=get_profile(ETHREX_014_PROFILE),
        )  # fmt: skip


async def test_missing_output_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ExternalBuilderError, match="no output file"):
        await run_external_builder(
            [sys.executable, "-c", "pass"], block_number=1, rpc_url="u",
            output_path=tmp_path / "o", timeout_s=30, profile=get_profile(ETHREX_014_PROFILE),
        )  # fmt: skip


async def test_unknown_program_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ExternalBuilderError, match="cannot run"):
        await run_external_builder(
            [str(tmp_path / "no-such-builder")], block_number=1, rpc_url="u",
            output_path=tmp_path / "o", timeout_s=30, profile=get_profile(ETHREX_014_PROFILE),
        )  # fmt: skip


async def test_timeout_kills_the_builder(tmp_path: Path, pid_file: Path) -> None:
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    with trio.fail_after(30), pytest.raises(ExternalBuilderError, match="timed out"):
        await run_external_builder(
            [sys.executable, "-c", code], block_number=1, rpc_url="u",
            output_path=tmp_path / "o", timeout_s=1.0, profile=get_profile(ETHREX_014_PROFILE),
        )  # fmt: skip
    pid = int(await trio.Path(pid_file).read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_bad_template_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="placeholders"):
        render_argv(["x", "{blok}"], block_number=1, rpc_url="u", output_path=tmp_path)
    with pytest.raises(InputError):
        render_argv([], block_number=1, rpc_url="u", output_path=tmp_path)


async def test_the_builder_gets_none_of_the_daemons_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = ("ETHPROOFS_API_KEY", "SLACK_WEBHOOK", "ADMIN_TOKEN")
    for name in secrets:
        monkeypatch.setenv(name, f"secret-{name}")
    monkeypatch.setenv("KEEP_ME", "1")
    dump = "import os, sys; open(sys.argv[1], 'w').write('\\n'.join(sorted(os.environ)))"
    raw = await run_external_builder(
        [sys.executable, "-c", dump, "{output_path}"], block_number=1, rpc_url="u",
        output_path=tmp_path / "env.txt", timeout_s=30, profile=get_profile(ETHREX_014_PROFILE),
    )  # fmt: skip
    names = set(raw.decode().split("\n"))
    assert "KEEP_ME" in names
    assert not set(secrets) & names
