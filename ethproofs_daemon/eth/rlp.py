"""RLP: pyrlp, with the strict readers ethrex's rules need and the fast trie-node scanner.

Encoding is pyrlp's (``rlp.codec.encode_raw``, ``length_prefix``). Reading node
data the codec consumes (headers, accounts, trie nodes) walks the bytes with pyrlp's
``consume_length_prefix``, which already refuses what
lambdaclass/ethrex@891528d:crates/common/rlp/decode.rs refuses (a long length with a leading zero,
the long form under 56 bytes, one byte below 0x80 written with a prefix); the wrappers add what it
does not check (a length or payload running past the data, trailing bytes, integers with leading
zero bytes), keep the items' positions (an inline trie child is its raw bytes), and turn every
failure into ``InputError(field, …)``. ``rlp.decode`` (whole item trees) is used where positions
do not matter (``eth.mpt``, ``eth.witness``).

Fast path: ``scan_list`` reads a trie node's items without building ``Item`` objects for the
common shapes (``0x80`` and 32-byte hashes). Hoodi 1265656 ``build_input`` (min of 15, loaded
2-core machine): 38.6 ms with it, 41.3 ms with a generic ``list_items`` scan instead (≈7%); without
``inputs.trie``'s branch fast path as well, 42.3 against 54.3 ms.
Also: the ethrex ``BlockHeader`` RLP (its keccak is the block hash) and the header reading used to
find the parent state root (fields in lambdaclass/ethrex@891528d:crates/common/types/block.rs
order; optional trailing fields tried in order, a failing one counts as absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from rlp.codec import consume_length_prefix, encode_raw, length_prefix
from rlp.exceptions import DecodingError

from ethproofs_daemon.hashing import keccak as keccak

from .errors import InputError
from .mpt import EMPTY_TRIE_ROOT
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
    """Decode the item header at ``pos`` (pyrlp's canonical-form rules); it must fit in ``data``."""
    n = len(data)
    if pos >= n:
        raise InputError(field, "RLP item is truncated")
    b = data[pos]
    if b < 0x80:
        return Item(data, False, pos, pos, pos + 1)
    long_form = 0xB8 <= b < 0xC0 or b >= 0xF8
    if long_form and pos + 1 + b - (0xB7 if b < 0xC0 else 0xF7) > n:
        raise InputError(field, "RLP length is truncated")
    try:
        _, kind, ln, start = consume_length_prefix(data, pos)
    except IndexError:
        raise InputError(field, "RLP item is truncated") from None
    except DecodingError as exc:
        raise InputError(field, f"non-canonical RLP: {exc}") from None
    end = start + ln
    if end > n:
        raise InputError(field, "RLP item is truncated")
    return Item(data, kind is list, pos, start, end)


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


# -- encoding (pyrlp) ----------------------------------------------------------------------------
def enc_bytes(b: bytes) -> bytes:
    """A string item."""
    encoded: bytes = encode_raw(b)
    return encoded


def enc_uint(n: int) -> bytes:
    """An integer item (minimal big-endian)."""
    encoded: bytes = encode_raw(n.to_bytes((n.bit_length() + 7) // 8, "big"))
    return encoded


def enc_list(items: Sequence[bytes]) -> bytes:
    """A list of already-encoded items."""
    body = b"".join(items)
    prefix: bytes = length_prefix(len(body), 0xC0)
    return prefix + body


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
    """Decode an RLP header (ethrex rules) and return ``(number, state_root)``.

    Returns:
        The block number and the 32-byte state root.

    Raises:
        InputError: not a canonical RLP list of at least 15 header fields of the right sizes,
            or trailing fields that are not the optional header fields (``field`` named).
    """
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
