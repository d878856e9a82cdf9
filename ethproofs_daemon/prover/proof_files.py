"""Every ZisK proof file the daemon can meet, decoded, and the bytes EthProofs' ZisK verifier takes.

Pure: no I/O. The formats, by release (the layout must be pinned to the ZisK version that wrote the
file: the same bytes can decode under two layouts with different meanings, see ``V1_D``):

- ``V0_14_RAW`` (0.14, 0.15): ``vadcop_final_proof.bin`` is raw little-endian u64 words
  ``[n_publics = 68][rom_root ×4][64 outputs][stage roots][evals][FRI queries …]``
  (``0xPolygonHermez/zisk@v0.14.0:sdk/src/prover/backend.rs`` ``prove()``; verifier
  ``0xPolygonHermez/pil2-proofman@v0.14.0:verifier/src/verifier.rs`` ``stark_verify``; publics from
  ``zisk@v0.14.0:pil/src/pil_helpers/traces.rs`` ``ZiskPublicValues{rom_root: [F; 4],
  inputs: [F; 64]}``). The zstd ``vadcop_final_proof.compressed.bin`` is **not** decoded (no zstd
  library here); decode the raw file instead.
- ``V0_16_BINCODE1`` (0.16): bincode 1 of ``ZiskProofWithPublicValues{proof: ZiskProof,
  publics: ZiskPublics{data: Vec<u8>, ptr: usize}, program_vk: ZiskProgramVK{vk: Vec<u8>}}``,
  ``ZiskProof`` = u32 tag 0 ``Null``, 1 ``VadcopFinal``, 2 ``VadcopFinalCompressed``, 3 ``Plonk``,
  4 ``Fflonk``, each but ``Null`` carrying a ``Vec<u8>``
  (``zisk@48cf7ccef:sdk/src/prover/mod.rs:266, :420, :571–590``).
- ``V0_17_A0`` (0.17.0): bincode 1 of ``Proof{proof_kind: u32 (0 VadcopFinal, 1 VadcopFinalMinimal,
  2 Plonk), proof_bytes: Vec<u8>, publics: PublicValues{data: Vec<u8>}, program_vk:
  ProgramVK{vk: Vec<u8>}, zisk_vk: Vec<u8>}`` (``zisk@b63274507:common/src/proof.rs:326, :469``).
- ``V0_18_A`` (0.18.0): bincode 2 ``config::standard()`` of ``Proof{body: ProofBody{0: Vadcop{proof:
  Vec<u64>, zisk_vk: Vec<u64>, minimal: bool}, 1: Plonk{…}}, publics: PublicValues{data: Vec<u8>},
  program_vk: ProgramVK{vk: Vec<u64>}}`` (``zisk@790f9e28a:common/src/proof.rs:329–350``).
- ``V1_0_B`` (branch ``pre-develop-1.0.0-beta``): as A, ``Vadcop`` adds ``hash: String`` after
  ``minimal``, ``ProgramVK`` adds ``hash_mode: HashMode{0 Poseidon1, 1 Poseidon2}``
  (``zisk@c603fe8fd:common/src/proof.rs:345–366``).
- ``PRE_1_1_C`` (an index version between B and D; release unknown): no ``publics`` field;
  ``Vadcop{proof, zisk_vk, minimal: bool, hash: String, publics_full: Vec<u64>}``
  (``zisk@0848aba0:common/src/proof.rs``).
- ``V1_D`` (1.1.0-alpha … 1.3.x): ``Proof{body: ProofBody{0: Vadcop{proof: Vec<u64>, zisk_vk:
  Vec<u64>, kind: VadcopKind{0 Final, 1 Recurser, 2 Minimal}, hash: String, publics_full:
  Vec<u64>}, 1: Plonk{…}}, program_vk: ProgramVK{vk: Vec<u64>, hash_mode: HashMode{0 Poseidon1,
  1 Poseidon2, 2 Blake3}}}`` (``eth-act/ere@8961a4e:crates/cluster-client/zisk/src/client.rs``
  ``parse_proof``; confirmed by decoding the 1.1.0-alpha coordinator reply
  ``han0110/provoor@412e2ff:pkg/cluster/zisk/testdata/cluster-envelope.bin``). The byte after
  ``zisk_vk`` is a ``VadcopKind`` here and a ``bool`` in B/C: a 1 means Recurser in D, minimal in
  B/C.

bincode 2 ``standard()`` rules: unsigned integers, lengths and variant indices are varints (< 251:
one byte; 251/252/253 + 2/4/8 bytes LE); ``bool`` one byte 0/1; ``Vec``/``String`` a varint length
then the elements (``u64`` elements as varints, ``u8`` raw); structs are their fields in order.
Non-minimal varints (e.g. ``251, 5, 0``) are accepted: the values, not their encoding, matter.
bincode 1 (``bincode::serialize``): fixed-width LE integers, u64 lengths, u32 variant tags.

The ``Plonk`` variants of the bincode-2 layouts carry a ``PlonkVkBlob`` whose encoding is not
documented; they are refused. Every length is checked against the bytes left before anything is
read or allocated, so a hostile file costs at most one pass over its own bytes.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import blake3

#: The Goldilocks prime p = 2^64 − 2^32 + 1: every public word must be below it.
GOLDILOCKS_P: Final = 2**64 - 2**32 + 1
#: Public words of a STARK proof: program VK (rom_root) ×4, then 64 guest output slots.
N_PUBLICS: Final = 68
PROGRAM_VK_WORDS: Final = 4
ZISK_VK_WORDS: Final = 4
OUTPUT_SLOTS: Final = 64
#: ``program_vk`` as bytes: 4 LE u64.
PROGRAM_VK_BYTES: Final = 8 * PROGRAM_VK_WORDS
#: The guest outputs as bytes: 64 LE u32.
OUTPUTS_BYTES: Final = 4 * OUTPUT_SLOTS
_ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
_U64_MAX: Final = 2**64 - 1
_U32_MAX: Final = 2**32 - 1
_T = TypeVar("_T")


class ProofFileError(ValueError):
    """A proof file that does not decode under the layout asked for, or a proof that cannot take
    the form asked for. The message says what and where (byte offset)."""


class ProgramKeyMismatch(ProofFileError):
    """The proof's program VK is not the one expected for the guest ELF."""


