"""A small rkyv 0.8 writer and validating reader (``unaligned``, little-endian, 32-bit offsets).

An *archiver* describes how one Rust type is archived: its inline ``size`` in bytes, how its
out-of-line data is written (``serialize``, returning a resolver: the positions its pointers will
target), what its inline bytes are once their position is known (``inline``), and how it is read
back with rkyv's bytecheck rules (``read``). Dependency-free types also offer a precomputed
``packer`` (value → inline bytes) used as a fast path. Schemas are built by combining archivers
(``Struct``, ``Vec``, ``Box``, ``Arc``, ``Option``, ``Enum``, scalars; ``BTreeMap`` in
``rkyv_btree``), see ``schema.py``.

Rules implemented (rkyv/rkyv@0.8.12 (ef1d1b5): ``rkyv/src/{api/high/mod.rs, ser/writer/mod.rs,
rel_ptr.rs, vec.rs, boxed.rs, rc.rs, option.rs, ser/sharing/mod.rs, collections/btree/map/mod.rs,
validation/archive/validator.rs}``; features ``std``, ``unaligned``, as the NIF's ``Cargo.lock``
pins them, lambdaclass/ethrex-ethproofs@b45cda3):

- every archived type has alignment 1; integers little-endian; ``usize`` lengths are u32;
- a relative pointer is ``i32 = target − position of the pointer field``; invalid = ``1``;
- writing is one forward pass, post-order: a value's out-of-line data (in field order) before its
  inline bytes, every element's data before a ``Vec``'s element array, the root last;
- unused inline bytes are zero (enum payload padding, ``None`` payloads, B-tree slots);
- ``Arc`` is never shared (each value written where it occurs; the ethrex NIF never shares);
- reading checks bounds, tags, ``bool``\\s and the subtree ranges of bytecheck's archive validator:
  an object's out-of-line data must lie before it, and what is read next must lie after it.

Values are plain Python objects (see ``types.py``); the reader rebuilds the same values.
"""

from __future__ import annotations

import abc
import operator
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from .errors import ArchiveError, InputError

INVALID_OFFSET: Final[int] = 1
_REL: Final = struct.Struct("<i")
_REL_LEN: Final = struct.Struct("<iI")
_U32: Final = struct.Struct("<I")

Packer = Callable[[Any], bytes]
#: Inline bytes of a dependency-free enum value: ``prefix + leaf(getter(v)) + suffix``.
FastSpec = tuple[bytes, Callable[[Any], Any], Packer, bytes]


def _identity(v: Any) -> Any:
    return v


class Reader:
    """Validating cursor state over an archive: the bytes and the unclaimed subtree range."""

    __slots__ = ("data", "hi", "lo", "shared")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.lo = 0
        self.hi = len(data)
        self.shared: dict[int, Any] = {}

    def push(self, start: int, end: int, what: str) -> tuple[int, int]:
        """Claim ``[start, end)`` for an object reached by a pointer; its children go before it."""
        if start < self.lo or end > self.hi or start > end:
            raise ArchiveError(
                f"@{start}",
                f"{what} at [{start}, {end}) lies outside the unclaimed range "
                f"[{self.lo}, {self.hi}) (out of bounds or not in rkyv post-order)",
            )
        saved = (end, self.hi)
        self.hi = start
        return saved

    def pop(self, saved: tuple[int, int]) -> None:
        """Leave an object: everything read next must lie after it."""
        self.lo, self.hi = saved

    def follow(self, pos: int, what: str) -> int:
        """The target of the relative pointer at ``pos``."""
        off: int = _REL.unpack_from(self.data, pos)[0]
        return pos + off


class Archiver(abc.ABC):
    """How one Rust type is archived.

    ``size``: inline bytes; ``has_deps``: whether it writes out-of-line data.
    """

    size: int = 0
    has_deps: bool = False
    name: str = "?"

    def serialize(self, buf: bytearray, v: Any) -> Any:
        """Write ``v``'s out-of-line data at the end of ``buf``; return the resolver."""
        return None

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        """``v``'s ``size`` inline bytes when they are placed at ``pos`` (resolver ``r``)."""
        p = self.packer()
        if p is None:
            raise TypeError(f"{type(self).__name__} has no packer: it must override inline()")
        return p(v)

    @abc.abstractmethod
    def read(self, rd: Reader, pos: int) -> Any:
        """Read and validate the archived value whose inline bytes start at ``pos``."""

    def leaf_packer(self) -> Packer | None:
        """A cheap (preferably C-level) packer for use inside a checked-length fast path."""
        return self.packer()

    def packer(self) -> Packer | None:
        """A function giving the inline bytes of a dependency-free value, if this type has one.

        Used as a precomputed fast path (one call instead of a tree of ``resolve`` calls).
        """
        return None


