"""Proof files: every layout decoded against independent encoders (``tests/standins/
zisk_proof_encoders.py``, written from the format notes), the EthProofs bytes against independently
built word lists, every error path, and a fuzz that only ``ProofFileError`` ever escapes."""

from __future__ import annotations

import base64
import contextlib
import random
import struct

import blake3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ethproofs_daemon.prover.proof_files import (
    HashMode,
    ProgramKeyMismatch,
    ProofFileError,
    ProofIdMismatch,
    ProofKind,
    ProofLayout,
    ZiskProof,
    check_program_vk,
    check_proof_id,
    decode_proof_file,
    ethproofs_proof_bytes,
    hash_tag_of,
    layout_for_release,
)
from tests.standins import zisk_proof_encoders as enc

#: The Goldilocks prime, from its definition 2^64 − 2^32 + 1.
P = 0xFFFF_FFFF_0000_0001
#: A program VK with words near both ends of the field and across every varint width.
VK = [P - 1, 250, 2**40 + 3, 65_536]
OUTPUTS = [(0x9E37_79B9 * (i + 1)) & 0xFFFF_FFFF for i in range(64)]
PUBLICS_FULL = [*VK, *OUTPUTS]
#: Proof words cover each varint width (1, 3, 5, 9 bytes) and a word ≥ p (proof words are the
#: STARK verifier's business, not the decoder's).
PROOF = [0, 7, 250, 251, 65_535, 65_536, 2**32 - 1, 2**32, 2**64 - 1, P]
ZVK = list(enc.FIXTURE_ZISK_VK)
VK_BYTES = enc.le_words(VK)
OUT_BYTES = enc.le_u32s(OUTPUTS)
ZVK_BYTES = enc.le_words(ZVK)
PROOF_BYTES = bytes(range(256)) * 3


def d_file(kind: int = enc.KIND_MINIMAL, **over: object) -> bytes:
    args: dict[str, object] = dict(proof_words=PROOF, zisk_vk=ZVK, kind=kind, hash="Poseidon1",
                                   publics_full=PUBLICS_FULL, program_vk=VK,
                                   hash_mode=enc.MODE_POSEIDON1)
    args.update(over)
    return enc.encode_v1_d(**args)  # type: ignore[arg-type]


def valid_files() -> dict[ProofLayout, bytes]:
    return {
        ProofLayout.V0_14_RAW: enc.encode_raw_v014(VK, OUTPUTS, PROOF[:5]),
        ProofLayout.V0_16_BINCODE1: enc.encode_v016_bincode1(2, PROOF_BYTES, OUT_BYTES, VK_BYTES,
                                                              ptr=9),
        ProofLayout.V0_17_A0: enc.encode_v017_a0(1, PROOF_BYTES, OUT_BYTES, VK_BYTES, ZVK_BYTES),
        ProofLayout.V0_18_A: enc.encode_v018_a(PROOF, ZVK, True, OUT_BYTES, VK),
        ProofLayout.V1_0_B: enc.encode_v1_0_b(PROOF, ZVK, True, "Poseidon2", OUT_BYTES, VK,
                                              enc.MODE_POSEIDON2),
        ProofLayout.PRE_1_1_C: enc.encode_c(PROOF, ZVK, True, "Poseidon1", PUBLICS_FULL, VK,
                                            enc.MODE_POSEIDON1),
        ProofLayout.V1_D: d_file(),
    }


# --------------------------------------------------------------------------------------------
# Releases and tags


@pytest.mark.parametrize(("release", "layout"), [
    ((0, 14), ProofLayout.V0_14_RAW), ((0, 15), ProofLayout.V0_14_RAW),
    ((0, 16), ProofLayout.V0_16_BINCODE1), ((0, 17), ProofLayout.V0_17_A0),
    ((0, 18), ProofLayout.V0_18_A), ((1, 0), ProofLayout.V1_0_B),
    ((1, 1), ProofLayout.V1_D), ((1, 2), ProofLayout.V1_D), ((1, 3), ProofLayout.V1_D),
])
def test_each_release_maps_to_its_documented_layout(release: tuple[int, int],
                                                    layout: ProofLayout) -> None:
    assert layout_for_release(*release) is layout


