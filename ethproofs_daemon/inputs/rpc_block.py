"""``eth_getBlockByNumber(n, true)`` JSON → typed ``Block``, following ethrex@891528d serde rules.

Sources: lambdaclass/ethrex@891528d:crates/networking/rpc/types/{block.rs,transaction.rs}
(``RpcBlock``, ``TryInto<Block>``), ``crates/common/types/{block.rs,transaction.rs}`` (serde of
header, withdrawal and the custom ``Transaction`` deserializer), ``crates/common/serde_utils.rs``.

Two forms: ``rpc=True`` (the NIF's ``RpcBlock``: needs ``hash``, ``size``, ``withdrawals``, full
transaction objects with ``from``/``hash``/``blockNumber``/``transactionIndex``; uncles are
dropped) and ``rpc=False`` (ethrex's own ``Block`` serde, as in ethrex-replay caches: uncles are
headers, ``withdrawals`` optional). Deviation: a transaction with an explicit ``type`` that is not
0–4, 0x7d or 0x7e is refused (ethrex would read it as EIP-1559).
Every failure is ``InputError`` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ethproofs_daemon.eth.types import (
    AccessListItem,
    AuthorizationTuple,
    Block,
    BlockBody,
    BlockHeader,
    EIP1559Transaction,
    EIP2930Transaction,
    EIP4844Transaction,
    EIP7702Transaction,
    FeeTokenTransaction,
    LegacyTransaction,
    PrivilegedL2Transaction,
    Transaction,
    Withdrawal,
)

from . import hexjson as hj
from .errors import InputError
from .hexjson import JsonObject

KNOWN_TX_TYPES: Final = frozenset({0, 1, 2, 3, 4, 0x7D, 0x7E})
_RPC_TX_KEYS: Final = ("from", "hash", "blockNumber", "transactionIndex")


def header_from_json(o: JsonObject, field: str) -> BlockHeader:
    """A header object (RPC block or ethrex ``BlockHeader`` serde; same keys)."""

    def g(key: str) -> object:
        return hj.get(o, key, field)

    def f(key: str) -> str:
        return f"{field}.{key}"

    if "difficulty" in o:
        if o["difficulty"] is None:
            raise InputError(f("difficulty"), "null is not a U256")
        difficulty = hj.u256(o["difficulty"], f("difficulty"))
    else:
        difficulty = 0
    return BlockHeader(
        parent_hash=hj.h256(g("parentHash"), f("parentHash")),
        ommers_hash=hj.h256(g("sha3Uncles"), f("sha3Uncles")),
        coinbase=hj.address(g("miner"), f("miner")),
        state_root=hj.h256(g("stateRoot"), f("stateRoot")),
        transactions_root=hj.h256(g("transactionsRoot"), f("transactionsRoot")),
        receipts_root=hj.h256(g("receiptsRoot"), f("receiptsRoot")),
        logs_bloom=hj.fixed(g("logsBloom"), 256, f("logsBloom")),
        difficulty=difficulty,
        number=hj.u64_quantity(g("number"), f("number")),
        gas_limit=hj.u64_quantity(g("gasLimit"), f("gasLimit")),
        gas_used=hj.u64_quantity(g("gasUsed"), f("gasUsed")),
        timestamp=hj.u64_quantity(g("timestamp"), f("timestamp")),
        extra_data=hj.bytes_trimmed(g("extraData"), f("extraData")),
        prev_randao=hj.h256(g("mixHash"), f("mixHash")),
        nonce=hj.u64_quantity(g("nonce"), f("nonce")),
        base_fee_per_gas=hj.opt_u64_quantity(o, "baseFeePerGas", field),
        withdrawals_root=hj.opt_h256(o, "withdrawalsRoot", field),
        blob_gas_used=hj.opt_u64_quantity(o, "blobGasUsed", field),
        excess_blob_gas=hj.opt_u64_quantity(o, "excessBlobGas", field),
        parent_beacon_block_root=hj.opt_h256(o, "parentBeaconBlockRoot", field),
        requests_hash=hj.opt_h256(o, "requestsHash", field),
    )


def _access_list(value: object, field: str) -> tuple[AccessListItem, ...]:
    out = []
    for i, entry in enumerate(hj.array(value, field)):
        e = hj.obj(entry, f"{field}[{i}]")
        keys_field = f"{field}[{i}].storageKeys"
        keys = hj.array(hj.get(e, "storageKeys", f"{field}[{i}]"), keys_field)
        out.append(
            AccessListItem(
                hj.address(hj.get(e, "address", f"{field}[{i}]"), f"{field}[{i}].address"),
                tuple(hj.h256(k, f"{keys_field}[{j}]") for j, k in enumerate(keys)),
            )
        )
    return tuple(out)


def _authorizations(value: object, field: str) -> tuple[AuthorizationTuple, ...]:
    out = []
    for i, entry in enumerate(hj.array(value, field)):
        fi = f"{field}[{i}]"
        e = hj.obj(entry, fi)
        nonce = e.get("nonce")
        out.append(
            AuthorizationTuple(
                chain_id=hj.u256(hj.get(e, "chainId", fi), f"{fi}.chainId"),
                address=hj.address(hj.get(e, "address", fi), f"{fi}.address"),
                nonce=0 if nonce is None else hj.u64_quantity(nonce, f"{fi}.nonce"),
                y_parity=hj.u256(hj.get(e, "yParity", fi), f"{fi}.yParity"),
                r_signature=hj.u256(hj.get(e, "r", fi), f"{fi}.r"),
                s_signature=hj.u256(hj.get(e, "s", fi), f"{fi}.s"),
            )
        )
    return tuple(out)


def transaction_from_json(o: JsonObject, field: str, *, rpc: bool) -> Transaction:
    """One transaction object (ethrex's custom ``Transaction`` deserializer)."""
    if rpc:
        for key in _RPC_TX_KEYS:
            hj.get(o, key, field)

    def g(key: str) -> object:
        return hj.get(o, key, field)

    def f(key: str) -> str:
        return f"{field}.{key}"

    def u64(key: str) -> int:
        return hj.u64_from_u256(g(key), f(key))

    def u256(key: str) -> int:
        return hj.u256(g(key), f(key))

    def kind() -> bytes | None:
        to = g("to")
        return None if to is None or to == "" else hj.address(to, f("to"))

    if "type" in o:
        tx_type = hj.u64_quantity(o["type"], f("type"))
        if tx_type not in KNOWN_TX_TYPES:
            raise InputError(f("type"), f"unknown transaction type {tx_type:#x}")
    else:
        tx_type = 0x7E if "tx_type" in o else 2
    data = hj.bytes_0x(g("input"), f("input"))
    if tx_type == 0:
        return LegacyTransaction(
            nonce=u64("nonce"), gas_price=u256("gasPrice"), gas=u64("gas"), to=kind(),
            value=u256("value"), data=data, v=u256("v"), r=u256("r"), s=u256("s"),
        )  # fmt: skip
    chain_id, nonce = u64("chainId"), u64("nonce")
    access_list = _access_list(g("accessList"), f("accessList"))
    if tx_type == 1:
        return EIP2930Transaction(
            chain_id=chain_id, nonce=nonce, gas_price=u256("gasPrice"), gas_limit=u64("gas"),
            to=kind(), value=u256("value"), data=data, access_list=access_list,
            signature_y_parity=u256("yParity") != 0, signature_r=u256("r"), signature_s=u256("s"),
        )  # fmt: skip
    mpf, mf = u64("maxPriorityFeePerGas"), u64("maxFeePerGas")
    if tx_type == 2:
        return EIP1559Transaction(
            chain_id=chain_id, nonce=nonce, max_priority_fee_per_gas=mpf, max_fee_per_gas=mf,
            gas_limit=u64("gas"), to=kind(), value=u256("value"), data=data,
            access_list=access_list, signature_y_parity=u256("yParity") != 0,
            signature_r=u256("r"), signature_s=u256("s"),
        )  # fmt: skip
    if tx_type == 3:
        hashes = hj.array(g("blobVersionedHashes"), f("blobVersionedHashes"))
        return EIP4844Transaction(
            chain_id=chain_id, nonce=nonce, max_priority_fee_per_gas=mpf, max_fee_per_gas=mf,
            gas=u64("gas"), to=hj.address(g("to"), f("to")), value=u256("value"), data=data,
            access_list=access_list, max_fee_per_blob_gas=u256("maxFeePerBlobGas"),
            blob_versioned_hashes=tuple(
                hj.h256(h, f"{field}.blobVersionedHashes[{i}]") for i, h in enumerate(hashes)
            ),
            signature_y_parity=u256("yParity") != 0, signature_r=u256("r"),
            signature_s=u256("s"),
        )  # fmt: skip
    if tx_type == 4:
        return EIP7702Transaction(
            chain_id=chain_id, nonce=nonce, max_priority_fee_per_gas=mpf, max_fee_per_gas=mf,
            gas_limit=u64("gas"), to=hj.address(g("to"), f("to")), value=u256("value"),
            data=data, access_list=access_list,
            authorization_list=_authorizations(g("authorizationList"), f("authorizationList")),
            signature_y_parity=u256("yParity") != 0, signature_r=u256("r"),
            signature_s=u256("s"),
        )  # fmt: skip
    if tx_type == 0x7D:
        return FeeTokenTransaction(
            chain_id=chain_id, nonce=nonce, max_priority_fee_per_gas=mpf, max_fee_per_gas=mf,
            gas_limit=u64("gas"), to=kind(), value=u256("value"), data=data,
            access_list=access_list, fee_token=hj.address(g("feeToken"), f("feeToken")),
            signature_y_parity=u256("yParity") != 0, signature_r=u256("r"),
            signature_s=u256("s"),
        )  # fmt: skip
    return PrivilegedL2Transaction(
        chain_id=chain_id, nonce=nonce, max_priority_fee_per_gas=mpf, max_fee_per_gas=mf,
        gas_limit=u64("gas"), to=kind(), value=u256("value"), data=data,
        access_list=access_list, from_=hj.address(g("sender"), f("sender")),
    )  # fmt: skip


def _withdrawals(value: object, field: str) -> tuple[Withdrawal, ...]:
    out = []
    for i, entry in enumerate(hj.array(value, field)):
        fi = f"{field}[{i}]"
        e = hj.obj(entry, fi)
        out.append(
            Withdrawal(
                index=hj.u64_quantity(hj.get(e, "index", fi), f"{fi}.index"),
                validator_index=hj.u64_quantity(
                    hj.get(e, "validatorIndex", fi), f"{fi}.validatorIndex"
                ),
                address=hj.address(hj.get(e, "address", fi), f"{fi}.address"),
                amount=hj.u64_quantity(hj.get(e, "amount", fi), f"{fi}.amount"),
            )
        )
    return tuple(out)


def block_from_json(value: object, *, rpc: bool = True, field: str = "block") -> Block:
    """A block object → ``Block``.

    Args:
        rpc: read with the NIF's ``RpcBlock`` rules (an ``eth_getBlockByNumber(n, true)``
            result); False reads ethrex's own ``Block`` serde (ethrex-replay caches).
        field: the dotted path errors name.

    Raises:
        InputError: a field breaks the rules, e.g. ``block.withdrawals: missing`` for a
            pre-Shanghai block (the NIF's ``BlockBodyWrapper`` error), or a hashes-only
            transaction list.
    """
    o = hj.obj(value, field)
    if rpc:
        hj.h256(hj.get(o, "hash", field), f"{field}.hash")
        hj.u64_quantity(hj.get(o, "size", field), f"{field}.size")
        body_obj = o
    else:
        body_obj = hj.obj(hj.get(o, "body", field), f"{field}.body")
        o = hj.obj(hj.get(o, "header", field), f"{field}.header")
    header = header_from_json(o, field if rpc else f"{field}.header")
    bfield = field if rpc else f"{field}.body"
    txs_json = hj.array(hj.get(body_obj, "transactions", bfield), f"{bfield}.transactions")
    uncles = hj.array(hj.get(body_obj, "uncles", bfield), f"{bfield}.uncles")
    if rpc and "withdrawals" not in body_obj:
        raise InputError(
            f"{bfield}.withdrawals",
            "missing: the NIF's RpcBlock requires it (pre-Shanghai block; 'data did not match any "
            "variant of untagged enum BlockBodyWrapper')",
        )
    txs = []
    for i, tx in enumerate(txs_json):
        fi = f"{bfield}.transactions[{i}]"
        if rpc and isinstance(tx, str):
            raise InputError(fi, "Expected full block body from RPC (got a transaction hash)")
        txs.append(transaction_from_json(hj.obj(tx, fi), fi, rpc=rpc))
    if rpc:
        for i, u in enumerate(uncles):
            hj.h256(u, f"{bfield}.uncles[{i}]")
        ommers: tuple[BlockHeader, ...] = ()
    else:
        ommers = tuple(
            header_from_json(hj.obj(u, f"{bfield}.uncles[{i}]"), f"{bfield}.uncles[{i}]")
            for i, u in enumerate(uncles)
        )
    wd_json = body_obj.get("withdrawals")
    if wd_json is None and rpc:
        raise InputError(f"{bfield}.withdrawals", "null is not an array of withdrawals")
    withdrawals = None if wd_json is None else _withdrawals(wd_json, f"{bfield}.withdrawals")
    return Block(header, BlockBody(tuple(txs), ommers, withdrawals))


@dataclass(frozen=True, slots=True)
class RpcBlock:
    """An ``eth_getBlockByNumber(n, true)`` result, typed: the block, the ``hash`` the node
    gave for it (32 bytes; ``checks.check_block_hash`` compares it with the header's keccak) and
    each transaction's ``from`` as the node gave it (20 bytes each, in transaction order;
    ``eth.senders.recover_senders`` compares them with the recovered signers)."""

    block: Block
    hash: bytes
    senders: tuple[bytes, ...] = ()


def rpc_block_from_json(value: object, field: str = "block") -> RpcBlock:
    """Parse a node's block once, at the RPC edge (``block_from_json`` with the NIF's rules).

    Raises:
        InputError: as ``block_from_json`` (the field is named).
    """
    block = block_from_json(value, rpc=True, field=field)
    o = hj.obj(value, field)
    senders = []
    for i, tx in enumerate(hj.array(o["transactions"], f"{field}.transactions")):
        fi = f"{field}.transactions[{i}]"
        senders.append(hj.address(hj.obj(tx, fi)["from"], f"{fi}.from"))
    return RpcBlock(block, hj.h256(o["hash"], f"{field}.hash"), tuple(senders))
