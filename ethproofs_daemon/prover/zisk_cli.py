"""The ``cargo-zisk`` command line as plain data: versions, argv, outputs, logs and exit codes.

Nothing here does I/O except ``read_result_json`` (one small file read). Every format comes from
reading the ZisK sources (nothing was built or run), at ``0xPolygonHermez/zisk@v0.14.0`` unless
another tag is named (v0.15.0 has the same ``prove`` CLI):

- version line: ``ziskbuild/src/lib.rs`` ``ZISK_VERSION_MESSAGE`` (v0.14.0 and v0.18.0);
- ``prove``: ``cli/src/commands/prove.rs`` (also ``@v0.16.1`` and ``@v0.18.0``), ``execute``:
  ``cli/src/commands/execute.rs``, ``verify``: ``cli/src/commands/verify_stark.rs``
  (``@v0.18.0:cli/src/commands/verify.rs``);
- ``result.json``: ``common/src/proof_log.rs`` ``ProofLog``, written by
  ``sdk/src/prover/backend.rs`` ``prove()`` (only with ``-a``);
- progress markers: ``util/src/timer_macro.rs``; the log line format is
  ``0xPolygonHermez/pil2-proofman@v0.14.0:common/src/utils.rs`` ``RankFormatter`` (stdout);
- exit codes and failure signatures: ``main()``'s error chain (exit 1), clap (2), Rust panics
  (101), ``pil2-proofman@v0.14.0:pil2-stark/src/utils/exit_process.cpp`` (255) and
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
# Versions


class BuildFlavour(enum.StrEnum):
    """The ``[gpu]`` / ``[cpu]`` tag that v0.17+ prints in its version line (absent before)."""

    GPU = "gpu"
    CPU = "cpu"


class CliFamily(enum.StrEnum):
    """Groups of ZisK versions sharing one ``prove`` command line.

    From ``cli/src/commands/prove.rs`` at ``0xPolygonHermez/zisk@v0.14.0``, ``@v0.16.1`` and
    ``@v0.18.0``:

    - ``v0_14``: v0.14, v0.15, v0.16 — ``-o`` is a directory, ``-a`` turns aggregation *on*.
    - ``v0_17``: v0.17, v0.18 — ``-o`` is a file, ``-a`` means *no* aggregation, ``-g`` for GPU.
    """

    V0_14 = "v0_14"
    V0_17 = "v0_17"


@dataclass(frozen=True, slots=True, order=True)
class ZiskVersion:
    """A parsed ``cargo-zisk --version`` line; orders by ``(major, minor, patch)`` first.

    ``raw`` is the line as printed (stripped), e.g. ``cargo-zisk 0.14.0 (2f791ffd0 2025-11-20T…)``
    or ``cargo-zisk 0.18.0 [gpu] (790f9e28a …)``; ``build`` is None when the line has no tag
    (every version before v0.17). ``prerelease`` is the part after ``-`` (``alpha``), if any.
    """

    major: int
    minor: int
    patch: int
    raw: str = ""
    build: BuildFlavour | None = None
    prerelease: str | None = None

    def __str__(self) -> str:
        pre = f"-{self.prerelease}" if self.prerelease else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}"


_VERSION_RE: Final = re.compile(
    r"cargo-zisk\s+v?(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\s+\[(?P<build>[a-z]+)\])?"
)


class VersionParseError(ValueError):
    """``cargo-zisk --version`` printed something that is not a version line."""


def parse_version(output: str) -> ZiskVersion:
    """Parse the output of ``cargo-zisk --version`` (the first line that matches).

    Accepts ``cargo-zisk 0.14.0 (<sha> <timestamp>)`` and ``cargo-zisk 0.18.0 [gpu] (...)``; a
    leading ``v`` and a ``-prerelease`` suffix are tolerated.

    Raises:
        VersionParseError: no line matches, or the build tag is neither ``gpu`` nor ``cpu``.
    """
    for line in output.splitlines():
        m = _VERSION_RE.search(line)
        if m is None:
            continue
        build_tag = m.group("build")
        try:
            build = BuildFlavour(build_tag) if build_tag else None
        except ValueError as exc:
            raise VersionParseError(f"unknown build tag [{build_tag}] in {line.strip()!r}") from exc
        return ZiskVersion(
            major=int(m.group("major")),
            minor=int(m.group("minor")),
            patch=int(m.group("patch")),
            raw=line.strip(),
            build=build,
            prerelease=m.group("pre"),
        )
    shown = output.strip()[:200] or "<empty>"
    raise VersionParseError(f"not a cargo-zisk version line: {shown!r}")


class ZiskSeries(enum.StrEnum):
    """The ZisK release series this daemon knows, each with one ``prove`` contract (argv, input
    framing, output files), from ``0xPolygonHermez/zisk`` at v0.14.0, v0.15.0, v0.16.1, v0.17.0,
    v0.18.0 and the ``pre-develop-1.0.0-beta`` branch (``cli/src/commands/prove.rs``):

    - ``0.14``: v0.14.x and v0.15.x: ``prove -o DIR -a`` writes ``result.json``, raw input file.
    - ``0.16``: v0.16.x: no ``result.json``, framed inputs.
    - ``0.17``: v0.17.x and v0.18.x: ``-o`` is a file, ``-a`` turns aggregation off.
    - ``1.x``: v1.x: the CLI rebuilt again (``-a`` means ``--asm``).
    """

    V0_14 = "0.14"
    V0_16 = "0.16"
    V0_17 = "0.17"
    V1 = "1.x"


#: Human names of the series (what a refusal message shows).
SERIES_RELEASES: Final = {
    ZiskSeries.V0_14: "0.14.x/0.15.x",
    ZiskSeries.V0_16: "0.16.x",
    ZiskSeries.V0_17: "0.17.x/0.18.x",
    ZiskSeries.V1: "1.x",
}
#: The series this version of the daemon drives: ``prove -o DIR -a`` plus ``result.json``.
DRIVEN_SERIES: Final = frozenset({ZiskSeries.V0_14})

_RELEASE_RE: Final = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def series_of(major: int, minor: int) -> ZiskSeries | None:
    """The series of release ``major.minor``, or None for one this daemon does not know (before
    v0.14, v0.19 to 0.x, 2.x and later)."""
    if major == 0 and minor in (14, 15):
        return ZiskSeries.V0_14
    if major == 0 and minor == 16:
        return ZiskSeries.V0_16
    if major == 0 and minor in (17, 18):
        return ZiskSeries.V0_17
    if major == 1:
        return ZiskSeries.V1
    return None


def supported(version: ZiskVersion) -> bool:
    """True for the series the daemon drives today: v0.14.x and v0.15.x, whose ``prove -o DIR -a``
    writes ``result.json`` (the ZisK the original client, ``lambdaclass/ethrex-ethproofs@b45cda3``,
    drives)."""
    return series_of(version.major, version.minor) in DRIVEN_SERIES


class VersionVerdict(enum.StrEnum):
    """What ``decide_version`` concluded about an installed ``cargo-zisk``."""

    OK = "ok"
    #: A series this daemon does not know at all (e.g. 2.0.0, 0.13).
    UNKNOWN_SERIES = "unknown_series"
    #: A known series this version of the daemon does not drive yet (0.16, 0.17/0.18, 1.x).
    NOT_DRIVEN = "not_driven"
    #: A driven series, but not the one the guest profile was built for.
    PROFILE_MISMATCH = "profile_mismatch"


@dataclass(frozen=True, slots=True)
class VersionDecision:
    """``verdict`` and, when not OK, one paragraph for the operator (``message``: the version
    found, the versions supported and the guest profile)."""

    verdict: VersionVerdict
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the daemon may prove with this ``cargo-zisk``."""
        return self.verdict is VersionVerdict.OK