class ProofIdMismatch(ProofFileError):
    """The proof id (``result.json`` ``id``) is not the blake3 of the proof file."""


class ProofLayout(enum.StrEnum):
    """The encoding of a proof file (module docstring gives each one's source)."""

    V0_14_RAW = "v0_14_raw"
    V0_16_BINCODE1 = "v0_16_bincode1"
    V0_17_A0 = "v0_17_a0"
    V0_18_A = "v0_18_a"
    V1_0_B = "v1_0_b"
    PRE_1_1_C = "pre_1_1_c"
    V1_D = "v1_d"


class ProofKind(enum.StrEnum):
    """What the proof is: the vadcop final STARK, its minimal (compressed) stage, a recursion
    proof (D only), or a SNARK wrap (PLONK; FFLONK in 0.16 only)."""

    FINAL = "final"
    MINIMAL = "minimal"
    RECURSER = "recurser"
    PLONK = "plonk"
    FFLONK = "fflonk"


class HashMode(enum.StrEnum):
    """``ProgramVK.hash_mode`` (B, C, D): the hash family of the program's setup
    (``zisk@425a8808:common/src/hash_mode.rs``; ``Blake3`` absent in B)."""

    POSEIDON1 = "Poseidon1"
    POSEIDON2 = "Poseidon2"
    BLAKE3 = "Blake3"


