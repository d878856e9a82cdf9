"""External input builder: a configured command writes the input (guests of other ethrex revisions).

The command is an argv template (no shell); ``{block_number}``, ``{rpc_url}`` and ``{output_path}``
are substituted in every argument, e.g. ``["ethrex-replay", "generate-input", "--block",
"{block_number}", "--rpc-url", "{rpc_url}", "--output", "{output_path}"]``. It runs under trio in
its own session with a timeout (seconds); on timeout or cancellation its whole process group is
killed. Its output file holds the raw codec bytes, which are framed as the profile says
(``profiles.frame``). Failures raise ``ExternalBuilderError`` (an ``InputError``) with the exit
status and the tail of stderr.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import structlog
import trio

from ethproofs_daemon.inputs.errors import ExternalBuilderError
from ethproofs_daemon.inputs.profiles import GuestProfile, frame
from ethproofs_daemon.prover.process import child_env

log = structlog.get_logger(__name__)

PLACEHOLDERS: Final = ("block_number", "rpc_url", "output_path")
_STDERR_TAIL: Final[int] = 2000


def render_argv(
    argv_template: Sequence[str], *, block_number: int, rpc_url: str, output_path: Path
) -> list[str]:
    """Substitute the placeholders in every argument.

    Raises:
        ExternalBuilderError: an empty template, or an unknown ``{name}``.
    """
    if not argv_template:
        raise ExternalBuilderError("external_builder", "empty argv template")
    values = {
        "block_number": str(block_number),
        "rpc_url": rpc_url,
        "output_path": str(output_path),
    }
    try:
        return [arg.format(**values) for arg in argv_template]
    except (KeyError, IndexError, ValueError) as exc:
        raise ExternalBuilderError(
            "external_builder", f"bad argv template (placeholders: {PLACEHOLDERS}): {exc!r}"
        ) from None


async def _kill_group(process: trio.Process) -> None:
    """Cancel delivery: SIGKILL the builder's whole process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


async def run_external_builder(
    argv_template: Sequence[str],
    *,
    block_number: int,
    rpc_url: str,
    output_path: Path,
    timeout_s: float,
    profile: GuestProfile,
) -> bytes:
    """Run the builder, then return its output file's bytes framed per ``profile``.

    Raises:
        ExternalBuilderError: the template is bad, or the command cannot start, exits non-zero,
            exceeds ``timeout_s`` seconds, or leaves no (or an empty) output file.
    """
    argv = render_argv(
        argv_template, block_number=block_number, rpc_url=rpc_url, output_path=output_path
    )
    await trio.Path(output_path).unlink(missing_ok=True)
    log.info("external_builder_started", block_number=block_number, program=argv[0])
    result: subprocess.CompletedProcess[bytes] | None = None
    with trio.move_on_after(timeout_s):
        try:
            result = await trio.run_process(
                argv,
                check=False,
                capture_stdout=True,
                capture_stderr=True,
                start_new_session=True,
                env=child_env(),
                deliver_cancel=_kill_group,
            )
        except OSError as exc:
            raise ExternalBuilderError(
                "external_builder", f"cannot run {argv[0]!r}: {exc}"
            ) from None
    if result is None:
        raise ExternalBuilderError(
            "external_builder", f"{argv[0]} timed out after {timeout_s:g} s (block {block_number})"
        )
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace")[-_STDERR_TAIL:].strip()
        raise ExternalBuilderError(
            "external_builder",
            f"{argv[0]} exited with status {result.returncode} (block {block_number}): {tail}",
        )
    try:
        data = await trio.Path(output_path).read_bytes()
    except OSError as exc:
        raise ExternalBuilderError(
            "external_builder", f"{argv[0]} wrote no output file {output_path}: {exc}"
        ) from None
    if not data:
        raise ExternalBuilderError("external_builder", f"output file {output_path} is empty")
    log.info("external_builder_finished", block_number=block_number, input_bytes=len(data))
    return frame(data, profile.framing)
