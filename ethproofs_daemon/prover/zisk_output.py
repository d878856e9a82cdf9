"""What ``cargo-zisk`` and ``ziskemu`` print and write: ``result.json``, stdout summaries and
progress markers, exit codes (pure; ``read_result_json`` reads one small file).

Sources (nothing was built or run; ``../shared/docs/zisk.md`` and ``zisk-coordinator.md`` §4
collect them): ``0xPolygonHermez/zisk@v0.14.0`` ``common/src/proof_log.rs`` (``result.json``),
``util/src/timer_macro.rs`` (markers), ``cli/src/commands/{prove,execute,verify_stark}.rs``;
``@48cf7ccef`` (v0.16.1) and ``@790f9e28a`` (v0.18.0) ``cli/src/ux.rs`` (summaries);
``@c603fe8fd`` (1.0 beta) ``cli/src/ux.rs`` (``Proof generated in``); exit codes from
``main()``'s error chain (1), clap (2), Rust panics (101),
``pil2-proofman@v0.14.0:pil2-stark/src/utils/exit_process.cpp`` (255) and
``pil2-stark/src/goldilocks/utils/cuda_utils.cuh`` (SIGABRT on a CUDA error).
"""

from __future__ import annotations

import enum
import json
import math
import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ethproofs_daemon.jobs import FailureReason

# --------------------------------------------------------------------------------------------
# result.json


@dataclass(frozen=True, slots=True)
class ZiskResultJson:
    """``result.json`` of v0.14/v0.15 (``ProofLog``, ``zisk@v0.14.0:common/src/proof_log.rs``):
    ``cycles`` executed steps (u64), ``proof_id`` the ``id`` hex (blake3 of the final proof),
    ``time_s`` wall time of ``prove()`` in seconds (f64)."""

    cycles: int
    proof_id: str
    time_s: float

    @property
    def proving_time_ms(self) -> int:
        """``trunc(time * 1000)``: what the original client sends as ``proving_time`` (ms)
        (``lambdaclass/ethrex-ethproofs@b45cda3:lib/ethproofs_client/prover.ex``)."""
        return math.trunc(self.time_s * 1000)


class ResultJsonError(ValueError):
    """``result.json`` is not the ``{"cycles", "id", "time"}`` object ``ProofLog`` writes."""


