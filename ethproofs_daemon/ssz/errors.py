"""Errors raised while decoding an SSZ ``NewPayloadRequest``.

Every error is an ``SszError``; the HTTP layer turns any of them into ``400 invalid SSZ body: …``.
Subclasses say what was wrong so that tests and logs can tell the cases apart:

- ``SszBodyTooLarge``: the body exceeds the configured byte limit (checked before decoding).
- ``SszUnknownLayout``: the fixed-part layout matches no supported fork (the first offsets).
- ``SszForkDisabled``: the layout is a fork that is switched off (Gloas unless configured).
- ``SszOffsetError``: an offset points into the fixed part, skips bytes, decreases or runs past
  the end.
- ``SszLengthError``: a byte count that cannot be right (too short for the fixed part, not a
  multiple of the element size, trailing bytes after a fixed-size value).
- ``SszListTooLong``: a list or byte list longer than its limit (mainnet preset).

Source of the rules: ``ethereum/consensus-specs`` ``ssz/simple-serialize.md`` (Deserialization),
as enforced by ``sigp/ethereum_ssz@v0.10.1:ssz/src/decode.rs``, the decoder zkboost uses (pinned in
the ``Cargo.lock`` of ``eth-act/zkboost@9be2085d``; the request type is
``crates/types/src/new_payload_request.rs`` there).
"""

from __future__ import annotations


class SszError(ValueError):
    """Base of every SSZ decoding error; ``str()`` is a message fit for an HTTP 400 body."""


class SszBodyTooLarge(SszError):
    """The body is larger than ``limit`` bytes; nothing was decoded."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"body of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class SszUnknownLayout(SszError):
    """The fixed-part layout is not the one of any supported ``NewPayloadRequest`` variant."""


class SszForkDisabled(SszError):
    """The body has the layout of a fork this server does not accept (e.g. Gloas, off)."""


class SszOffsetError(SszError):
    """An offset into the fixed part, skipping bytes, decreasing, or past the end."""


class SszLengthError(SszError):
    """A length is impossible: too short, trailing bytes, or not a multiple of the element size."""


class SszListTooLong(SszError):
    """A list holds more elements (or a byte list more bytes) than its limit allows."""