_HASH_MODES: Final = (HashMode.POSEIDON1, HashMode.POSEIDON2, HashMode.BLAKE3)
#: ``HASH_TAGS`` (``zisk@0d1d18fb:verifier/src/verifier.rs`` ``hash_tag``), append-only.
_HASH_TAGS: Final = {"poseidon1": 0, "poseidon2": 1, "blake3": 2}


@dataclass(frozen=True, slots=True)
class ZiskProof:
    """One decoded proof file.

    Attributes:
        layout: the layout it was decoded under.
        kind: FINAL, MINIMAL, RECURSER (D only), PLONK or FFLONK (0.16 only).
        program_vk: 32 bytes, the program VK (rom_root) as 4 LE u64 words.
        outputs: 256 bytes, the 64 guest output slots as LE u32. For RAW, C and D they are the
            low 32 bits of ``publics_full[4:68]`` (``PublicValues::new_from_u64``).
        publics_full: the 68 public words ``[program_vk ×4][64 outputs]`` at full u64 width
            (RAW, C, D); None where the file has only the 256 output bytes.
        proof_words: the STARK proof words (A, B, C, D: ``proof``; RAW: the words after the
            publics); None for the byte-oriented layouts.
        proof_bytes: the proof as bytes (0.16: the ``ZiskProof`` payload; A0: ``proof_bytes``);
            None for the word layouts.
        zisk_vk: the 4 aggregation verkey words (A0 and later); None for RAW and 0.16.
        hash_family: the body's ``hash`` text (B, C, D), e.g. ``"Poseidon1"``; else None.
        hash_mode: ``ProgramVK.hash_mode`` (B, C, D); else None.
    """

    layout: ProofLayout
    kind: ProofKind
    program_vk: bytes
    outputs: bytes
    publics_full: tuple[int, ...] | None = None
    proof_words: tuple[int, ...] | None = None
    proof_bytes: bytes | None = None
    zisk_vk: tuple[int, ...] | None = None
    hash_family: str | None = None
    hash_mode: HashMode | None = None


def layout_for_release(major: int, minor: int) -> ProofLayout:
    """The proof-file layout that ZisK release ``major.minor`` writes.

    0.14/0.15 → ``V0_14_RAW``; 0.16 → ``V0_16_BINCODE1``; 0.17 → ``V0_17_A0``; 0.18 → ``V0_18_A``;
    1.0 → ``V1_0_B`` (no 1.0 tag was read: the ``pre-develop-1.0.0-beta`` tree is the closest,
    unconfirmed); 1.1, 1.2, 1.3 → ``V1_D``.

    Raises:
        ProofFileError: any other release (before 0.14, 0.19–0.x, 1.4 and later: nothing is
            known of their layout, and a wrong guess decodes into wrong meanings).
    """
    if major == 0 and minor in (14, 15):
        return ProofLayout.V0_14_RAW
    if major == 0 and minor == 16:
        return ProofLayout.V0_16_BINCODE1
    if major == 0 and minor == 17:
        return ProofLayout.V0_17_A0
    if major == 0 and minor == 18:
        return ProofLayout.V0_18_A
    if major == 1 and minor == 0:
        return ProofLayout.V1_0_B
    if major == 1 and minor in (1, 2, 3):
        return ProofLayout.V1_D
    raise ProofFileError(f"no known proof layout for ZisK {major}.{minor}")


def hash_tag_of(family: str) -> int:
    """The hash tag word the 1.3 ``get_proof_u64`` appends: Poseidon1 → 0, Poseidon2 → 1,
    blake3 → 2 (``zisk@0d1d18fb:verifier/src/verifier.rs`` ``HASH_TAGS``; names compared without
    regard to case, so ``HashMode.BLAKE3`` = ``"Blake3"`` works).

    Raises:
        ProofFileError: an unknown family.
    """
    try:
        return _HASH_TAGS[family.lower()]
    except KeyError:
        raise ProofFileError(f"unknown hash family {family!r}") from None


# --------------------------------------------------------------------------------------------
# Readers


