"""The guest registry: which guest program an ELF is, the input it reads, and the ELF check.

The manifest (``guest_elfs/manifest.json`` in the repository, shipped inside the package as
``ethproofs_daemon/inputs/guest_manifest.json``; override with ``$ETHPROOFS_GUEST_MANIFEST``)
names each known guest: guest and version, the ZisK version it was built for, the input codec,
the framing and number of frames, the ELF's file name and, where a source publishes one, its
sha256 (or git blob id) and program key. ``DEFAULT_PROFILE_NAME`` is ``zec-reth``, the guest a
ZisK 1.x operator runs on mainnet today (``../shared/docs/guest-zec-reth.md``).

Framing: ``raw`` for ZisK 0.14/0.15 (the input file is the bytes); ``zisk-stdin`` for ZisK >= 0.16
= each frame ``u64 LE length | data | zero padding to a multiple of 8``
(0xPolygonHermez/zisk@v0.16.1:emulator/src/emu_context.rs).
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from . import hexjson as hj
from .errors import ProfileError, ProfileMismatch

DEFAULT_PROFILE_NAME: Final[str] = "zec-reth"
MANIFEST_ENV: Final[str] = "ETHPROOFS_GUEST_MANIFEST"
_ELF_MAGIC: Final = b"\x7fELF"
_FRAME_LEN: Final = struct.Struct("<Q")


class Codec(enum.StrEnum):
    """How the input bytes are produced."""

    ETHREX_891528D_RKYV = "ethrex-891528d-rkyv"  # built-in encoder (schema.py)
    ZEC_RETH_BINCODE = "zec-reth-bincode"  # built-in encoder (zec_reth.py)
    STATELESS_SSZ = "stateless-ssz"  # built-in encoder (stateless_ssz.py)
    #: ``u32 LE len ‖ SSZ NewPayloadRequest ‖ rkyv ExecutionWitness``: Proof Node API requests
    #: only (``proofnode/guest_input.py``)
    ETHREX_EIP8025 = "ethrex-eip8025"
    EXTERNAL = "external"  # a configured command (node/external_builder.py)


class Framing(enum.StrEnum):
    """How the codec's bytes are wrapped in the input file."""

    RAW = "raw"  # ZisK 0.14/0.15: the file is the bytes
    ZISK_STDIN = "zisk-stdin"  # ZisK >= 0.16: u64 LE len | data | zero pad to 8


@dataclass(frozen=True, slots=True)
class GuestProfile:
    """One known guest. ``sha256`` is lowercase hex of the ELF file, or None when unknown;
    ``program_vk`` the guest's ZisK program key (32 bytes: 4 LE u64, the ``rom_root`` the proof's
    public values start with; zisk.md §7), or None when no source records it (then proofs are
    not checked against it)."""

    name: str
    elf_file_name: str
    ethrex_revision: str
    zisk_version: str
    codec: Codec
    framing: Framing
    sha256: str | None
    source: str = ""
    notes: str = ""
    program_vk: bytes | None = None
    guest: str = ""
    guest_version: str = ""
    #: Frames the guest reads (1 for a raw input).
    frames: int = 1
    #: ``git hash-object`` of the ELF (lowercase hex), where only a git blob id is published.
    git_blob_sha1: str | None = None


def manifest_path() -> Path:
    """Where the guest manifest is read from.

    Returns:
        ``$ETHPROOFS_GUEST_MANIFEST`` when set, else the manifest shipped inside the package
        (``ethproofs_daemon/inputs/guest_manifest.json``, package data, so a wheel install has
        it wherever it runs from).
    """
    env = os.environ.get(MANIFEST_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().with_name("guest_manifest.json")


def _profile(name: str, value: object) -> GuestProfile:
    field = f"profiles.{name}"
    o = hj.obj(value, field)

    def s(key: str) -> str:
        v = o.get(key)
        if not isinstance(v, str) or not v:
            raise ProfileError(f"{field}.{key}", "expected a non-empty string")
        return v

    def opt(key: str) -> str:
        v = o.get(key, "")
        if not isinstance(v, str):
            raise ProfileError(f"{field}.{key}", "expected a string")
        return v

    sha = o.get("sha256")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 64):
        raise ProfileError(f"{field}.sha256", "expected 64 hex digits or null")
    blob = o.get("git_blob_sha1")
    if blob is not None and (not isinstance(blob, str) or len(blob) != 40):
        raise ProfileError(f"{field}.git_blob_sha1", "expected 40 hex digits or null")
    frames = o.get("frames", 1)
    if not isinstance(frames, int) or isinstance(frames, bool) or not 1 <= frames <= 16:
        raise ProfileError(f"{field}.frames", "expected an integer from 1 to 16")
    vk = o.get("program_vk")
    program_vk: bytes | None = None
    if vk is not None:
        try:
            program_vk = bytes.fromhex(str(vk).removeprefix("0x"))
        except ValueError:
            program_vk = b""
        if len(program_vk) != 32:
            raise ProfileError(f"{field}.program_vk", "expected 32 bytes of hex (4 LE u64) or null")
    try:
        codec, framing = Codec(s("codec")), Framing(s("framing"))
    except ValueError as exc:
        raise ProfileError(field, str(exc)) from None
    return GuestProfile(
        name=name,
        elf_file_name=s("elf_file_name"),
        ethrex_revision=opt("ethrex_revision"),
        zisk_version=s("zisk_version"),
        codec=codec,
        framing=framing,
        sha256=None if sha is None else sha.lower(),
        source=str(o.get("source", "")),
        notes=str(o.get("notes", "")),
        program_vk=program_vk,
        guest=opt("guest"),
        guest_version=opt("guest_version"),
        frames=frames,
        git_blob_sha1=None if blob is None else blob.lower(),
    )