@pytest.mark.parametrize("release", [(0, 13), (0, 19), (1, 4), (2, 0)])
def test_a_release_of_unknown_layout_is_refused(release: tuple[int, int]) -> None:
    with pytest.raises(ProofFileError, match="no known proof layout"):
        layout_for_release(*release)


def test_hash_tags_are_the_documented_append_only_values() -> None:
    assert [hash_tag_of(f) for f in ("Poseidon1", "Poseidon2", "blake3", "Blake3")] == [0, 1, 2, 2]
    with pytest.raises(ProofFileError, match="unknown hash family"):
        hash_tag_of("Keccak")


# --------------------------------------------------------------------------------------------
# Round trips and EthProofs bytes per layout


def test_raw_v014_decodes_publics_and_posts_the_file_itself() -> None:
    data = enc.encode_raw_v014(VK, OUTPUTS, PROOF[:5])
    proof = decode_proof_file(data, ProofLayout.V0_14_RAW)
    assert (proof.kind, proof.program_vk, proof.outputs) == (ProofKind.FINAL, VK_BYTES, OUT_BYTES)
    assert proof.publics_full == tuple(PUBLICS_FULL)
    assert proof.proof_words == tuple(PROOF[:5])
    assert ethproofs_proof_bytes(proof, hash_tag=False) == data


@pytest.mark.parametrize(("tag", "kind"), [(1, ProofKind.FINAL), (2, ProofKind.MINIMAL),
                                           (3, ProofKind.PLONK), (4, ProofKind.FFLONK)])
def test_v016_bincode1_decodes_each_proof_variant(tag: int, kind: ProofKind) -> None:
    proof = decode_proof_file(enc.encode_v016_bincode1(tag, PROOF_BYTES, OUT_BYTES, VK_BYTES,
                                                       ptr=2**64 - 1),
                              ProofLayout.V0_16_BINCODE1)
    assert (proof.kind, proof.proof_bytes) == (kind, PROOF_BYTES)
    assert (proof.program_vk, proof.outputs, proof.zisk_vk) == (VK_BYTES, OUT_BYTES, None)


@pytest.mark.parametrize("tag", [1, 2])
def test_v016_posts_the_vadcop_payload_unchanged(tag: int) -> None:
    proof = decode_proof_file(enc.encode_v016_bincode1(tag, PROOF_BYTES, OUT_BYTES, VK_BYTES),
                              ProofLayout.V0_16_BINCODE1)
    assert ethproofs_proof_bytes(proof, hash_tag=False) == PROOF_BYTES


@pytest.mark.parametrize(("tag", "kind"), [(0, ProofKind.FINAL), (1, ProofKind.MINIMAL)])
def test_v017_a0_gives_the_byte_oriented_get_proof_bytes(tag: int, kind: ProofKind) -> None:
    proof = decode_proof_file(enc.encode_v017_a0(tag, PROOF_BYTES, OUT_BYTES, VK_BYTES, ZVK_BYTES),
                              ProofLayout.V0_17_A0)
    assert (proof.kind, proof.proof_bytes, proof.zisk_vk) == (kind, PROOF_BYTES, tuple(ZVK))
    assert ethproofs_proof_bytes(proof, hash_tag=False) == enc.ethproofs_bytes_v017(
        tag == 1, VK_BYTES, OUT_BYTES, PROOF_BYTES, ZVK_BYTES)


@pytest.mark.parametrize("minimal", [False, True])
def test_v018_a_gives_widened_output_words(minimal: bool) -> None:
    proof = decode_proof_file(enc.encode_v018_a(PROOF, ZVK, minimal, OUT_BYTES, VK),
                              ProofLayout.V0_18_A)
    assert proof.kind is (ProofKind.MINIMAL if minimal else ProofKind.FINAL)
    assert (proof.proof_words, proof.program_vk, proof.outputs) == (tuple(PROOF), VK_BYTES,
                                                                    OUT_BYTES)
    assert ethproofs_proof_bytes(proof, hash_tag=False) == enc.ethproofs_bytes_v018(
        minimal, VK, OUTPUTS, PROOF, ZVK)