def _driven_text() -> str:
    return ", ".join(SERIES_RELEASES[s] for s in ZiskSeries if s in DRIVEN_SERIES)


def decide_version(
    version: ZiskVersion, *, profile_name: str, profile_zisk_version: str
) -> VersionDecision:
    """Whether the daemon may drive ``version`` for the guest profile (pure).

    Args:
        version: what ``cargo-zisk --version`` printed (``parse_version``).
        profile_name: the guest profile's name (``GUEST_PROFILE``, or the manifest default).
        profile_zisk_version: the ZisK version the profile's guest was built for (``"0.14.0"``,
            the manifest's ``zisk_version``).

    Returns:
        ``OK`` when ``version`` is of a driven series and of the profile's series;
        ``UNKNOWN_SERIES`` for a series this daemon does not know; ``NOT_DRIVEN`` for a known
        series this version of the daemon does not drive; ``PROFILE_MISMATCH`` for a driven
        series other than the profile's. The message names the version found (and the line
        printed), the versions supported and the profile, and says when the profile does not
        match either.
    """
    found = series_of(version.major, version.minor)
    m = _RELEASE_RE.match(profile_zisk_version.strip())
    wanted = series_of(int(m.group(1)), int(m.group(2))) if m else None
    profile_text = f"guest profile {profile_name!r} is built for ZisK {profile_zisk_version}"
    matches = found is not None and found is wanted
    if found in DRIVEN_SERIES and matches:
        return VersionDecision(VersionVerdict.OK)
    head = f"cargo-zisk {version} (version line {version.raw!r})"
    supported_text = f"this version of the daemon drives ZisK {_driven_text()} only"
    mismatch = "" if matches else f", which cargo-zisk {version} does not match"
    profile_part = profile_text + mismatch
    fix = ("Install a cargo-zisk of the profile's series, or set GUEST_PROFILE to a profile of "
           "the installed series that this daemon drives.")
    if found is None:
        known = ", ".join(SERIES_RELEASES[s] for s in ZiskSeries)
        return VersionDecision(
            VersionVerdict.UNKNOWN_SERIES,
            f"{head} is a ZisK release this daemon does not know (known series: {known}); "
            f"{supported_text}; {profile_part}. {fix}",
        )
    if found not in DRIVEN_SERIES:
        return VersionDecision(
            VersionVerdict.NOT_DRIVEN,
            f"{head} is not supported by this version of the daemon: {supported_text} "
            f"(ZisK {SERIES_RELEASES[found]} has another prove command line and output files); "
            f"{profile_part}. {fix}",
        )
    return VersionDecision(
        VersionVerdict.PROFILE_MISMATCH,
        f"{head} does not match the guest profile: {profile_text}; {supported_text}. {fix}",
    )


