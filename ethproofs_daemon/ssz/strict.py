"""A strict structural check of SSZ bytes against a py-ssz sedes, before py-ssz decodes them.

py-ssz 0.6 reads variable-size fields sequentially and does not check that offsets are where the
SSZ rules put them (seen when decoding generated vectors with py-ssz 0.6.0; not documented by
py-ssz), so it accepts bodies that the Rust decoder zkboost uses rejects. ``check_strict`` walks
the bytes with the same rules as ``sigp/ethereum_ssz@v0.10.1:ssz/src/decode.rs`` and raises a
precise ``SszError``:

- container: ``len >= fixed part``; the first offset equals the fixed-part length; offsets never
  decrease and never pass the end; a fully fixed-size container has exactly its size;
- list of fixed-size elements: length a multiple of the element size, count ``<= limit``;
- list of variable-size elements: first offset a non-zero multiple of 4 giving the count
  (``<= limit``), offsets as for containers;
- byte list: ``len <= limit``.

Basic values (uints, byte vectors) accept any bytes of the right length. Bytes left after a
value's last field belong to that field, so "trailing bytes" are caught where the last field has a
fixed size (or fixed-size elements). Pure function; no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from ssz.sedes.byte_list import ByteList
from ssz.sedes.container import Container
from ssz.sedes.list import List

from .errors import SszLengthError, SszListTooLong, SszOffsetError
from .types import Sedes

OFFSET_SIZE: Final = 4


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + OFFSET_SIZE], "little")


def check_strict(sedes: Sedes, data: bytes, path: str = "$") -> None:
    """Raise an ``SszError`` unless ``data`` is a canonical SSZ encoding of a ``sedes`` value.

    Args:
        sedes: a fixed-size sedes, ``ByteList``, ``List`` or ``Container`` (nested freely).
        data: the bytes of exactly one value.
        path: names the value in messages (``$.execution_payload.transactions[3]``).

    Raises:
        SszOffsetError: an offset in the wrong place.
        SszLengthError: a byte count that cannot be right.
        SszListTooLong: a list or byte list over its limit.
        TypeError: a sedes kind this check does not know (a programming error).
    """
    if sedes.is_fixed_sized:
        size = sedes.get_fixed_size()
        if len(data) != size:
            what = "trailing bytes" if len(data) > size else "too short"
            raise SszLengthError(f"{path}: {what}: {len(data)} bytes for a {size}-byte value")
        return
    if isinstance(sedes, ByteList):
        if len(data) > sedes.max_length:
            raise SszListTooLong(
                f"{path}: byte list of {len(data)} bytes exceeds its limit of {sedes.max_length}"
            )
        return
    if isinstance(sedes, List):
        _check_list(sedes, data, path)
        return
    if isinstance(sedes, Container):
        _check_container(sedes, data, path)
        return
    raise TypeError(f"{path}: no strict check for sedes {type(sedes).__name__}")


def _check_list(sedes: List[Any, Any], data: bytes, path: str) -> None:
    element = sedes.element_sedes
    limit = sedes.max_length
    if element.is_fixed_sized:
        size = element.get_fixed_size()
        if len(data) % size:
            raise SszLengthError(
                f"{path}: {len(data)} bytes is not a multiple of the element size {size} "
                "(trailing bytes)"
            )
        count = len(data) // size
        if count > limit:
            raise SszListTooLong(f"{path}: {count} elements exceed the limit of {limit}")
        if isinstance(element, Container):
            for i in range(count):
                check_strict(element, data[i * size : (i + 1) * size], f"{path}[{i}]")
        return
    if not data:
        return
    if len(data) < OFFSET_SIZE:
        raise SszLengthError(f"{path}: {len(data)} bytes cannot hold a first offset")
    first = _u32(data, 0)
    if first == 0 or first % OFFSET_SIZE or first > len(data):
        raise SszOffsetError(
            f"{path}: first offset {first} is not a multiple of 4 within the {len(data)} bytes"
        )
    count = first // OFFSET_SIZE
    if count > limit:
        raise SszListTooLong(f"{path}: {count} elements exceed the limit of {limit}")
    offsets = [_u32(data, i * OFFSET_SIZE) for i in range(count)]
    _check_offsets(offsets, first, len(data), path)
    bounds = [*offsets, len(data)]
    for i in range(count):
        check_strict(element, data[bounds[i] : bounds[i + 1]], f"{path}[{i}]")


def _check_container(sedes: Container, data: bytes, path: str) -> None:
    fixed_len = sum(
        f.get_fixed_size() if f.is_fixed_sized else OFFSET_SIZE for f in sedes.field_sedes
    )
    if len(data) < fixed_len:
        raise SszLengthError(
            f"{path}: {len(data)} bytes are shorter than the fixed part of {fixed_len} bytes"
        )
    names = getattr(sedes, "field_names", None) or tuple(map(str, range(len(sedes.field_sedes))))
    pos = 0
    variable: list[tuple[int, int, Sedes]] = []
    for index, field in enumerate(sedes.field_sedes):
        if field.is_fixed_sized:
            size = field.get_fixed_size()
            check_strict(field, data[pos : pos + size], f"{path}.{names[index]}")
            pos += size
        else:
            variable.append((index, _u32(data, pos), field))
            pos += OFFSET_SIZE
    offsets = [offset for _, offset, _ in variable]
    _check_offsets(offsets, fixed_len, len(data), path)
    ends = [*offsets[1:], len(data)]
    for (index, start, field), end in zip(variable, ends, strict=True):
        check_strict(field, data[start:end], f"{path}.{names[index]}")


def _check_offsets(offsets: list[int], fixed_len: int, total: int, path: str) -> None:
    """First offset == ``fixed_len``; non-decreasing; each ``<= total`` (all in bytes)."""
    if not offsets:
        return
    if offsets[0] != fixed_len:
        kind = "points into the fixed part" if offsets[0] < fixed_len else "skips bytes"
        raise SszOffsetError(
            f"{path}: first offset {offsets[0]} {kind} (fixed part is {fixed_len} bytes)"
        )
    previous = fixed_len
    for i, offset in enumerate(offsets):
        if offset < previous:
            raise SszOffsetError(f"{path}: offset #{i} ({offset}) decreases (previous {previous})")
        if offset > total:
            raise SszOffsetError(f"{path}: offset #{i} ({offset}) is past the end ({total} bytes)")
        previous = offset