def write_object(buf: bytearray, arch: Archiver, v: Any, r: Any) -> int:
    """Append ``v``'s inline bytes; return their position."""
    pos = len(buf)
    b = arch.inline(v, r, pos)
    if len(b) != arch.size:
        raise InputError(arch.name, f"value gives {len(b)} inline bytes, not {arch.size}")
    buf += b
    return pos


class Scalar(Archiver):
    """A fixed-size integer (``u8``, ``u32``, ``u64``) packed with a struct format."""

    def __init__(self, fmt: str, name: str) -> None:
        self._st = struct.Struct("<" + fmt)
        self.size = self._st.size
        self.name = name

    def read(self, rd: Reader, pos: int) -> Any:
        return self._st.unpack_from(rd.data, pos)[0]

    def packer(self) -> Packer | None:
        return self._st.pack


class BigInt(Archiver):
    """An unsigned little-endian integer of ``size`` bytes (``u128``; ``U256`` = 4 LE u64 limbs)."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name

    def read(self, rd: Reader, pos: int) -> Any:
        return int.from_bytes(rd.data[pos : pos + self.size], "little")

    def packer(self) -> Packer | None:
        size = self.size
        return lambda v: v.to_bytes(size, "little")  # type: ignore[no-any-return,unused-ignore]


class Bool(Archiver):
    """``bool``: one byte, 0 or 1."""

    size = 1
    name = "bool"

    def read(self, rd: Reader, pos: int) -> Any:
        b = rd.data[pos]
        if b > 1:
            raise ArchiveError(f"@{pos}", f"bool byte is {b}, not 0 or 1")
        return b == 1

    def packer(self) -> Packer | None:
        return lambda v: b"\x01" if v else b"\x00"


class FixedBytes(Archiver):
    """``[u8; N]`` (hashes, addresses, bloom): N raw bytes; the value must have exactly N."""

    def __init__(self, n: int, name: str) -> None:
        self.size = n
        self.name = name

    def read(self, rd: Reader, pos: int) -> Any:
        return bytes(rd.data[pos : pos + self.size])

    def packer(self) -> Packer | None:
        return self._check

    def leaf_packer(self) -> Packer | None:
        return bytes

    def _check(self, v: Any) -> bytes:
        if len(v) != self.size:
            raise InputError(self.name, f"expected {self.size} bytes, got {len(v)}")
        return bytes(v)


class ByteVec(Archiver):
    """``Vec<u8>``: pointer + u32 length; the raw bytes out of line."""

    size = 8
    has_deps = True
    name = "Vec<u8>"

    def serialize(self, buf: bytearray, v: Any) -> Any:
        start = len(buf)
        buf += v
        return start

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        return _REL_LEN.pack(r - pos, len(v))

    def read(self, rd: Reader, pos: int) -> Any:
        off, n = _REL_LEN.unpack_from(rd.data, pos)
        t = pos + off
        saved = rd.push(t, t + n, self.name)
        v = bytes(rd.data[t : t + n])
        rd.pop(saved)
        return v


class NibbleVec(ByteVec):
    """``Vec<u8>`` holding one nibble per byte (typed JSON shows a list of numbers)."""

    name = "Nibbles"


def _elements(elem: Archiver, items: Sequence[Any], rs: Sequence[Any] | None, pos: int) -> bytes:
    """``items``' inline bytes back to back, the first placed at ``pos``."""
    es = elem.size
    pk = elem.packer() if not elem.has_deps else None
    if pk is not None:
        blob = b"".join([pk(x) for x in items])
    else:
        fast = elem.fast_variants() if isinstance(elem, Enum) else {}
        inl = elem.inline
        parts: list[bytes] = []
        add = parts.append
        fast_get = fast.get
        p = pos
        for i, x in enumerate(items):
            spec = fast_get(type(x))
            if spec is None:
                add(inl(x, rs[i] if rs is not None else None, p))
            elif spec[2] is bytes:
                add(spec[0] + spec[1](x) + spec[3])
            else:
                add(spec[0] + spec[2](spec[1](x)) + spec[3])
            p += es
        blob = b"".join(parts)
    if len(blob) != es * len(items):
        raise InputError(elem.name, "an element does not have its archived size")
    return blob