class _Reader:
    """A cursor over ``data``; every read checks the bytes left first."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, what: str) -> ProofFileError:
        return ProofFileError(f"{what} (at byte {self.pos} of {len(self.data)})")

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, what: str) -> bytes:
        if n > self.left():
            raise self.fail(f"truncated: {what} needs {n} bytes, {self.left()} left")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def le(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "little")

    def end(self) -> None:
        if self.left():
            raise self.fail(f"{self.left()} trailing bytes after the proof")

    # bincode 1 (fixint)

    def b1_len(self, elem_size: int, what: str) -> int:
        n = self.le(8, f"{what} length")
        if n * elem_size > self.left():
            raise self.fail(f"{what} length {n} exceeds the {self.left()} bytes left")
        return n

    def b1_bytes(self, what: str) -> bytes:
        return self.take(self.b1_len(1, what), what)

    # bincode 2 (standard: varint)

    def varint(self, what: str, limit: int = _U64_MAX) -> int:
        marker = self.u8(what)
        if marker < 251:
            value = marker
        elif marker == 251:
            value = self.le(2, what)
        elif marker == 252:
            value = self.le(4, what)
        elif marker == 253:
            value = self.le(8, what)
        elif marker == 254:
            value = self.le(16, what)
        else:
            raise self.fail(f"{what}: invalid varint marker 255")
        if value > limit:
            raise self.fail(f"{what}: varint {value} overflows its type (max {limit})")
        return value

    def b2_len(self, what: str) -> int:
        n = self.varint(f"{what} length")
        if n > self.left():  # every element takes at least one byte
            raise self.fail(f"{what} length {n} exceeds the {self.left()} bytes left")
        return n

    def b2_u64s(self, what: str) -> tuple[int, ...]:
        n = self.b2_len(what)
        return tuple(self.varint(what) for _ in range(n))

    def b2_bytes(self, what: str) -> bytes:
        return self.take(self.b2_len(what), what)

    def b2_str(self, what: str) -> str:
        raw = self.b2_bytes(what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{what} is not UTF-8") from None

    def b2_bool(self, what: str) -> bool:
        b = self.u8(what)
        if b > 1:
            raise self.fail(f"{what}: bool byte {b} is neither 0 nor 1")
        return b == 1

    def b2_tag(self, what: str, count: int) -> int:
        tag = self.varint(what, _U32_MAX)
        if tag >= count:
            raise self.fail(f"{what}: unknown variant {tag}")
        return tag


# --------------------------------------------------------------------------------------------
# Checks shared by the layouts


def _words_of(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(data) // 8}Q", data)


def _bytes_of(words: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(words)}Q", *words)


def _canonical(words: tuple[int, ...], what: str) -> None:
    for i, w in enumerate(words):
        if w >= GOLDILOCKS_P:
            raise ProofFileError(f"{what}[{i}] = {w} is not a canonical Goldilocks element (>= p)")


def _exact(count: int, want: int, what: str) -> None:
    if count != want:
        raise ProofFileError(f"{what} has {count} entries, not {want}")


def _vk_from_words(vk: tuple[int, ...]) -> bytes:
    _exact(len(vk), PROGRAM_VK_WORDS, "program_vk")
    _canonical(vk, "program_vk")
    return _bytes_of(vk)


def _vk_from_bytes(vk: bytes) -> bytes:
    _exact(len(vk), PROGRAM_VK_BYTES, "program_vk bytes")
    _canonical(_words_of(vk), "program_vk")
    return vk


def _zisk_vk(vk: tuple[int, ...]) -> tuple[int, ...]:
    _exact(len(vk), ZISK_VK_WORDS, "zisk_vk")
    return vk


def _outputs(data: bytes) -> bytes:
    _exact(len(data), OUTPUTS_BYTES, "publics bytes")
    return data


def _from_publics_full(publics: tuple[int, ...], vk: tuple[int, ...] | None) -> tuple[bytes, bytes]:
    """``(program_vk, outputs)`` from 68 public words; ``vk`` (the copy outside the body) must equal
    the first 4. Outputs: each of ``publics[4:68]`` reduced mod p, low 32 bits, as LE u32
    (``PublicValues::new_from_u64``; ``eth-act/ere@8961a4e:crates/verifier/zisk/src/proof.rs``)."""
    _exact(len(publics), N_PUBLICS, "publics_full")
    _canonical(publics, "publics_full")
    head = publics[:PROGRAM_VK_WORDS]
    if vk is not None and tuple(vk) != head:
        raise ProofFileError(f"publics_full[0:4] {list(head)} differ from program_vk {list(vk)}")
    outs = [(w % GOLDILOCKS_P) & _U32_MAX for w in publics[PROGRAM_VK_WORDS:]]
    return _bytes_of(head), struct.pack(f"<{OUTPUT_SLOTS}I", *outs)


# --------------------------------------------------------------------------------------------
# Decoders per layout


def _decode_raw(data: bytes) -> ZiskProof:
    if data[:4] == _ZSTD_MAGIC:
        raise ProofFileError("zstd-compressed proof (vadcop_final_proof.compressed.bin): "
                             "decode the raw vadcop_final_proof.bin instead")
    if len(data) % 8:
        raise ProofFileError(f"raw proof is {len(data)} bytes, not a whole number of u64 words")
    words = _words_of(data)
    if not words:
        raise ProofFileError("truncated: empty raw proof")
    n = words[0]
    if n != N_PUBLICS:
        raise ProofFileError(f"raw proof declares {n} publics, not {N_PUBLICS}")
    if len(words) < 1 + N_PUBLICS:
        raise ProofFileError(f"truncated: raw proof has {len(words)} words, publics need "
                             f"{1 + N_PUBLICS}")
    publics = words[1 : 1 + N_PUBLICS]
    vk, outs = _from_publics_full(publics, None)
    return ZiskProof(ProofLayout.V0_14_RAW, ProofKind.FINAL, vk, outs, publics_full=publics,
                     proof_words=words[1 + N_PUBLICS :])


_V016_KINDS: Final = (None, ProofKind.FINAL, ProofKind.MINIMAL, ProofKind.PLONK, ProofKind.FFLONK)


def _decode_v016(data: bytes) -> ZiskProof:
    r = _Reader(data)
    tag = r.le(4, "ZiskProof tag")
    if tag >= len(_V016_KINDS):
        raise r.fail(f"ZiskProof: unknown variant {tag}")
    kind = _V016_KINDS[tag]
    if kind is None:
        raise r.fail("ZiskProof is Null: the file holds no proof")
    proof = r.b1_bytes("ZiskProof payload")
    outs = _outputs(r.b1_bytes("publics.data"))
    r.le(8, "publics.ptr")  # a read cursor serialized as usize; any value
    vk = _vk_from_bytes(r.b1_bytes("program_vk.vk"))
    r.end()
    return ZiskProof(ProofLayout.V0_16_BINCODE1, kind, vk, outs, proof_bytes=proof)


_A0_KINDS: Final = (ProofKind.FINAL, ProofKind.MINIMAL, ProofKind.PLONK)


def _decode_a0(data: bytes) -> ZiskProof:
    r = _Reader(data)
    tag = r.le(4, "proof_kind")
    if tag >= len(_A0_KINDS):
        raise r.fail(f"proof_kind: unknown variant {tag}")
    proof = r.b1_bytes("proof_bytes")
    outs = _outputs(r.b1_bytes("publics.data"))
    vk = _vk_from_bytes(r.b1_bytes("program_vk.vk"))
    zisk_vk = r.b1_bytes("zisk_vk")
    r.end()
    _exact(len(zisk_vk), 8 * ZISK_VK_WORDS, "zisk_vk bytes")
    return ZiskProof(ProofLayout.V0_17_A0, _A0_KINDS[tag], vk, outs, proof_bytes=proof,
                     zisk_vk=_words_of(zisk_vk))


def _vadcop_head(r: _Reader) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``ProofBody`` tag (Vadcop only), ``proof`` and ``zisk_vk``."""
    if r.b2_tag("ProofBody", 2) == 1:
        raise r.fail("ProofBody::Plonk is not supported (PlonkVkBlob layout undocumented)")
    proof = r.b2_u64s("proof")
    return proof, _zisk_vk(r.b2_u64s("zisk_vk"))


