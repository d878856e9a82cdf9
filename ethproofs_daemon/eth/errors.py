"""``InputError``: node data cannot be read by ethrex's rules (the guest-input boundary's base).

Raised by the strict readers of ``eth`` (``rlp``) and of the codec (``inputs``); the codec's
subclasses (``ArchiveError``, ``CheckFailed``, …) live in ``inputs.errors``.
"""

from __future__ import annotations


class InputError(Exception):
    """An input cannot be built or read.

    ``field`` names the offending field as a dotted path (e.g. ``block.transactions[3].gas``);
    ``reason`` says why in plain words.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