class Vec(Archiver):
    """``Vec<T>``, ``Box<[T]>``: pointer + u32 length; elements' data, then the element array."""

    size = 8
    has_deps = True

    def __init__(self, elem: Archiver) -> None:
        self.elem = elem
        self.name = f"Vec<{elem.name}>"

    def serialize(self, buf: bytearray, v: Any) -> Any:
        e = self.elem
        rs = None
        if e.has_deps:
            ser = e.serialize
            rs = [ser(buf, x) for x in v]
        start = len(buf)
        buf += _elements(e, v, rs, start)
        return start

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        return _REL_LEN.pack(r - pos, len(v))

    def read(self, rd: Reader, pos: int) -> Any:
        off, n = _REL_LEN.unpack_from(rd.data, pos)
        t = pos + off
        es = self.elem.size
        saved = rd.push(t, t + n * es, self.name)
        rd_elem = self.elem.read
        v = tuple(rd_elem(rd, t + i * es) for i in range(n))
        rd.pop(saved)
        return v


class Array(Archiver):
    """``[T; N]``: N archived elements back to back, inline; their data in element order."""

    def __init__(self, elem: Archiver, n: int) -> None:
        self.elem = elem
        self.n = n
        self.size = elem.size * n
        self.has_deps = elem.has_deps
        self.name = f"[{elem.name}; {n}]"

    def serialize(self, buf: bytearray, v: Any) -> Any:
        if len(v) != self.n:
            raise InputError(self.name, f"expected {self.n} elements, got {len(v)}")
        ser = self.elem.serialize
        fast = self.elem.fast_variants() if isinstance(self.elem, Enum) else {}
        return [None if type(x) in fast else ser(buf, x) for x in v]

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        if len(v) != self.n:
            raise InputError(self.name, f"expected {self.n} elements, got {len(v)}")
        return _elements(self.elem, v, r, pos)

    def read(self, rd: Reader, pos: int) -> Any:
        rd_elem = self.elem.read
        es = self.elem.size
        return tuple(rd_elem(rd, pos + i * es) for i in range(self.n))


class Box(Archiver):
    """``Box<T>``: a pointer to one archived T written just before (after T's own data)."""

    size = 4
    has_deps = True

    def __init__(self, inner: Archiver) -> None:
        self.inner = inner
        self.name = f"Box<{inner.name}>"

    def serialize(self, buf: bytearray, v: Any) -> Any:
        inner = self.inner
        r = inner.serialize(buf, v) if inner.has_deps else None
        return write_object(buf, inner, v, r)

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        return _REL.pack(r - pos)

    def read(self, rd: Reader, pos: int) -> Any:
        t = rd.follow(pos, self.name)
        saved = rd.push(t, t + self.inner.size, self.name)
        v = self.inner.read(rd, t)
        rd.pop(saved)
        return v


class Arc(Box):
    """``Arc<T>``: as ``Box`` (never shared when writing); the reader allows repeated targets."""

    def __init__(self, inner: Archiver) -> None:
        super().__init__(inner)
        self.name = f"Arc<{inner.name}>"

    def read(self, rd: Reader, pos: int) -> Any:
        t = rd.follow(pos, self.name)
        if t in rd.shared:
            return rd.shared[t]
        v = super().read(rd, pos)
        rd.shared[t] = v
        return v