def test_v1_0_b_carries_hash_family_and_mode() -> None:
    proof = decode_proof_file(valid_files()[ProofLayout.V1_0_B], ProofLayout.V1_0_B)
    assert (proof.hash_family, proof.hash_mode) == ("Poseidon2", HashMode.POSEIDON2)
    assert ethproofs_proof_bytes(proof, hash_tag=False) == enc.ethproofs_bytes_v018(
        True, VK, OUTPUTS, PROOF, ZVK)


def test_layout_c_takes_outputs_from_publics_full() -> None:
    proof = decode_proof_file(valid_files()[ProofLayout.PRE_1_1_C], ProofLayout.PRE_1_1_C)
    assert (proof.kind, proof.outputs, proof.publics_full) == (ProofKind.MINIMAL, OUT_BYTES,
                                                               tuple(PUBLICS_FULL))
    assert ethproofs_proof_bytes(proof, hash_tag=False) == enc.ethproofs_bytes_v018(
        True, VK, OUTPUTS, PROOF, ZVK)


@pytest.mark.parametrize(("kind", "name"), [(enc.KIND_FINAL, ProofKind.FINAL),
                                            (enc.KIND_RECURSER, ProofKind.RECURSER),
                                            (enc.KIND_MINIMAL, ProofKind.MINIMAL)])
def test_v1_d_decodes_each_vadcop_kind(kind: int, name: ProofKind) -> None:
    proof = decode_proof_file(d_file(kind), ProofLayout.V1_D)
    assert (proof.kind, proof.hash_family, proof.hash_mode) == (name, "Poseidon1",
                                                                HashMode.POSEIDON1)
    assert (proof.proof_words, proof.zisk_vk) == (tuple(PROOF), tuple(ZVK))
    assert (proof.program_vk, proof.outputs) == (VK_BYTES, OUT_BYTES)


@pytest.mark.parametrize("kind", [enc.KIND_FINAL, enc.KIND_RECURSER, enc.KIND_MINIMAL])
def test_v1_d_stark_publics_carry_the_flag_for_non_minimal_kinds(kind: int) -> None:
    proof = decode_proof_file(d_file(kind), ProofLayout.V1_D)
    assert ethproofs_proof_bytes(proof, hash_tag=False) == enc.ethproofs_bytes_v1_d(
        PROOF, ZVK, kind, PUBLICS_FULL)


@pytest.mark.parametrize(("hash", "mode", "tag"), [("Poseidon1", 0, 0), ("Poseidon2", 1, 1),
                                                   ("blake3", 2, 2)])
def test_v1_3_form_appends_the_hash_tag_word(hash: str, mode: int, tag: int) -> None:
    proof = decode_proof_file(d_file(enc.KIND_FINAL, hash=hash, hash_mode=mode), ProofLayout.V1_D)
    assert ethproofs_proof_bytes(proof, hash_tag=True) == enc.ethproofs_bytes_v1_d(
        PROOF, ZVK, enc.KIND_FINAL, PUBLICS_FULL, hash_tag=tag)


def test_v1_d_outputs_are_the_low_32_bits_of_the_public_words() -> None:
    wide = [*VK, *((1 << 40) * (i + 1) + o for i, o in enumerate(OUTPUTS))]
    proof = decode_proof_file(d_file(publics_full=wide), ProofLayout.V1_D)
    assert proof.outputs == OUT_BYTES
    assert proof.publics_full == tuple(wide)