def unsupported_message(version: ZiskVersion, cargo_zisk: str) -> str:
    """A one-paragraph explanation of why ``version`` is refused and what to do."""
    return (
        f"cargo-zisk {version} at {cargo_zisk} is not supported: this daemon drives ZisK v0.14.x "
        "and v0.15.x (`prove -e ELF -i INPUT -o DIR -a -u`, which writes result.json). "
        "v0.16 drops result.json and needs framed inputs; v0.17+ changes `-a` and `-o` "
        "(0xPolygonHermez/zisk@v0.16.1 and @v0.18.0 cli/src/commands/prove.rs). "
        "Install ZisK v0.14 or v0.15 "
        f"(reported version line: {version.raw!r})."
    )


def cli_family(version: ZiskVersion) -> CliFamily:
    """The command-line family of ``version``.

    Raises:
        ValueError: a version whose sources were not read (before v0.14, v0.19+, 1.x): its CLI
            is unknown.
    """
    if version.major == 0 and 14 <= version.minor <= 16:
        return CliFamily.V0_14
    if version.major == 0 and 17 <= version.minor <= 18:
        return CliFamily.V0_17
    raise ValueError(f"no known command line for cargo-zisk {version}")


# --------------------------------------------------------------------------------------------
# Command lines

#: The proof file EthProofs gets for v0.14/v0.15: zstd level 1 of the raw proof
#: (``0xPolygonHermez/zisk@v0.14.0:sdk/src/prover/backend.rs``).
COMPRESSED_PROOF_FILE: Final = "vadcop_final_proof.compressed.bin"
#: The raw u64-LE proof; v0.15 may write only this one (``lambdaclass/ethrex-ethproofs`` PR #7,
#: "fix vadcop for ZisK 0.15", branch ``fix_vadcop_name`` at b5781fb).
RAW_PROOF_FILE: Final = "vadcop_final_proof.bin"
RESULT_FILE: Final = "result.json"
#: Every file a v0.14 ``prove -a`` writes to ``-o`` and that a new attempt must not inherit.
OUTPUT_FILES: Final = (RESULT_FILE, RAW_PROOF_FILE, COMPRESSED_PROOF_FILE)


