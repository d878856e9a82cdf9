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


def _elf(path: Path, body: bytes = b"guest") -> Path:
    path.write_bytes(b"\x7fELF" + body)
    return path


def test_repository_manifest_has_the_default_zisk_014_guest() -> None:
    profiles = load_profiles()
    assert manifest_path().is_file()
    default = profiles[DEFAULT_PROFILE_NAME]
    assert default.elf_file_name == "ethrex-24d4b6404-zisk-0.14.0-guest.elf"
    assert default.ethrex_revision.startswith("891528d")
    assert (default.zisk_version, default.codec, default.framing) == (
        "0.14.0",
        Codec.ETHREX_891528D_RKYV,
        Framing.RAW,
    )
    assert get_profile() == default
    newer = profiles["ethrex-c5de3bd-zisk-0.16.1"]
    assert newer.framing is Framing.ZISK_STDIN


def test_unknown_profile_name_is_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="unknown guest profile"):
        get_profile("no-such-guest")


def test_matching_elf_name_passes_with_a_no_sha_warning(tmp_path: Path) -> None:
    profile = get_profile()
    warnings = check_elf(profile, _elf(tmp_path / profile.elf_file_name), allow_unknown=False)
    assert any("sha256" in w for w in warnings)


def test_other_elf_is_refused_unless_allowed(tmp_path: Path) -> None:
    profile = get_profile()
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
