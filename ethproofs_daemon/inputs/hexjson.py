"""Field readers for node JSON with ethrex's serde rules; every failure is ``InputError(field, …)``.

Rules (lambdaclass/ethrex@891528d:crates/common/serde_utils.rs and the serde of
``crates/networking/rpc/types/{block.rs,transaction.rs}``; impl-serde for hashes):

- hashes/addresses/bloom: optional ``0x``, then exactly 2N hex digits;
- ``U256``: optional ``0x``, then 1–64 hex digits (odd counts allowed);
- u64 quantities and ``extraData``: every leading ``"0x"`` is dropped (Rust
  ``trim_start_matches("0x")``; *not* Python's ``lstrip``), the rest parsed as hex;
- transaction integers: parsed as ``U256`` then narrowed to u64 (ethrex panics above; we refuse).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from .errors import InputError

U64_MAX: Final[int] = 2**64 - 1
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_WHITESPACE: Final = re.compile(r"\s")


def _fromhex(s: str) -> bytes:
    """``bytes.fromhex`` without its tolerance for whitespace (Rust's hex decoders reject it)."""
    if _WHITESPACE.search(s):
        raise ValueError("whitespace in hex")
    return bytes.fromhex(s)


JsonObject = Mapping[str, object]


def obj(value: object, field: str) -> JsonObject:
    """``value`` as a JSON object."""
    if not isinstance(value, Mapping):
        raise InputError(field, f"expected a JSON object, got {_kind(value)}")
    return value


def array(value: object, field: str) -> list[object]:
    """``value`` as a JSON array."""
    if not isinstance(value, list):
        raise InputError(field, f"expected a JSON array, got {_kind(value)}")
    return value


def get(o: JsonObject, key: str, field: str) -> object:
    """A required key (``null`` allowed)."""
    if key not in o:
        raise InputError(f"{field}.{key}" if field else key, "missing")
    return o[key]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {value!r:.40}"


def _str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InputError(field, f"expected a hex string, got {_kind(value)}")
    return value


def fixed(value: object, n: int, field: str) -> bytes:
    """Exactly ``n`` bytes of hex (optional ``0x``)."""
    s = _str(value, field)
    if s.startswith("0x"):
        s = s[2:]
    if len(s) != 2 * n:
        raise InputError(field, f"expected {n} bytes ({2 * n} hex digits), got {len(s)} digits")
    try:
        return _fromhex(s)
    except ValueError:
        raise InputError(field, f"invalid hex {value!r:.80}") from None


def h256(value: object, field: str) -> bytes:
    """A 32-byte hash."""
    return fixed(value, 32, field)


def address(value: object, field: str) -> bytes:
    """A 20-byte address."""
    return fixed(value, 20, field)


def u256(value: object, field: str) -> int:
    """A ``U256``: optional ``0x`` and 1–64 hex digits."""
    s = _str(value, field)
    if s.startswith("0x"):
        s = s[2:]
    if not 1 <= len(s) <= 64 or not _HEX_DIGITS.issuperset(s):
        raise InputError(field, f"expected 1-64 hex digits, got {value!r:.80}")
    return int(s, 16)


def u64_from_u256(value: object, field: str) -> int:
    """A transaction integer: a ``U256`` that must fit in u64."""
    n = u256(value, field)
    if n > U64_MAX:
        raise InputError(field, f"{n} does not fit in u64")
    return n


def _trim_0x(s: str) -> str:
    while s.startswith("0x"):
        s = s[2:]
    return s


def u64_quantity(value: object, field: str) -> int:
    """A header/withdrawal quantity: all leading ``0x`` dropped, then hex, must fit in u64."""
    s = _trim_0x(_str(value, field))
    if not s or not _HEX_DIGITS.issuperset(s):
        raise InputError(field, f"expected a hex u64, got {value!r:.80}")
    n = int(s, 16)
    if n > U64_MAX:
        raise InputError(field, f"{value!r:.80} does not fit in u64")
    return n


def opt_u64_quantity(o: JsonObject, key: str, field: str) -> int | None:
    """An optional quantity: missing, ``null`` or ``""`` give None."""
    v = o.get(key)
    if v is None or v == "":
        return None
    return u64_quantity(v, f"{field}.{key}")


def opt_h256(o: JsonObject, key: str, field: str) -> bytes | None:
    """An optional hash: missing or ``null`` give None."""
    v = o.get(key)
    return None if v is None else h256(v, f"{field}.{key}")


def bytes_trimmed(value: object, field: str) -> bytes:
    """``extraData``-style bytes: all leading ``0x`` dropped, then an even number of hex digits."""
    s = _trim_0x(_str(value, field))
    try:
        return _fromhex(s)
    except ValueError:
        raise InputError(field, f"invalid hex bytes {value!r:.80}") from None


def bytes_0x(value: object, field: str) -> bytes:
    """Transaction ``input``: must start with ``0x``, then an even number of hex digits."""
    s = _str(value, field)
    if not s.startswith("0x"):
        raise InputError(field, "expected a 0x-prefixed hex string")
    try:
        return _fromhex(s[2:])
    except ValueError:
        raise InputError(field, f"invalid hex bytes {value!r:.80}") from None


def hex_item(value: object, field: str) -> bytes:
    """A witness byte string: optional ``0x``, even number of hex digits."""
    s = _str(value, field)
    try:
        return _fromhex(s[2:] if s.startswith("0x") else s)
    except ValueError:
        raise InputError(field, f"invalid hex (odd length or bad digit) {value!r:.60}") from None