def load_profiles(path: Path | None = None) -> dict[str, GuestProfile]:
    """All profiles of the manifest (default: ``manifest_path()``). Raises ``ProfileError``."""
    path = path or manifest_path()
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ProfileError("manifest", f"cannot read {path}: {exc}") from None
    profiles = hj.obj(hj.obj(doc, "manifest").get("profiles"), "profiles")
    return {name: _profile(name, value) for name, value in profiles.items()}


def get_profile(name: str | None = None, path: Path | None = None) -> GuestProfile:
    """The named profile (default ``DEFAULT_PROFILE_NAME``). Raises ``ProfileError``."""
    profiles = load_profiles(path)
    name = name or DEFAULT_PROFILE_NAME
    if name not in profiles:
        raise ProfileError("profile", f"unknown guest profile {name!r}; known: {sorted(profiles)}")
    return profiles[name]


def check_elf(profile: GuestProfile, elf_path: Path, allow_unknown: bool) -> list[str]:
    """Check ``elf_path`` against ``profile``; return warnings.

    Refuses (``ProfileMismatch``) a missing or non-ELF file, and, unless ``allow_unknown``, a file
    name or sha256 that differs from the profile's (with ``allow_unknown`` these become warnings).
    """
    if not elf_path.is_file():
        raise ProfileMismatch("elf_path", f"{elf_path} does not exist or is not a file")
    with elf_path.open("rb") as f:
        if f.read(4) != _ELF_MAGIC:
            raise ProfileMismatch("elf_path", f"{elf_path} is not an ELF file")
    problems: list[str] = []
    warnings: list[str] = []
    if elf_path.name != profile.elf_file_name:
        problems.append(
            f"ELF file name {elf_path.name!r} is not the profile's {profile.elf_file_name!r}"
        )
    data = elf_path.read_bytes()
    if profile.sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != profile.sha256:
            problems.append(f"ELF sha256 {digest} is not the profile's {profile.sha256}")
    elif profile.git_blob_sha1 is not None:
        blob = git_blob_sha1(data)
        if blob != profile.git_blob_sha1:
            problems.append(f"ELF git blob id {blob} is not the profile's {profile.git_blob_sha1}")
    else:
        warnings.append(f"profile {profile.name} records no sha256; only the file name is checked")
    if problems and not allow_unknown:
        raise ProfileMismatch(
            "elf_path",
            "; ".join(problems) + f" (profile {profile.name}; set ALLOW_UNKNOWN_ELF=1 to override)",
        )
    return [*(f"{p} (allowed: unknown ELF)" for p in problems), *warnings]


def git_blob_sha1(data: bytes) -> str:
    """``git hash-object`` of ``data``: sha1 of ``b"blob <len>\\0" + data`` (lowercase hex;
    git's object format, git-scm.com/book ch. 10.2)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def frame(data: bytes, framing: Framing) -> bytes:
    """Wrap codec bytes for the guest: raw, or ``u64 LE len | data | zero pad to 8``."""
    if framing is Framing.RAW:
        return data
    return _FRAME_LEN.pack(len(data)) + data + bytes(-len(data) % 8)


def unframe(data: bytes, framing: Framing) -> bytes:
    """Inverse of ``frame`` (checks the length and padding). Raises ``ProfileError``."""
    if framing is Framing.RAW:
        return data
    if len(data) < 8 or len(data) % 8:
        raise ProfileError("input", f"{len(data)} bytes is not a ZisK stdin frame (multiple of 8)")
    (n,) = _FRAME_LEN.unpack_from(data)
    if 8 + n > len(data) or len(data) != 8 + n + (-n % 8) or any(data[8 + n :]):
        raise ProfileError("input", f"frame length {n} does not match the {len(data)}-byte file")
    return data[8 : 8 + n]