def _minimal_kind(r: _Reader) -> ProofKind:
    return ProofKind.MINIMAL if r.b2_bool("minimal") else ProofKind.FINAL


def _hash_mode(r: _Reader, count: int) -> HashMode:
    return _HASH_MODES[r.b2_tag("hash_mode", count)]


def _decode_a(data: bytes) -> ZiskProof:
    r = _Reader(data)
    proof, zisk_vk = _vadcop_head(r)
    kind = _minimal_kind(r)
    outs = _outputs(r.b2_bytes("publics.data"))
    vk = _vk_from_words(r.b2_u64s("program_vk.vk"))
    r.end()
    return ZiskProof(ProofLayout.V0_18_A, kind, vk, outs, proof_words=proof, zisk_vk=zisk_vk)


def _decode_b(data: bytes) -> ZiskProof:
    r = _Reader(data)
    proof, zisk_vk = _vadcop_head(r)
    kind = _minimal_kind(r)
    family = r.b2_str("hash")
    outs = _outputs(r.b2_bytes("publics.data"))
    vk = _vk_from_words(r.b2_u64s("program_vk.vk"))
    mode = _hash_mode(r, 2)
    r.end()
    return ZiskProof(ProofLayout.V1_0_B, kind, vk, outs, proof_words=proof, zisk_vk=zisk_vk,
                     hash_family=family, hash_mode=mode)


