"""keccak-256, the one implementation the package's own code uses.

safe-pysha3's C ``keccak_256`` when installed (≈10× faster per call than pycryptodome, which
matters on the input builder's hot path), else pycryptodome's ``Crypto.Hash.keccak``. Both give
the Ethereum keccak-256 (the original Keccak padding, not FIPS-202 SHA3-256). py-trie (behind
``eth.mpt``) hashes its nodes with its own (``eth_utils.keccak``, eth-hash).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Final

from Crypto.Hash import keccak as _keccak


def _pycryptodome_keccak(data: bytes) -> bytes:
    return _keccak.new(data=data, digest_bits=256).digest()


def _fast_keccak() -> Callable[[bytes], bytes]:
    """safe-pysha3's C keccak when installed, else pycryptodome."""
    try:
        sha3 = importlib.import_module("sha3")
    except ImportError:
        return _pycryptodome_keccak
    k256 = sha3.keccak_256

    def keccak(data: bytes) -> bytes:
        return k256(data).digest()  # type: ignore[no-any-return]

    return keccak


#: keccak-256 of ``data``: 32 bytes.
keccak: Final = _fast_keccak()
