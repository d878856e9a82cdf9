"""``hash_tree_root`` of a ``NewPayloadRequest`` as the v0.8 stateless guests hash it (pure).

The reth guest's v0.8.2 types (``paradigmxyz/stateless@262ce4ec:crates/stateless-validator-common/
src/guest/input/new_payload_request.rs``) keep the consensus layouts (so the bytes are those of
``types.py``) but hash the execution payload and ``ExecutionRequests`` as progressive containers
(EIP-7495, every field active) and every list as a progressive list (EIP-7916, no limit):
``transactions`` (each a progressive byte list), ``withdrawals``, ``versioned_hashes`` and the
three request lists. ``extra_data`` stays ``ByteList[32]``; the request itself and the items
(``Withdrawal``, ``DepositRequest``, …) stay plain containers. The guest commits this root as
``new_payload_request_root``; it differs from the plain root of ``new_payload_request.py``
(zkboost/Lighthouse), which the Proof Node API receives.

Merkleization (``ethereum/consensus-specs`` ``ssz/simple-serialize.md``; EIP-7916; EIP-7495)::

    merkleize_progressive(chunks, n=1) = ZERO if not chunks else
        hash(merkleize(chunks[:n], limit=n), merkleize_progressive(chunks[n:], 4 * n))
    progressive list root      = mix_in_length(merkleize_progressive(chunks), len)
    progressive container root = hash(merkleize_progressive(field roots), pack_bits(active))

The first subtree is the left child (a "right-leaning spine", as the current EIP-7916 text draws
it; an older text of the consensus-specs markdown put the rest on the left). The order, and the
whole construction, are pinned by the reference roots in that file's tests
(``progressive_container_roots_match_reference_vectors``, reproduced by
``tests/ssz/test_progressive.py``; the list roots of ``input.rs`` there agree too).
Cost: about one SHA-256 per 32-byte chunk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final

from .types import Fork

_CHUNK: Final = 32
_ZERO: Final = bytes(_CHUNK)


def _hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(left + right).digest()


_ZERO_HASHES: Final = [_ZERO]
for _ in range(64):
    _ZERO_HASHES.append(_hash(_ZERO_HASHES[-1], _ZERO_HASHES[-1]))


def _merkleize(chunks: Sequence[bytes], limit: int) -> bytes:
    """Binary Merkle root of ``chunks`` padded with zero chunks to ``limit`` (a power of two
    or rounded up to one)."""
    depth = max(limit - 1, 0).bit_length()
    if not chunks:
        return _ZERO_HASHES[depth]
    layer = list(chunks)
    for level in range(depth):
        if len(layer) % 2:
            layer.append(_ZERO_HASHES[level])
        layer = [_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


def _merkleize_progressive(chunks: Sequence[bytes]) -> bytes:
    """EIP-7916's progressive tree: subtrees of 1, 4, 16, … leaves, each the left child of a
    spine node whose right child holds the rest."""
    spans = []
    start, size = 0, 1
    while start < len(chunks):
        spans.append(_merkleize(chunks[start : start + size], size))
        start, size = start + size, size * 4
    root = _ZERO
    for subtree in reversed(spans):
        root = _hash(subtree, root)
    return root


def _pack(data: bytes) -> list[bytes]:
    padded = data + bytes(-len(data) % _CHUNK)
    return [padded[i : i + _CHUNK] for i in range(0, len(padded), _CHUNK)]


def _with_length(root: bytes, length: int) -> bytes:
    return _hash(root, length.to_bytes(_CHUNK, "little"))


def _u64(n: int) -> bytes:
    return n.to_bytes(8, "little") + bytes(24)


def _vector(data: bytes) -> bytes:
    chunks = _pack(data)
    return _merkleize(chunks, len(chunks))


def _plain(field_roots: Sequence[bytes]) -> bytes:
    return _merkleize(field_roots, len(field_roots))


def _progressive_container(field_roots: Sequence[bytes]) -> bytes:
    active = ((1 << len(field_roots)) - 1).to_bytes(_CHUNK, "little")
    return _hash(_merkleize_progressive(field_roots), active)


def _progressive_list(item_roots: Sequence[bytes]) -> bytes:
    return _with_length(_merkleize_progressive(item_roots), len(item_roots))


def progressive_payload_root(p: Sequence[Any]) -> bytes:
    """Root of an execution payload (Bellatrix, Capella or Deneb fields, as py-ssz tuples) as a
    progressive container."""
    roots = [
        p[0], _vector(p[1]), p[2], p[3], _vector(p[4]), p[5],
        _u64(p[6]), _u64(p[7]), _u64(p[8]), _u64(p[9]),
        _with_length(_merkleize(_pack(p[10]), 1), len(p[10])),
        int(p[11]).to_bytes(32, "little"), p[12],
        _progressive_list(
            [_with_length(_merkleize_progressive(_pack(tx)), len(tx)) for tx in p[13]]
        ),
    ]  # fmt: skip
    if len(p) > 14:
        roots.append(
            _progressive_list(
                [_plain([_u64(w[0]), _u64(w[1]), _vector(w[2]), _u64(w[3])]) for w in p[14]]
            )
        )
    if len(p) > 15:
        roots += [_u64(p[15]), _u64(p[16])]
    return _progressive_container([bytes(r) for r in roots])


def progressive_requests_root(r: Sequence[Any]) -> bytes:
    """Root of an Electra ``ExecutionRequests`` (py-ssz tuples) as a progressive container."""
    deposits = [
        _plain([_vector(d[0]), bytes(d[1]), _u64(d[2]), _vector(d[3]), _u64(d[4])]) for d in r[0]
    ]
    withdrawals = [_plain([_vector(w[0]), _vector(w[1]), _u64(w[2])]) for w in r[1]]
    consolidations = [_plain([_vector(c[0]), _vector(c[1]), _vector(c[2])]) for c in r[2]]
    return _progressive_container(
        [_progressive_list(x) for x in (deposits, withdrawals, consolidations)]
    )


def progressive_request_root(value: Any, fork: Fork) -> bytes:
    """The 32-byte root a v0.8 guest commits for the ``NewPayloadRequest`` ``value``.

    Args:
        value: the request as py-ssz tuples in field order (what ``NEW_PAYLOAD_REQUEST[fork]``
            decodes to, or ``inputs.stateless_payload.new_payload_request_value``).
        fork: Bellatrix … Electra (Fulu); Gloas is not supported.

    Raises:
        ValueError: Gloas (its v0.8 payload and requests differ from ``types.py``'s).
    """
    if fork is Fork.GLOAS:
        raise ValueError("the v0.8 Gloas request root is not implemented")
    roots = [progressive_payload_root(value[0])]
    if fork in (Fork.DENEB, Fork.ELECTRA):
        roots.append(_progressive_list([bytes(h) for h in value[1]]))
        roots.append(bytes(value[2]))
    if fork is Fork.ELECTRA:
        roots.append(progressive_requests_root(value[3]))
    return _plain(roots)
