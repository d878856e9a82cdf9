"""Errors of the guest-input boundary.

``InputError`` is what callers catch: the node JSON, a typed value or an input file cannot be turned
into (or read as) a guest input. Subclasses say where it happened.
"""

from __future__ import annotations

from ethproofs_daemon.eth.errors import InputError

__all__ = [
    "ArchiveError",
    "CheckFailed",
    "ExternalBuilderError",
    "InputError",
    "ProfileError",
    "ProfileMismatch",
]


class ArchiveError(InputError):
    """Bytes are not a valid rkyv archive of the expected type (bytecheck rules)."""


class CheckFailed(InputError):
    """A consistency check before proving failed (block hash, transactions root, state root)."""


class ProfileMismatch(InputError):
    """The guest ELF does not match the chosen guest profile."""


class ProfileError(InputError):
    """The guest profile manifest is missing, malformed, or names no such profile."""


class ExternalBuilderError(InputError):
    """The external input builder failed, timed out, or wrote no usable output."""
