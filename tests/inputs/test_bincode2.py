"""bincode 2 standard config: the varint widths and tags of bincode-org/bincode@v2.0.1:docs/spec.md,
and the reader's refusals as ``InputError``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ethproofs_daemon.inputs.bincode2 import (
    BincodeReader,
    bincode_bool,
    bincode_bytes,
    bincode_bytes_seq,
    bincode_option,
    bincode_varint,
)
from ethproofs_daemon.inputs.errors import InputError

#: (value, bytes) from the spec's varint table: < 251 one byte; 251 + u16; 252 + u32; 253 + u64;
#: 254 + u128, all little-endian.
SPEC_VARINTS = [
    (0, "00"),
    (250, "fa"),
    (251, "fbfb00"),
    (0xFFFF, "fbffff"),
    (0x10000, "fc00000100"),
    (0xFFFFFFFF, "fcffffffff"),
    (1 << 32, "fd0000000001000000"),
    ((1 << 64) - 1, "fd" + "ff" * 8),
    (1 << 64, "fe" + "00" * 8 + "01" + "00" * 7),
]


@pytest.mark.parametrize(("value", "hex_"), SPEC_VARINTS)
def test_varint_widths_follow_the_spec(value: int, hex_: str) -> None:
    assert bincode_varint(value).hex() == hex_
    r = BincodeReader(bytes.fromhex(hex_), "x")
    assert r.varint() == value
    r.finish()


def test_bytes_bool_option_and_sequences() -> None:
    assert bincode_bytes(b"ab") == b"\x02ab"
    assert bincode_bytes(b"\x00" * 300)[:3] == b"\xfb\x2c\x01"
    assert bincode_bool(True) == b"\x01" and bincode_bool(False) == b"\x00"
    assert bincode_option(None, bincode_varint) == b"\x00"
    assert bincode_option(300, bincode_varint) == b"\x01\xfb\x2c\x01"
    assert bincode_bytes_seq([b"a", b""]) == b"\x02\x01a\x00"


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_byte_lists_read_back(items: list[bytes]) -> None:
    r = BincodeReader(bincode_bytes_seq(items), "w")
    assert r.byte_strings("state") == items
    r.finish()


@pytest.mark.parametrize(
    ("hex_", "read", "reason"),
    [
        ("ff", "varint", "invalid varint tag"),
        ("fb05", "varint", "truncated"),
        ("fb0500", "varint", "non-canonical"),
        ("02", "boolean", "invalid bool"),
        ("02", "option_tag", "invalid Option tag"),
        ("05ab", "byte_string", "truncated"),
        ("fbffff", "count", "exceeds"),
    ],
)
def test_reader_refusals_name_the_field(hex_: str, read: str, reason: str) -> None:
    r = BincodeReader(bytes.fromhex(hex_), "input.public")
    with pytest.raises(InputError, match=reason) as info:
        getattr(r, read)("block")
    assert info.value.field == "input.public.block"


def test_trailing_bytes_are_refused() -> None:
    r = BincodeReader(b"\x01\x02", "frame")
    r.varint()
    with pytest.raises(InputError, match="1 trailing bytes"):
        r.finish()
