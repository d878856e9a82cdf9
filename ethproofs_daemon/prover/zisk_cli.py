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
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# --------------------------------------------------------------------------------------------
# Versions


class BuildFlavour(enum.StrEnum):
    """The ``[gpu]`` / ``[cpu]`` tag that v0.17+ prints in its version line (absent before)."""

    GPU = "gpu"
    CPU = "cpu"


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


def series_of_release(release: str) -> ZiskSeries | None:
    """The series of a release text (``"0.16.1"``, ``"v1.1.0-alpha"``), None when unknown."""
    m = _RELEASE_RE.match(release.strip())
    return series_of(int(m.group(1)), int(m.group(2))) if m else None


def same_series(a: str, b: str) -> bool:
    """True when releases ``a`` and ``b`` are of one known series (one ``cargo-zisk`` runs
    guests built for both)."""
    sa = series_of_release(a)
    return sa is not None and sa is series_of_release(b)


def series_for(version: ZiskVersion) -> ZiskSeries:
    """The series of ``version``.

    Raises:
        ValueError: a release this daemon does not know (``series_of`` is None).
    """
    found = series_of(version.major, version.minor)
    if found is None:
        raise ValueError(f"cargo-zisk {version} is of no ZisK series this daemon knows")
    return found


class VersionVerdict(enum.StrEnum):
    """What ``decide_version`` concluded about an installed ``cargo-zisk``."""

    OK = "ok"
    #: A series this daemon does not know at all (e.g. 2.0.0, 0.13).
    UNKNOWN_SERIES = "unknown_series"
    #: A known series, but not the one the guest profile was built for.
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
        ``OK`` when ``version`` is of the profile's series; ``UNKNOWN_SERIES`` for a series this
        daemon does not know; ``PROFILE_MISMATCH`` for a known series other than the profile's.
        The message names the version found (and the line printed), the versions supported and
        the profile, and says when the profile does not match either.
    """
    found = series_of(version.major, version.minor)
    wanted = series_of_release(profile_zisk_version)
    profile_text = f"guest profile {profile_name!r} is built for ZisK {profile_zisk_version}"
    matches = found is not None and found is wanted
    if matches:
        return VersionDecision(VersionVerdict.OK)
    head = f"cargo-zisk {version} (version line {version.raw!r})"
    known = ", ".join(SERIES_RELEASES.values())
    supported_text = f"this version of the daemon drives ZisK {known} only"
    mismatch = "" if matches else f", which cargo-zisk {version} does not match"
    profile_part = profile_text + mismatch
    fix = ("Install a cargo-zisk of the profile's series, or set GUEST_PROFILE to a profile of "
           "the installed series that this daemon drives.")
    if found is None:
        return VersionDecision(
            VersionVerdict.UNKNOWN_SERIES,
            f"{head} is a ZisK release this daemon does not know (known series: {known}); "
            f"{supported_text}; {profile_part}. {fix}",
        )
    return VersionDecision(
        VersionVerdict.PROFILE_MISMATCH,
        f"{head} does not match the guest profile: {profile_text}; {supported_text}. {fix}",
    )


# --------------------------------------------------------------------------------------------
# Command lines and output files

#: The proof file EthProofs gets for v0.14/v0.15: zstd level 1 of the raw proof
#: (``0xPolygonHermez/zisk@v0.14.0:sdk/src/prover/backend.rs``).
COMPRESSED_PROOF_FILE: Final = "vadcop_final_proof.compressed.bin"
#: The raw u64-LE proof (v0.14/v0.15; v0.15 may write only this one:
#: ``lambdaclass/ethrex-ethproofs`` PR #7, "fix vadcop for ZisK 0.15", b5781fb). From v0.16 the
#: same name holds the bincode ``ZiskProofWithPublicValues`` (0.16) or ``Proof`` (0.17/0.18).
RAW_PROOF_FILE: Final = "vadcop_final_proof.bin"
RESULT_FILE: Final = "result.json"
#: What 1.x's ``prove -o`` is given (its default name carries a timestamp:
#: ``zisk@c603fe8fd:cli/src/common.rs`` ``default_proof_filename``).
V1_PROOF_FILE: Final = "proof.bin"
#: The bytes EthProofs gets for v0.16+, derived by the daemon from the native proof file
#: (``proof_files.ethproofs_proof_bytes``).
ETHPROOFS_PROOF_FILE: Final = "ethproofs_proof.bin"


def native_proof_file(series: ZiskSeries, output_dir: Path) -> Path:
    """The proof file ``prove`` writes for ``series`` into ``output_dir`` (what ``verify -p``
    reads): ``vadcop_final_proof.bin`` up to 0.18 (``-o DIR`` for 0.14/0.16, ``-o FILE`` for
    0.17/0.18), ``proof.bin`` for 1.x (``-o FILE``)."""
    return output_dir / (V1_PROOF_FILE if series is ZiskSeries.V1 else RAW_PROOF_FILE)


def output_files(series: ZiskSeries) -> tuple[str, ...]:
    """Every file a ``prove`` of ``series`` (and the daemon after it) writes into the output
    directory, which a new attempt must not inherit."""
    if series is ZiskSeries.V0_14:
        return (RESULT_FILE, RAW_PROOF_FILE, COMPRESSED_PROOF_FILE)
    return (native_proof_file(series, Path()).name, ETHPROOFS_PROOF_FILE)


def proof_file_candidates(output_dir: Path) -> tuple[Path, Path]:
    """v0.14/v0.15: where the proof for EthProofs is, in order of preference: the compressed
    file, then the raw one (v0.15 may write only that; ``lambdaclass/ethrex-ethproofs`` PR #7
    reads them in this order)."""
    return output_dir / COMPRESSED_PROOF_FILE, output_dir / RAW_PROOF_FILE


def prove_argv(
    version: ZiskVersion, cargo_zisk: str, elf: Path, input_path: Path, output_dir: Path
) -> list[str]:
    """argv of one ``prove`` run writing into ``output_dir``, per series
    (``../shared/docs/zisk-coordinator.md`` §4, ``zisk.md`` §1):

    - 0.14/0.15: ``prove -e ELF -i INPUT -o DIR -a -u``: aggregation on (without ``-a`` there is
      no final proof), mapped memory unlocked; the original client's line
      (``lambdaclass/ethrex-ethproofs@b45cda3:lib/ethproofs_client/prover.ex``).
    - 0.16: the same line (``-i`` is ``--inputs`` now; ``-a`` still needed; GPU chosen at build
      time), ``zisk@48cf7ccef:cli/src/commands/prove.rs``. No ``-c``: the full vadcop final proof,
      the form ZisK's own 0.16 EthProofs client posted.
    - 0.17/0.18: ``prove -e ELF -i INPUT -o DIR/vadcop_final_proof.bin -c -u`` plus ``-g`` on
      ``[gpu]`` builds; no ``-a`` (it means *no* aggregation here), ``-c`` for the minimal proof
      (``zisk@790f9e28a:cli/src/commands/prove.rs``).
    - 1.x: ``prove -e ELF -i INPUT -o DIR/proof.bin -c --asm -u`` plus ``-g`` on ``[gpu]``
      builds: ``-a`` is ``--asm`` (opt-in ASM executor, which ``-u`` requires), ``-c`` the
      minimal proof EthProofs' verifier takes (``zisk@c603fe8fd:cli/src/commands/user/
      embedded/prove.rs``; the 1.1-1.3 CLI files were not read, zisk-coordinator.md §4.3).

    Returns:
        The argv, ``cargo_zisk`` first.

    Raises:
        ValueError: a version of no known series (``series_for``).
    """
    series = series_for(version)
    head = [cargo_zisk, "prove", "-e", str(elf), "-i", str(input_path)]
    if series in (ZiskSeries.V0_14, ZiskSeries.V0_16):
        return [*head, "-o", str(output_dir), "-a", "-u"]
    argv = [*head, "-o", str(native_proof_file(series, output_dir)), "-c"]
    argv += ["-u"] if series is ZiskSeries.V0_17 else ["--asm", "-u"]
    if version.build is BuildFlavour.GPU:
        argv.append("-g")
    return argv


def execute_argv(
    version: ZiskVersion, cargo_zisk: str, elf: Path, input_path: Path
) -> list[str]:
    """argv of ``cargo-zisk execute``: ``execute -e ELF -i INPUT -u`` up to 0.18
    (``zisk@v0.14.0:cli/src/commands/execute.rs``, ``@48cf7ccef``, ``@790f9e28a``), and
    ``execute -e ELF -i INPUT`` on 1.x (Rust emulator; ``-u`` would need ``--asm``).

    Note: builds with GPU support chosen at compile time (0.14-0.16) refuse ``execute`` ("Command
    is not supported on GPU mode"): use ``ziskemu_argv`` there.

    Raises:
        ValueError: a version of no known series.
    """
    series = series_for(version)
    argv = [cargo_zisk, "execute", "-e", str(elf), "-i", str(input_path)]
    return argv if series is ZiskSeries.V1 else [*argv, "-u"]


def ziskemu_argv(ziskemu: str, elf: Path, input_path: Path) -> list[str]:
    """argv of ``ziskemu -e ELF --inputs INPUT -m`` (``-m`` prints ``process_rom() steps=<n>
    duration=<s> …``; ``zisk@v0.14.0:emulator/src/emu_options.rs``, the same flags at v0.18).
    The input file is in the form the guest reads (framed from v0.16)."""
    return [ziskemu, "-e", str(elf), "--inputs", str(input_path), "-m"]


def verify_argv(
    version: ZiskVersion, cargo_zisk: str, proof: Path, verkey: Path | None = None
) -> list[str]:
    """argv of ``verify -p PROOF`` (``zisk@v0.14.0:cli/src/commands/verify_stark.rs``,
    ``@48cf7ccef`` and ``@790f9e28a:cli/src/commands/verify.rs``, ``@c603fe8fd``).

    ``verkey`` (``-k FILE``) is passed to 0.14/0.15 only: in 0.16 ``-k`` is a proving-key
    *directory*, and 0.17+ verify against the keys inside the proof file.

    Raises:
        ValueError: a version of no known series.
    """
    series = series_for(version)
    argv = [cargo_zisk, "verify", "-p", str(proof)]
    if verkey is not None and series is ZiskSeries.V0_14:
        argv += ["-k", str(verkey)]
    return argv