class Option(Archiver):
    """``Option<T>``: tag byte + T (zeros for None). Std order: None = 0, Some = 1.

    ``some_tag=0`` gives ethrex's remote wrappers (``OptionH256Wrapper``: Some = 0, None = 1) and
    any two-variant enum ``{X(T), Y}`` read as ``None`` = Y; ``variant_names`` names them for JSON.
    """

    def __init__(
        self, inner: Archiver, some_tag: int = 1, variant_names: tuple[str, str] | None = None
    ) -> None:
        self.inner = inner
        self.size = 1 + inner.size
        self.has_deps = inner.has_deps
        self.some_tag = some_tag
        self.none_tag = 1 - some_tag
        self.variant_names = variant_names
        self.name = f"Option<{inner.name}>"

    def serialize(self, buf: bytearray, v: Any) -> Any:
        if v is None or not self.has_deps:
            return None
        return self.inner.serialize(buf, v)

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        if v is None:
            return bytes([self.none_tag]) + bytes(self.inner.size)
        return bytes([self.some_tag]) + self.inner.inline(v, r, pos + 1)

    def read(self, rd: Reader, pos: int) -> Any:
        tag = rd.data[pos]
        if tag == self.some_tag:
            return self.inner.read(rd, pos + 1)
        if tag == self.none_tag:
            return None
        raise ArchiveError(f"@{pos}", f"{self.name} tag is {tag}, not 0 or 1")

    def packer(self) -> Packer | None:
        inner = self.inner.packer() if not self.has_deps else None
        if inner is None:
            return None
        none = bytes([self.none_tag]) + bytes(self.inner.size)
        some = bytes([self.some_tag])
        return lambda v: none if v is None else some + inner(v)


class Enum(Archiver):
    """A derived ``#[repr(u8)]`` enum: tag = variant index, payload at offset 1, zero padded.

    ``variants``: ``(name, python classes selecting it, payload archiver)`` in declaration order;
    the payload archiver receives the whole value.
    """

    def __init__(
        self, name: str, variants: Sequence[tuple[str, tuple[type, ...], Archiver]] = ()
    ) -> None:
        self.name = name
        self.has_deps = True
        self._index: dict[type, tuple[int, Archiver]] = {}
        self._fast: dict[type, FastSpec] | None = None
        self.variants: tuple[tuple[str, tuple[type, ...], Archiver], ...] = ()
        if variants:
            self.define(variants)

    def define(self, variants: Sequence[tuple[str, tuple[type, ...], Archiver]]) -> None:
        """Set the variants (separately from ``__init__`` for recursive types)."""
        self.variants = tuple(variants)
        self.size = 1 + max(p.size for _, _, p in variants)
        self.has_deps = any(p.has_deps for _, _, p in variants)
        for i, (_, classes, payload) in enumerate(variants):
            for c in classes:
                self._index[c] = (i, payload)

    def _spec_for(self, cls: type) -> FastSpec | None:
        tag, payload = self._index[cls]
        if payload.has_deps:
            return None
        pad = bytes(self.size - 1 - payload.size)
        if isinstance(payload, Enum):
            inner = payload._spec_for(cls)
            if inner is None:
                return None
            pre, get, leaf, post = inner
            return bytes([tag]) + pre, get, leaf, post + pad
        if isinstance(payload, Struct) and len(payload.layout) == 1:
            attr, farch, _ = payload.layout[0]
            fleaf = farch.leaf_packer()
            if fleaf is not None:
                return bytes([tag]), operator.attrgetter(attr), fleaf, pad
        whole = payload.packer()
        if whole is None:
            return None
        return bytes([tag]), _identity, whole, pad

    def packer_for(self, cls: type) -> Packer | None:
        """The full-size inline bytes (tag + padded payload) of a dep-free value of ``cls``.

        Callers check the length of the result (a value of the wrong size is an error).
        """
        spec = self._spec_for(cls)
        if spec is None:
            return None
        pre, get, leaf, post = spec
        return lambda v: pre + leaf(get(v)) + post

    def fast_variants(self) -> dict[type, FastSpec]:
        """Precomputed ``(prefix, getter, leaf packer, suffix)`` of each dependency-free variant."""
        if self._fast is None:
            fast = {}
            for cls in self._index:
                spec = self._spec_for(cls)
                if spec is not None:
                    fast[cls] = spec
            self._fast = fast
        return self._fast

    def packer(self) -> Packer | None:
        if self.has_deps:
            return None
        if len(self.fast_variants()) != len(self._index):
            return None
        packers = {cls: self.packer_for(cls) for cls in self._index}
        return lambda v: packers[type(v)](v)  # type: ignore[misc]

    def _variant(self, v: Any) -> tuple[int, Archiver]:
        try:
            return self._index[type(v)]
        except KeyError:
            raise InputError(self.name, f"{type(v).__name__} is not a variant") from None

    def serialize(self, buf: bytearray, v: Any) -> Any:
        _, payload = self._variant(v)
        return payload.serialize(buf, v) if payload.has_deps else None

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        spec = self.fast_variants().get(type(v))
        if spec is not None:
            pre, get, leaf, post = spec
            return pre + leaf(get(v)) + post
        tag, payload = self._variant(v)
        return bytes([tag]) + payload.inline(v, r, pos + 1) + bytes(self.size - 1 - payload.size)

    def read(self, rd: Reader, pos: int) -> Any:
        tag = rd.data[pos]
        if tag >= len(self.variants):
            raise ArchiveError(f"@{pos}", f"{self.name} tag {tag} is not a variant")
        return self.variants[tag][2].read(rd, pos + 1)