def test_synthetic_1_1_alpha_fixture_has_the_documented_sizes() -> None:
    rng = random.Random(11)
    words = [rng.randrange(P) for _ in range(enc.FIXTURE_PROOF_WORDS)]
    data = enc.encode_v1_d(words, enc.FIXTURE_ZISK_VK, enc.KIND_MINIMAL, "Poseidon1",
                           PUBLICS_FULL, VK, enc.MODE_POSEIDON1)
    proof = decode_proof_file(data, ProofLayout.V1_D)
    assert proof.zisk_vk == enc.FIXTURE_ZISK_VK
    out = ethproofs_proof_bytes(proof, hash_tag=False)
    assert len(out) == 254_624
    assert len(base64.b64encode(out)) == 339_500
    assert len(ethproofs_proof_bytes(proof, hash_tag=True)) == 254_632


def test_a_kind_byte_of_1_is_recurser_in_d_and_minimal_in_c() -> None:
    c_bytes = enc.encode_c(PROOF, ZVK, True, "Poseidon1", PUBLICS_FULL, VK, 0)
    assert c_bytes == d_file(enc.KIND_RECURSER)  # the same bytes under two layouts
    as_c = decode_proof_file(c_bytes, ProofLayout.PRE_1_1_C)
    as_d = decode_proof_file(c_bytes, ProofLayout.V1_D)
    assert (as_c.kind, as_d.kind) == (ProofKind.MINIMAL, ProofKind.RECURSER)
    head = struct.unpack("<2Q", ethproofs_proof_bytes(as_d, hash_tag=False)[:16])
    assert head == (0, 69)
    assert struct.unpack("<2Q", ethproofs_proof_bytes(as_c, hash_tag=False)[:16]) == (1, 68)


def test_kind_byte_2_is_minimal_in_d_and_no_bool_in_c() -> None:
    data = d_file(enc.KIND_MINIMAL)
    assert decode_proof_file(data, ProofLayout.V1_D).kind is ProofKind.MINIMAL
    with pytest.raises(ProofFileError, match="neither 0 nor 1"):
        decode_proof_file(data, ProofLayout.PRE_1_1_C)


# --------------------------------------------------------------------------------------------
# EthProofs form refusals


def test_snark_proofs_have_no_ethproofs_stark_form() -> None:
    for tag in (3, 4):
        proof = decode_proof_file(enc.encode_v016_bincode1(tag, b"x", OUT_BYTES, VK_BYTES),
                                  ProofLayout.V0_16_BINCODE1)
        with pytest.raises(ProofFileError, match="no EthProofs STARK form"):
            ethproofs_proof_bytes(proof, hash_tag=False)


def test_the_hash_tag_is_refused_outside_layout_d() -> None:
    proof = decode_proof_file(valid_files()[ProofLayout.V1_0_B], ProofLayout.V1_0_B)
    with pytest.raises(ProofFileError, match=r"only in the 1\.3 form"):
        ethproofs_proof_bytes(proof, hash_tag=True)


def test_tagging_an_unknown_family_is_refused() -> None:
    proof = decode_proof_file(d_file(hash="Keccak"), ProofLayout.V1_D)
    assert ethproofs_proof_bytes(proof, hash_tag=False)  # untagged form needs no family
    with pytest.raises(ProofFileError, match="unknown hash family"):
        ethproofs_proof_bytes(proof, hash_tag=True)


def test_a_hand_built_proof_missing_its_words_is_refused() -> None:
    proof = ZiskProof(ProofLayout.V1_D, ProofKind.MINIMAL, VK_BYTES, OUT_BYTES)
    with pytest.raises(ProofFileError, match="without publics_full"):
        ethproofs_proof_bytes(proof, hash_tag=False)


# --------------------------------------------------------------------------------------------
# Decode errors


@pytest.mark.parametrize("layout", [lay for lay in ProofLayout if lay is not ProofLayout.V0_14_RAW])
def test_every_truncation_is_refused(layout: ProofLayout) -> None:
    data = valid_files()[layout]
    for cut in range(len(data)):
        with pytest.raises(ProofFileError):
            decode_proof_file(data[:cut], layout)