def parse_result_json(text: str | bytes) -> ZiskResultJson:
    """Parse the text of ``result.json``.

    Raises:
        ResultJsonError: not JSON (or not UTF-8), not an object, a field missing, or a field
            of the wrong type: ``cycles`` a non-negative int (not a bool), ``id`` a non-empty
            string, ``time`` finite non-negative seconds.
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultJsonError(f"result.json is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ResultJsonError(f"result.json is not an object: {type(data).__name__}")
    cycles, proof_id, time_s = data.get("cycles"), data.get("id"), data.get("time")
    if not isinstance(cycles, int) or isinstance(cycles, bool) or cycles < 0:
        raise ResultJsonError(f"result.json: 'cycles' must be a non-negative integer: {cycles!r}")
    if not isinstance(proof_id, str) or not proof_id:
        raise ResultJsonError(f"result.json: 'id' must be a non-empty string: {proof_id!r}")
    if (
        not isinstance(time_s, int | float)
        or isinstance(time_s, bool)
        or not math.isfinite(time_s)
        or time_s < 0
    ):
        raise ResultJsonError(f"result.json: 'time' must be non-negative seconds: {time_s!r}")
    return ZiskResultJson(cycles=cycles, proof_id=proof_id, time_s=float(time_s))


def read_result_json(path: Path) -> ZiskResultJson:
    """Read and parse ``path`` (blocking).

    Raises:
        OSError: the file cannot be read.
        ResultJsonError: as ``parse_result_json``.
    """
    return parse_result_json(path.read_bytes())


# --------------------------------------------------------------------------------------------
# stdout: progress markers and summaries


class PhaseEdge(enum.StrEnum):
    """``>>> NAME`` starts a phase, ``<<< NAME (123ms)`` ends it."""

    START = "start"
    END = "end"


@dataclass(frozen=True, slots=True)
class ProgressMarker:
    """One phase timer line; ``elapsed_ms`` only on ``END`` lines."""

    edge: PhaseEdge
    name: str
    elapsed_ms: int | None = None


_PROGRESS_RE: Final = re.compile(r"(>>>|<<<) ([A-Z0-9_]+)(?: \((\d+)ms\))?")


def parse_progress_line(line: str) -> ProgressMarker | None:
    """The phase marker in one stdout line, or None.

    Markers are ``>>> NAME`` / ``<<< NAME (123ms)`` from ``zisk@v0.14.0:util/src/timer_macro.rs``
    (the same shape at v0.18.0).
    """
    m = _PROGRESS_RE.search(line)
    if m is None:
        return None
    edge = PhaseEdge.START if m.group(1) == ">>>" else PhaseEdge.END
    ms = m.group(3)
    elapsed = int(ms) if ms is not None and edge is PhaseEdge.END else None
    return ProgressMarker(edge, m.group(2), elapsed)


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """``Execution completed in <duration>, [executed ]steps: <n>``; ``time_ms`` is None when
    the duration could not be read."""

    steps: int
    time_ms: int | None


_EXEC_RE: Final = re.compile(
    r"Execution completed in (?P<dur>[0-9.]+\s*[a-zµμ]*s)\s*,\s*"
    r"(?:executed )?steps:\s*(?P<steps>[\d,]+)"
)
_DURATION_RE: Final = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(ns|µs|μs|us|ms|s)$")
_UNIT_MS: Final = {"ns": 1e-6, "µs": 1e-3, "μs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_rust_duration_ms(text: str) -> int | None:
    """Milliseconds (truncated) of a Rust ``Duration`` Debug string (``1.234s``, ``12.5ms``,
    ``830µs``, ``5ns``) or of v0.18's ``<ms>ms``; None when not of that shape (e.g. ``1m``)."""
    m = _DURATION_RE.match(text.strip())
    if m is None:
        return None
    return math.trunc(float(m.group(1)) * _UNIT_MS[m.group(2)])


def parse_execution_line(line: str) -> ExecutionSummary | None:
    """The execute summary in one stdout line (v0.14 ``Execution completed in 1.23s, executed
    steps: 4450272``; v0.16+/v0.18 ``Execution completed in 5097ms, steps: 4450272``), or None."""
    m = _EXEC_RE.search(line)
    if m is None:
        return None
    return ExecutionSummary(
        steps=int(m.group("steps").replace(",", "")), time_ms=parse_rust_duration_ms(m.group("dur"))
    )


@dataclass(frozen=True, slots=True)
class ProveSummary:
    """What a ``prove`` run printed at its end; None where the line was absent.

    ``proving_time_ms`` (ms, truncated) and ``steps`` (executed steps, the proving cycles) come
    from, per series (``../shared/docs/zisk-coordinator.md`` §4, ``zisk.md`` §1.1):

    - 0.14/0.15: ``time: <s> seconds, steps: <n>`` (``result.json`` is preferred);
    - 0.16: ``Proof Time: <s> seconds`` and ``Execution completed in <Duration>, steps: <n>``;
    - 0.17/0.18: ``Proof Time: <s> seconds`` and ``Execution completed in <ms>ms, steps: <n>``;
    - 1.x: ``Proof generated in <s>s, steps: <n>``.

    ``proof_id`` is the hex of ``Proof ID: <hex>`` (0.14, 0.16; later releases print none).
    """

    proving_time_ms: int | None
    steps: int | None
    proof_id: str | None


_PROOF_TIME_RE: Final = re.compile(r"Proof Time:\s*([0-9]+(?:\.[0-9]+)?)\s*seconds")
_GENERATED_RE: Final = re.compile(
    r"Proof generated in\s*([0-9]+(?:\.[0-9]+)?)s\s*,\s*steps:\s*([\d,]+)"
)
_STATS_RE: Final = re.compile(r"time:\s*([0-9]+(?:\.[0-9]+)?)\s*seconds,\s*steps:\s*([\d,]+)")