class Struct(Archiver):
    """A struct: fields back to back in declaration order, no padding.

    ``fields``: ``(attribute, archiver)``; ``json_names`` overrides JSON keys (e.g. ``from_``);
    ``newtype`` marks a one-field tuple struct whose JSON is the field's JSON.
    """

    def __init__(
        self,
        cls: Callable[..., Any],
        fields: Sequence[tuple[str, Archiver]],
        *,
        name: str | None = None,
        json_names: Mapping[str, str] | None = None,
        newtype: bool = False,
    ) -> None:
        self.cls = cls
        self.name = name or str(getattr(cls, "__name__", "struct"))
        self.json_names = dict(json_names or {})
        self.newtype = newtype
        self.fields = tuple(fields)
        layout = []
        off = 0
        for attr, arch in fields:
            layout.append((attr, arch, off))
            off += arch.size
        self.size = off
        self.layout = tuple(layout)
        self.deps = tuple((attr, arch) for attr, arch, _ in layout if arch.has_deps)
        self.has_deps = bool(self.deps)
        self._packer: Packer | None = None

    def packer(self) -> Packer | None:
        if self.has_deps:
            return None
        if self._packer is None:
            getters = [(operator.attrgetter(a), arch.packer()) for a, arch, _ in self.layout]
            if any(p is None for _, p in getters):
                return None
            pairs = [(g, p) for g, p in getters if p is not None]
            if len(pairs) == 1:
                ((g0, p0),) = pairs
                self._packer = lambda v: p0(g0(v))
            else:
                self._packer = lambda v: b"".join([p(g(v)) for g, p in pairs])
        return self._packer

    def serialize(self, buf: bytearray, v: Any) -> Any:
        return [arch.serialize(buf, getattr(v, attr)) for attr, arch in self.deps]

    def inline(self, v: Any, r: Any, pos: int) -> bytes:
        if not self.has_deps:
            p = self.packer()
            if p is not None:
                return p(v)
        it: Iterator[Any] = iter(r) if r is not None else iter(())
        return b"".join(
            [
                arch.inline(getattr(v, attr), next(it) if arch.has_deps else None, pos + off)
                for attr, arch, off in self.layout
            ]
        )

    def read(self, rd: Reader, pos: int) -> Any:
        return self.cls(*[arch.read(rd, pos + off) for _, arch, off in self.layout])


def to_bytes(arch: Archiver, value: Any) -> bytes:
    """``rkyv::to_bytes``: ``value``'s data in post-order, then its inline bytes (the root) last.

    Raises:
        InputError: a value does not fit its archived type (length, range, variant).
    """
    buf = bytearray()
    try:
        r = arch.serialize(buf, value) if arch.has_deps else None
        write_object(buf, arch, value, r)
    except (struct.error, OverflowError, TypeError, AttributeError) as exc:
        raise InputError(arch.name, f"value does not fit the archived type: {exc}") from None
    return bytes(buf)


def from_bytes(arch: Archiver, data: bytes) -> Any:
    """``rkyv::from_bytes`` (validating): the root is the last ``arch.size`` bytes.

    Raises:
        ArchiveError: a bytecheck rule fails (the field names the offset, e.g. ``@0``).
    """
    n = len(data)
    if n < arch.size:
        raise ArchiveError("@0", f"{n} bytes is shorter than the {arch.size}-byte root")
    rd = Reader(bytes(data))
    try:
        saved = rd.push(n - arch.size, n, arch.name)
        v = arch.read(rd, n - arch.size)
        rd.pop(saved)
    except (struct.error, IndexError) as exc:
        raise ArchiveError("@?", f"truncated or out-of-bounds read: {exc}") from None
    return v
