"""The chain configuration the zec-reth guest reads: alloy-genesis 2.0.x ``ChainConfig`` in bincode.

Wire form: ``alloy_genesis::serde_bincode_compat::ChainConfig``
(alloy-rs/alloy@v2.0.0:crates/genesis/src/lib.rs:492), fields in its declaration order, through
bincode 2 standard (``inputs.bincode2``): ``chain_id`` varint; 16 block forks then
``merge_netsplit_block`` as ``Option<u64>`` (``dao_fork_support: bool`` after
``dao_fork_block``); ``shanghai_time``, ``cancun_time``, ``prague_time``, ``osaka_time``,
``amsterdam_time``, ``bpo1_time``…``bpo5_time`` as ``Option<u64>``;
``terminal_total_difficulty: Option<U256>`` (``0x20`` ‖ 32 bytes big-endian);
``terminal_total_difficulty_passed: bool``; ``ethash``, ``clique``, ``parlia`` (always None here);
``deposit_contract_address: Option<Address>`` (``0x14`` ‖ 20 bytes); ``blob_schedule``
(``BTreeMap<String, BlobParams>``: count, then per key in byte order the name and
``update_fraction: u128``, ``max_blob_count: u64``, ``target_blob_count: u64``,
alloy-rs/alloy@v2.0.5:crates/eips/src/eip7840.rs:167); ``extra_fields`` (``BTreeMap<String,
String>``). The layout is tied to the alloy-genesis version in the guest's ``Cargo.lock``
(2.0.5 for zisk-eth-client v0.11.0); alloy-genesis >= 2.3.0 adds ``bogota_time``.

Per chain (what zisk-eth-client@b9aa34a:crates/clients/reth/input/src/lib.rs ``fetch_chain_config``
would send, and what this module sends):

- **mainnet (1), confirmed**: reth@v2.1.0 ``mainnet_chain_config()`` (built from
  ``EthereumHardfork::mainnet()`` and ``MAINNET.blob_params``); ``RETH_MAINNET`` encodes to the
  254 bytes every golden zec-reth input carries (sha256 ``MAINNET_CHAIN_CONFIG_SHA256``).
- **hoodi (560048), sepolia (11155111): UNCONFIRMED, and deliberately not upstream's.** Upstream
  sends ``HOODI.genesis.config`` / ``SEPOLIA.genesis.config``, i.e. the ``config`` of reth@v2.1.0
  ``crates/chainspec/res/genesis/{hoodi,sepolia}.json``: Hoodi's stops at ``pragueTime`` (no
  Osaka/BPO forks) and ``sepolia.json`` has no ``config`` at all (alloy's default). Both would
  validate current blocks under the wrong forks. The values here follow ``mainnet_chain_config``'s
  construction (reth@v2.1.0:crates/chainspec/src/spec.rs ``create_chain_config``,
  ``blob_params_to_schedule``) with each network's fork times (the same as ``inputs.chain_config``
  HOODI/SEPOLIA: ethrex's genesis files). No golden input exists for them;
  ``zec_reth_chain_config`` refuses them unless ``allow_unconfirmed``.
- anvil (31337) and every other id: no configuration (``InputError``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Final

from .bincode2 import BincodeReader, bincode_bool, bincode_bytes, bincode_option, bincode_varint
from .errors import InputError

#: sha256 of ``encode_reth_chain_config(RETH_MAINNET)`` as found in the golden zec-reth inputs.
MAINNET_CHAIN_CONFIG_SHA256: Final = (
    "bc107cc73f26f5feb2b2776b4eca974f74d4ce54ead3fec34f05afcc0c88fb99"
)


@dataclass(frozen=True, slots=True)
class RethBlobParams:
    """One ``blob_schedule`` entry as serialized: ``update_fraction`` (``baseFeeUpdateFraction``),
    ``max_blob_count``, ``target_blob_count``."""

    update_fraction: int
    max_blob_count: int
    target_blob_count: int


@dataclass(frozen=True, slots=True)
class RethChainConfig:
    """alloy-genesis 2.0.x ``ChainConfig``, the serialized fields in wire order.

    Block forks are block numbers, ``*_time`` forks Unix seconds; None = not scheduled.
    ``blob_schedule`` holds ``(name, params)`` pairs, written sorted by name (a ``BTreeMap``):
    keep them sorted so a value read back compares equal. ``extra_fields`` likewise.
    ``ethash``/``clique``/``parlia`` are not modelled (always None).
    """

    chain_id: int
    homestead_block: int | None = None
    dao_fork_block: int | None = None
    dao_fork_support: bool = False
    eip150_block: int | None = None
    eip155_block: int | None = None
    eip158_block: int | None = None
    byzantium_block: int | None = None
    constantinople_block: int | None = None
    petersburg_block: int | None = None
    istanbul_block: int | None = None
    muir_glacier_block: int | None = None
    berlin_block: int | None = None
    london_block: int | None = None
    arrow_glacier_block: int | None = None
    gray_glacier_block: int | None = None
    merge_netsplit_block: int | None = None
    shanghai_time: int | None = None
    cancun_time: int | None = None
    prague_time: int | None = None
    osaka_time: int | None = None
    amsterdam_time: int | None = None
    bpo1_time: int | None = None
    bpo2_time: int | None = None
    bpo3_time: int | None = None
    bpo4_time: int | None = None
    bpo5_time: int | None = None
    terminal_total_difficulty: int | None = None
    terminal_total_difficulty_passed: bool = False
    deposit_contract_address: bytes | None = None
    blob_schedule: tuple[tuple[str, RethBlobParams], ...] = ()
    extra_fields: tuple[tuple[str, str], ...] = ()


#: The ``Option<u64>`` fork fields, in wire order, with ``dao_fork_support`` after the second.
_FORK_FIELDS: Final = tuple(
    f.name for f in fields(RethChainConfig) if f.name.endswith(("_block", "_time"))
)


def _u256(n: int) -> bytes:
    return b"\x20" + n.to_bytes(32, "big")


def encode_reth_chain_config(cfg: RethChainConfig) -> bytes:
    """The bincode bytes of ``cfg`` (module docstring; 254 bytes for ``RETH_MAINNET``)."""
    out = [bincode_varint(cfg.chain_id)]
    for i, name in enumerate(_FORK_FIELDS):
        out.append(bincode_option(getattr(cfg, name), bincode_varint))
        if i == 1:
            out.append(bincode_bool(cfg.dao_fork_support))
    out += [
        bincode_option(cfg.terminal_total_difficulty, _u256),
        bincode_bool(cfg.terminal_total_difficulty_passed),
        b"\x00\x00\x00",  # ethash, clique, parlia: None
        bincode_option(cfg.deposit_contract_address, bincode_bytes),
        bincode_varint(len(cfg.blob_schedule)),
    ]
    for name, p in sorted(cfg.blob_schedule, key=lambda e: e[0].encode()):
        out += [
            bincode_bytes(name.encode()),
            bincode_varint(p.update_fraction),
            bincode_varint(p.max_blob_count),
            bincode_varint(p.target_blob_count),
        ]
    out.append(bincode_varint(len(cfg.extra_fields)))
    for key, value in sorted(cfg.extra_fields, key=lambda e: e[0].encode()):
        out += [bincode_bytes(key.encode()), bincode_bytes(value.encode())]
    return b"".join(out)


def _text(r: BincodeReader, what: str) -> str:
    raw = r.byte_string(what)
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise InputError(f"{r.field}.{what}", "not UTF-8") from None


def read_reth_chain_config(r: BincodeReader) -> RethChainConfig:
    """Read one ``ChainConfig`` at ``r``'s position (the inverse of ``encode_reth_chain_config``).

    Raises:
        InputError: truncated or malformed bytes, or ``ethash``/``clique``/``parlia`` present
            (not modelled).
    """
    chain_id = r.varint("chain_id")
    forks: dict[str, int | None] = {}
    dao_fork_support = False
    for i, name in enumerate(_FORK_FIELDS):
        forks[name] = r.varint(name) if r.option_tag(name) else None
        if i == 1:
            dao_fork_support = r.boolean("dao_fork_support")
    ttd = int.from_bytes(r.fixed_bytes(32, "ttd"), "big") if r.option_tag("ttd") else None
    ttd_passed = r.boolean("terminal_total_difficulty_passed")
    for name in ("ethash", "clique", "parlia"):
        if r.option_tag(name):
            raise InputError(f"{r.field}.{name}", "present; only None is supported")
    deposit = r.fixed_bytes(20, "deposit_contract_address") if r.option_tag("deposit") else None
    schedule = []
    for _ in range(r.count("blob_schedule", 4)):
        name = _text(r, "blob_schedule.key")
        params = RethBlobParams(r.varint(name), r.varint(name), r.varint(name))
        schedule.append((name, params))
    extra = [
        (_text(r, "extra_fields.key"), _text(r, "extra_fields.value"))
        for _ in range(r.count("extra_fields", 2))
    ]
    return RethChainConfig(
        chain_id=chain_id,
        dao_fork_support=dao_fork_support,
        terminal_total_difficulty=ttd,
        terminal_total_difficulty_passed=ttd_passed,
        deposit_contract_address=deposit,
        blob_schedule=tuple(schedule),
        extra_fields=tuple(extra),
        **forks,
    )


#: EIP-4844/7691/7892 blob parameters (alloy ``BlobParams::cancun/prague/osaka/bpo1/bpo2``).
_CANCUN: Final = RethBlobParams(3338477, 6, 3)
_PRAGUE: Final = RethBlobParams(5007716, 9, 6)
_BPO1: Final = RethBlobParams(8346193, 15, 10)
_BPO2: Final = RethBlobParams(11684671, 21, 14)
_SCHEDULE: Final = (  # in key byte order, as read back
    ("bpo1", _BPO1), ("bpo2", _BPO2), ("cancun", _CANCUN), ("osaka", _PRAGUE), ("prague", _PRAGUE),
)  # fmt: skip

#: reth@v2.1.0 ``mainnet_chain_config()``: each value is in the golden bytes (see the doc table).
RETH_MAINNET: Final = RethChainConfig(
    chain_id=1, homestead_block=1150000, dao_fork_block=1920000, dao_fork_support=True,
    eip150_block=2463000, eip155_block=2675000, eip158_block=2675000, byzantium_block=4370000,
    constantinople_block=7280000, petersburg_block=7280000, istanbul_block=9069000,
    muir_glacier_block=9200000, berlin_block=12244000, london_block=12965000,
    arrow_glacier_block=13773000, gray_glacier_block=15050000,
    shanghai_time=1681338455, cancun_time=1710338135, prague_time=1746612311,
    osaka_time=1764798551, bpo1_time=1765290071, bpo2_time=1767747671,
    terminal_total_difficulty=58750000000000000000000, terminal_total_difficulty_passed=True,
    deposit_contract_address=bytes.fromhex("00000000219ab540356cbb839cbe05303d7705fa"),
    blob_schedule=_SCHEDULE,
)  # fmt: skip

#: Frontier…London at block 0, as on the post-merge testnets.
_POST_MERGE_GENESIS: Final = RethChainConfig(
    chain_id=0, homestead_block=0, eip150_block=0, eip155_block=0, eip158_block=0,
    byzantium_block=0, constantinople_block=0, petersburg_block=0, istanbul_block=0,
    berlin_block=0, london_block=0,
)  # fmt: skip

#: UNCONFIRMED (module docstring): Hoodi as ``create_chain_config`` would build it.
RETH_HOODI: Final = replace(
    _POST_MERGE_GENESIS, chain_id=560048,
    shanghai_time=0, cancun_time=0, prague_time=1742999832, osaka_time=1761677592,
    bpo1_time=1762365720, bpo2_time=1762955544,
    terminal_total_difficulty=0, terminal_total_difficulty_passed=True,
    deposit_contract_address=bytes.fromhex("00000000219ab540356cbb839cbe05303d7705fa"),
    blob_schedule=_SCHEDULE,
)  # fmt: skip

#: UNCONFIRMED (module docstring): Sepolia as ``create_chain_config`` would build it.
RETH_SEPOLIA: Final = replace(
    _POST_MERGE_GENESIS, chain_id=11155111,
    shanghai_time=1677557088, cancun_time=1706655072, prague_time=1741159776,
    osaka_time=1760427360, bpo1_time=1761017184, bpo2_time=1761607008,
    terminal_total_difficulty=17000000000000000, terminal_total_difficulty_passed=True,
    deposit_contract_address=bytes.fromhex("7f02c3e3c98b133055b8b348b2ac625669ed295d"),
    blob_schedule=_SCHEDULE,
)  # fmt: skip

_BY_NAME: Final = {"mainnet": RETH_MAINNET, "hoodi": RETH_HOODI, "sepolia": RETH_SEPOLIA}
_BY_ID: Final = {c.chain_id: c for c in _BY_NAME.values()}
#: Chain ids whose configuration is checked against a golden input.
CONFIRMED_CHAIN_IDS: Final = frozenset({1})


def zec_reth_chain_config(chain: int | str, *, allow_unconfirmed: bool = False) -> RethChainConfig:
    """The guest's chain configuration for a chain id or name (``mainnet``/``hoodi``/``sepolia``).

    Args:
        allow_unconfirmed: also return Hoodi/Sepolia, whose bytes no golden input confirms.

    Raises:
        InputError: field ``chain`` for an unknown id or name (anvil's 31337 included), or an
            unconfirmed one without ``allow_unconfirmed``.
    """
    cfg = _BY_NAME.get(chain.lower()) if isinstance(chain, str) else _BY_ID.get(chain)
    if cfg is None:
        known = ", ".join(f"{n} ({c.chain_id})" for n, c in _BY_NAME.items())
        raise InputError("chain", f"no zec-reth chain configuration for {chain!r} (known: {known})")
    if cfg.chain_id not in CONFIRMED_CHAIN_IDS and not allow_unconfirmed:
        raise InputError(
            "chain",
            f"the zec-reth chain configuration for chain {cfg.chain_id} is unconfirmed (no golden "
            "input; upstream sends a different one): pass allow_unconfirmed to use it",
        )
    return cfg