def parse_prove_summary(lines: list[str]) -> ProveSummary:
    """The end-of-run summary in a ``prove`` run's stdout lines (any series; see
    ``ProveSummary``). The last matching line of each kind wins."""
    time_ms: int | None = None
    steps: int | None = None
    proof_id: str | None = None
    for line in lines:
        if (m := _GENERATED_RE.search(line)) is not None:
            time_ms = math.trunc(float(m.group(1)) * 1000)
            steps = int(m.group(2).replace(",", ""))
        elif (m := _PROOF_TIME_RE.search(line)) is not None:
            time_ms = math.trunc(float(m.group(1)) * 1000)
        elif (m := _STATS_RE.search(line)) is not None:
            time_ms = math.trunc(float(m.group(1)) * 1000)
            steps = int(m.group(2).replace(",", ""))
        elif (e := parse_execution_line(line)) is not None:
            steps = e.steps
        elif (pid := parse_proof_id_line(line)) is not None:
            proof_id = pid
    return ProveSummary(time_ms, steps, proof_id)


_ZISKEMU_RE: Final = re.compile(
    r"process_rom\(\) steps=(?P<steps>\d+) duration=(?P<dur>[0-9]+(?:\.[0-9]+)?)"
)


def parse_ziskemu_metrics_line(line: str) -> ExecutionSummary | None:
    """``ziskemu -m``'s ``process_rom() steps=<n> duration=<s> tp=…`` line (duration in s;
    ``zisk@v0.14.0:emulator/src/emu_options.rs`` ``-m/--log-metrics``, zisk.md §2.2), or None."""
    m = _ZISKEMU_RE.search(line)
    if m is None:
        return None
    return ExecutionSummary(int(m.group("steps")), math.trunc(float(m.group("dur")) * 1000))


_PROOF_ID_RE: Final = re.compile(r"Proof ID:\s*([0-9a-fA-F]+)")


def parse_proof_id_line(line: str) -> str | None:
    """The hex of a ``Proof ID: <hex>`` line (v0.14's prove summary, v0.16), or None.

    v0.17+ prints no such line.
    """
    m = _PROOF_ID_RE.search(line)
    return m.group(1) if m else None


_VERIFIED_RE: Final = re.compile(r"✓ .*proof was verified", re.IGNORECASE)
_NOT_VERIFIED_RE: Final = re.compile(r"✗ .*proof was not verified", re.IGNORECASE)


def parse_verify_output(returncode: int, output: str) -> bool | None:
    """Outcome of ``cargo-zisk verify`` (``zisk@v0.14.0:cli/src/commands/verify_stark.rs``,
    ``@v0.18.0:cli/src/commands/verify.rs``).

    Returns:
        True for exit 0 with ``✓ … proof was verified``; False for exit 1 with ``✗ … proof was
        not verified``; None for anything else (bad file, usage error, no verdict line). Case
        is ignored (v0.14 prints ``Stark``, v0.18 ``STARK``).
    """
    if returncode == 0 and _VERIFIED_RE.search(output):
        return True
    if returncode == 1 and _NOT_VERIFIED_RE.search(output):
        return False
    return None


# --------------------------------------------------------------------------------------------
# Exit codes


@dataclass(frozen=True, slots=True)
class ExitClassification:
    """Why a run failed: the job's ``FailureReason`` and a one-line human message."""

    reason: FailureReason
    message: str


