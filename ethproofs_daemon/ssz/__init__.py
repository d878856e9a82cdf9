"""SSZ ``NewPayloadRequest`` decoding for the Proof Node API (Bellatrix…Fulu, Gloas when enabled).

Public API: ``decode_new_payload_request``, ``detect_fork``, ``DecodedNewPayloadRequest``,
``Fork``, the ``SszError`` hierarchy. See ``new_payload_request.py`` for the dispatch rules.
"""

from __future__ import annotations

from .errors import (
    SszBodyTooLarge,
    SszError,
    SszForkDisabled,
    SszLengthError,
    SszListTooLong,
    SszOffsetError,
    SszUnknownLayout,
)
from .new_payload_request import (
    DEFAULT_MAX_BODY_BYTES,
    DecodedNewPayloadRequest,
    decode_new_payload_request,
    detect_fork,
    encode_new_payload_request,
)
from .types import Fork

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DecodedNewPayloadRequest",
    "Fork",
    "SszBodyTooLarge",
    "SszError",
    "SszForkDisabled",
    "SszLengthError",
    "SszListTooLong",
    "SszOffsetError",
    "SszUnknownLayout",
    "decode_new_payload_request",
    "detect_fork",
    "encode_new_payload_request",
]
