"""One interface over the built-in guest-input codecs: typed block + typed witness + chain →
the input file's bytes, for the guest profile's codec and framing.

- ``ethrex-891528d-rkyv``: ethrex's ``ProgramInput`` (``build.build_typed_input``), raw or framed
  per the profile;
- ``zec-reth-bincode``: zisk-eth-client v0.11.0's two frames (``zec_reth.build_zec_reth_input``;
  ``../shared/docs/guest-zec-reth.md``);
- ``stateless-ssz``: the stateless-validation spec's ``statelessInputBytes``
  (``stateless_ssz.build_stateless_input``; ``../shared/docs/guest-stateless-ssz.md``) in one
  frame.

``external`` profiles are built by the operator's command (``node/external_builder.py``), not
here. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ethproofs_daemon.eth.senders import recover_senders
from ethproofs_daemon.eth.types import Block
from ethproofs_daemon.eth.witness import ExecutionWitness
from ethproofs_daemon.ssz.requests import ExecutionRequests

from .build import build_typed_input
from .errors import InputError
from .profiles import Codec, GuestProfile, frame
from .stateless_ssz import build_stateless_input
from .types import ChainConfig
from .zec_reth import build_zec_reth_input
from .zec_reth_chains import zec_reth_chain_config


@dataclass(frozen=True, slots=True)
class BlockData:
    """What every codec builds from: the typed block and witness, the node's ``from`` per
    transaction (20 bytes each; empty: not compared), the hash the node gave (32 bytes; None:
    not compared) and, for blocks carrying EIP-7685 requests, the requests from the Beacon API."""

    block: Block
    witness: ExecutionWitness
    senders: Sequence[bytes] = ()
    claimed_block_hash: bytes | None = None
    execution_requests: ExecutionRequests | None = None


def build_guest_input(
    profile: GuestProfile,
    data: BlockData,
    chain: ChainConfig,
    *,
    witness_verified: bool = False,
    allow_unconfirmed_chain: bool = False,
) -> bytes:
    """The input file for ``profile``'s guest (framed as the profile says).

    Args:
        chain: the chain (``chain_config.chain_config_by_name``); its ``chain_id`` picks the
            zec-reth chain configuration and the stateless input's ``chain_id``.
        witness_verified: the witness was checked against the parent's state root already
            (``witness.verify.verify_witness``); only the ethrex codec would check it again.
        allow_unconfirmed_chain: build zec-reth inputs for chains whose configuration no golden
            input confirms (Hoodi, Sepolia; ``ALLOW_UNCONFIRMED_CHAIN_CONFIG``).

    Raises:
        InputError: the codec's (naming the field), or ``profile`` for an ``external`` codec.
    """
    if profile.codec is Codec.ETHREX_891528D_RKYV:
        return build_typed_input(
            data.block, data.witness, profile, chain,
            claimed_block_hash=data.claimed_block_hash, witness_verified=witness_verified,
        )
    if profile.codec is Codec.ZEC_RETH_BINCODE:
        reth_chain = zec_reth_chain_config(
            chain.chain_id, allow_unconfirmed=allow_unconfirmed_chain
        )
        return build_zec_reth_input(data.block, data.witness, reth_chain, senders=data.senders)
    if profile.codec is Codec.STATELESS_SSZ:
        recovered = recover_senders(
            data.block.body.transactions, data.senders or None, chain_id=chain.chain_id
        )
        body = build_stateless_input(
            data.block, data.witness, chain_id=chain.chain_id,
            public_keys=[r.public_key for r in recovered],
            execution_requests=data.execution_requests,
        )
        return frame(body, profile.framing)
    if profile.codec is Codec.ETHREX_EIP8025:
        raise InputError("profile", f"profile {profile.name} reads Proof Node API requests "
                         "(EIP-8025), not blocks: use it as PROOF_NODE_GUEST_PROFILE")
    raise InputError(
        "profile", f"profile {profile.name} uses codec {profile.codec}: set EXTERNAL_INPUT_BUILDER"
    )
