"""Encoders of ZisK proof files and of the EthProofs proof bytes, written from the documented
formats alone (not from ``ethproofs_daemon.prover.proof_files``), for tests and the stand-ins
(cargo-zisk, coordinator).

Sources (as the shared notes give them):

- bincode 2 ``config::standard()``: varints (< 251 one byte; 251 + u16 LE, 252 + u32 LE,
  253 + u64 LE), bool one byte, Vec/String = varint length + elements, structs in field order,
  enums = varint variant index + fields.
- bincode 1 (``bincode::serialize``): u32 LE variant tags, u64 LE lengths, fixed-width integers.
- 0.14 raw ``vadcop_final_proof.bin``: u64 LE words ``[n_publics][publics][proof …]``.
- 0.16.1 ``ZiskProofWithPublicValues`` (``zisk@48cf7ccef:sdk/src/prover/mod.rs``); 0.17.0 ``Proof``
  (``zisk@b63274507:common/src/proof.rs``); 0.18.0 layout A, 1.0-beta B, index C, 1.1+ D
  (``zisk_common::Proof``); ``get_proof_u64`` word forms.

Kinds and modes are the documented integers: ``VadcopKind`` 0 Final, 1 Recurser, 2 Minimal;
``HashMode`` 0 Poseidon1, 1 Poseidon2, 2 Blake3; 0.16 ``ZiskProof`` tags 0 Null, 1 VadcopFinal,
2 VadcopFinalCompressed, 3 Plonk, 4 Fflonk; 0.17 ``ProofKind`` 0 VadcopFinal, 1 VadcopFinalMinimal,
2 Plonk.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

KIND_FINAL: Final = 0
KIND_RECURSER: Final = 1
KIND_MINIMAL: Final = 2

MODE_POSEIDON1: Final = 0
MODE_POSEIDON2: Final = 1
MODE_BLAKE3: Final = 2

#: ``zisk_vk`` of the 1.1.0-alpha coordinator fixture (provoor@412e2ff cluster-envelope.bin).
FIXTURE_ZISK_VK: Final = (16370293013691533579, 6864437907249201182, 12605075787481351281,
                          11365126049963943544)
#: Proof words in that fixture.
FIXTURE_PROOF_WORDS: Final = 31_754


def varint(n: int) -> bytes:
    """bincode 2 standard varint of an unsigned integer."""
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfb" + struct.pack("<H", n)
    if n < 1 << 32:
        return b"\xfc" + struct.pack("<I", n)
    return b"\xfd" + struct.pack("<Q", n)


def b2_u64s(words: Sequence[int]) -> bytes:
    return varint(len(words)) + b"".join(varint(w) for w in words)


def b2_bytes(data: bytes) -> bytes:
    return varint(len(data)) + data


def b2_str(text: str) -> bytes:
    return b2_bytes(text.encode())


def b1_bytes(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


def le_words(words: Sequence[int]) -> bytes:
    return b"".join(struct.pack("<Q", w) for w in words)


def le_u32s(values: Sequence[int]) -> bytes:
    return b"".join(struct.pack("<I", v) for v in values)


# --------------------------------------------------------------------------------------------
# Files


def encode_raw_v014(program_vk: Sequence[int], outputs: Sequence[int],
                    proof_words: Sequence[int], n_publics: int | None = None) -> bytes:
    """0.14/0.15 ``vadcop_final_proof.bin``: ``[n_publics][rom_root ×4][outputs ×64][proof …]``."""
    publics = [*program_vk, *outputs]
    n = len(publics) if n_publics is None else n_publics
    return le_words([n, *publics, *proof_words])


def encode_v016_bincode1(tag: int, payload: bytes, publics: bytes, program_vk: bytes,
                         ptr: int = 0) -> bytes:
    """0.16.1 ``ZiskProofWithPublicValues``; ``tag`` 0 (Null: no payload) … 4."""
    proof = struct.pack("<I", tag) + (b"" if tag == 0 else b1_bytes(payload))
    return proof + b1_bytes(publics) + struct.pack("<Q", ptr) + b1_bytes(program_vk)


def encode_v017_a0(kind: int, proof_bytes: bytes, publics: bytes, program_vk: bytes,
                   zisk_vk: bytes) -> bytes:
    """0.17.0 ``Proof`` (bincode 1)."""
    return (struct.pack("<I", kind) + b1_bytes(proof_bytes) + b1_bytes(publics)
            + b1_bytes(program_vk) + b1_bytes(zisk_vk))


def encode_v018_a(proof_words: Sequence[int], zisk_vk: Sequence[int], minimal: bool,
                  publics: bytes, program_vk: Sequence[int]) -> bytes:
    """0.18.0 ``Proof`` (layout A, bincode 2)."""
    body = varint(0) + b2_u64s(proof_words) + b2_u64s(zisk_vk) + bytes([int(minimal)])
    return body + b2_bytes(publics) + b2_u64s(program_vk)


def encode_v1_0_b(proof_words: Sequence[int], zisk_vk: Sequence[int], minimal: bool, hash: str,
                  publics: bytes, program_vk: Sequence[int], hash_mode: int) -> bytes:
    """``pre-develop-1.0.0-beta`` ``Proof`` (layout B)."""
    body = (varint(0) + b2_u64s(proof_words) + b2_u64s(zisk_vk) + bytes([int(minimal)])
            + b2_str(hash))
    return body + b2_bytes(publics) + b2_u64s(program_vk) + varint(hash_mode)


def encode_c(proof_words: Sequence[int], zisk_vk: Sequence[int], minimal: bool, hash: str,
             publics_full: Sequence[int], program_vk: Sequence[int], hash_mode: int) -> bytes:
    """Index-version ``Proof`` (layout C): no ``publics``; ``minimal`` is a bool."""
    body = (varint(0) + b2_u64s(proof_words) + b2_u64s(zisk_vk) + bytes([int(minimal)])
            + b2_str(hash) + b2_u64s(publics_full))
    return body + b2_u64s(program_vk) + varint(hash_mode)


def encode_v1_d(proof_words: Sequence[int], zisk_vk: Sequence[int], kind: int, hash: str,
                publics_full: Sequence[int], program_vk: Sequence[int], hash_mode: int) -> bytes:
    """1.1.0-alpha … 1.3.x ``Proof`` (layout D); ``kind`` a ``VadcopKind`` index."""
    body = (varint(0) + b2_u64s(proof_words) + b2_u64s(zisk_vk) + varint(kind) + b2_str(hash)
            + b2_u64s(publics_full))
    return body + b2_u64s(program_vk) + varint(hash_mode)


# --------------------------------------------------------------------------------------------
# EthProofs bytes (get_proof_u64 / get_proof_bytes)


def ethproofs_bytes_v1_d(proof_words: Sequence[int], zisk_vk: Sequence[int], kind: int,
                         publics_full: Sequence[int], hash_tag: int | None = None) -> bytes:
    """``[minimal][n_publics][stark_publics][proof][zisk_vk]`` (+ ``[hash_tag]`` for 1.3)."""
    if kind == KIND_MINIMAL:
        stark_publics = list(publics_full)
    elif kind == KIND_FINAL:
        stark_publics = [1, *publics_full]
    else:
        stark_publics = [0, *publics_full]
    words = [1 if kind == KIND_MINIMAL else 0, len(stark_publics), *stark_publics,
             *proof_words, *zisk_vk]
    if hash_tag is not None:
        words.append(hash_tag)
    return le_words(words)


def ethproofs_bytes_v018(minimal: bool, program_vk: Sequence[int], outputs: Sequence[int],
                         proof_words: Sequence[int], zisk_vk: Sequence[int]) -> bytes:
    """0.18 / 1.0-beta / C: ``[minimal][68][program_vk ×4][outputs widened][proof][zisk_vk]``."""
    return le_words([int(minimal), 68, *program_vk, *outputs, *proof_words, *zisk_vk])


def ethproofs_bytes_v017(minimal: bool, program_vk: bytes, publics: bytes, proof_bytes: bytes,
                         zisk_vk: bytes) -> bytes:
    """0.17.0 ``get_proof_bytes``: ``[minimal u64][68 u64][vk 32 B][publics][proof][zisk_vk]``."""
    return struct.pack("<QQ", int(minimal), 68) + program_vk + publics + proof_bytes + zisk_vk
