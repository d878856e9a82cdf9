"""``ChainConfig`` values: mainnet (the NIF's), Hoodi, Sepolia, and any ethrex genesis file.

Values are lambdaclass/ethrex@891528d's parse of ``cmd/ethrex/networks/<net>/genesis.json``
(``crates/common/types/genesis.rs``, ``crates/common/config/networks.rs``). Mainnet is checked by
the golden vector ``chain_config_mainnet``, Hoodi by ``hoodi_1265656_hoodi-config``; Sepolia is
read from lambdaclass/ethrex@7c2a35e:cmd/ethrex/networks/sepolia/genesis.json (no golden vector).
Genesis parsing: the ``config`` object, camelCase keys, missing fork keys → None, missing blob
schedule entries → ethrex defaults, unknown keys (``amsterdamTime``…) ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from . import hexjson as hj
from .errors import InputError
from .types import BlobSchedule, ChainConfig, ForkBlobSchedule

_DEFAULT_BLOBS: Final = {
    "cancun": ForkBlobSchedule(3338477, 6, 3),
    "prague": ForkBlobSchedule(5007716, 9, 6),
    "osaka": ForkBlobSchedule(5007716, 9, 6),
    "bpo1": ForkBlobSchedule(8346193, 15, 10),
    "bpo2": ForkBlobSchedule(11684671, 21, 14),
}
_FORKS: Final = (
    "homestead_block", "dao_fork_block", "eip150_block", "eip155_block", "eip158_block",
    "byzantium_block", "constantinople_block", "petersburg_block", "istanbul_block",
    "muir_glacier_block", "berlin_block", "london_block", "arrow_glacier_block",
    "gray_glacier_block", "merge_netsplit_block", "shanghai_time", "cancun_time", "prague_time",
    "verkle_time", "osaka_time", "bpo1_time", "bpo2_time", "bpo3_time", "bpo4_time", "bpo5_time",
)  # fmt: skip


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _u64(value: object, field: str, limit: int = 2**64 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise InputError(field, f"expected an unsigned integer, got {value!r:.40}")
    return value


def _ttd(value: object, field: str) -> int:
    if isinstance(value, str):
        n = (
            hj.u256(value, field)
            if value.startswith("0x")
            else int(value)
            if value.isdigit()
            else -1
        )
        value = n
    return _u64(value, field, 2**128 - 1)


def _fork_blob(value: object, field: str) -> ForkBlobSchedule:
    o = hj.obj(value, field)
    return ForkBlobSchedule(
        base_fee_update_fraction=_u64(
            hj.get(o, "baseFeeUpdateFraction", field), f"{field}.baseFeeUpdateFraction"
        ),
        max=_u64(hj.get(o, "max", field), f"{field}.max", 2**32 - 1),
        target=_u64(hj.get(o, "target", field), f"{field}.target", 2**32 - 1),
    )


def chain_config_from_genesis(doc: object, field: str = "genesis") -> ChainConfig:
    """Parse a genesis document (or its ``config`` object) the way ethrex's serde does.

    Raises:
        InputError: a value of the wrong type or out of range (``field``-prefixed path).
    """
    o = hj.obj(doc, field)
    if "config" in o:
        field = f"{field}.config"
        o = hj.obj(o["config"], field)
    forks = {}
    for name in _FORKS:
        v = o.get(_camel(name))
        forks[name] = None if v is None else _u64(v, f"{field}.{_camel(name)}")
    bs = hj.obj(o.get("blobSchedule", {}), f"{field}.blobSchedule")
    blobs = {
        k: _fork_blob(bs[k], f"{field}.blobSchedule.{k}") if k in bs else default
        for k, default in _DEFAULT_BLOBS.items()
    }
    opt_blobs = {
        k: None if bs.get(k) is None else _fork_blob(bs[k], f"{field}.blobSchedule.{k}")
        for k in ("bpo3", "bpo4", "bpo5")
    }
    ttd = o.get("terminalTotalDifficulty")
    deposit = o.get("depositContractAddress")
    return ChainConfig(
        chain_id=_u64(hj.get(o, "chainId", field), f"{field}.chainId"),
        dao_fork_support=bool(o.get("daoForkSupport", False)),
        terminal_total_difficulty=None
        if ttd is None
        else _ttd(ttd, f"{field}.terminalTotalDifficulty"),
        terminal_total_difficulty_passed=bool(o.get("terminalTotalDifficultyPassed", False)),
        blob_schedule=BlobSchedule(
            cancun=blobs["cancun"],
            prague=blobs["prague"],
            osaka=blobs["osaka"],
            bpo1=blobs["bpo1"],
            bpo2=blobs["bpo2"],
            bpo3=opt_blobs["bpo3"],
            bpo4=opt_blobs["bpo4"],
            bpo5=opt_blobs["bpo5"],
        ),
        deposit_contract_address=bytes(20)
        if deposit is None
        else hj.address(deposit, f"{field}.depositContractAddress"),
        enable_verkle_at_genesis=bool(o.get("enableVerkleAtGenesis", False)),
        **forks,
    )


MAINNET: Final = chain_config_from_genesis(
    {
        "chainId": 1, "homesteadBlock": 1150000, "daoForkBlock": 1920000, "daoForkSupport": True,
        "eip150Block": 2463000, "eip155Block": 2675000, "eip158Block": 2675000,
        "byzantiumBlock": 4370000, "constantinopleBlock": 7280000, "petersburgBlock": 7280000,
        "istanbulBlock": 9069000, "muirGlacierBlock": 9200000, "berlinBlock": 12244000,
        "londonBlock": 12965000, "arrowGlacierBlock": 13773000, "grayGlacierBlock": 15050000,
        "shanghaiTime": 1681338455, "cancunTime": 1710338135, "pragueTime": 1746612311,
        "osakaTime": 1764798551, "bpo1Time": 1765290071, "bpo2Time": 1767747671,
        "terminalTotalDifficulty": 58750000000000000000000,
        "terminalTotalDifficultyPassed": True,
        "blobSchedule": {"cancun": {"target": 3, "max": 6, "baseFeeUpdateFraction": 3338477}},
        "depositContractAddress": "0x00000000219ab540356cbb839cbe05303d7705fa",
    },
    "mainnet",
)  # fmt: skip
_ZERO_FORKS = {
    k: 0
    for k in (
        "homesteadBlock", "eip150Block", "eip155Block", "eip158Block", "byzantiumBlock",
        "constantinopleBlock", "petersburgBlock", "istanbulBlock", "berlinBlock", "londonBlock",
    )
}  # fmt: skip
HOODI: Final = chain_config_from_genesis(
    {
        "chainId": 560048, **_ZERO_FORKS, "mergeNetsplitBlock": 0,
        "terminalTotalDifficulty": "0x0", "terminalTotalDifficultyPassed": True,
        "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 1742999832, "osakaTime": 1761677592,
        "bpo1Time": 1762365720, "bpo2Time": 1762955544,
        "depositContractAddress": "0x00000000219ab540356cBB839Cbe05303d7705Fa",
    },
    "hoodi",
)  # fmt: skip
SEPOLIA: Final = chain_config_from_genesis(
    {
        "chainId": 11155111, **_ZERO_FORKS, "mergeNetsplitBlock": 1735371,
        "terminalTotalDifficulty": "0x3c6568f12e8000", "terminalTotalDifficultyPassed": True,
        "shanghaiTime": 1677557088, "cancunTime": 1706655072, "pragueTime": 1741159776,
        "osakaTime": 1760427360, "bpo1Time": 1761017184, "bpo2Time": 1761607008,
        "depositContractAddress": "0x7f02C3E3c98b133055B8B348B2Ac625669Ed295D",
    },
    "sepolia",
)  # fmt: skip

NAMED: Final[dict[str, ChainConfig]] = {"mainnet": MAINNET, "hoodi": HOODI, "sepolia": SEPOLIA}


def chain_config_by_name(name_or_path: str) -> ChainConfig:
    """The ``ChainConfig`` named ``mainnet`` | ``hoodi`` | ``sepolia``, or read from a path to an
    ethrex/geth-style genesis JSON file.

    Raises:
        InputError: field ``chain`` for an unknown name or an unreadable file; a field of the
            genesis document (path-prefixed) for invalid content.
    """
    key = name_or_path.lower()
    if key in NAMED:
        return NAMED[key]
    path = Path(name_or_path)
    if not path.is_file():
        raise InputError("chain", f"{name_or_path!r} is neither {sorted(NAMED)} nor a file")
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError("chain", f"cannot read genesis file {path}: {exc}") from None
    return chain_config_from_genesis(doc, str(path))