def test_raw_truncated_inside_the_publics_is_refused() -> None:
    data = valid_files()[ProofLayout.V0_14_RAW]
    for cut in range(0, 69 * 8, 8):
        with pytest.raises(ProofFileError):
            decode_proof_file(data[:cut], ProofLayout.V0_14_RAW)


@pytest.mark.parametrize("layout", list(ProofLayout))
def test_a_trailing_byte_is_refused(layout: ProofLayout) -> None:
    with pytest.raises(ProofFileError, match=r"trailing|whole number"):
        decode_proof_file(valid_files()[layout] + b"\x00", layout)


def test_raw_with_another_publics_count_is_refused() -> None:
    with pytest.raises(ProofFileError, match="declares 69 publics"):
        decode_proof_file(enc.encode_raw_v014(VK, OUTPUTS, PROOF[:5], n_publics=69),
                          ProofLayout.V0_14_RAW)


def test_raw_zstd_file_is_refused_with_a_pointer_to_the_raw_file() -> None:
    zstd_frame = b"\x28\xb5\x2f\xfd" + bytes(12)
    with pytest.raises(ProofFileError, match=r"decode the raw vadcop_final_proof\.bin"):
        decode_proof_file(zstd_frame, ProofLayout.V0_14_RAW)


def test_raw_non_canonical_public_is_refused() -> None:
    with pytest.raises(ProofFileError, match="canonical"):
        decode_proof_file(enc.encode_raw_v014([P, 0, 0, 0], OUTPUTS, []), ProofLayout.V0_14_RAW)


def test_v016_null_proof_and_unknown_tag_are_refused() -> None:
    with pytest.raises(ProofFileError, match="Null"):
        decode_proof_file(enc.encode_v016_bincode1(0, b"", OUT_BYTES, VK_BYTES),
                          ProofLayout.V0_16_BINCODE1)
    with pytest.raises(ProofFileError, match="unknown variant 5"):
        decode_proof_file(enc.encode_v016_bincode1(5, b"", OUT_BYTES, VK_BYTES),
                          ProofLayout.V0_16_BINCODE1)


@pytest.mark.parametrize(("publics", "vk", "match"), [
    (OUT_BYTES[:-1], VK_BYTES, "publics bytes has 255"),
    (OUT_BYTES, VK_BYTES[:-8], "program_vk bytes has 24"),
    (OUT_BYTES, enc.le_words([0, P, 0, 0]), "canonical"),
])
def test_v016_wrong_lengths_and_words_are_refused(publics: bytes, vk: bytes, match: str) -> None:
    with pytest.raises(ProofFileError, match=match):
        decode_proof_file(enc.encode_v016_bincode1(1, b"p", publics, vk),
                          ProofLayout.V0_16_BINCODE1)


def test_bincode1_length_beyond_the_buffer_is_refused() -> None:
    data = struct.pack("<IQ", 1, 2**63) + bytes(40)
    with pytest.raises(ProofFileError, match="exceeds the 40 bytes left"):
        decode_proof_file(data, ProofLayout.V0_16_BINCODE1)


def test_v017_unknown_kind_and_short_zisk_vk_are_refused() -> None:
    with pytest.raises(ProofFileError, match="unknown variant 3"):
        decode_proof_file(enc.encode_v017_a0(3, b"", OUT_BYTES, VK_BYTES, ZVK_BYTES),
                          ProofLayout.V0_17_A0)
    with pytest.raises(ProofFileError, match="zisk_vk bytes has 31"):
        decode_proof_file(enc.encode_v017_a0(0, b"", OUT_BYTES, VK_BYTES, ZVK_BYTES[:31]),
                          ProofLayout.V0_17_A0)


def test_v018_bool_other_than_0_or_1_is_refused() -> None:
    data = (enc.varint(0) + enc.b2_u64s(PROOF) + enc.b2_u64s(ZVK) + b"\x02"
            + enc.b2_bytes(OUT_BYTES) + enc.b2_u64s(VK))
    with pytest.raises(ProofFileError, match="bool byte 2"):
        decode_proof_file(data, ProofLayout.V0_18_A)


