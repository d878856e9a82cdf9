"""Typed values from the golden vectors' JSON convention, driven by the ``schema`` archivers.

The convention is this project's golden vectors' (no published source; the vectors are rkyv 0.8.12
output over a field-for-field transcription of ethrex@891528d's types). Field names and order are
the Rust ones (Skip fields absent); u8/u32/u64 numbers; u128 a decimal string; U256 ``"0x"`` +
big-endian hex; hashes, addresses and byte strings ``"0x"`` + hex; ``Option`` null or the value;
enums ``{"Variant": payload}`` (unit variants ``null``); access-list items ``[address, [keys]]``;
nibbles lists of numbers; ``NodeHash::Inline`` ``["0x<31 bytes>", len]``; ``storage_trie_roots``
an object keyed by address.
Errors are ``InputError`` naming the JSON path.
"""

from __future__ import annotations

from typing import Any

from . import types as t
from .errors import InputError
from .rkyv import (
    Archiver,
    Array,
    BigInt,
    Bool,
    Box,
    ByteVec,
    Enum,
    FixedBytes,
    NibbleVec,
    Option,
    Scalar,
    Struct,
    Vec,
)
from .rkyv_btree import BTreeMap
from .schema import ROOTS, AccessListItemBlob, InlineBytes


def _hex(obj: Any, path: str) -> bytes:
    if not isinstance(obj, str) or not obj.startswith("0x"):
        raise InputError(path, f"expected a 0x-prefixed hex string, got {obj!r:.40}")
    try:
        return bytes.fromhex(obj[2:])
    except ValueError:
        raise InputError(path, f"bad hex {obj!r:.40}") from None


def from_json(arch: Archiver, obj: Any, path: str = "value") -> Any:
    """Build the typed value that ``arch`` archives from its typed-JSON form ``obj``."""
    if isinstance(arch, AccessListItemBlob):
        if not isinstance(obj, list) or len(obj) != 2 or not isinstance(obj[1], list):
            raise InputError(path, "expected [address, [keys]]")
        keys = tuple(_hex(k, f"{path}[1][{i}]") for i, k in enumerate(obj[1]))
        return t.AccessListItem(_hex(obj[0], f"{path}[0]"), keys)
    if isinstance(arch, NibbleVec):
        if not isinstance(obj, list) or not all(isinstance(x, int) and 0 <= x < 256 for x in obj):
            raise InputError(path, "expected a list of nibbles")
        return bytes(obj)
    if isinstance(arch, ByteVec | FixedBytes):
        b = _hex(obj, path)
        if isinstance(arch, FixedBytes) and len(b) != arch.size:
            raise InputError(path, f"expected {arch.size} bytes, got {len(b)}")
        return b
    if isinstance(arch, InlineBytes):
        if not isinstance(obj, list) or len(obj) != 2:
            raise InputError(path, "expected [bytes31, len]")
        raw, n = _hex(obj[0], f"{path}[0]"), obj[1]
        if len(raw) != 31 or not isinstance(n, int) or not 0 <= n <= 31:
            raise InputError(path, "inline node must be 31 bytes and a length 0..31")
        return raw[:n]
    if isinstance(arch, Scalar):
        if not isinstance(obj, int) or isinstance(obj, bool):
            raise InputError(path, f"expected an integer, got {obj!r:.40}")
        return obj
    if isinstance(arch, BigInt):
        if arch.size == 16:
            if not isinstance(obj, str) or not obj.isdigit():
                raise InputError(path, "expected a decimal string")
            return int(obj)
        if not isinstance(obj, str) or not obj.startswith("0x"):
            raise InputError(path, "expected 0x-prefixed hex")
        return int(obj[2:], 16)
    if isinstance(arch, Bool):
        if not isinstance(obj, bool):
            raise InputError(path, "expected a boolean")
        return obj
    if isinstance(arch, Vec | Array):
        if not isinstance(obj, list):
            raise InputError(path, "expected a list")
        return tuple(from_json(arch.elem, x, f"{path}[{i}]") for i, x in enumerate(obj))
    if isinstance(arch, Box):
        return from_json(arch.inner, obj, path)
    if isinstance(arch, Option):
        if arch.variant_names is not None:
            some, none = arch.variant_names
            if not isinstance(obj, dict) or len(obj) != 1:
                raise InputError(path, f"expected {{{some!r}: ...}} or {{{none!r}: null}}")
            if none in obj:
                return None
            if some not in obj:
                raise InputError(path, f"unknown variant {next(iter(obj))!r}")
            return from_json(arch.inner, obj[some], f"{path}.{some}")
        return None if obj is None else from_json(arch.inner, obj, path)
    if isinstance(arch, Enum):
        if not isinstance(obj, dict) or len(obj) != 1:
            raise InputError(path, f"expected a one-key {arch.name} variant object")
        ((name, payload),) = obj.items()
        for vname, _, parch in arch.variants:
            if vname == name:
                return from_json(parch, payload, f"{path}.{name}")
        raise InputError(path, f"unknown {arch.name} variant {name!r}")
    if isinstance(arch, Struct):
        if arch.newtype:
            ((attr, farch),) = arch.fields
            return arch.cls(from_json(farch, obj, path))
        if not isinstance(obj, dict):
            raise InputError(path, f"expected a {arch.name} object")
        vals = []
        for attr, farch in arch.fields:
            key = arch.json_names.get(attr, attr)
            if key not in obj:
                raise InputError(f"{path}.{key}", "missing")
            vals.append(from_json(farch, obj[key], f"{path}.{key}"))
        return arch.cls(*vals)
    if isinstance(arch, BTreeMap):
        if not isinstance(obj, dict):
            raise InputError(path, "expected an object")
        return {
            from_json(arch.key, k, f"{path}[{k}]"): from_json(arch.value, v, f"{path}[{k}]")
            for k, v in obj.items()
        }
    raise InputError(path, f"no JSON rule for {arch.name}")


def root_from_json(doc: Any) -> tuple[Archiver, Any]:
    """``{"root_type": ..., "value": ...}`` → (root archiver, typed value)."""
    if not isinstance(doc, dict) or doc.get("root_type") not in ROOTS or "value" not in doc:
        raise InputError("root_type", "expected {root_type, value} with a known root type")
    arch = ROOTS[doc["root_type"]]
    return arch, from_json(arch, doc["value"])
