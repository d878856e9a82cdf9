"""Configuration of the Proof Node API, and the proof type names the spec knows.

Sources: the Proof Node API spec, ``eth-act/zkboost@9be2085d:openapi.json``
(``components.schemas.ProofType``; default server port 3000; SSE keep-alive comment every 15 s),
and zkboost's defaults at the same commit: witness timeout 12 s and proof cache 128 entries per
proof type (``crates/server/src/config.rs``; here 128 for all types together), witness retry
every 0.2 s (``crates/server/src/witness.rs``). zkboost's body limit is 1 GiB
(``crates/server/src/http.rs``); here 16 MiB, ample for a ``NewPayloadRequest`` (an execution
payload of a 60M-gas block of calldata is a few MiB), answered 413 past it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ethproofs_daemon.inputs.profiles import Codec
from ethproofs_daemon.jobs import DEFAULT_PROOF_TYPE

#: Every proof type of the spec (case-sensitive), in the spec's (sorted) order.
KNOWN_PROOF_TYPES: Final[tuple[str, ...]] = (
    "ethrex-risc0",
    "ethrex-sp1",
    "ethrex-zisk",
    "reth-openvm",
    "reth-risc0",
    "reth-sp1",
    "reth-zisk",
)

#: The guest-input codecs each proof type's requests are built with here: ``ethrex-zisk`` sends
#: the EIP-8025 form the ethrex guest reads (``guest_input.py``). Types without an entry (e.g.
#: ``reth-zisk``, whose stateless-SSZ input from a ``NewPayloadRequest`` is not built here) have
#: no guest this daemon can feed, and a configuration naming them is refused at start.
PROOF_TYPE_CODECS: Final[dict[str, frozenset[Codec]]] = {
    "ethrex-zisk": frozenset({Codec.ETHREX_EIP8025}),
}

DEFAULT_PORT: Final = 3000
#: The spec has no authentication: binding beyond loopback is the operator's explicit choice.
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_MAX_BODY_BYTES: Final = 16 * 1024 * 1024


class SettingsError(ValueError):
    """A ``ProofNodeSettings`` value that cannot work (message names the field)."""


@dataclass(frozen=True, slots=True)
class ProofNodeSettings:
    """Proof Node API settings. Times in seconds, sizes in bytes.

    Raises ``SettingsError`` on construction when ``validate_settings`` finds a problem.

    - ``host``: address the API binds (default loopback: the spec has no authentication).
    - ``port``: TCP port of the API (0: any free port, for tests); the app is served there.
    - ``token``: when set, every route needs ``Authorization: Bearer <token>`` (401 otherwise).
      Kept out of ``repr``; never logged.
    - ``proof_types``: types this node proves and verifies (each in ``KNOWN_PROOF_TYPES``).
    - ``witness_timeout_s``: budget for fetching one block's witness, retries included.
    - ``witness_retry_interval_s``: pause between witness attempts (zkboost: 0.2 s).
    - ``proving_timeout_s``: passed to the backend, counted from the start of proving.
    - ``cache_entries``: proofs kept (all types together); the oldest added go first.
    - ``failure_entries``: recent failures kept in memory for SSE replay.
    - ``keepalive_s``: SSE comment interval (spec: 15 s).
    - ``max_body_bytes``: request bodies above this are refused (413) before decoding.
    - ``max_decodes``: request bodies decoded at once (each in a worker thread).
    - ``max_subscribers``: SSE clients at once; more are answered 503.
    - ``max_pending``: (root, type) jobs in flight at once; more fail with ``internal_error``.
    - ``priority``: prover queue priority of these proofs against EthProofs work (larger first).
    - ``gloas_enabled``: accept Gloas-layout bodies (layout unconfirmed; off by default).
    - ``backend_kind``: the ``kind`` shown by ``GET /v1/proof_types``.
    - ``subscriber_buffer``: events buffered per SSE client before events are dropped for it.
    """

    port: int = DEFAULT_PORT
    host: str = DEFAULT_HOST
    token: str | None = field(default=None, repr=False)
    proof_types: tuple[str, ...] = (DEFAULT_PROOF_TYPE,)
    witness_timeout_s: float = 12.0
    witness_retry_interval_s: float = 0.2
    proving_timeout_s: float = 3600.0
    cache_entries: int = 128
    failure_entries: int = 1024
    keepalive_s: float = 15.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_decodes: int = 2
    max_subscribers: int = 256
    max_pending: int = 128
    priority: int = 0
    gloas_enabled: bool = False
    backend_kind: str = "zisk"
    subscriber_buffer: int = 128

    def __post_init__(self) -> None:
        problems = validate_settings(self)
        if problems:
            raise SettingsError("; ".join(problems))


def validate_settings(s: ProofNodeSettings) -> list[str]:
    """Every problem with ``s`` as a message (empty when fine). Pure."""
    problems: list[str] = []
    if not 0 <= s.port <= 65535:
        problems.append(f"port must be in 0..65535, got {s.port}")
    if not s.proof_types:
        problems.append("proof_types must name at least one proof type")
    for t in s.proof_types:
        if t not in KNOWN_PROOF_TYPES:
            problems.append(f"unknown proof type {t!r}, expected one of {list(KNOWN_PROOF_TYPES)}")
    if len(set(s.proof_types)) != len(s.proof_types):
        problems.append("proof_types has duplicates")
    for name in (
        "witness_timeout_s",
        "witness_retry_interval_s",
        "proving_timeout_s",
        "keepalive_s",
    ):
        if getattr(s, name) <= 0:
            problems.append(f"{name} must be > 0")
    if s.token is not None and not s.token:
        problems.append("token must not be empty (None: no token)")
    for name in ("cache_entries", "failure_entries", "max_body_bytes", "max_pending",
                 "subscriber_buffer", "max_decodes", "max_subscribers"):  # fmt: skip
        if getattr(s, name) < 1:
            problems.append(f"{name} must be >= 1")
    return problems