def prove_argv(
    version: ZiskVersion, cargo_zisk: str, elf: Path, input_path: Path, output_dir: Path
) -> list[str]:
    """argv of one ``prove`` run writing into ``output_dir``.

    - v0.14-v0.16: ``prove -e ELF -i INPUT -o DIR -a -u`` (aggregation on, mapped memory
      unlocked): the original client's line
      (``lambdaclass/ethrex-ethproofs@b45cda3:lib/ethproofs_client/prover.ex``).
    - v0.17-v0.18: ``prove -e ELF -i INPUT -o DIR/vadcop_final_proof.bin -u`` plus ``-g`` on
      ``[gpu]`` builds (no ``-a``: it would turn aggregation off;
      ``0xPolygonHermez/zisk@v0.18.0:cli/src/commands/prove.rs``).

    Returns:
        The argv, ``cargo_zisk`` first.

    Raises:
        ValueError: a version without a known CLI (``cli_family``).
    """
    family = cli_family(version)
    head = [cargo_zisk, "prove", "-e", str(elf), "-i", str(input_path)]
    if family is CliFamily.V0_14:
        return [*head, "-o", str(output_dir), "-a", "-u"]
    argv = [*head, "-o", str(output_dir / RAW_PROOF_FILE), "-u"]
    if version.build is BuildFlavour.GPU:
        argv.append("-g")
    return argv


def execute_argv(
    version: ZiskVersion, cargo_zisk: str, elf: Path, input_path: Path
) -> list[str]:
    """argv of ``execute -e ELF -i INPUT -u``, the same in both families
    (``0xPolygonHermez/zisk@v0.14.0:cli/src/commands/execute.rs``, and at v0.18.0).

    Note: v0.14 GPU builds refuse ``execute`` ("Command is not supported on GPU mode").

    Raises:
        ValueError: a version without a known CLI (``cli_family``).
    """
    cli_family(version)
    return [cargo_zisk, "execute", "-e", str(elf), "-i", str(input_path), "-u"]


def verify_argv(
    version: ZiskVersion, cargo_zisk: str, proof: Path, verkey: Path | None = None
) -> list[str]:
    """argv of ``verify -p PROOF``
    (``0xPolygonHermez/zisk@v0.14.0:cli/src/commands/verify_stark.rs``,
    ``@v0.18.0:cli/src/commands/verify.rs``).

    ``verkey`` (``-k``) is passed to the v0.14 family only (v0.17+ ``verify`` has no ``-k``)
    and dropped otherwise; without it v0.14 uses
    ``~/.zisk/provingKey/zisk/vadcop_final/vadcop_final.verkey.bin``.

    Raises:
        ValueError: a version without a known CLI (``cli_family``).
    """
    family = cli_family(version)
    argv = [cargo_zisk, "verify", "-p", str(proof)]
    if verkey is not None and family is CliFamily.V0_14:
        argv += ["-k", str(verkey)]
    return argv


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


def proof_file_candidates(output_dir: Path) -> tuple[Path, Path]:
    """Where the proof for EthProofs is, in order of preference: the compressed file (v0.14),
    then the raw one (v0.15 may write only that; ``lambdaclass/ethrex-ethproofs`` PR #7 reads
    them in this order)."""
    return output_dir / COMPRESSED_PROOF_FILE, output_dir / RAW_PROOF_FILE


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
