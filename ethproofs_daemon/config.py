"""Settings: the environment and CLI flags → one validated, frozen object; all errors at once.

Names follow the original client, ``lambdaclass/ethrex-ethproofs`` (README and environment
handling at b45cda3): ``ETH_RPC_URL``, ``ELF_PATH``, ``ETHPROOFS_RPC_URL``, ``ETHPROOFS_API_KEY``,
``ETHPROOFS_CLUSTER_ID``, ``LOG_LEVEL``, ``HEALTH_PORT``, ``PROVER_STUCK_THRESHOLD_SECONDS``;
``SLACK_WEBHOOK`` is from its ``slack_notifications`` branch (c667f9b) and ``ZISK_ACTION`` from a
README revision whose commit was not recorded. The rest are ours. Each is documented in the
README's configuration table, generated from ``FIELDS`` below (``ethproofs-daemon config
--markdown``).

Validation is done by pydantic over the raw strings; field errors and cross-field problems are
collected together and raised as one ``ConfigError`` listing every variable at fault, so an
operator fixes the whole file in one go. The CLI exits with status 2 on ``ConfigError`` before
anything starts.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import shlex
import shutil
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ethproofs_daemon.proofnode.public_values import PublicValuesLayout

#: The ``Host`` names admin mutations are accepted for when ``ADMIN_ALLOWED_HOSTS`` is unset.
DEFAULT_ADMIN_HOSTS: Final = ("localhost", "127.0.0.1", "::1")


class ZiskAction(enum.StrEnum):
    """``prove``: prove and report; ``execute``: run the guest for its cycle count only."""

    PROVE = "prove"
    EXECUTE = "execute"


class ProofFormat(enum.StrEnum):
    """The form of a ZisK 1.x proof sent to EthProofs (``../shared/docs/zisk-coordinator.md``
    §3.3): ``get_proof_u64`` words as LE bytes, ending with the hash-tag word (``tagged``: ZisK
    1.3, EthProofs' wasm verifier 0.4.0) or not (``untagged``: 1.1/1.2, verifier 0.3.x);
    ``auto``: tagged from ZisK 1.3 on. Which verifier the live site runs is unconfirmed."""

    AUTO = "auto"
    TAGGED = "tagged"
    UNTAGGED = "untagged"


class ProverBackendKind(enum.StrEnum):
    """``zisk``: cargo-zisk on this machine. ``zisk-coordinator``: a ZisK coordinator cluster
    over gRPC (``ZISK_COORDINATOR_URL``). ``simulated``: no proof at all (demo, tests)."""

    ZISK = "zisk"
    ZISK_COORDINATOR = "zisk-coordinator"
    SIMULATED = "simulated"

#: Backends that need the guest ELF (``ELF_PATH``).
ELF_BACKENDS: Final = frozenset({ProverBackendKind.ZISK, ProverBackendKind.ZISK_COORDINATOR})


class WitnessSourceMode(enum.StrEnum):
    """Where execution witnesses come from (``witness/source.py``)."""

    AUTO = "auto"
    DEBUG = "debug"
    SYNTHESIZE = "synthesize"


class ConfigError(Exception):
    """One or more settings are invalid; ``problems`` lists ``VARIABLE: reason`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class FieldDoc:
    """One setting as documented: environment name, default shown, meaning."""

    env: str
    default: str
    help: str


class Settings(BaseModel):
    """Every setting of the daemon, validated and frozen. Durations are in seconds, except
    ``input_retention_days`` (days)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    eth_rpc_url: str | None = Field(
        None, alias="ETH_RPC_URL", description="Execution node JSON-RPC URL (required by `run`)."
    )
    eth_ws_url: str | None = Field(
        None,
        alias="ETH_WS_URL",
        description="The node's WebSocket endpoint (ws:// or wss://): eth_subscribe(newHeads) "
        "wakes the follower at once; polling stays as the fallback.",
    )
    elf_path: Path | None = Field(
        None,
        alias="ELF_PATH",
        description="Guest program ELF proved by ZisK (required unless PROVER_BACKEND=simulated).",
    )
    ethproofs_rpc_url: str | None = Field(
        None,
        alias="ETHPROOFS_RPC_URL",
        description="EthProofs API base, e.g. https://ethproofs.org/api/v0. Unset: report nothing.",
    )
    ethproofs_api_key: SecretStr | None = Field(
        None, alias="ETHPROOFS_API_KEY", description="EthProofs API key (Bearer). Never logged."
    )
    ethproofs_cluster_id: int | None = Field(
        None, alias="ETHPROOFS_CLUSTER_ID", description="EthProofs cluster index (integer).", ge=0
    )
    zisk_action: ZiskAction = Field(
        ZiskAction.PROVE,
        alias="ZISK_ACTION",
        description="`prove` (prove and report) or `execute` (cycles only, no reports).",
    )
    slack_webhook: SecretStr | None = Field(
        None,
        alias="SLACK_WEBHOOK",
        description="Slack incoming-webhook URL for notifications. Never logged.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", alias="LOG_LEVEL", description="debug, info, warning or error."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", alias="LOG_FORMAT", description="auto (JSON unless on a TTY), json or console."
    )
    health_host: str = Field(
        "0.0.0.0",
        alias="HEALTH_HOST",
        description="Address of the health/metrics/admin HTTP server.",
    )
    health_port: int = Field(
        4000,
        alias="HEALTH_PORT",
        description="Port of the health/metrics/admin HTTP server (0: any free port).",
        ge=0,
        le=65535,
    )
    prover_stuck_threshold_seconds: float = Field(
        3600.0,
        alias="PROVER_STUCK_THRESHOLD_SECONDS",
        description="A proof running longer makes /health `degraded`.",
        gt=0,
    )
    block_interval: int = Field(
        100,
        alias="BLOCK_INTERVAL",
        description="Prove every block whose number is a multiple of this.",
        ge=1,
    )
    start_block: int | None = Field(
        None,
        alias="START_BLOCK",
        description="First block to consider (default: the head at first start).",
        ge=0,
    )
    lookback_blocks: int = Field(
        1000,
        alias="LOOKBACK_BLOCKS",
        description="How far behind the head missed targets are still caught up.",
        ge=0,
    )
    confirmations: int = Field(
        0,
        alias="CONFIRMATIONS",
        description="Blocks on top of a target before it is enqueued (0: at once); a reorg "
        "shallower than this never reaches a job.",
        ge=0,
    )
    poll_interval_seconds: float = Field(
        2.0,
        alias="POLL_INTERVAL_SECONDS",
        description="How often `eth_blockNumber` is polled.",
        gt=0,
    )
    rpc_timeout_seconds: float = Field(
        30.0, alias="RPC_TIMEOUT_SECONDS", description="Timeout of one JSON-RPC call.", gt=0
    )
    rpc_max_response_bytes: int = Field(
        1 << 30,
        alias="RPC_MAX_RESPONSE_BYTES",
        description="Largest JSON-RPC reply read from the node (bytes); a larger one fails the "
        "call.",
        ge=1024,
    )
    witness_timeout_seconds: float = Field(
        300.0,
        alias="WITNESS_TIMEOUT_SECONDS",
        description="Timeout of fetching or synthesizing one witness.",
        gt=0,
    )
    witness_source: WitnessSourceMode = Field(
        WitnessSourceMode.AUTO,
        alias="WITNESS_SOURCE",
        description="auto (debug_executionWitness, else synthesize), debug or synthesize.",
    )
    chain: str = Field(
        "mainnet",
        alias="CHAIN",
        description="Chain config of the guest input: mainnet, hoodi, sepolia or a genesis JSON.",
    )
    guest_profile: str | None = Field(
        None,
        alias="GUEST_PROFILE",
        description="Guest profile from guest_elfs/manifest.json, shipped with the package "
        "(default: zec-reth, ZisK 1.1.0-alpha; ethrex-24d4b6404-zisk-0.14.0 for ZisK 0.14).",
    )
    allow_unknown_elf: bool = Field(
        False,
        alias="ALLOW_UNKNOWN_ELF",
        description="Accept an ELF that does not match the profile (warns).",
    )
    external_input_builder: str | None = Field(
        None,
        alias="EXTERNAL_INPUT_BUILDER",
        description=(
            "Command that builds the input instead of the built-in codec; "
            "{block_number}, {rpc_url}, {output_path} are replaced."
        ),
    )
    proving_timeout_seconds: float = Field(
        3600.0,
        alias="PROVING_TIMEOUT_SECONDS",
        description="A proof running longer is killed (whole process group) and retried.",
        gt=0,
    )
    max_attempts: int = Field(
        3, alias="MAX_ATTEMPTS", description="Attempts per job before it stays failed.", ge=1
    )
    retry_base_seconds: float = Field(
        30.0,
        alias="RETRY_BASE_SECONDS",
        description="First retry delay of a failed job (doubles each time).",
        ge=0,
    )
    cargo_zisk: str = Field(
        "cargo-zisk",
        alias="CARGO_ZISK",
        description="cargo-zisk executable (default: the one on PATH).",
    )
    ziskemu: str = Field(
        "ziskemu",
        alias="ZISKEMU",
        description="ziskemu executable for ZISK_ACTION=execute with ZisK 0.14-0.16, whose GPU "
        "builds refuse `cargo-zisk execute` (used when found; else cargo-zisk execute).",
    )
    beacon_api_url: str | None = Field(
        None,
        alias="BEACON_API_URL",
        description="Beacon node REST API: the EIP-7685 requests of blocks carrying some, for "
        "GUEST_PROFILE=stateless-reth (blocks committing to no requests need none).",
    )
    allow_unconfirmed_chain_config: bool = Field(
        False,
        alias="ALLOW_UNCONFIRMED_CHAIN_CONFIG",
        description="Build zec-reth inputs for hoodi/sepolia, whose guest chain configuration no "
        "golden input confirms.",
    )
    ethproofs_proof_format: ProofFormat = Field(
        ProofFormat.AUTO,
        alias="ETHPROOFS_PROOF_FORMAT",
        description="ZisK 1.x proof bytes for EthProofs: `tagged` (1.3, wasm verifier 0.4), "
        "`untagged` (1.1/1.2) or `auto` (tagged from 1.3).",
    )
    prover_backend: ProverBackendKind = Field(
        ProverBackendKind.ZISK,
        alias="PROVER_BACKEND",
        description="`zisk` (cargo-zisk here), `zisk-coordinator` (a ZisK coordinator cluster "
        "over gRPC), or `simulated` (no real proof: demo and tests only).",
    )
    zisk_coordinator_url: str = Field(
        "http://127.0.0.1:7000",
        alias="ZISK_COORDINATOR_URL",
        description="The ZisK coordinator's gRPC address (`http://host:port`; plaintext, no TLS) "
        "for PROVER_BACKEND=zisk-coordinator.",
    )
    zisk_coordinator_version: str = Field(
        "1.1.0-alpha",
        alias="ZISK_COORDINATOR_VERSION",
        description="The coordinator's ZisK release, checked against the guest profile's. The "
        "coordinator API has no version call: this cannot be confirmed over the API; set it "
        "to the release the cluster runs.",
    )
    zisk_coordinator_retry_seconds: float = Field(
        5.0,
        alias="ZISK_COORDINATOR_RETRY_SECONDS",
        description="First wait before submitting again when the coordinator is busy or "
        "unreachable (grows 1.5x to 30 s; within the job's PROVING_TIMEOUT_SECONDS).",
        gt=0,
    )
    max_concurrent_proofs: int = Field(
        1,
        alias="MAX_CONCURRENT_PROOFS",
        description="Proofs in flight at once with PROVER_BACKEND=zisk-coordinator (raise it "
        "when the coordinator's compute units let several jobs run side by side); always 1 "
        "with cargo-zisk.",
        ge=1,
    )
    simulated_proving_seconds: float = Field(
        1.0,
        alias="SIMULATED_PROVING_SECONDS",
        description="How long the simulated prover sleeps per block.",
        ge=0,
    )
    output_dir: Path = Field(
        Path("output"),
        alias="OUTPUT_DIR",
        description="Where output/{block_number}/ directories are written.",
    )
    state_dir: Path = Field(
        Path("state"), alias="STATE_DIR", description="SQLite database and built inputs."
    )
    input_retention_days: float = Field(
        14.0,
        alias="INPUT_RETENTION_DAYS",
        description="Inputs of finished jobs are deleted after this many days.",
        ge=0,
    )
    admin_token: SecretStr | None = Field(
        None,
        alias="ADMIN_TOKEN",
        description="Token for admin mutations from clients other than 127.0.0.1 and ::1 "
        "(Bearer; needed through a local proxy or port-forward). Never logged.",
    )
    admin_allowed_hosts: str | None = Field(
        None,
        alias="ADMIN_ALLOWED_HOSTS",
        description="Comma-separated names and addresses the admin API answers mutations for "
        "(its `Host` header; DNS-rebinding guard). Unset: localhost, 127.0.0.1, ::1 and "
        "HEALTH_HOST unless it is 0.0.0.0 or ::.",
    )
    shutdown_timeout_seconds: float = Field(
        30.0,
        alias="SHUTDOWN_TIMEOUT_SECONDS",
        description="Time a graceful stop may take (let a proof finish, drain reports).",
        gt=0,
    )
    proof_node_port: int | None = Field(
        None,
        alias="PROOF_NODE_PORT",
        description="Serve the Proof Node API on this port (unset: off; the spec uses 3000).",
        ge=0,
        le=65535,
    )
    proof_node_proof_types: str = Field(
        "ethrex-zisk",
        alias="PROOF_NODE_PROOF_TYPES",
        description="Comma-separated proof types the Proof Node API serves.",
    )
    proof_node_priority: int = Field(
        0,
        alias="PROOF_NODE_PRIORITY",
        description="Priority of Proof Node API work; EthProofs work is 0, higher goes first.",
    )
    proof_node_host: str = Field(
        "127.0.0.1",
        alias="PROOF_NODE_HOST",
        description="Address the Proof Node API binds. The API has no authentication of its own: "
        "another address (e.g. 0.0.0.0) is an explicit choice; set PROOF_NODE_TOKEN with it.",
    )
    proof_node_token: SecretStr | None = Field(
        None,
        alias="PROOF_NODE_TOKEN",
        description="When set, every Proof Node API request needs `Authorization: Bearer "
        "<token>` (401 otherwise). Never logged.",
    )
    proof_node_max_body_bytes: int = Field(
        16 * 1024 * 1024,
        alias="PROOF_NODE_MAX_BODY_BYTES",
        description="Largest Proof Node API request body (bytes); larger ones are answered 413.",
        ge=1,
    )
    proof_node_witness_timeout_seconds: float = Field(
        12.0,
        alias="PROOF_NODE_WITNESS_TIMEOUT_SECONDS",
        description="Budget for one Proof Node API request's witness, lookups with backoff "
        "included (zkboost's default: 12 s).",
        gt=0,
        le=600,
    )
    proof_node_guest_profile: str = Field(
        "ethrex-eip8025-zisk-0.16.1",
        alias="PROOF_NODE_GUEST_PROFILE",
        description="Guest profile of the Proof Node API's guest; its input form must be the "
        "one its proof types send (ethrex-zisk: the EIP-8025 ethrex guest).",
    )
    proof_node_elf_path: Path | None = Field(
        None,
        alias="PROOF_NODE_ELF_PATH",
        description="The Proof Node API's guest ELF (unset: ELF_PATH).",
    )
    proof_node_public_values: PublicValuesLayout = Field(
        PublicValuesLayout.UNCONFIRMED,
        alias="PROOF_NODE_PUBLIC_VALUES",
        description="How the guest's output sits in a proof's public values: `unconfirmed` "
        "(verification answers 501) or `bincode1-root-valid` (the EIP-8025 ethrex guest).",
    )
    proof_node_max_subscribers: int = Field(
        256,
        alias="PROOF_NODE_MAX_SUBSCRIBERS",
        description="Open Proof Node API event streams (SSE) at once; more are answered 503.",
        ge=1,
    )

    @field_validator("eth_rpc_url", "ethproofs_rpc_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @property
    def ethproofs_enabled(self) -> bool:
        """True when all three ``ETHPROOFS_*`` settings are given."""
        return (
            self.ethproofs_rpc_url is not None
            and self.ethproofs_api_key is not None
            and self.ethproofs_cluster_id is not None
        )

    @property
    def admin_hosts(self) -> frozenset[str]:
        """The ``Host`` names (lower case, no port, IPv6 without brackets) admin mutations are
        accepted for: ``ADMIN_ALLOWED_HOSTS``, or the loopback names plus ``HEALTH_HOST``."""
        if self.admin_allowed_hosts is not None:
            names = self.admin_allowed_hosts.split(",")
        else:
            names = list(DEFAULT_ADMIN_HOSTS)
            if self.health_host not in {"0.0.0.0", "::", ""}:
                names.append(self.health_host)
        return frozenset(n.strip().strip("[]").lower() for n in names if n.strip())

    @property
    def database_path(self) -> Path:
        """The SQLite database file inside ``state_dir``."""
        return self.state_dir / "ethproofs-daemon.sqlite"


ENV_NAMES: Final = {
    name: (info.alias or name.upper()) for name, info in Settings.model_fields.items()
}
FIELDS: Final = [
    FieldDoc(
        env=info.alias or name.upper(),
        default="" if info.default is None else str(getattr(info.default, "value", info.default)),
        help=info.description or "",
    )
    for name, info in Settings.model_fields.items()
]


def cross_field_problems(raw: Mapping[str, object], *, for_run: bool) -> list[str]:
    """Problems that involve several settings or the file system, read from the raw values
    (so they are reported even when other fields fail to parse).

    Args:
        raw: values by environment name, as collected by ``load_settings``.
        for_run: also check what ``run`` needs (RPC URL, ELF and guest profile, cargo-zisk on
            ``PATH``, distinct ports).

    Returns:
        ``VARIABLE: reason`` lines; empty when fine.
    """
    problems: list[str] = []
    trio_names = ("ETHPROOFS_RPC_URL", "ETHPROOFS_API_KEY", "ETHPROOFS_CLUSTER_ID")
    missing = [k for k in trio_names if raw.get(k) is None]
    if 0 < len(missing) < 3:
        problems.append(
            f"{', '.join(missing)}: required when any ETHPROOFS_* setting is given "
            "(set all three to report, or none)"
        )
    if not for_run:
        return problems
    if raw.get("ETH_RPC_URL") is None:
        problems.append("ETH_RPC_URL: required to follow the chain")
    backend = str(raw.get("PROVER_BACKEND", ProverBackendKind.ZISK))
    if backend in ELF_BACKENDS:
        elf = raw.get("ELF_PATH")
        if elf is None:
            problems.append(f"ELF_PATH: required with PROVER_BACKEND={backend}")
        elif not Path(str(elf)).is_file():
            problems.append(f"ELF_PATH: no such file: {elf}")
        else:
            problems += guest_problems(raw)
    if backend == ProverBackendKind.ZISK:
        cargo_zisk = str(raw.get("CARGO_ZISK", "cargo-zisk"))
        if shutil.which(cargo_zisk) is None:
            problems.append(f"CARGO_ZISK: {cargo_zisk!r} is not an executable on PATH")
    problems += coordinator_problems(raw)
    ws = raw.get("ETH_WS_URL")
    if ws is not None:
        from ethproofs_daemon.node.new_heads import ws_target

        try:
            ws_target(str(ws))
        except ValueError as exc:
            problems.append(f"ETH_WS_URL: {exc}")
    node_port, health_port = raw.get("PROOF_NODE_PORT"), raw.get("HEALTH_PORT", "4000")
    if node_port is not None and str(node_port) == str(health_port) and str(node_port) != "0":
        problems.append("PROOF_NODE_PORT: must differ from HEALTH_PORT")
    problems += setup_problems(raw)
    return problems


def coordinator_problems(raw: Mapping[str, object]) -> list[str]:
    """The ZisK coordinator settings: a plaintext ``http://host:port`` address, a readable
    version, no execute-only runs (the coordinator backend does not offer them), and
    ``MAX_CONCURRENT_PROOFS`` above 1 only where proofs can run side by side.

    Returns:
        ``VARIABLE: reason`` lines; empty when fine.
    """
    from ethproofs_daemon.prover.zisk_cli import VersionParseError, parse_version

    problems: list[str] = []
    backend = str(raw.get("PROVER_BACKEND", ProverBackendKind.ZISK))
    slots = str(raw.get("MAX_CONCURRENT_PROOFS", "1"))
    if backend == ProverBackendKind.ZISK and slots.isdigit() and int(slots) > 1:
        problems.append("MAX_CONCURRENT_PROOFS: cargo-zisk proves one block at a time on this "
                        "machine; several proofs in flight need PROVER_BACKEND=zisk-coordinator")
    if backend != ProverBackendKind.ZISK_COORDINATOR:
        return problems
    if str(raw.get("ZISK_ACTION", ZiskAction.PROVE)) == ZiskAction.EXECUTE:
        problems.append("ZISK_ACTION, PROVER_BACKEND: execute-only runs are not offered through "
                        "the ZisK coordinator (use PROVER_BACKEND=zisk to execute)")
    try:
        coordinator_target(str(raw.get("ZISK_COORDINATOR_URL", "http://127.0.0.1:7000")))
    except ValueError as exc:
        problems.append(f"ZISK_COORDINATOR_URL: {exc}")
    version = str(raw.get("ZISK_COORDINATOR_VERSION", "1.1.0-alpha"))
    try:
        parse_version(f"cargo-zisk {version}")
    except VersionParseError:
        problems.append(f"ZISK_COORDINATOR_VERSION: not a ZisK version: {version!r:.40}")
    return problems


def coordinator_target(url: str) -> str:
    """The gRPC target ``host:port`` of ``ZISK_COORDINATOR_URL`` (``http://host:port``, or
    ``host:port`` alone).

    Raises:
        ValueError: another scheme (TLS is not supported), no port, or a path.
    """
    text = url if "://" in url else f"http://{url}"
    parts = urllib.parse.urlsplit(text)
    if parts.scheme != "http":
        raise ValueError(f"must be http://host:port (plaintext gRPC), got {url!r:.80}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in {url!r:.80}") from exc
    if not parts.hostname or port is None or parts.path.strip("/"):
        raise ValueError(f"must be http://host:port, got {url!r:.80}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}"


def setup_problems(raw: Mapping[str, object]) -> list[str]:
    """What ``run`` would only find out later: the chain config, the Proof Node API's proof
    types, the external builder's template and its fit with the guest profile, the state
    directory, and placeholder proofs aimed at a real EthProofs service.

    Args:
        raw: values by environment name, as collected by ``load_settings``.

    Returns:
        ``VARIABLE: reason`` lines; empty when fine.
    """
    from ethproofs_daemon.inputs.chain_config import chain_config_by_name
    from ethproofs_daemon.inputs.errors import InputError
    from ethproofs_daemon.inputs.profiles import Codec, get_profile
    from ethproofs_daemon.inputs.zec_reth_chains import zec_reth_chain_config
    from ethproofs_daemon.node.external_builder import render_argv
    from ethproofs_daemon.proofnode.settings import KNOWN_PROOF_TYPES

    problems: list[str] = []
    chain = None
    try:
        chain = chain_config_by_name(str(raw.get("CHAIN", "mainnet")))
    except InputError as exc:
        problems.append(f"CHAIN: {exc.reason}")
    types = [t.strip() for t in str(raw.get("PROOF_NODE_PROOF_TYPES", "ethrex-zisk")).split(",")]
    unknown = [t for t in types if t not in KNOWN_PROOF_TYPES]
    if unknown or not any(types):
        problems.append(f"PROOF_NODE_PROOF_TYPES: unknown proof type(s) {unknown or types}; "
                        f"known: {', '.join(KNOWN_PROOF_TYPES)}")
    if raw.get("PROOF_NODE_PORT") is not None:
        problems += proof_node_guest_problems(raw, [t for t in types if t not in unknown])
    builder = raw.get("EXTERNAL_INPUT_BUILDER")
    if builder is not None:
        try:
            render_argv(shlex.split(str(builder)), block_number=0, rpc_url="", output_path=Path())
        except ValueError as exc:  # shlex: unbalanced quotes
            problems.append(f"EXTERNAL_INPUT_BUILDER: cannot split the command: {exc}")
        except InputError as exc:
            problems.append(f"EXTERNAL_INPUT_BUILDER: {exc.reason}")
    name = raw.get("GUEST_PROFILE")
    try:
        profile = get_profile(None if name is None else str(name))
    except InputError:
        profile = None  # reported by guest_problems with the ELF check
    if profile is not None and profile.codec is Codec.ZEC_RETH_BINCODE and chain is not None:
        allow = str(raw.get("ALLOW_UNCONFIRMED_CHAIN_CONFIG", "")).lower() in {"1", "true", "yes"}
        try:
            zec_reth_chain_config(chain.chain_id, allow_unconfirmed=allow)
        except InputError as exc:
            problems.append(f"CHAIN, GUEST_PROFILE: {exc.reason} (GUEST_PROFILE={profile.name}; "
                            "pick a guest profile that builds for this chain, e.g. "
                            "ethrex-24d4b6404-zisk-0.14.0 with a genesis file)")
    if profile is not None and profile.codec is Codec.STATELESS_SSZ and chain is not None and (
        chain.chain_id != 1
    ):
        problems.append(
            f"CHAIN, GUEST_PROFILE: {profile.name}'s schema id names the block's fork, which "
            f"this daemon knows from mainnet's fork times only (chain {chain.chain_id})")
    if profile is not None and profile.codec is Codec.EXTERNAL and builder is None:
        problems.append(f"EXTERNAL_INPUT_BUILDER: required by GUEST_PROFILE={profile.name} "
                        "(its input has no built-in codec)")
    problems += _state_dir_problems(Path(str(raw.get("STATE_DIR", "state"))))
    backend = str(raw.get("PROVER_BACKEND", ProverBackendKind.ZISK))
    url = raw.get("ETHPROOFS_RPC_URL")
    simulated = backend == ProverBackendKind.SIMULATED
    if simulated and url is not None and not _is_loopback_url(str(url)):
        problems.append(
            "PROVER_BACKEND, ETHPROOFS_RPC_URL: the simulated prover writes placeholder bytes, "
            f"not proofs; it reports only to a loopback EthProofs URL (got {url!r:.80})"
        )
    return problems


def proof_node_guest_problems(raw: Mapping[str, object], types: list[str]) -> list[str]:
    """The Proof Node API's guest can read what its proof types send, and runs on the same
    ``cargo-zisk`` as the EthProofs guest (``VARIABLE: reason`` lines)."""
    from ethproofs_daemon.inputs.errors import InputError
    from ethproofs_daemon.inputs.profiles import get_profile
    from ethproofs_daemon.proofnode.settings import PROOF_TYPE_CODECS
    from ethproofs_daemon.prover.zisk_cli import same_series

    name = str(raw.get("PROOF_NODE_GUEST_PROFILE", "ethrex-eip8025-zisk-0.16.1"))
    try:
        node_profile = get_profile(name)
    except InputError as exc:
        return [f"PROOF_NODE_GUEST_PROFILE: {exc.reason}"]
    problems = []
    for t in types:
        codecs = PROOF_TYPE_CODECS.get(t, frozenset())
        if node_profile.codec not in codecs:
            wants = ", ".join(sorted(codecs)) or "none this daemon builds"
            problems.append(
                f"PROOF_NODE_PROOF_TYPES, PROOF_NODE_GUEST_PROFILE: proof type {t} sends input "
                f"of codec {wants}, but guest profile {node_profile.name} reads "
                f"{node_profile.codec} ({node_profile.framing})")
    backend = str(raw.get("PROVER_BACKEND", ProverBackendKind.ZISK))
    node_elf, elf = raw.get("PROOF_NODE_ELF_PATH"), raw.get("ELF_PATH")
    if backend == "zisk-coordinator" and node_elf is not None and str(node_elf) != str(elf):
        problems.append(
            "PROOF_NODE_ELF_PATH: the coordinator backend proves the one guest it registered "
            "(ELF_PATH); a second guest for the Proof Node API needs PROVER_BACKEND=zisk")
    eth_name = raw.get("GUEST_PROFILE")
    try:
        eth_profile = get_profile(None if eth_name is None else str(eth_name))
    except InputError:
        return problems  # reported with GUEST_PROFILE
    if backend != ProverBackendKind.SIMULATED and not same_series(
        node_profile.zisk_version, eth_profile.zisk_version
    ):
        problems.append(
            f"PROOF_NODE_GUEST_PROFILE: {node_profile.name} is built for ZisK "
            f"{node_profile.zisk_version}, GUEST_PROFILE {eth_profile.name} for "
            f"{eth_profile.zisk_version}: one cargo-zisk runs both")
    return problems


def _state_dir_problems(state_dir: Path) -> list[str]:
    """The state directory exists as a writable directory, or can be created."""
    if state_dir.exists():
        if not state_dir.is_dir():
            return [f"STATE_DIR: {state_dir} exists and is not a directory"]
        if not os.access(state_dir, os.W_OK | os.X_OK):
            return [f"STATE_DIR: {state_dir} is not writable"]
        return []
    parent = state_dir.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return [f"STATE_DIR: {state_dir} cannot be created ({parent} is not a writable directory)"]
    return []


def _is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is ``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def guest_problems(raw: Mapping[str, object]) -> list[str]:
    """Check that ``GUEST_PROFILE`` names a known profile and that ``ELF_PATH`` matches it (file
    name, sha256 where recorded); with ``ALLOW_UNKNOWN_ELF`` a mismatch is accepted (and
    ``check_elf``'s warnings are not reported here). Rules: ``inputs/profiles.py``.

    Returns:
        At most one ``VARIABLE: reason`` line; empty when fine. ``raw["ELF_PATH"]`` must be set.
    """
    from ethproofs_daemon.inputs.errors import InputError
    from ethproofs_daemon.inputs.profiles import check_elf, get_profile

    name = raw.get("GUEST_PROFILE")
    try:
        profile = get_profile(None if name is None else str(name))
    except InputError as exc:
        return [f"GUEST_PROFILE: {exc.reason}"]
    allow = str(raw.get("ALLOW_UNKNOWN_ELF", "")).lower() in {"1", "true", "yes", "on"}
    try:
        check_elf(profile, Path(str(raw["ELF_PATH"])), allow)
    except InputError as exc:
        return [f"ELF_PATH: {exc.reason} (set ALLOW_UNKNOWN_ELF=1 to accept it)"]
    return []


def load_settings(
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
    *,
    for_run: bool = False,
) -> Settings:
    """Build ``Settings`` from ``env`` (default ``os.environ``) and CLI ``overrides``.

    ``overrides`` are keyed by environment name (``HEALTH_PORT``) and win over ``env``; None
    values are ignored. Empty environment strings count as unset. With ``for_run`` the settings
    ``run`` needs are checked too (RPC URL, ELF, cargo-zisk on PATH).

    Raises:
        ConfigError: listing every problem, each as ``VARIABLE: reason``.
    """
    source = os.environ if env is None else env
    raw: dict[str, object] = {}
    for env_name in ENV_NAMES.values():
        text = source.get(env_name)
        if text is not None and text.strip() != "":
            raw[env_name] = text.strip()
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[key] = value
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "settings"
            got = err.get("input")
            if loc == "ETH_RPC_URL" and isinstance(got, str):
                got = mask_url(got)
            shown = "" if _is_secret(loc) else f" (got {got!r:.60})"
            problems.append(f"{loc}: {err['msg']}{shown}")
    problems += cross_field_problems(raw, for_run=for_run)
    if problems or settings is None:
        raise ConfigError(problems)
    return settings


def mask_url(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, then ``/…`` when it has more (path, query, fragment,
    user info): node providers put the API key there. Not a URL: ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "***"
    if not parts.scheme or not parts.hostname:
        return "***"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    shown = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    if parts.path.strip("/") or parts.query or parts.fragment or parts.username is not None:
        shown += "/…"
    return shown


def shown_settings(settings: Settings) -> list[tuple[str, str]]:
    """``(ENV_NAME, value)`` for ``ethproofs-daemon config``: secrets as ``***``, ``ETH_RPC_URL``
    masked (``mask_url``), unset as the empty string."""
    rows: list[tuple[str, str]] = []
    for name, env in ENV_NAMES.items():
        value = getattr(settings, name)
        if value is None:
            shown = ""
        elif isinstance(value, SecretStr):
            shown = "***"
        elif env == "ETH_RPC_URL":
            shown = mask_url(str(value))
        else:
            shown = str(value)
        rows.append((env, shown))
    return rows


def _is_secret(env_name: str) -> bool:
    return env_name in {"ETHPROOFS_API_KEY", "SLACK_WEBHOOK", "ADMIN_TOKEN"}


def settings_markdown_table() -> str:
    """The README's configuration table, one row per setting."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{f.env}` | {f'`{f.default}`' if f.default else ''} | {f.help} |" for f in FIELDS]
    return "\n".join(rows)
