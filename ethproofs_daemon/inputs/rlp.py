"""Minimal RLP for the input builder: strict decoding (ethrex rules) and encoding.

Decoding follows lambdaclass/ethrex@891528d:crates/common/rlp/decode.rs: canonical lengths (no
leading zeros in long lengths, no long form under 56 bytes, no one-byte string below 0x80 written
with a prefix) and integers without leading zero bytes. Every failure is ``InputError``.
Also: the ethrex ``BlockHeader`` RLP decoding used to find the parent state root (fields in
``block.rs`` order; optional trailing fields tried in order, a failing one counts as absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ethproofs_daemon.hashing import keccak as keccak
from ethproofs_daemon.mpt import EMPTY_TRIE_ROOT

from .errors import InputError
from .types import BlockHeader

EMPTY_STRING: Final[bytes] = b"\x80"
#: keccak(rlp(b"")): the root of an empty trie.
EMPTY_TRIE_HASH: Final[bytes] = EMPTY_TRIE_ROOT


class Item:
    """One decoded RLP item: ``is_list``, payload ``[start, end)`` and raw ``[raw_start, end)``."""

    __slots__ = ("data", "end", "is_list", "raw_start", "start")

    def __init__(self, data: bytes, is_list: bool, raw_start: int, start: int, end: int) -> None:
        self.data = data
        self.is_list = is_list
        self.raw_start = raw_start
        self.start = start
        self.end = end

    @property
    def payload(self) -> bytes:
        """The payload bytes (string content, or the concatenated list items)."""
        return self.data[self.start : self.end]

    @property
    def raw(self) -> bytes:
        """The whole encoded item."""
        return self.data[self.raw_start : self.end]


def item_at(data: bytes, pos: int, field: str) -> Item:
    """Decode the item header at ``pos``; the item must fit in ``data``."""
    n = len(data)
    if pos >= n:
        raise InputError(field, "RLP item is truncated")
    b = data[pos]
    if b < 0x80:
        return Item(data, False, pos, pos, pos + 1)
    if b < 0xB8:
        ln, start, is_list = b - 0x80, pos + 1, False
        if ln == 1 and start < n and data[start] < 0x80:
            raise InputError(field, "non-canonical RLP: single byte below 0x80 with a prefix")
    elif b < 0xC0:
        ln, start, is_list = _long_len(data, pos, b - 0xB7, field), pos + 1 + b - 0xB7, False
    elif b < 0xF8:
        ln, start, is_list = b - 0xC0, pos + 1, True
    else:
        ln, start, is_list = _long_len(data, pos, b - 0xF7, field), pos + 1 + b - 0xF7, True
    end = start + ln
    if end > n:
        raise InputError(field, "RLP item is truncated")
    return Item(data, is_list, pos, start, end)


def _long_len(data: bytes, pos: int, nbytes: int, field: str) -> int:
    raw = data[pos + 1 : pos + 1 + nbytes]
    if len(raw) != nbytes:
        raise InputError(field, "RLP length is truncated")
    if raw[0] == 0:
        raise InputError(field, "non-canonical RLP length (leading zero)")
    ln = int.from_bytes(raw, "big")
    if ln < 56:
        raise InputError(field, "non-canonical RLP: long form for a short item")
    return ln


def decode_one(data: bytes, field: str) -> Item:
    """The single item that makes up all of ``data``."""
    it = item_at(data, 0, field)
    if it.end != len(data):
        raise InputError(field, "trailing bytes after the RLP item")
    return it


def scan_list(data: bytes, field: str) -> list[tuple[bool, int, int, int]]:
    """``data`` must be one RLP list; its items as ``(is_list, raw_start, start, end)``.

    Fast path for the shapes of trie nodes (``0x80``, 32-byte strings, single bytes).
    """
    outer = decode_one(data, field)
    if not outer.is_list:
        raise InputError(field, "expected an RLP list")
    out: list[tuple[bool, int, int, int]] = []
    add = out.append
    pos, end = outer.start, outer.end
    while pos < end:
        b = data[pos]
        if b == 0xA0 and pos + 33 <= end:
            add((False, pos, pos + 1, pos + 33))
            pos += 33
        elif b == 0x80:
            add((False, pos, pos + 1, pos + 1))
            pos += 1
        else:
            it = item_at(data, pos, field)
            if it.end > end:
                raise InputError(field, "RLP list item overruns the list")
            add((it.is_list, pos, it.start, it.end))
            pos = it.end
    return out


def list_items(item: Item, field: str) -> list[Item]:
    """The items of a list item."""
    if not item.is_list:
        raise InputError(field, "expected an RLP list")
    out = []
    pos, end = item.start, item.end
    data = item.data
    while pos < end:
        it = item_at(data, pos, field)
        if it.end > end:
            raise InputError(field, "RLP list item overruns the list")
        out.append(it)
        pos = it.end
    return out


def as_bytes(item: Item, field: str, size: int | None = None) -> bytes:
    """A string item's payload (of exactly ``size`` bytes when given)."""
    if item.is_list:
        raise InputError(field, "expected an RLP string, got a list")
    p = item.payload
    if size is not None and len(p) != size:
        raise InputError(field, f"expected {size} bytes, got {len(p)}")
    return p


