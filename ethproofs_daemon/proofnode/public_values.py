"""What a proof's public values must say for ``VALID``: the requested root and the guest program.

A ZisK proof carries the program key (4 u64 = 32 bytes, the guest's ``rom_root``) and 64 u32
output slots (256 bytes) the guest committed (``../shared/docs/zisk.md`` §7;
``prover.proof_files`` reads both from every release's proof file). ``VALID`` needs the proof to
verify *and* both of these:

- the program key equals the configured guest's (the guest profile's ``program_vk``);
- the outputs, read in the guest's layout, commit to the requested ``new_payload_request_root``
  with a successful validation.

Layouts (``PROOF_NODE_PUBLIC_VALUES``):

- ``unconfirmed`` (default): no source read here fixes how the guest's output sits in the output
  slots, so verification answers 501 rather than guess.
- ``bincode1-root-valid``: the ethrex guest built with ``experimental-devnet`` at ``ziskos``
  v0.16.1 commits ``output.encode()`` = ``root(32) ‖ valid(1)`` through ``ziskos::io::commit``,
  which writes bincode 1 of a ``Vec<u8>``: ``u64 LE 33 ‖ 33 bytes``, the rest of the slots zero
  (``zisk.md`` §6.3: ``lambdaclass/ethrex`` ``crates/guest-program/bin/zisk/src/main.rs``, and the
  same commit path for the 160-byte non-devnet output). Derived from the sources, not observed on
  a real proof: an operator who has checked it on their guest turns it on.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

OUTPUT_BYTES: Final = 256
PROGRAM_VK_BYTES: Final = 32


class PublicValuesLayout(enum.StrEnum):
    """How the guest's committed output sits in the proof's 64 output slots (module docstring)."""

    UNCONFIRMED = "unconfirmed"
    BINCODE1_ROOT_VALID = "bincode1-root-valid"


class VerificationUnconfirmed(Exception):
    """The public values cannot be checked for this proof type (layout or program key not
    confirmed); the API answers 501 with the message, never ``VALID``."""


@dataclass(frozen=True, slots=True)
class PublicValuesVerdict:
    """``valid`` and, when not, why (one line for the log)."""

    valid: bool
    reason: str = ""


def require_confirmed(layout: PublicValuesLayout, expected_program_vk: bytes | None) -> bytes:
    """The program key to require, when public values can be checked at all.

    Raises:
        VerificationUnconfirmed: ``layout`` is ``unconfirmed``, or no program key is configured.
    """
    if layout is PublicValuesLayout.UNCONFIRMED:
        raise VerificationUnconfirmed(
            "the layout of this guest's public values is unconfirmed (no source read fixes how "
            "its output sits in the proof's output slots); set PROOF_NODE_PUBLIC_VALUES once "
            "checked on your guest"
        )
    if expected_program_vk is None:
        raise VerificationUnconfirmed(
            "the guest profile records no program key, so the proof's program cannot be "
            "confirmed; record program_vk in the guest manifest"
        )
    return expected_program_vk


def check_public_values(
    *,
    program_vk: bytes,
    outputs: bytes,
    root: bytes,
    layout: PublicValuesLayout,
    expected_program_vk: bytes | None,
) -> PublicValuesVerdict:
    """Do the proof's program key and outputs commit to ``root`` and the configured guest?

    Args:
        program_vk: the proof's program key (32 bytes).
        outputs: the proof's 64 output slots as little-endian u32 (256 bytes).
        root: the requested ``new_payload_request_root`` (32 bytes).
        layout: how the guest's output sits in ``outputs``.
        expected_program_vk: the configured guest's program key (32 bytes), None when unknown.

    Raises:
        VerificationUnconfirmed: ``layout`` is ``unconfirmed``, or no program key is configured.
        ValueError: ``program_vk``, ``outputs`` or ``root`` of the wrong size.
    """
    if len(program_vk) != PROGRAM_VK_BYTES or len(outputs) != OUTPUT_BYTES or len(root) != 32:
        raise ValueError("program_vk must be 32 bytes, outputs 256, root 32")
    expected = require_confirmed(layout, expected_program_vk)
    if program_vk != expected:
        return PublicValuesVerdict(
            False, f"program key {program_vk.hex()} is not the guest's {expected.hex()}"
        )
    (length,) = struct.unpack_from("<Q", outputs)
    body = outputs[8 : 8 + 33]
    if length != 33 or any(outputs[8 + 33 :]):
        return PublicValuesVerdict(False, f"outputs are not a 33-byte commit (length {length})")
    if body[:32] != root:
        return PublicValuesVerdict(False, f"committed root 0x{body[:32].hex()} is another")
    if body[32] != 1:
        return PublicValuesVerdict(False, f"the guest reports validation {body[32]}, not success")
    return PublicValuesVerdict(True)
