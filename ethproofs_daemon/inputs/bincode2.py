"""bincode 2 ``config::standard()`` (little-endian, varint integers) via serde: writer, reader.

Wire rules (bincode-org/bincode@v2.0.1:docs/spec.md, "Varint encoding" and "Collections"):

- unsigned integer other than ``u8`` (``u16``…``u128``, ``usize``, lengths): ``n < 251`` → one byte
  ``n``; ``< 2**16`` → ``0xFB`` + u16 LE; ``< 2**32`` → ``0xFC`` + u32 LE; ``< 2**64`` → ``0xFD`` +
  u64 LE; else ``0xFE`` + u128 LE. The reader refuses the reserved tag ``0xFF`` and, stricter
  than bincode (whether bincode accepts a wider-than-needed form was not checked), a value written
  wider than needed: the writer never produces one;
- ``u8``: one raw byte; ``bool``: ``0x00``/``0x01`` (anything else is an error);
- ``Option<T>``: ``0x00``, or ``0x01`` then ``T``;
- struct, tuple, fixed array: the fields in order, nothing else;
- ``Vec<T>``, map, ``String``, serde bytes: varint count then the items;
- enum: varint variant index then the variant's fields.

The writer functions return ``bytes``; callers join them. ``BincodeReader`` reads the same forms
from a buffer and raises ``InputError(field, …)`` on truncation, a bad tag, or trailing bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, TypeVar

from .errors import InputError

T = TypeVar("T")

_U16_TAG: Final = 251
_U32_TAG: Final = 252
_U64_TAG: Final = 253
_U128_TAG: Final = 254
_WIDTH: Final = {_U16_TAG: 2, _U32_TAG: 4, _U64_TAG: 8, _U128_TAG: 16}
#: Smallest value each wide tag may carry (bincode rejects the non-canonical forms).
_MIN: Final = {_U16_TAG: 251, _U32_TAG: 1 << 16, _U64_TAG: 1 << 32, _U128_TAG: 1 << 64}
#: The one-byte varints, precomputed (the hot path: list lengths and small item lengths).
_SMALL: Final = tuple(bytes([i]) for i in range(251))


def bincode_varint(n: int) -> bytes:
    """A varint-encoded unsigned integer (``0 <= n < 2**128``).

    Raises:
        ValueError: ``n`` is negative or does not fit in u128 (a programming error, not input).
    """
    if 0 <= n < 251:
        return _SMALL[n]
    if n < 0:
        raise ValueError(f"bincode varint of a negative number {n}")
    if n < 1 << 16:
        return b"\xfb" + n.to_bytes(2, "little")
    if n < 1 << 32:
        return b"\xfc" + n.to_bytes(4, "little")
    if n < 1 << 64:
        return b"\xfd" + n.to_bytes(8, "little")
    if n < 1 << 128:
        return b"\xfe" + n.to_bytes(16, "little")
    raise ValueError(f"bincode varint {n} does not fit in u128")


def bincode_bytes(data: bytes) -> bytes:
    """Serde bytes / ``Vec<u8>`` / ``String`` (UTF-8 given as bytes): varint length, then data."""
    n = len(data)
    return (_SMALL[n] if n < 251 else bincode_varint(n)) + data


def bincode_bool(value: bool) -> bytes:
    """``0x01`` or ``0x00``."""
    return b"\x01" if value else b"\x00"


def bincode_option(value: T | None, encode: Callable[[T], bytes]) -> bytes:
    """``None`` → ``0x00``; a value → ``0x01`` then ``encode(value)``."""
    return b"\x00" if value is None else b"\x01" + encode(value)


def bincode_seq(items: Iterable[bytes]) -> bytes:
    """A ``Vec``/sequence of already-encoded items: varint count, then the items."""
    parts = list(items)
    return bincode_varint(len(parts)) + b"".join(parts)


def bincode_bytes_seq(items: Iterable[bytes]) -> bytes:
    """``Vec<Bytes>``: varint count, then each item as serde bytes (the witness lists)."""
    parts = [b""]
    add = parts.append
    small = _SMALL
    count = 0
    for b in items:
        n = len(b)
        add(small[n] if n < 251 else bincode_varint(n))
        add(b)
        count += 1
    parts[0] = bincode_varint(count)
    return b"".join(parts)


class BincodeReader:
    """Reads bincode 2 standard-config values from ``data`` (the inverse of the writer functions).

    ``field`` prefixes every error; ``pos`` is the next byte to read.
    """

    __slots__ = ("data", "field", "pos")

    def __init__(self, data: bytes, field: str) -> None:
        self.data = data
        self.field = field
        self.pos = 0

    def _fail(self, what: str, reason: str) -> InputError:
        return InputError(f"{self.field}.{what}" if what else self.field, reason)

    def raw(self, n: int, what: str = "") -> bytes:
        """The next ``n`` bytes as they are (fixed arrays, ``u8``s)."""
        end = self.pos + n
        if end > len(self.data):
            raise self._fail(
                what, f"truncated: needs {n} bytes at offset {self.pos}, {len(self.data)} in all"
            )
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def u8(self, what: str = "") -> int:
        """One raw byte."""
        return self.raw(1, what)[0]

    def varint(self, what: str = "") -> int:
        """A varint unsigned integer; refuses tag ``0xFF`` and non-canonical widths."""
        tag = self.u8(what)
        if tag < 251:
            return tag
        if tag not in _WIDTH:
            raise self._fail(what, f"invalid varint tag 0x{tag:02x} at offset {self.pos - 1}")
        n = int.from_bytes(self.raw(_WIDTH[tag], what), "little")
        if n < _MIN[tag]:
            raise self._fail(what, f"non-canonical varint: {n} written with tag 0x{tag:02x}")
        return n

    def boolean(self, what: str = "") -> bool:
        """``0x00``/``0x01``."""
        b = self.u8(what)
        if b > 1:
            raise self._fail(what, f"invalid bool byte 0x{b:02x}")
        return b == 1

    def option_tag(self, what: str = "") -> bool:
        """Whether an ``Option`` is ``Some`` (the value follows) or ``None``."""
        b = self.u8(what)
        if b > 1:
            raise self._fail(what, f"invalid Option tag 0x{b:02x}")
        return b == 1

    def byte_string(self, what: str = "") -> bytes:
        """Serde bytes / ``Vec<u8>`` / ``String``: varint length, then the bytes."""
        return self.raw(self.varint(what), what)

    def fixed_bytes(self, size: int, what: str = "") -> bytes:
        """Serde bytes that must be exactly ``size`` long (``B256``, ``Address``, ``U256``)."""
        n = self.varint(what)
        if n != size:
            raise self._fail(what, f"expected {size} bytes, the length says {n}")
        return self.raw(n, what)

    def count(self, what: str = "", min_item_bytes: int = 1) -> int:
        """A sequence length, checked against the bytes left (each item needs at least
        ``min_item_bytes``), so a corrupt count cannot make a caller loop for long."""
        n = self.varint(what)
        if n * min_item_bytes > len(self.data) - self.pos:
            raise self._fail(what, f"count {n} exceeds the {len(self.data) - self.pos} bytes left")
        return n

    def byte_strings(self, what: str = "") -> list[bytes]:
        """``Vec<Bytes>``: a count then that many byte strings."""
        return [self.byte_string(f"{what}[{i}]") for i in range(self.count(what))]

    def finish(self) -> None:
        """Raise unless every byte was read."""
        if self.pos != len(self.data):
            raise self._fail("", f"{len(self.data) - self.pos} trailing bytes at offset {self.pos}")