@pytest.mark.parametrize(("layout", "data"), [
    (ProofLayout.V0_18_A, enc.encode_v018_a(PROOF, ZVK, False, OUT_BYTES[:252], VK)),
    (ProofLayout.V0_18_A, enc.encode_v018_a(PROOF, ZVK[:3], False, OUT_BYTES, VK)),
    (ProofLayout.V0_18_A, enc.encode_v018_a(PROOF, ZVK, False, OUT_BYTES, VK[:3])),
    (ProofLayout.V0_18_A, enc.encode_v018_a(PROOF, ZVK, False, OUT_BYTES, [*VK, 0])),
    (ProofLayout.V1_D, d_file(zisk_vk=[*ZVK, 1])),
    (ProofLayout.V1_D, d_file(publics_full=PUBLICS_FULL[:67])),
    (ProofLayout.V1_D, d_file(publics_full=[*PUBLICS_FULL, 0])),
    (ProofLayout.V1_D, d_file(program_vk=VK[:3])),
])
def test_wrong_vector_lengths_are_refused(layout: ProofLayout, data: bytes) -> None:
    with pytest.raises(ProofFileError, match=r"has \d+ entries, not"):
        decode_proof_file(data, layout)


def test_v018_non_canonical_program_vk_is_refused() -> None:
    data = enc.encode_v018_a(PROOF, ZVK, False, OUT_BYTES, [0, 0, 0, P])
    with pytest.raises(ProofFileError, match=r"program_vk\[3\].*canonical"):
        decode_proof_file(data, ProofLayout.V0_18_A)


def test_v1_d_public_word_p_is_refused_and_p_minus_1_accepted() -> None:
    edge = [*VK, P - 1, *OUTPUTS[1:]]
    decoded = decode_proof_file(d_file(publics_full=edge), ProofLayout.V1_D)
    assert decoded.publics_full == tuple(edge)
    with pytest.raises(ProofFileError, match=r"publics_full\[4\].*canonical"):
        decode_proof_file(d_file(publics_full=[*VK, P, *OUTPUTS[1:]]), ProofLayout.V1_D)


def test_v1_d_publics_not_starting_with_the_program_vk_are_refused() -> None:
    with pytest.raises(ProofFileError, match="differ from program_vk"):
        decode_proof_file(d_file(program_vk=[VK[0], VK[1], VK[2], 1]), ProofLayout.V1_D)


@pytest.mark.parametrize(("over", "match"), [
    ({"kind": 3}, "VadcopKind: unknown variant 3"),
    ({"hash_mode": 3}, "hash_mode: unknown variant 3"),
])
def test_v1_d_unknown_enum_variants_are_refused(over: dict[str, int], match: str) -> None:
    with pytest.raises(ProofFileError, match=match):
        decode_proof_file(d_file(**over), ProofLayout.V1_D)


def test_blake3_hash_mode_is_not_in_layout_b() -> None:
    data = enc.encode_v1_0_b(PROOF, ZVK, True, "blake3", OUT_BYTES, VK, enc.MODE_BLAKE3)
    with pytest.raises(ProofFileError, match="hash_mode: unknown variant 2"):
        decode_proof_file(data, ProofLayout.V1_0_B)


@pytest.mark.parametrize("layout", [ProofLayout.V0_18_A, ProofLayout.V1_D])
def test_body_variants_plonk_and_beyond_are_refused(layout: ProofLayout) -> None:
    with pytest.raises(ProofFileError, match="Plonk is not supported"):
        decode_proof_file(enc.varint(1) + bytes(50), layout)
    with pytest.raises(ProofFileError, match="ProofBody: unknown variant 2"):
        decode_proof_file(enc.varint(2) + bytes(50), layout)


