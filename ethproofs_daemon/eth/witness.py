"""The execution witness: one typed value for every wire form (pure).

``ExecutionWitness`` is the package's one witness model: the node's witness is parsed into it at
the RPC edge (``parse_witness`` here, or ``inputs.rpc_witness.read_rpc_witness`` with ethrex's
stricter serde rules for documents handed to the codec) and every later step takes it:
completion of geth-form keys, verification, synthesis, the codec.

Two wire forms exist; ``debug_executionWitness`` has no published spec yet (ethereum/execution-apis
issue #845: the clients disagree; PR #847 proposes one). Both are recorded in
erigontech/rpc-tests@73992926 (``integration/hive/debug_executionWitness/``: ``test_1xx.json``
geth, ``test_2xx.json`` reth):

- **reth** (also Erigon's new default, ethrex-replay caches): ``headers`` are RLP hex strings,
  oldest first, parent last; ``keys`` lists 20-byte addresses and 32-byte slots.
- **geth**: ``headers`` are JSON header objects (absent optional fields present as ``null``, each
  with its ``hash``); ``keys`` is ``null``.

Some sources (alloy's ``ExecutionWitness`` type, early reth) describe ``state``/``codes``/``keys``
as hash → bytes maps; those are accepted too (the values are taken). ``parse_witness`` takes any
of these and returns an ``ExecutionWitness`` whose headers are always RLP (a JSON header is
re-encoded and must hash to its ``hash``); ``ExecutionWitness.to_json`` writes the reth form that
the ethrex 891528d input conversion reads (``RpcExecutionWitness``: four arrays of hex strings;
lambdaclass/ethrex@891528d:crates/networking/rpc/debug/execution_witness.rs), for callers that
hand witnesses on as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import rlp

from ethproofs_daemon.eth.json import JsonValue
from ethproofs_daemon.eth.mpt import shallow_rlp_decode
from ethproofs_daemon.hashing import keccak


class WitnessInvalid(Exception):
    """Base of every "this witness cannot be used" error (the daemon's ``input_error``)."""


class WitnessFormatError(WitnessInvalid):
    """The witness JSON is not in either wire form (message names the member and the problem)."""


#: Header fields in RLP order (yellow paper §4.3, then EIP-1559, 4895, 4844, 4788, 7685, 7928,
#: 7843). The first 15 are always present; the rest are trailing optionals.
HEADER_FIELDS: Final = (
    "parentHash",
    "sha3Uncles",
    "miner",
    "stateRoot",
    "transactionsRoot",
    "receiptsRoot",
    "logsBloom",
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "extraData",
    "mixHash",
    "nonce",
)
OPTIONAL_HEADER_FIELDS: Final = (
    ("baseFeePerGas",),
    ("withdrawalsRoot",),
    ("blobGasUsed",),
    ("excessBlobGas",),
    ("parentBeaconBlockRoot",),
    ("requestsHash",),
    ("blockAccessListHash", "balHash"),
    ("slotNumber",),
)
QUANTITY_FIELDS: Final = frozenset(
    {
        "difficulty",
        "number",
        "gasLimit",
        "gasUsed",
        "timestamp",
        "baseFeePerGas",
        "blobGasUsed",
        "excessBlobGas",
        "slotNumber",
    }
)


@dataclass(frozen=True, slots=True)
class HeaderInfo:
    """What the witness code needs from an RLP header: ``number``, ``hash``, ``parent_hash``,
    ``state_root`` (hashes are 32 bytes) and ``timestamp`` (Unix seconds)."""

    number: int
    hash: bytes
    parent_hash: bytes
    state_root: bytes
    timestamp: int


@dataclass(frozen=True, slots=True)
class ExecutionWitness:
    """A witness with every member as raw bytes.

    ``state``: trie node RLPs (state and storage tries, any order); ``codes``: contract bytecodes;
    ``keys``: 20-byte addresses and 32-byte slots, or None when the source did not give them
    (geth form); ``headers``: RLP block headers as given (normally oldest first, parent last).
    """

    state: tuple[bytes, ...]
    codes: tuple[bytes, ...]
    keys: tuple[bytes, ...] | None
    headers: tuple[bytes, ...]

    def to_json(self) -> dict[str, list[str]]:
        """The reth wire form: ``{"state", "codes", "keys", "headers"}``, each a list of 0x-hex.

        Raises:
            WitnessFormatError: ``keys`` is None (complete it first, see ``witness.source``).
        """
        if self.keys is None:
            raise WitnessFormatError("keys are unknown (geth-form witness not completed)")
        return {
            "state": [_hex(x) for x in self.state],
            "codes": [_hex(x) for x in self.codes],
            "keys": [_hex(x) for x in self.keys],
            "headers": [_hex(x) for x in self.headers],
        }


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def hex_bytes(value: JsonValue, where: str) -> bytes:
    """Bytes from a hex string with or without ``0x``.

    Raises:
        WitnessFormatError: not a string, an odd number of digits, or not hex (``where`` named).
    """
    if not isinstance(value, str):
        raise WitnessFormatError(f"{where}: expected a hex string, got {type(value).__name__}")
    text = value[2:] if value.startswith(("0x", "0X")) else value
    if len(text) % 2:
        raise WitnessFormatError(f"{where}: odd number of hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise WitnessFormatError(f"{where}: not hex: {value[:40]!r}") from exc


def _quantity(value: JsonValue, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.startswith("0x") and len(value) > 2:
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise WitnessFormatError(f"{where}: expected a hex quantity, got {value!r:.40}")


def encode_header_json(header: Mapping[str, JsonValue], where: str = "header") -> bytes:
    """RLP-encode a JSON block header (``eth_getBlockByNumber`` or a geth witness header).

    Trailing optional fields end at the first one that is absent or ``null``; one present after an
    absent one is an error. When the object has a ``hash``, the RLP must hash to it.

    Raises:
        WitnessFormatError: a required field is missing or malformed, a gap in the optional fields,
            or the re-encoded header does not hash to ``hash``.
    """
    items: list[bytes | int] = []
    for name in HEADER_FIELDS:
        if header.get(name) is None:
            raise WitnessFormatError(f"{where}: missing {name}")
        items.append(_field(header, name, where))
    ended: str | None = None
    for aliases in OPTIONAL_HEADER_FIELDS:
        present = [a for a in aliases if header.get(a) is not None]
        if not present:
            ended = ended or aliases[0]
            continue
        if ended is not None:
            raise WitnessFormatError(f"{where}: {present[0]} is set but {ended} before it is not")
        items.append(_field(header, present[0], where))
    encoded: bytes = rlp.encode(items)
    if header.get("hash") is not None:
        expected = hex_bytes(header["hash"], f"{where}.hash")
        if keccak(encoded) != expected:
            got, want = _hex(keccak(encoded)), _hex(expected)
            raise WitnessFormatError(f"{where}: re-encoded header hashes to {got}, not {want}")
    return encoded


def _field(header: Mapping[str, JsonValue], name: str, where: str) -> bytes | int:
    if name in QUANTITY_FIELDS:
        return _quantity(header[name], f"{where}.{name}")
    return hex_bytes(header[name], f"{where}.{name}")


def decode_header(raw: bytes, where: str = "header") -> HeaderInfo:
    """Read number, parent hash, state root and timestamp from an RLP header.

    Raises:
        WitnessFormatError: not an RLP list of at least 15 strings with 32-byte hashes.
    """
    try:
        item = shallow_rlp_decode(raw, 1)
    except rlp.exceptions.DecodingError as exc:
        raise WitnessFormatError(f"{where}: not RLP: {exc}") from exc
    if not isinstance(item, list) or len(item) < 15 or any(isinstance(x, list) for x in item):
        raise WitnessFormatError(f"{where}: not an RLP list of at least 15 strings")
    parent_hash, state_root = item[0], item[3]
    if len(parent_hash) != 32 or len(state_root) != 32:
        raise WitnessFormatError(f"{where}: parentHash or stateRoot is not 32 bytes")
    return HeaderInfo(
        number=int.from_bytes(item[8], "big"),
        hash=keccak(raw),
        parent_hash=parent_hash,
        state_root=state_root,
        timestamp=int.from_bytes(item[11], "big"),
    )


def _byte_list(doc: Mapping[str, JsonValue], name: str) -> tuple[bytes, ...]:
    value = doc.get(name)
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        raise WitnessFormatError(f"{name}: expected a list of hex strings, got {value!r:.40}")
    return tuple(hex_bytes(x, f"{name}[{i}]") for i, x in enumerate(value))


def parse_witness(doc: JsonValue) -> ExecutionWitness:
    """Parse a ``debug_executionWitness`` result in either wire form.

    ``state``/``codes`` may be lists or hash → bytes maps; ``keys`` missing or null gives None;
    ``headers`` may be RLP hex strings or JSON header objects (re-encoded, checked by ``hash``).

    Raises:
        WitnessFormatError: a member is missing or malformed.
    """
    if not isinstance(doc, dict):
        raise WitnessFormatError(f"witness is a {type(doc).__name__}, not an object")
    state = _byte_list(doc, "state")
    codes = _byte_list(doc, "codes")
    keys = None if doc.get("keys") is None else _byte_list(doc, "keys")
    raw_headers = doc.get("headers")
    if not isinstance(raw_headers, list):
        raise WitnessFormatError(f"headers: expected a list, got {raw_headers!r:.40}")
    headers: list[bytes] = []
    for i, entry in enumerate(raw_headers):
        if isinstance(entry, dict):
            headers.append(encode_header_json(entry, f"headers[{i}]"))
        else:
            headers.append(hex_bytes(entry, f"headers[{i}]"))
    return ExecutionWitness(state=state, codes=codes, keys=keys, headers=tuple(headers))