_D_KINDS: Final = (ProofKind.FINAL, ProofKind.RECURSER, ProofKind.MINIMAL)


def _decode_c_or_d(data: bytes, layout: ProofLayout) -> ZiskProof:
    r = _Reader(data)
    proof, zisk_vk = _vadcop_head(r)
    if layout is ProofLayout.V1_D:
        kind = _D_KINDS[r.b2_tag("VadcopKind", len(_D_KINDS))]
    else:
        kind = _minimal_kind(r)
    family = r.b2_str("hash")
    publics = r.b2_u64s("publics_full")
    raw_vk = r.b2_u64s("program_vk.vk")
    mode = _hash_mode(r, 3)
    r.end()
    _vk_from_words(raw_vk)
    vk, outs = _from_publics_full(publics, raw_vk)
    return ZiskProof(layout, kind, vk, outs, publics_full=publics, proof_words=proof,
                     zisk_vk=zisk_vk, hash_family=family, hash_mode=mode)


_DECODERS: Final[dict[ProofLayout, Callable[[bytes], ZiskProof]]] = {
    ProofLayout.V0_14_RAW: _decode_raw,
    ProofLayout.V0_16_BINCODE1: _decode_v016,
    ProofLayout.V0_17_A0: _decode_a0,
    ProofLayout.V0_18_A: _decode_a,
    ProofLayout.V1_0_B: _decode_b,
    ProofLayout.PRE_1_1_C: lambda data: _decode_c_or_d(data, ProofLayout.PRE_1_1_C),
    ProofLayout.V1_D: lambda data: _decode_c_or_d(data, ProofLayout.V1_D),
}