def test_varint_overflow_and_marker_255_are_refused() -> None:
    over_u64 = b"\xfe" + (2**64).to_bytes(16, "little")
    with pytest.raises(ProofFileError, match="overflows"):
        decode_proof_file(enc.varint(0) + enc.varint(1) + over_u64 + bytes(30), ProofLayout.V1_D)
    with pytest.raises(ProofFileError, match="marker 255"):
        decode_proof_file(enc.varint(0) + b"\xff" + bytes(30), ProofLayout.V1_D)
    with pytest.raises(ProofFileError, match="overflows"):  # variant index is a u32
        decode_proof_file(enc.varint(2**32) + bytes(30), ProofLayout.V1_D)


def test_a_declared_length_beyond_the_buffer_is_refused_before_reading() -> None:
    data = enc.varint(0) + enc.varint(2**62) + bytes(16)
    with pytest.raises(ProofFileError, match="exceeds the 16 bytes left"):
        decode_proof_file(data, ProofLayout.V1_D)


def test_a_non_utf8_hash_is_refused() -> None:
    with pytest.raises(ProofFileError, match="not UTF-8"):
        decode_proof_file(d_file(hash="Poseidon1").replace(b"Poseidon1", b"Poseidon\xff"),
                          ProofLayout.V1_D)


def test_a_non_minimal_varint_decodes_to_its_value() -> None:
    data = d_file()
    widened = data.replace(enc.b2_u64s(ZVK), b"\xfb\x04\x00" + enc.b2_u64s(ZVK)[1:], 1)
    assert decode_proof_file(widened, ProofLayout.V1_D).zisk_vk == tuple(ZVK)


# --------------------------------------------------------------------------------------------
# Checks


def test_program_vk_check() -> None:
    proof = decode_proof_file(d_file(), ProofLayout.V1_D)
    check_program_vk(proof, VK_BYTES)
    check_program_vk(proof, None)
    with pytest.raises(ProgramKeyMismatch):
        check_program_vk(proof, enc.le_words([VK[0], VK[1], VK[2], 0]))
    with pytest.raises(ProgramKeyMismatch, match="not 32"):
        check_program_vk(proof, VK_BYTES[:31])


def test_proof_id_is_the_blake3_hex_of_the_raw_proof() -> None:
    # blake3("") from the BLAKE3 reference test vectors
    check_proof_id(b"", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
    check_proof_id(b"", "AF1349B9F5F9A1A6A0404DEA36DCC9499BCB25C9ADC112B7CC9A93CAE41F3262\n")
    raw = valid_files()[ProofLayout.V0_14_RAW]
    check_proof_id(raw, blake3.blake3(raw).hexdigest())
    with pytest.raises(ProofIdMismatch):
        check_proof_id(raw + b"\x00", blake3.blake3(raw).hexdigest())
    with pytest.raises(ProofFileError):
        check_proof_id(raw, "not hex")


# --------------------------------------------------------------------------------------------
# Fuzz: only ProofFileError escapes, on any input


def _decode_or_refuse(data: bytes, layout: ProofLayout) -> None:
    try:
        proof = decode_proof_file(data, layout)
    except ProofFileError:
        return
    for tag in (False, True):
        with contextlib.suppress(ProofFileError):
            ethproofs_proof_bytes(proof, hash_tag=tag)


_FUZZ = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(layout=st.sampled_from(list(ProofLayout)), data=st.binary(max_size=600))
def test_random_bytes_raise_only_proof_file_errors(layout: ProofLayout, data: bytes) -> None:
    _decode_or_refuse(data, layout)


@_FUZZ
@given(layout=st.sampled_from(list(ProofLayout)),
       edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255),
                                st.sampled_from(["set", "insert", "delete"])),
                      min_size=1, max_size=6))
def test_mutated_files_raise_only_proof_file_errors(
        layout: ProofLayout, edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(valid_files()[layout])
    for pos, value, op in edits:
        i = pos % (len(data) + 1)
        if op == "insert":
            data.insert(i, value)
        elif data and op == "set":
            data[i % len(data)] = value
        elif data:
            del data[i % len(data)]
    _decode_or_refuse(bytes(data), layout)
