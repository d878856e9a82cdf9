"""The ZisK driver: ``cargo-zisk`` as a subprocess, one run at a time, for every series from
0.14 to 1.x.

``prove`` runs the series' ``prove`` line (``zisk_cli.prove_argv``) in its own session and
forwards ``>>> PHASE`` markers. On exit 0 it reads what that series writes
(``read_proof_outputs``):

- 0.14/0.15: ``DIR/result.json`` and the proof file (``vadcop_final_proof.compressed.bin``, else
  ``vadcop_final_proof.bin``; ``0xPolygonHermez/zisk@v0.14.0:sdk/src/prover/backend.rs``); the
  ``id`` is checked against blake3 of the raw proof. EthProofs gets the compressed file, as the
  original client posts it.
- 0.16, 0.17/0.18, 1.x: the bincode proof file, decoded per release (``proof_files``), its
  program key checked against the guest profile's when the profile records one; EthProofs gets
  the bytes its ZisK verifier takes (``proof_files.ethproofs_proof_bytes``), written to
  ``DIR/ethproofs_proof.bin``; time and steps come from the stdout summary.

Timeout, cancellation and shutdown end the whole process group (``process.py``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import blake3
import structlog
import trio

from ethproofs_daemon.jobs import FailureReason
from ethproofs_daemon.prover import proof_files, zisk_cli, zisk_output
from ethproofs_daemon.prover.backend import (
    ExecutionResult,
    ProofResult,
    ProveRequest,
    ProverFailed,
    ProverUnavailable,
    UnsupportedZiskVersion,
)
from ethproofs_daemon.prover.process import ProcessOutcome, child_env, run_in_own_session
from ethproofs_daemon.prover.zisk_cli import ZiskSeries, ZiskVersion
from ethproofs_daemon.prover.zisk_output import PhaseEdge

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
        program_vk: the guest's program key (32 bytes, 4 LE u64), from the guest profile; the
            proof's must equal it (None: not checked).
        proof_hash_tag: whether the EthProofs bytes of a 1.x proof end with the hash-tag word
            (``ETHPROOFS_PROOF_FORMAT``); None: from 1.3 on, as ``zisk_cli``'s series detection
            and EthProofs' wasm verifier 0.4.0 (zisk-coordinator.md §3.3).
        ziskemu: ``ziskemu`` for ``execute`` (a path, or a name looked up on ``PATH``); used
            for 0.14-0.16, whose GPU builds refuse ``cargo-zisk execute``, when it is found.
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
        program_vk: bytes | None = None,
        proof_hash_tag: bool | None = None,
        ziskemu: str | Path | None = "ziskemu",
    ) -> None:
        self.cargo_zisk = str(cargo_zisk)
        self.elf_path = elf_path
        self.term_grace_s = term_grace_s
        self.verkey = verkey
        self.cwd = cwd
        self.program_vk = program_vk
        self.proof_hash_tag = proof_hash_tag
        self.ziskemu = None if ziskemu is None else str(ziskemu)
        self._env_overrides = dict(env or {})
        self._version: ZiskVersion | None = None

    # ------------------------------------------------------------------ version

    def _resolve(self) -> str:
        found = shutil.which(self.cargo_zisk)
        if found is None:
            raise ProverUnavailable(
                f"cargo-zisk not found or not executable: {self.cargo_zisk!r} "
                "(install ZisK or set CARGO_ZISK)"
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
            The parsed version, of a series this daemon knows (``zisk_cli.ZiskSeries``).

        Raises:
            UnsupportedZiskVersion: a release of no known series (a ``ProverUnavailable``).
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
        if zisk_cli.series_of(version.major, version.minor) is None:
            known = ", ".join(zisk_cli.SERIES_RELEASES.values())
            raise UnsupportedZiskVersion(
                version,
                f"{exe} is cargo-zisk {version} ({version.raw!r}), a release this daemon does "
                f"not know (known series: {known})",
            )
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
        c = zisk_output.classify_exit(outcome.returncode, outcome.stderr_tail)
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
            The proof for EthProofs, ``proving_time_ms`` (0.14: ``result.json`` ``trunc(time *
            1000)``; later: the summary line, else the wall time), cycles and proof id
            (``read_proof_outputs``).

        Raises:
            ProverFailed: reason ``proving_timeout`` (past ``req.timeout_s``), the reason of
                ``classify_exit`` (non-zero exit), or ``proof_data_unreadable`` (exit 0 but the
                outputs are missing, malformed, or fail their checks).
            ProverUnavailable: the version check failed or ``cargo-zisk`` cannot be started
                (``UnsupportedZiskVersion`` for a version not driven).
        """
        version = await self.detect_version()
        exe = self._resolve()
        req.output_dir.mkdir(parents=True, exist_ok=True)
        series = zisk_cli.series_for(version)
        for name in zisk_cli.output_files(series):
            (req.output_dir / name).unlink(missing_ok=True)
        argv = zisk_cli.prove_argv(
            version, exe, req.elf_path or self.elf_path, req.input_path, req.output_dir
        )
        bound = log.bind(block_number=req.block_number)

        lines: list[str] = []

        def on_line(line: str) -> None:
            if len(lines) < 10_000:
                lines.append(line)
            else:  # keep the tail, where the summary is
                del lines[:5_000]
                lines.append(line)
            marker = zisk_output.parse_progress_line(line)
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
        outputs = ProveOutputs(
            version=version,
            output_dir=req.output_dir,
            summary=zisk_output.parse_prove_summary(lines),
            program_vk=self.program_vk,
            hash_tag=self._hash_tag(version),
        )
        result = await trio.to_thread.run_sync(read_proof_outputs, outputs, outcome)
        bound.info(
            "proving_finished", proving_time_ms=result.proving_time_ms, cycles=result.cycles,
            proof_id=result.proof_id, proof_path=str(result.proof_path),
        )
        return result

    def _hash_tag(self, version: ZiskVersion) -> bool:
        if self.proof_hash_tag is not None:
            return self.proof_hash_tag
        return (version.major, version.minor) >= (1, 3)

    def _ziskemu(self, version: ZiskVersion) -> str | None:
        """``ziskemu`` where it is the command that works: 0.14-0.16 (GPU support chosen at
        build time, and such builds refuse ``cargo-zisk execute``) with ``ziskemu`` found."""
        if self.ziskemu is None or zisk_cli.series_for(version) not in (
            ZiskSeries.V0_14, ZiskSeries.V0_16
        ):
            return None
        return shutil.which(self.ziskemu)

    async def execute(
        self, req: ProveRequest, *, on_spawn: Callable[[int], None] | None = None
    ) -> ExecutionResult:
        """Execute the guest without proving (``ZISK_ACTION=execute``), bounded by
        ``req.timeout_s``: ``ziskemu -e ELF --inputs IN -m`` for 0.14-0.16 where ``ziskemu`` is
        installed (their GPU builds refuse ``cargo-zisk execute``), else ``cargo-zisk execute``.

        Returns:
            Cycles from the last ``Execution completed in …, [executed ]steps: N`` line (or
            ``ziskemu``'s ``process_rom() steps=N duration=S``; None when no such line was
            printed) and the time in ms: the printed duration, else the wall time of the run.

        Raises:
            ProverFailed: ``proving_timeout``, or the reason of ``classify_exit`` (a GPU build's
                refusal of ``execute`` is a ``proving_error`` saying to install ziskemu).
            ProverUnavailable: as for ``prove``.
        """
        version = await self.detect_version()
        emu = self._ziskemu(version)
        if emu is not None:
            argv = zisk_cli.ziskemu_argv(emu, self.elf_path, req.input_path)
            what = "ziskemu"
        else:
            argv = zisk_cli.execute_argv(version, self._resolve(), self.elf_path, req.input_path)
            what = "execute"
        summaries: list[zisk_output.ExecutionSummary] = []

        def on_line(line: str) -> None:
            s = zisk_output.parse_execution_line(line) or zisk_output.parse_ziskemu_metrics_line(
                line
            )
            if s is not None:
                summaries.append(s)

        outcome = await self._run(what, argv, req.timeout_s, on_spawn, on_line)
        if outcome.timed_out or outcome.returncode != 0:
            raise self._failed(what, outcome, req.timeout_s)
        if not summaries:
            log.warning("execution_summary_missing", block_number=req.block_number, tool=what)
            return ExecutionResult(cycles=None, time_ms=outcome.elapsed_ms)
        last = summaries[-1]
        time_ms = last.time_ms if last.time_ms is not None else outcome.elapsed_ms
        return ExecutionResult(cycles=last.steps, time_ms=time_ms)

    async def verify(self, proof_path: Path) -> bool:
        """Run ``cargo-zisk verify -p PROOF`` (bounded by ``VERIFY_TIMEOUT_S``).

        Returns:
            True if it prints ``✓ … verified`` and exits 0, False for ``✗ … not verified``
            with exit 1 (``zisk_output.parse_verify_output``).

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
        verdict = zisk_output.parse_verify_output(
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


@dataclass(frozen=True, slots=True)
class ProveOutputs:
    """Where and how to read one finished ``prove`` run: its version, output directory and
    stdout summary, the program key to require (32 bytes, None: unchecked) and whether the 1.x
    EthProofs bytes carry the hash tag."""

    version: ZiskVersion
    output_dir: Path
    summary: zisk_output.ProveSummary
    program_vk: bytes | None
    hash_tag: bool


def read_proof_outputs(outputs: ProveOutputs, outcome: ProcessOutcome) -> ProofResult:
    """Read and check what a ``prove`` run wrote after an exit 0 (blocking; run in a thread).

    A missing file counts as a failure whatever the exit status (as the original client,
    ``lambdaclass/ethrex-ethproofs@b45cda3:lib/ethproofs_client/prover.ex``).

    Raises:
        ProverFailed: reason ``proof_data_unreadable``: a file missing or malformed, a 0.14
            ``id`` that is not blake3 of the proof, a proof whose program key is not the
            profile's, or a 0.16+ proof that does not decode as its release writes it.
    """
    try:
        if zisk_cli.series_for(outputs.version) is ZiskSeries.V0_14:
            return _read_v014_outputs(outputs)
        return _read_bincode_outputs(outputs, outcome)
    except proof_files.ProofFileError as exc:
        raise ProverFailed(
            FailureReason.PROOF_DATA_UNREADABLE, f"cargo-zisk {outputs.version}: {exc}",
            outcome.returncode, outcome.stderr_tail,
        ) from exc
    except (OSError, zisk_output.ResultJsonError) as exc:
        raise ProverFailed(
            FailureReason.PROOF_DATA_UNREADABLE,
            f"cargo-zisk {outputs.version} exited 0 but its outputs are unreadable: {exc}",
            outcome.returncode, outcome.stderr_tail,
        ) from exc


def _read_v014_outputs(outputs: ProveOutputs) -> ProofResult:
    out = outputs.output_dir
    parsed = zisk_output.read_result_json(out / zisk_cli.RESULT_FILE)
    raw_path = out / zisk_cli.RAW_PROOF_FILE
    if raw_path.is_file():
        raw = raw_path.read_bytes()
        proof_files.check_proof_id(raw, parsed.proof_id)
        decoded = proof_files.decode_proof_file(raw, proof_files.ProofLayout.V0_14_RAW)
        proof_files.check_program_vk(decoded, outputs.program_vk)
    for candidate in zisk_cli.proof_file_candidates(out):
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
                output_dir=out,
                native_proof_path=raw_path if raw_path.is_file() else candidate,
            )
    raise OSError(f"no readable proof file in {out}")


def _read_bincode_outputs(outputs: ProveOutputs, outcome: ProcessOutcome) -> ProofResult:
    version = outputs.version
    native = zisk_cli.native_proof_file(zisk_cli.series_for(version), outputs.output_dir)
    data = native.read_bytes()
    layout = proof_files.layout_for_release(version.major, version.minor)
    decoded = proof_files.decode_proof_file(data, layout)
    proof_files.check_program_vk(decoded, outputs.program_vk)
    for_ethproofs = proof_files.ethproofs_proof_bytes(decoded, hash_tag=outputs.hash_tag)
    target = outputs.output_dir / zisk_cli.ETHPROOFS_PROOF_FILE
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(for_ethproofs)
    tmp.replace(target)
    summary = outputs.summary
    if summary.proving_time_ms is None:
        log.warning("proving_time_missing", version=str(version), using="wall time")
    return ProofResult(
        proof_path=target,
        proving_time_ms=(
            summary.proving_time_ms if summary.proving_time_ms is not None else outcome.elapsed_ms
        ),
        cycles=summary.steps,
        # 0.16 prints a proof id; later releases none: blake3 of the bytes EthProofs gets
        proof_id=summary.proof_id or blake3.blake3(for_ethproofs).hexdigest(),
        output_dir=outputs.output_dir,
        native_proof_path=native,
    )
