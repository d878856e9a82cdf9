"""The ZisK driver: ``cargo-zisk`` as a subprocess, one run at a time.

``prove`` runs ``cargo-zisk prove -e ELF -i INPUT -o DIR -a -u`` (v0.14/v0.15; the original
client's line, ``lambdaclass/ethrex-ethproofs@b45cda3:lib/ethproofs_client/prover.ex``) in its
own session, forwards ``>>> PHASE`` markers, and on exit 0 reads ``DIR/result.json`` and the
proof file (``vadcop_final_proof.compressed.bin``, else ``vadcop_final_proof.bin``), the files
``0xPolygonHermez/zisk@v0.14.0:sdk/src/prover/backend.rs`` writes. Timeout, cancellation and
shutdown end the whole process group (``process.py``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

import structlog
import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover import zisk_cli
from ethproofs_daemon.prover.backend import (
    ExecutionResult,
    ProofResult,
    ProveRequest,
    ProverFailed,
    ProverUnavailable,
    UnsupportedZiskVersion,
)
from ethproofs_daemon.prover.process import ProcessOutcome, child_env, run_in_own_session
from ethproofs_daemon.prover.zisk_cli import PhaseEdge, ZiskVersion

log = structlog.get_logger(__name__)

#: Bound on ``cargo-zisk --version`` (s).
VERSION_TIMEOUT_S: Final = 30.0
#: Bound on ``cargo-zisk verify`` (s; the check itself takes milliseconds on a real proof).
VERIFY_TIMEOUT_S: Final = 300.0


class ZiskDriver:
    """Drives one ``cargo-zisk`` binary for one guest ELF.

    Args:
        cargo_zisk: a path, or a name looked up on ``PATH`` (as the original client does).
        elf_path: the guest ELF passed to ``-e``.
        env: entries that override the daemon's environment for every run. ``NO_COLOR=1`` is
            always set; the daemon's secrets and systemd's ``NOTIFY_SOCKET``/``WATCHDOG_*`` are
            never passed on (``process.CHILD_ENV_WITHHELD``).
        term_grace_s: seconds between SIGTERM and SIGKILL of the process group.
        verkey: passed to ``verify -k`` (v0.14/v0.15; None: ZisK's own default path).
        cwd: the working directory of the runs (None: the daemon's).
    """

    def __init__(
        self,
        cargo_zisk: str | Path,
        elf_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        term_grace_s: float = 10.0,
        verkey: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.cargo_zisk = str(cargo_zisk)
        self.elf_path = elf_path
        self.term_grace_s = term_grace_s
        self.verkey = verkey
        self.cwd = cwd
        self._env_overrides = dict(env or {})
        self._version: ZiskVersion | None = None

    # ------------------------------------------------------------------ version

    def _resolve(self) -> str:
        found = shutil.which(self.cargo_zisk)
        if found is None:
            raise ProverUnavailable(
                f"cargo-zisk not found or not executable: {self.cargo_zisk!r} "
                "(install ZisK v0.14/v0.15 or set the cargo-zisk path)"
            )
        return found

    def _env(self) -> dict[str, str]:
        # no secrets, no systemd notification variables (process.CHILD_ENV_WITHHELD)
        env = child_env()
        env.update(self._env_overrides)
        env["NO_COLOR"] = "1"
        return env

    async def detect_version(self) -> ZiskVersion:
        """Run ``cargo-zisk --version`` and check it (cached after the first success).

        Returns:
            The parsed version (v0.14.x or v0.15.x).

        Raises:
            UnsupportedZiskVersion: any other version (a ``ProverUnavailable``).
            ProverUnavailable: the binary is missing, fails, runs past ``VERSION_TIMEOUT_S``
                or prints no version line.
        """
        if self._version is not None:
            return self._version
        exe = self._resolve()
        lines: list[str] = []
        try:
            outcome = await run_in_own_session(
                [exe, "--version"],
                timeout_s=VERSION_TIMEOUT_S,
                grace_s=1.0,
                env=self._env(),
                cwd=self.cwd,
                on_stdout_line=lines.append,
            )
        except OSError as exc:
            raise ProverUnavailable(f"cannot run {exe} --version: {exc}") from exc
        if outcome.timed_out or outcome.returncode != 0:
            raise ProverUnavailable(
                f"{exe} --version failed (exit {outcome.returncode}, "
                f"timed out: {outcome.timed_out}): {outcome.stderr_tail.strip()[-500:]}"
            )
        try:
            version = zisk_cli.parse_version("\n".join(lines))
        except zisk_cli.VersionParseError as exc:
            raise ProverUnavailable(f"{exe} --version: {exc}") from exc
        if not zisk_cli.supported(version):
            raise UnsupportedZiskVersion(version, zisk_cli.unsupported_message(version, exe))
        log.info("zisk_version_detected", version=str(version), raw=version.raw, path=exe)
        self._version = version
        return version

    # ------------------------------------------------------------------ runs

    def _failed(self, what: str, outcome: ProcessOutcome, timeout_s: float) -> ProverFailed:
        if outcome.timed_out:
            return ProverFailed(
                FailureReason.PROVING_TIMEOUT,
                f"cargo-zisk {what} ran past {timeout_s:g} s; process group {outcome.pid} killed",
                outcome.returncode,
                outcome.stderr_tail,
            )
        c = zisk_cli.classify_exit(outcome.returncode, outcome.stderr_tail)
        return ProverFailed(c.reason, c.message, outcome.returncode, outcome.stderr_tail)

    async def _run(
        self,
        what: str,
        argv: list[str],
        timeout_s: float,
        on_spawn: Callable[[int], None] | None,
        on_line: Callable[[str], None] | None,
    ) -> ProcessOutcome:
        try:
            return await run_in_own_session(
                argv,
                timeout_s=timeout_s,
                grace_s=self.term_grace_s,
                env=self._env(),
                cwd=self.cwd,
                on_spawn=on_spawn,
                on_stdout_line=on_line,
            )
        except OSError as exc:
            raise ProverUnavailable(f"cannot start cargo-zisk {what}: {exc}") from exc

    async def prove(
        self,
        req: ProveRequest,
        *,
        on_spawn: Callable[[int], None] | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> ProofResult:
        """Prove one block; see ``ProverBackend.prove``.

        Creates ``req.output_dir`` and removes result/proof files of an earlier attempt first.
        ``on_progress`` gets each ``>>> PHASE`` name as the phase starts.

        Returns:
            The proof file, ``proving_time_ms`` from ``result.json`` (``trunc(time * 1000)``),
            cycles and proof id.

        Raises:
            ProverFailed: reason ``proving_timeout`` (past ``req.timeout_s``), the reason of
                ``classify_exit`` (non-zero exit), or ``proof_data_unreadable`` (exit 0 but
                ``result.json`` missing or malformed, or no non-empty proof file).
            ProverUnavailable: the version check failed or ``cargo-zisk`` cannot be started
                (``UnsupportedZiskVersion`` for a version not driven).
        """
        version = await self.detect_version()
        exe = self._resolve()
        req.output_dir.mkdir(parents=True, exist_ok=True)
        for name in zisk_cli.OUTPUT_FILES:
            (req.output_dir / name).unlink(missing_ok=True)
        argv = zisk_cli.prove_argv(version, exe, self.elf_path, req.input_path, req.output_dir)
        bound = log.bind(block_number=req.block_number)

        def on_line(line: str) -> None:
            marker = zisk_cli.parse_progress_line(line)
            if marker is None:
                return
            if marker.edge is PhaseEdge.START:
                bound.debug("zisk_phase_started", phase=marker.name)
                if on_progress is not None:
                    on_progress(marker.name)
            else:
                bound.debug("zisk_phase_finished", phase=marker.name, elapsed_ms=marker.elapsed_ms)

        bound.info("proving_started", argv=argv, timeout_s=req.timeout_s)
        outcome = await self._run("prove", argv, req.timeout_s, on_spawn, on_line)
        if outcome.timed_out or outcome.returncode != 0:
            err = self._failed("prove", outcome, req.timeout_s)
            bound.warning(
                "proving_failed", reason=str(err.reason), message=err.message,
                exit_code=outcome.returncode, stderr_tail=outcome.stderr_tail[-1000:],
            )
            raise err
        result = await trio.to_thread.run_sync(read_proof_outputs, req.output_dir, outcome)
        bound.info(
            "proving_finished", proving_time_ms=result.proving_time_ms, cycles=result.cycles,
            proof_id=result.proof_id, proof_path=str(result.proof_path),
        )
        return result

    async def execute(
        self, req: ProveRequest, *, on_spawn: Callable[[int], None] | None = None
    ) -> ExecutionResult:
        """Execute the guest without proving (``ZISK_ACTION=execute``), bounded by
        ``req.timeout_s``.

        Returns:
            Cycles from the last ``Execution completed in …, [executed ]steps: N`` line (None
            when no such line was printed) and the time in ms: the printed duration, else the
            wall time of the run.

        Raises:
            ProverFailed: ``proving_timeout``, or the reason of ``classify_exit`` (a GPU build's
                refusal of ``execute`` is a ``proving_error`` saying to use ziskemu).
            ProverUnavailable: as for ``prove``.
        """
        version = await self.detect_version()
        argv = zisk_cli.execute_argv(version, self._resolve(), self.elf_path, req.input_path)
        summaries: list[zisk_cli.ExecutionSummary] = []

        def on_line(line: str) -> None:
            s = zisk_cli.parse_execution_line(line)
            if s is not None:
                summaries.append(s)

        outcome = await self._run("execute", argv, req.timeout_s, on_spawn, on_line)
        if outcome.timed_out or outcome.returncode != 0:
            raise self._failed("execute", outcome, req.timeout_s)
        if not summaries:
            log.warning("execution_summary_missing", block_number=req.block_number)
            return ExecutionResult(cycles=None, time_ms=outcome.elapsed_ms)
        last = summaries[-1]
        time_ms = last.time_ms if last.time_ms is not None else outcome.elapsed_ms
        return ExecutionResult(cycles=last.steps, time_ms=time_ms)

    async def verify(self, proof_path: Path) -> bool:
        """Run ``cargo-zisk verify -p PROOF`` (bounded by ``VERIFY_TIMEOUT_S``).

        Returns:
            True if it prints ``✓ … verified`` and exits 0, False for ``✗ … not verified``
            with exit 1 (``zisk_cli.parse_verify_output``).

        Raises:
            ProverFailed: ``proof_data_unreadable`` when the file is missing, ``proving_timeout``,
                ``proving_error`` for exit 0 without a verdict line, otherwise the exit's reason.
            ProverUnavailable: as for ``prove``.
        """
        if not await trio.Path(proof_path).is_file():
            raise ProverFailed(
                FailureReason.PROOF_DATA_UNREADABLE, f"proof file not found: {proof_path}"
            )
        version = await self.detect_version()
        argv = zisk_cli.verify_argv(version, self._resolve(), proof_path, self.verkey)
        lines: list[str] = []
        outcome = await self._run("verify", argv, VERIFY_TIMEOUT_S, None, lines.append)
        if outcome.timed_out:
            raise self._failed("verify", outcome, VERIFY_TIMEOUT_S)
        verdict = zisk_cli.parse_verify_output(
            outcome.returncode, "\n".join(lines) + "\n" + outcome.stderr_tail
        )
        if verdict is None:
            if outcome.returncode == 0:
                raise ProverFailed(
                    FailureReason.PROVING_ERROR,
                    "cargo-zisk verify exited 0 without a verdict line",
                    0,
                    outcome.stderr_tail,
                )
            raise self._failed("verify", outcome, VERIFY_TIMEOUT_S)
        log.info("proof_verified" if verdict else "proof_rejected", proof_path=str(proof_path))
        return verdict


def read_proof_outputs(output_dir: Path, outcome: ProcessOutcome) -> ProofResult:
    """Read ``result.json`` and pick the proof file after an exit 0 (blocking; run in a thread).

    The first non-empty, readable file of ``zisk_cli.proof_file_candidates`` is the proof.

    Raises:
        ProverFailed: reason ``proof_data_unreadable`` when ``result.json`` is missing or
            malformed or no such proof file exists (the original client also treats missing
            files as a failure whatever the exit status:
            ``lambdaclass/ethrex-ethproofs@b45cda3:lib/ethproofs_client/prover.ex``).
    """

    def unreadable(message: str) -> ProverFailed:
        return ProverFailed(
            FailureReason.PROOF_DATA_UNREADABLE, message, outcome.returncode, outcome.stderr_tail
        )

    try:
        parsed = zisk_cli.read_result_json(output_dir / zisk_cli.RESULT_FILE)
    except OSError as exc:
        raise unreadable(f"cargo-zisk exited 0 but result.json is unreadable: {exc}") from exc
    except zisk_cli.ResultJsonError as exc:
        raise unreadable(str(exc)) from exc
    for candidate in zisk_cli.proof_file_candidates(output_dir):
        try:
            size = candidate.stat().st_size
        except OSError:
            continue
        if size > 0 and os.access(candidate, os.R_OK):
            return ProofResult(
                proof_path=candidate,
                proving_time_ms=parsed.proving_time_ms,
                cycles=parsed.cycles,
                proof_id=parsed.proof_id,
                output_dir=output_dir,
            )
    raise unreadable(f"cargo-zisk exited 0 but wrote no readable proof file in {output_dir}")