def as_uint(item: Item, field: str, max_bytes: int = 32) -> int:
    """An unsigned integer item (no leading zero bytes)."""
    p = as_bytes(item, field)
    if p[:1] == b"\x00":
        raise InputError(field, "integer with a leading zero byte")
    if len(p) > max_bytes:
        raise InputError(field, f"integer longer than {max_bytes} bytes")
    return int.from_bytes(p, "big")


# -- encoding ------------------------------------------------------------------------------------
def _length_prefix(n: int, short: int) -> bytes:
    if n < 56:
        return bytes([short + n])
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([short + 55 + len(ln)]) + ln


def enc_bytes(b: bytes) -> bytes:
    """A string item."""
    if len(b) == 1 and b[0] < 0x80:
        return bytes(b)
    return _length_prefix(len(b), 0x80) + b


def enc_uint(n: int) -> bytes:
    """An integer item (minimal big-endian)."""
    return enc_bytes(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def enc_list(items: Sequence[bytes]) -> bytes:
    """A list of already-encoded items."""
    body = b"".join(items)
    return _length_prefix(len(body), 0xC0) + body


# -- ethrex BlockHeader --------------------------------------------------------------------------
def header_rlp(h: BlockHeader) -> bytes:
    """The header's RLP (its keccak is the block hash); optional fields appended while present."""
    fields = [
        enc_bytes(h.parent_hash), enc_bytes(h.ommers_hash), enc_bytes(h.coinbase),
        enc_bytes(h.state_root), enc_bytes(h.transactions_root), enc_bytes(h.receipts_root),
        enc_bytes(h.logs_bloom), enc_uint(h.difficulty), enc_uint(h.number),
        enc_uint(h.gas_limit), enc_uint(h.gas_used), enc_uint(h.timestamp),
        enc_bytes(h.extra_data), enc_bytes(h.prev_randao), enc_bytes(h.nonce.to_bytes(8, "big")),
    ]  # fmt: skip
    optional: list[bytes | None] = [
        None if h.base_fee_per_gas is None else enc_uint(h.base_fee_per_gas),
        None if h.withdrawals_root is None else enc_bytes(h.withdrawals_root),
        None if h.blob_gas_used is None else enc_uint(h.blob_gas_used),
        None if h.excess_blob_gas is None else enc_uint(h.excess_blob_gas),
        None if h.parent_beacon_block_root is None else enc_bytes(h.parent_beacon_block_root),
        None if h.requests_hash is None else enc_bytes(h.requests_hash),
    ]
    for f in optional:
        if f is None:
            break
        fields.append(f)
    return enc_list(fields)


_OPTIONAL_HEADER_FIELDS: Final = ("u", 32, "u", "u", 32, 32)


def header_number_and_state_root(raw: bytes, field: str) -> tuple[int, bytes]:
    """Decode an RLP header (ethrex rules) and return ``(number, state_root)``."""
    items = list_items(decode_one(raw, field), field)
    if len(items) < 15:
        raise InputError(field, f"header RLP has {len(items)} fields, expected at least 15")
    for i, size in enumerate((32, 32, 20, 32, 32, 32, 256)):
        as_bytes(items[i], f"{field}[{i}]", size)
    as_uint(items[7], f"{field}.difficulty")
    number = as_uint(items[8], f"{field}.number", 8)
    for i in (9, 10, 11):
        as_uint(items[i], f"{field}[{i}]", 8)
    as_bytes(items[12], f"{field}.extra_data")
    as_bytes(items[13], f"{field}.prev_randao", 32)
    as_bytes(items[14], f"{field}.nonce", 8)
    rest = items[15:]
    for kind in _OPTIONAL_HEADER_FIELDS:
        if not rest:
            break
        try:
            if kind == "u":
                as_uint(rest[0], field, 8)
            else:
                as_bytes(rest[0], field, 32)
        except InputError:
            continue  # absent: nothing consumed
        rest = rest[1:]
    if rest:
        raise InputError(field, "header RLP has undecodable trailing fields")
    return number, items[3].payload