def decode_proof_file(data: bytes, layout: ProofLayout) -> ZiskProof:
    """Decode one proof file (or coordinator ``proof.data``) written under ``layout``.

    The whole buffer must be consumed. Checks, beyond the structure: ``program_vk`` is 4 words /
    32 bytes, ``zisk_vk`` 4 words / 32 bytes, ``publics`` 256 bytes, ``publics_full`` 68 words whose
    first 4 equal ``program_vk``, and every program-VK and public word below the Goldilocks prime
    (the verifier and ``Proof::load`` refuse non-canonical words,
    ``zisk@0d1d18fb:verifier/src/verifier.rs``). Proof words are not checked (the STARK verifier
    does). RAW: the publics count must be 68 (derived from the v0.14 PIL, unconfirmed by a run).

    Raises:
        ProofFileError: truncation, trailing bytes, an unknown enum variant (``Null`` in 0.16 and
            ``Plonk`` in the bincode-2 layouts included), a bool byte other than 0/1, a varint
            overflowing its type or with marker 255, a length beyond the bytes left, a wrong
            length, a non-canonical word, non-UTF-8 ``hash``, or a zstd file for RAW.
    """
    return _DECODERS[layout](data)


# --------------------------------------------------------------------------------------------
# EthProofs form


def _need(value: _T | None, what: str, layout: ProofLayout) -> _T:
    if value is None:
        raise ProofFileError(f"a {layout} proof without {what}")
    return value


def _d_words(proof: ZiskProof, hash_tag: bool) -> bytes:
    publics_full = _need(proof.publics_full, "publics_full", proof.layout)
    words = _need(proof.proof_words, "proof words", proof.layout)
    zisk_vk = _need(proof.zisk_vk, "zisk_vk", proof.layout)
    if proof.kind is ProofKind.MINIMAL:
        stark_publics: tuple[int, ...] = publics_full
    elif proof.kind is ProofKind.FINAL:
        stark_publics = (1, *publics_full)
    else:
        stark_publics = (0, *publics_full)
    out = [int(proof.kind is ProofKind.MINIMAL), len(stark_publics), *stark_publics, *words,
           *zisk_vk]
    if hash_tag:
        if proof.hash_family is None:
            raise ProofFileError("no hash family to tag")
        out.append(hash_tag_of(proof.hash_family))
    return _bytes_of(out)


