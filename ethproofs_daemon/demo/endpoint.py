"""A local EthProofs API endpoint for the demo: records what it receives, answers like the real
API's success path.

Contract followed (success path and the one conflict only), from the EthProofs app
``ethproofs/ethproofs@98b7a6f`` (public API docs: https://ethproofs.org/api.html): auth
``Authorization: Bearer <key>``, where the real ``withAuth`` takes ``split(" ")[1]``
(``lib/middleware/with-auth.ts``); ``POST /api/v0/proofs/{queued,proving,proved}`` → 200
``{"proof_id": n}``, and a block already ``proved`` for the cluster → 409 ``Proof already
proved`` (``app/api/v0/**/route.ts``, schemas in ``lib/zod/schemas/proof.ts``). A missing or
wrong key answers 401 (``No API key provided`` / ``Invalid API key``); a body that is not JSON
500 ``Internal server error`` (the real route parses it outside its ``try``); a JSON body that is
not an object with an integer ``block_number`` and ``cluster_id`` (and, for ``proved``, a string
``proof``) 400; an unknown kind 404. Error bodies are plain text, as in the real API. Nothing
else of the real API (rate limits, zod detail, cluster versions) is modelled: this is a demo
sink, not a test stand-in (that one is ``tests/standins/ethproofs_api.py``).

Every request is appended, as it is answered, to ``LocalEthProofs.received`` and to a JSON-lines
log (one object per line: ``{"at": <unix s>, "kind", "status", "block_number", "cluster_id",
"proof_id", "body"}``; the ``proof`` field of a ``proved`` body is replaced by its decoded size,
``proof_bytes``, and the API key is never written).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

log = structlog.get_logger(__name__)

KINDS: Final = ("queued", "proving", "proved")
#: Path prefix of the API, as on ethproofs.org (``ETHPROOFS_RPC_URL`` = ``<origin>/api/v0``).
API_PREFIX: Final = "/api/v0"


@dataclass(frozen=True, slots=True)
class ReceivedReport:
    """One request the endpoint answered: endpoint ``kind``, HTTP ``status`` answered, the block
    and cluster from the body (None when the body had none), ``proof_id`` answered (200 only),
    ``proof_bytes`` (decoded size of a ``proved`` body's ``proof``), ``proving_time_ms`` as sent,
    ``at`` (Unix s)."""

    at: float
    kind: str
    status: int
    block_number: int | None
    cluster_id: int | None
    proof_id: int | None
    proof_bytes: int | None
    proving_time_ms: int | None


@dataclass
class LocalEthProofs:
    """State of the local endpoint: one API key, per-(block, cluster) proof rows, the log.

    ``api_key`` is the only key accepted. ``log_path`` is the JSON-lines file every request is
    appended to (created with its folder). A (block, cluster) keeps one ``proof_id`` across its
    ``queued``/``proving``/``proved`` reports.
    """

    api_key: str
    log_path: Path
    received: list[ReceivedReport] = field(default_factory=list)
    _proofs: dict[tuple[int, int], tuple[int, str]] = field(default_factory=dict)
    _next_id: int = 1

    def __post_init__(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()

    def kinds_for(self, block_number: int) -> list[str]:
        """Kinds answered 200 for ``block_number``, in arrival order."""
        return [
            r.kind for r in self.received if r.status == 200 and r.block_number == block_number
        ]

    def proved_blocks(self) -> set[int]:
        """Blocks whose ``proved`` report was answered 200 (or 409: already proved)."""
        return {
            r.block_number
            for r in self.received
            if r.kind == "proved" and r.status in (200, 409) and r.block_number is not None
        }

    def answer(self, kind: str, authorization: str | None, raw: bytes) -> tuple[int, object]:
        """Decide and record the answer to one request: updates the proof rows, appends to
        ``received`` and to the log file.

        Args:
            kind: the last path segment (``queued``, ``proving``, ``proved`` or anything else).
            authorization: the ``Authorization`` header, or None.
            raw: the request body.

        Returns:
            ``(status, body)``: body is a dict (sent as JSON) or a str (sent as plain text).
        """
        status, body, doc = self._decide(kind, authorization, raw)
        self._record(kind, status, body, doc)
        return status, body

    def _decide(
        self, kind: str, authorization: str | None, raw: bytes
    ) -> tuple[int, object, dict[str, object] | None]:
        if kind not in KINDS:
            return 404, "Not found", None
        parts = (authorization or "").split(" ")
        token = parts[1] if len(parts) > 1 and parts[1] else None
        if token is None:
            return 401, "No API key provided", None
        if token != self.api_key:
            return 401, "Invalid API key", None
        try:
            doc = json.loads(raw)
        except ValueError:
            return 500, "Internal server error", None
        if not isinstance(doc, dict):
            return 400, "Invalid request: body must be an object", None
        block, cluster = doc.get("block_number"), doc.get("cluster_id")
        block_n, cluster_n = _as_int(block), _as_int(cluster)
        if block_n is None or cluster_n is None or block_n < 0:
            return 400, "Invalid request: block_number and cluster_id must be integers", doc
        if kind == "proved" and not isinstance(doc.get("proof"), str):
            return 400, "Invalid request: proof must be a string", doc
        key = (block_n, cluster_n)
        row = self._proofs.get(key)
        if row is not None and row[1] == "proved":
            return 409, "Proof already proved", doc
        proof_id = row[0] if row is not None else self._next_id
        if row is None:
            self._next_id += 1
        self._proofs[key] = (proof_id, kind)
        return 200, {"proof_id": proof_id}, doc

    def _record(self, kind: str, status: int, body: object, doc: dict[str, object] | None) -> None:
        doc = doc or {}
        block, cluster = doc.get("block_number"), doc.get("cluster_id")
        proof = doc.get("proof")
        proof_bytes = len(_b64decode(proof)) if isinstance(proof, str) else None
        proving_time = doc.get("proving_time")
        proof_id = body.get("proof_id") if isinstance(body, dict) else None
        entry = ReceivedReport(
            at=time.time(),
            kind=kind,
            status=status,
            block_number=_as_int(block),
            cluster_id=_as_int(cluster),
            proof_id=proof_id if isinstance(proof_id, int) else None,
            proof_bytes=proof_bytes,
            proving_time_ms=_as_int(proving_time),
        )
        self.received.append(entry)
        shown = {k: v for k, v in doc.items() if k != "proof"}
        if proof_bytes is not None:
            shown["proof_bytes"] = proof_bytes
        line = {
            "at": round(entry.at, 3),
            "kind": kind,
            "status": status,
            "block_number": entry.block_number,
            "cluster_id": entry.cluster_id,
            "proof_id": entry.proof_id,
            "body": shown,
        }
        with self.log_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
        log.info("local_ethproofs_received", kind=kind, status=status,
                 block_number=entry.block_number)


def _as_int(value: object) -> int | None:
    """An integral JSON number as int; None for anything else (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""


def build_endpoint_app(state: LocalEthProofs) -> Starlette:
    """The starlette app: ``POST /api/v0/proofs/{kind}`` answered by ``state.answer``."""

    async def proofs(request: Request) -> Response:
        raw = await request.body()
        status, body = state.answer(
            request.path_params["kind"], request.headers.get("authorization"), raw
        )
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status)
        return PlainTextResponse(str(body), status_code=status)

    return Starlette(routes=[Route(API_PREFIX + "/proofs/{kind:str}", proofs, methods=["POST"])])