#: Substrings of stderr checked in order for exit status 1: error texts found by reading the
#: zisk (v0.14.0; the framing error v0.16.1) and pil2-proofman v0.14.0 sources (not observed on a
#: real run).
_EXIT1_SIGNATURES: Final[tuple[tuple[str, FailureReason, str], ...]] = (
    ("Input file not found", FailureReason.INPUT_ERROR, "the input file was not found"),
    (
        "input size must be a multiple of 8",
        FailureReason.INPUT_ERROR,
        "the input is not framed for this ZisK version (v0.16+ needs length frames: "
        "0xPolygonHermez/zisk@v0.16.1:emulator/src/emu_context.rs)",
    ),
    (
        "Not enough GPU memory",
        FailureReason.PROVING_ERROR,
        "not enough GPU memory to run the proof",
    ),
    (
        "Unable to find the constant tree",
        FailureReason.PROVING_ERROR,
        "proving key setup incomplete: run `cargo-zisk check-setup -a` with this binary",
    ),
    (
        "Path does not exist",
        FailureReason.PROVING_ERROR,
        "ROM setup missing for this ELF: run `cargo-zisk rom-setup -e <elf>`",
    ),
    (
        "Vadcop Final proof was not verified",
        FailureReason.PROVING_ERROR,
        "the final proof did not verify (-y)",
    ),
    (
        "not supported on GPU mode",
        FailureReason.PROVING_ERROR,
        "this cargo-zisk is a GPU build, which refuses `execute`; use ziskemu",
    ),
)


def classify_exit(returncode: int, stderr_tail: str) -> ExitClassification:
    """Map a non-zero exit of ``cargo-zisk`` to a failure reason (sources: module docstring).

    Args:
        returncode: Python's: negative for death by signal (``-6`` SIGABRT, ``-9`` SIGKILL),
            ``128+N`` when a shell reported it.
        stderr_tail: the last few KiB of stderr, searched for the known error texts.

    Returns:
        The reason (``input_error``, ``internal_error`` for a usage error, otherwise
        ``proving_error``) and a one-line message.

    Raises:
        ValueError: ``returncode`` is 0 (not a failure).
    """
    if returncode == 0:
        raise ValueError("exit status 0 is not a failure")
    sig = -returncode if returncode < 0 else None
    if returncode == 1:
        for needle, reason, message in _EXIT1_SIGNATURES:
            if needle in stderr_tail:
                return ExitClassification(reason, message)
        return ExitClassification(
            FailureReason.PROVING_ERROR, "cargo-zisk returned an error (exit 1)"
        )
    if returncode == 2:
        return ExitClassification(
            FailureReason.INTERNAL_ERROR,
            "cargo-zisk rejected its command line (exit 2, usage error): daemon and ZisK "
            "versions do not match",
        )
    if returncode == 101:
        if "multiple of 8" in stderr_tail:
            return ExitClassification(
                FailureReason.INPUT_ERROR,
                "the emulator panicked: the input is not framed for this ZisK version (v0.16+ "
                "reads u64 LE length frames: zisk@48cf7ccef:emulator/src/emu_context.rs)",
            )
        if "Timeout: service" in stderr_tail:
            return ExitClassification(
                FailureReason.PROVING_ERROR,
                "cargo-zisk panicked: the ASM services did not start in time (exit 101)",
            )
        return ExitClassification(FailureReason.PROVING_ERROR, "cargo-zisk panicked (exit 101)")
    if returncode == 255:
        return ExitClassification(
            FailureReason.PROVING_ERROR,
            "the C++ prover stopped the process (exit 255, exitProcess)",
        )
    if sig == signal.SIGABRT or returncode == 128 + signal.SIGABRT:
        if "[CUDA]" in stderr_tail:
            return ExitClassification(FailureReason.PROVING_ERROR, "CUDA error, aborted (SIGABRT)")
        return ExitClassification(FailureReason.PROVING_ERROR, "aborted (SIGABRT)")
    if sig == signal.SIGKILL or returncode == 128 + signal.SIGKILL:
        return ExitClassification(
            FailureReason.PROVING_ERROR,
            "killed by SIGKILL, most likely the out-of-memory killer (host RAM)",
        )
    if sig is not None:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return ExitClassification(FailureReason.PROVING_ERROR, f"killed by {name}")
    return ExitClassification(
        FailureReason.PROVING_ERROR, f"cargo-zisk exited with status {returncode}"
    )