def ethproofs_proof_bytes(proof: ZiskProof, *, hash_tag: bool) -> bytes:
    """The bytes to base64 into EthProofs' ``proof`` field: ``Proof::get_proof_u64()`` flattened
    LE, the form ``ethproofs/zisk-wasm-stark-verifier`` verifies, or its forerunner per layout.

    - ``V1_D``: words ``[minimal 0/1][n_publics][stark_publics][proof …][zisk_vk ×4]``, plus
      ``[hash_tag_of(hash)]`` when ``hash_tag`` (1.3 form, wasm verifier ≥ 0.4.0; 1.1/1.2 and
      verifier 0.3.x take it without). ``stark_publics`` = ``publics_full`` (68) for Minimal,
      ``[1] + publics_full`` for Final, ``[0] + publics_full`` for Recurser
      (``zisk`` index versions of ``common/src/proof.rs`` ``get_proof_u64``). The tag is chosen
      by the EthProofs verifier in use, never by the server.
    - ``V0_18_A``, ``V1_0_B``, ``PRE_1_1_C``: ``[minimal][68][program_vk ×4][64 outputs, u32
      widened to u64][proof …][zisk_vk ×4]`` (``zisk@790f9e28a:common/src/proof.rs:529``).
    - ``V0_17_A0``: the byte-oriented ``get_proof_bytes``: ``[minimal u64][68 u64][program_vk
      32 B][publics 256 B][proof_bytes][zisk_vk 32 B]``
      (``zisk@b63274507:common/src/proof.rs:499``).
    - ``V0_16_BINCODE1``: the ``VadcopFinal``/``VadcopFinalCompressed`` payload as it is, the raw
      u64 LE vadcop-final proof that ``0xPolygonHermez/zisk-ethproofs`` (v0.16) posted uncompressed.
    - ``V0_14_RAW``: the raw ``vadcop_final_proof.bin`` bytes (``lambdaclass/ethrex-ethproofs``
      posted the zstd copy of the same bytes, then the raw file for v0.15).

    Which EthProofs verifier version accepts the 0.14–0.18 forms is **unconfirmed**; only the
    D forms are what the current wasm verifier documents.

    Raises:
        ProofFileError: a PLONK/FFLONK proof (EthProofs verifies STARKs); ``hash_tag`` asked for a
            layout other than D; an unknown hash family when tagging.
    """
    if proof.kind in (ProofKind.PLONK, ProofKind.FFLONK):
        raise ProofFileError(f"a {proof.kind} proof has no EthProofs STARK form")
    if hash_tag and proof.layout is not ProofLayout.V1_D:
        raise ProofFileError(f"the hash tag word exists only in the 1.3 form, not {proof.layout}")
    minimal = int(proof.kind is ProofKind.MINIMAL)
    layout = proof.layout
    if layout is ProofLayout.V1_D:
        return _d_words(proof, hash_tag)
    if layout in (ProofLayout.V0_18_A, ProofLayout.V1_0_B, ProofLayout.PRE_1_1_C):
        words = _need(proof.proof_words, "proof words", layout)
        zisk_vk = _need(proof.zisk_vk, "zisk_vk", layout)
        outs = struct.unpack(f"<{OUTPUT_SLOTS}I", proof.outputs)
        head = (minimal, N_PUBLICS, *_words_of(proof.program_vk), *outs)
        return _bytes_of((*head, *words, *zisk_vk))
    if layout is ProofLayout.V0_17_A0:
        zisk_vk = _need(proof.zisk_vk, "zisk_vk", layout)
        return b"".join((_bytes_of((minimal, N_PUBLICS)), proof.program_vk, proof.outputs,
                         _need(proof.proof_bytes, "proof bytes", layout), _bytes_of(zisk_vk)))
    if layout is ProofLayout.V0_16_BINCODE1:
        return _need(proof.proof_bytes, "proof bytes", layout)
    publics_full = _need(proof.publics_full, "publics_full", layout)
    words = _need(proof.proof_words, "proof words", layout)
    return _bytes_of((N_PUBLICS, *publics_full, *words))


def check_program_vk(proof: ZiskProof, expected: bytes | None) -> None:
    """Require ``proof.program_vk`` to be ``expected`` (32 bytes, 4 LE u64: the setup's VK pinned
    for the ELF); ``None`` checks nothing. ``cargo-zisk verify`` checks against the keys inside
    the file and pins nothing (``zisk@c603fe8fd:cli/src/commands/user/verify.rs``).

    Raises:
        ProgramKeyMismatch: the keys differ (or ``expected`` is not 32 bytes).
    """
    if expected is None:
        return
    if len(expected) != PROGRAM_VK_BYTES:
        raise ProgramKeyMismatch(f"expected program VK is {len(expected)} bytes, not 32")
    if proof.program_vk != expected:
        raise ProgramKeyMismatch(
            f"proof is for program VK {proof.program_vk.hex()}, expected {expected.hex()}")


def check_proof_id(raw_proof_bytes: bytes, proof_id_hex: str) -> None:
    """Require ``proof_id_hex`` (0.14/0.15 ``result.json`` ``id``) to be the blake3 hex of
    ``raw_proof_bytes`` (the uncompressed ``vadcop_final_proof.bin``;
    ``0xPolygonHermez/pil2-proofman@v0.14.0:proofman/src/proofman.rs`` ~L2090). Case and
    surrounding blanks are ignored.

    Raises:
        ProofIdMismatch: the digests differ (an id that is not hex differs too).
    """
    digest = blake3.blake3(raw_proof_bytes).hexdigest()
    if proof_id_hex.strip().lower() != digest:
        raise ProofIdMismatch(f"proof id {proof_id_hex!r} is not the blake3 {digest} of the proof")
