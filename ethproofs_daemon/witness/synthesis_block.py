"""What witness synthesis reads from the block itself, and the error every synthesis step raises.

``SynthesisBlock`` is read from the typed block (``from_block``, the daemon's path: the block JSON
was parsed once at the RPC edge) or from ``eth_getBlockByNumber(N, true)`` JSON (``from_json``,
for callers that hold only JSON; method spec in ethereum/execution-apis, header fields
``parentBeaconBlockRoot`` from EIP-4788 and ``requestsHash`` from EIP-7685).
``WitnessSynthesisError`` is raised by the synthesis modules (``account_proofs``,
``touched_state``, ``ancestor_headers``; ``branch_collapse`` through ``account_proofs``) and by
``witness.synthesis``, which assembles them (its module docstring describes the whole method).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ethproofs_daemon.eth.json import JsonValue
from ethproofs_daemon.eth.types import Block
from ethproofs_daemon.eth.witness import WitnessFormatError, hex_bytes
from ethproofs_daemon.witness.verify import WitnessBlockFacts


class WitnessSynthesisError(Exception):
    """The node's answers do not allow a witness to be built (message says which and why)."""


@dataclass(frozen=True, slots=True)
class SynthesisBlock:
    """What synthesis reads from ``eth_getBlockByNumber(N, true)``.

    ``timestamp`` is Unix seconds; ``cancun``/``prague``: the header carries
    ``parentBeaconBlockRoot``/``requestsHash``; addresses are 20 bytes.
    """

    number: int
    parent_hash: bytes
    state_root: bytes
    miner: bytes
    timestamp: int
    cancun: bool
    prague: bool
    withdrawal_addresses: tuple[bytes, ...]
    creation_inputs: tuple[bytes, ...]

    @classmethod
    def from_block(cls, block: Block) -> SynthesisBlock:
        """From the typed block (``inputs.rpc_block``); cannot fail."""
        header = block.header
        return cls(
            number=header.number,
            parent_hash=header.parent_hash,
            state_root=header.state_root,
            miner=header.coinbase,
            timestamp=header.timestamp,
            cancun=header.parent_beacon_block_root is not None,
            prague=header.requests_hash is not None,
            withdrawal_addresses=tuple(w.address for w in block.body.withdrawals or ()),
            creation_inputs=WitnessBlockFacts.from_block(block).creation_inputs,
        )

    @classmethod
    def from_json(cls, block: Mapping[str, JsonValue]) -> SynthesisBlock:
        """Parse the fields above from ``eth_getBlockByNumber(N, true)`` JSON.

        Raises:
            WitnessSynthesisError: a field is missing or malformed.
        """
        try:
            facts = WitnessBlockFacts.from_block_json(dict(block))
            timestamp = block.get("timestamp")
            if not isinstance(timestamp, str):
                raise WitnessFormatError("block.timestamp missing")
            withdrawals = block.get("withdrawals")
            addresses = tuple(
                hex_bytes(w.get("address"), f"withdrawals[{i}].address")
                for i, w in enumerate(withdrawals if isinstance(withdrawals, list) else [])
                if isinstance(w, dict)
            )
            assert facts.parent_hash is not None
            return cls(
                number=facts.number,
                parent_hash=facts.parent_hash,
                state_root=hex_bytes(block.get("stateRoot"), "block.stateRoot"),
                miner=hex_bytes(block.get("miner"), "block.miner"),
                timestamp=int(timestamp, 16),
                cancun=block.get("parentBeaconBlockRoot") is not None,
                prague=block.get("requestsHash") is not None,
                withdrawal_addresses=addresses,
                creation_inputs=facts.creation_inputs,
            )
        except (WitnessFormatError, ValueError) as exc:
            raise WitnessSynthesisError(f"block JSON: {exc}") from exc


__all__ = ["SynthesisBlock", "WitnessSynthesisError"]
