"""Guest profiles: manifest loading, the ELF check at start, ZisK >= 0.16 framing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ethproofs_daemon.inputs.errors import InputError, ProfileError, ProfileMismatch
from ethproofs_daemon.inputs.profiles import (
    DEFAULT_PROFILE_NAME,
    Codec,
    Framing,
    check_elf,
    frame,
    get_profile,
    load_profiles,
    manifest_path,
    unframe,
)
from tests.helpers import ETHREX_014_PROFILE


def _elf(path: Path, body: bytes = b"guest") -> Path:
    path.write_bytes(b"\x7fELF" + body)
    return path


def test_repository_manifest_defaults_to_zec_reth_and_keeps_the_ethrex_014_guest() -> None:
    profiles = load_profiles()
    assert manifest_path().is_file()
    doc = json.loads(manifest_path().read_text())
    assert doc["default"] == DEFAULT_PROFILE_NAME == "zec-reth"
    default = profiles[DEFAULT_PROFILE_NAME]
    # ../shared/docs/guest-zec-reth.md: zisk-eth-client v0.11.0, ZisK 1.1.0-alpha, two frames
    assert (default.zisk_version, default.codec, default.framing, default.frames) == (
        "1.1.0-alpha", Codec.ZEC_RETH_BINCODE, Framing.ZISK_STDIN, 2)
    assert default.git_blob_sha1 == "292f4356c0ff281dac5aa2127e50d13126ecb30c"
    assert get_profile() == default
    stateless = profiles["stateless-reth"]
    assert (stateless.codec, stateless.framing, stateless.zisk_version) == (
        Codec.STATELESS_SSZ, Framing.ZISK_STDIN, "1.1.0-alpha")
    assert stateless.elf_file_name == "stateless-validator-reth-zisk-v1.1.0-alpha.elf"
    ethrex = profiles[ETHREX_014_PROFILE]
    assert ethrex.elf_file_name == "ethrex-24d4b6404-zisk-0.14.0-guest.elf"
    assert ethrex.ethrex_revision.startswith("891528d")
    assert (ethrex.zisk_version, ethrex.codec, ethrex.framing) == (
        "0.14.0", Codec.ETHREX_891528D_RKYV, Framing.RAW)
    newer = profiles["ethrex-c5de3bd-zisk-0.16.1"]
    assert newer.framing is Framing.ZISK_STDIN


def test_the_package_manifest_is_the_repositorys() -> None:
    shipped = Path(__file__).parents[2] / "ethproofs_daemon" / "inputs" / "guest_manifest.json"
    repo = Path(__file__).parents[2] / "guest_elfs" / "manifest.json"
    assert shipped.read_bytes() == repo.read_bytes()


def test_the_zec_reth_elf_is_checked_by_its_git_blob_id(tmp_path: Path) -> None:
    import subprocess

    profile = get_profile("zec-reth")
    elf = _elf(tmp_path / profile.elf_file_name, b"not the committed guest")
    with pytest.raises(ProfileMismatch, match="git blob id"):
        check_elf(profile, elf, allow_unknown=False)
    # the id git itself computes for the file is what the message names
    blob = subprocess.run(["git", "hash-object", str(elf)], capture_output=True, text=True,
                          check=True).stdout.strip()
    with pytest.raises(ProfileMismatch, match=blob):
        check_elf(profile, elf, allow_unknown=False)


def test_unknown_profile_name_is_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="unknown guest profile"):
        get_profile("no-such-guest")


def test_matching_elf_name_passes_with_a_no_sha_warning(tmp_path: Path) -> None:
    profile = get_profile(ETHREX_014_PROFILE)
    warnings = check_elf(profile, _elf(tmp_path / profile.elf_file_name), allow_unknown=False)
    assert any("sha256" in w for w in warnings)


def test_other_elf_is_refused_unless_allowed(tmp_path: Path) -> None:
    profile = get_profile(ETHREX_014_PROFILE)
    other = _elf(tmp_path / "ethrex-c5de3bd-zisk-0.16.1-guest.elf")
    with pytest.raises(ProfileMismatch, match="ALLOW_UNKNOWN_ELF"):
        check_elf(profile, other, allow_unknown=False)
    warnings = check_elf(profile, other, allow_unknown=True)
    assert any("file name" in w for w in warnings)


def test_sha256_mismatch_is_refused(tmp_path: Path) -> None:
    elf = _elf(tmp_path / "g.elf", b"right")
    good = hashlib.sha256(elf.read_bytes()).hexdigest()
    manifest = tmp_path / "manifest.json"
    entry = {
        "elf_file_name": "g.elf",
        "ethrex_revision": "abc",
        "zisk_version": "0.16.1",
        "codec": "external",
        "framing": "zisk-stdin",
    }
    manifest.write_text(json.dumps({"profiles": {"p": {**entry, "sha256": good}}}))
    assert check_elf(get_profile("p", manifest), elf, allow_unknown=False) == []
    _elf(elf, b"wrong")
    with pytest.raises(ProfileMismatch, match="sha256"):
        check_elf(get_profile("p", manifest), elf, allow_unknown=False)


def test_missing_or_non_elf_file_is_refused_even_when_allowed(tmp_path: Path) -> None:
    profile = get_profile()
    with pytest.raises(ProfileMismatch, match="does not exist"):
        check_elf(profile, tmp_path / profile.elf_file_name, allow_unknown=True)
    text = tmp_path / profile.elf_file_name
    text.write_text("not an elf")
    with pytest.raises(ProfileMismatch, match="not an ELF"):
        check_elf(profile, text, allow_unknown=True)


def test_bad_manifest_is_a_profile_error(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"profiles": {"p": {"elf_file_name": "x", "codec": "zip"}}}))
    with pytest.raises(InputError):
        load_profiles(bad)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profiles(tmp_path / "absent.json")


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 521])
def test_zisk_stdin_frame_is_length_data_and_zero_padding(n: int) -> None:
    data = bytes(range(256)) * 3
    data = data[:n]
    framed = frame(data, Framing.ZISK_STDIN)
    assert len(framed) % 8 == 0
    assert int.from_bytes(framed[:8], "little") == n
    assert framed[8 : 8 + n] == data
    assert set(framed[8 + n :]) <= {0}
    assert unframe(framed, Framing.ZISK_STDIN) == data
    assert frame(data, Framing.RAW) == data


def test_bad_frame_is_refused() -> None:
    with pytest.raises(ProfileError):
        unframe(b"\x09" + bytes(15), Framing.ZISK_STDIN)
    with pytest.raises(ProfileError):
        unframe(bytes(12), Framing.ZISK_STDIN)
