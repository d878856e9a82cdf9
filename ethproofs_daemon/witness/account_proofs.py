"""Account and storage proofs for witness synthesis: ``eth_getProof`` calls and their parsing.

Source of the format: EIP-1186 (``eth_getProof``): ``{accountProof: [node…], storageHash,
codeHash, storageProof: [{key, value, proof: [node…]}]}``, nodes as hex RLP. Used by
``witness.synthesis`` (step 2 of its module docstring) and by ``touched_state`` and
``branch_collapse``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import trio

from ethproofs_daemon.eth.witness import WitnessFormatError, hex_bytes
from ethproofs_daemon.node.rpc import JsonRpcClient, JsonValue, RpcError
from ethproofs_daemon.witness.synthesis_block import WitnessSynthesisError

_PROOF_CONCURRENCY: Final = 8


def hex_0x(data: bytes) -> str:
    """``data`` as ``0x``-prefixed lowercase hex (RPC parameters, messages and log fields)."""
    return "0x" + data.hex()


@dataclass(frozen=True, slots=True)
class AccountProof:
    """One ``eth_getProof`` answer: ``nodes`` (RLP, the account proof then each storage proof, in
    answer order, duplicates kept), ``storage_hash`` and ``code_hash`` (32 bytes each), and
    ``slot_values``: each requested slot (32 bytes, left-padded) to its value (0 when absent)."""

    nodes: tuple[bytes, ...]
    storage_hash: bytes
    code_hash: bytes
    slot_values: dict[bytes, int]


def parse_proof(doc: JsonValue, address: bytes) -> AccountProof:
    """Parse ``eth_getProof(address, …)``'s result ``doc`` (EIP-1186 shape, module docstring).

    Raises:
        WitnessSynthesisError: ``doc`` is not that shape or a field is not valid hex.
    """
    where = f"eth_getProof({hex_0x(address)})"
    if not isinstance(doc, dict):
        raise WitnessSynthesisError(f"{where}: result is not an object")
    try:
        account_proof = doc.get("accountProof")
        storage_proof = doc.get("storageProof")
        if not isinstance(account_proof, list) or not isinstance(storage_proof, list):
            raise WitnessFormatError("accountProof/storageProof missing")
        nodes = [hex_bytes(x, f"{where}.accountProof") for x in account_proof]
        values: dict[bytes, int] = {}
        for entry in storage_proof:
            if not isinstance(entry, dict) or not isinstance(entry.get("proof"), list):
                raise WitnessFormatError("storageProof entry malformed")
            proof = entry["proof"]
            assert isinstance(proof, list)
            nodes.extend(hex_bytes(x, f"{where}.storageProof") for x in proof)
            value = entry.get("value")
            key = hex_bytes(entry.get("key"), f"{where}.key").rjust(32, b"\0")
            values[key] = int(value, 16) if isinstance(value, str) and value != "0x" else 0
            if not 0 <= values[key] < 2**256:
                raise WitnessFormatError(f"storage value {value!r:.80} is not a 256-bit word")
        return AccountProof(
            nodes=tuple(nodes),
            storage_hash=hex_bytes(doc.get("storageHash"), f"{where}.storageHash"),
            code_hash=hex_bytes(doc.get("codeHash"), f"{where}.codeHash"),
            slot_values=values,
        )
    except (WitnessFormatError, ValueError) as exc:
        raise WitnessSynthesisError(f"{where}: {exc}") from exc


async def get_proofs(
    rpc: JsonRpcClient, requests: Mapping[bytes, tuple[bytes, ...]], block_number: int
) -> dict[bytes, AccountProof]:
    """``eth_getProof`` for each address with its slots at ``block_number``, 8 at a time.

    Args:
        requests: 20-byte address → the 32-byte slots to prove.

    Returns:
        The parsed answer for each address.

    Raises:
        RpcError: the first failed call (calls not yet started are skipped), raised as itself,
            not in the trio nursery's exception group, so callers catch it by class.
        WitnessSynthesisError: an answer is malformed (the first one found).
    """
    results: dict[bytes, AccountProof] = {}
    limiter = trio.CapacityLimiter(_PROOF_CONCURRENCY)
    failures: list[RpcError | WitnessSynthesisError] = []

    async def one(address: bytes, slots: tuple[bytes, ...]) -> None:
        # After a failure, calls not yet started are skipped; those in flight finish (each is
        # bounded by the client's deadline; cancelling them mid-request would abandon httpx's
        # request stream).
        try:
            async with limiter:
                if failures:
                    return
                doc = await rpc.call(
                    "eth_getProof", [hex_0x(address), [hex_0x(s) for s in slots], hex(block_number)]
                )
            results[address] = parse_proof(doc, address)
        except (RpcError, WitnessSynthesisError) as exc:
            failures.append(exc)

    async with trio.open_nursery() as nursery:
        for address, slots in requests.items():
            nursery.start_soon(one, address, slots)
    if failures:
        raise failures[0]
    return results


__all__ = ["AccountProof", "get_proofs", "hex_0x", "parse_proof"]
