"""JSON bodies for ``POST /proofs/{queued,proving,proved}`` (pure functions, no I/O).

Source of the shapes: the API's zod schemas (ethproofs/ethproofs@98b7a6f
``lib/zod/schemas/proof.ts``), and what the original client sent
(lambdaclass/ethrex-ethproofs@b45cda3:lib/ethproofs_client/rpc.ex):

- ``queued`` / ``proving``: ``{"block_number": int, "cluster_id": int}``.
- ``proved``: the same plus ``proving_time`` (int **milliseconds**, positive), ``proving_cycles``
  (positive int, *omitted* when unknown: ``0`` fails the API's validation), ``proof`` (standard
  base64 of the proof file's bytes) and ``verifier_id`` (the ZisK proof id; optional, not stored by
  the API today).

The API silently drops unknown fields (zod's default "strip"), so nothing else is sent. The API
sets no size limit of its own, but it runs as Netlify Functions, whose buffered request limit is
6 MB (docs.netlify.com/build/functions/configuration): the whole body must fit in
``MAX_BODY_BYTES``.

The store writes the string these functions return into the outbox row (``OutboxRow.payload_json``)
in the same transaction as the job's state change, and the reporter POSTs it byte for byte.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Final

from ethproofs_daemon.outbox import ReportKind

#: Netlify's buffered request limit for a function (docs.netlify.com/build/functions/
#: configuration), in bytes: the JSON body must fit.
MAX_BODY_BYTES: Final = 6 * 1024 * 1024


class PayloadError(ValueError):
    """A value the API would reject (negative block number, non-int cluster id, ...).

    Raised when the payload is built, so a bad value is caught where it is produced rather than as
    a 400 from the API later.
    """


@dataclass(frozen=True, slots=True)
class ProvedFields:
    """What a ``proved`` report carries besides the block and cluster.

    Attributes:
        proving_time_ms: milliseconds of proving including witness generation (the schema's
            description of ``proving_time``, ``lib/zod/schemas/proof.ts``).
        proof: the raw bytes of the proof file.
        proving_cycles: ZisK's executed steps; None when unknown.
        verifier_id: the proof id ZisK printed; None leaves the field out.
    """

    proving_time_ms: int
    proof: bytes
    proving_cycles: int | None = None
    verifier_id: str | None = None


def _check_block_and_cluster(block_number: int, cluster_id: int) -> None:
    if isinstance(block_number, bool) or not isinstance(block_number, int) or block_number < 0:
        raise PayloadError(f"block_number must be an int >= 0, got {block_number!r}")
    if isinstance(cluster_id, bool) or not isinstance(cluster_id, int):
        raise PayloadError(f"cluster_id must be the cluster's integer index, got {cluster_id!r}")


def _dumps(body: dict[str, int | str]) -> str:
    return json.dumps(body, separators=(",", ":"))


def queued_payload(block_number: int, cluster_id: int) -> str:
    """Body of ``POST /proofs/queued``: ``{"block_number": n, "cluster_id": c}``.

    ``cluster_id`` is the cluster's integer ``index`` within the key's team, not its UUID.

    Raises:
        PayloadError: ``block_number`` < 0 or not an int; ``cluster_id`` not an int.
    """
    _check_block_and_cluster(block_number, cluster_id)
    return _dumps({"block_number": block_number, "cluster_id": cluster_id})


def proving_payload(block_number: int, cluster_id: int) -> str:
    """Body of ``POST /proofs/proving``: same shape as ``queued_payload``.

    Raises:
        PayloadError: as ``queued_payload``.
    """
    _check_block_and_cluster(block_number, cluster_id)
    return _dumps({"block_number": block_number, "cluster_id": cluster_id})


def encode_proof(proof: bytes) -> str:
    """Standard, padded base64 of the proof bytes.

    The schema says only "Proof in base64 format" and the route decodes padded and unpadded alike
    (``Buffer.from(s, "base64")``); 0xPolygonHermez/zisk-ethproofs@49a7cdf and succinctlabs/rsp
    ``bin/ethproofs`` send padded, the original client unpadded.
    """
    return base64.b64encode(proof).decode("ascii")


def proved_payload(block_number: int, cluster_id: int, fields: ProvedFields) -> str:
    """Body of ``POST /proofs/proved``.

    ``proving_time`` is ``fields.proving_time_ms`` as an int; a proof measured at 0 ms (only
    stand-in provers are that fast) is sent as 1 ms because the API requires a positive value.
    ``proving_cycles`` is present only when known and > 0. ``verifier_id`` only when not None.

    Raises:
        PayloadError: bad block/cluster (as ``queued_payload``), negative or non-int
            ``proving_time_ms``, negative ``proving_cycles``, or an empty proof.
    """
    _check_block_and_cluster(block_number, cluster_id)
    ms = fields.proving_time_ms
    if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
        raise PayloadError(f"proving_time_ms must be an int >= 0, got {ms!r}")
    cycles = fields.proving_cycles
    if cycles is not None and (
        isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 0
    ):
        raise PayloadError(f"proving_cycles must be an int >= 0 or None, got {cycles!r}")
    if not fields.proof:
        raise PayloadError("proof is empty")
    body: dict[str, int | str] = {
        "block_number": block_number,
        "cluster_id": cluster_id,
        "proving_time": max(1, ms),
    }
    if cycles:
        body["proving_cycles"] = cycles
    body["proof"] = encode_proof(fields.proof)
    if fields.verifier_id is not None:
        body["verifier_id"] = fields.verifier_id
    return _dumps(body)


def build_payload(
    kind: ReportKind, block_number: int, cluster_id: int, fields: ProvedFields | None = None
) -> str:
    """The body for ``kind``: dispatches to the three builders above.

    Raises:
        PayloadError: as the builders; also ``kind == proved`` without ``fields``.
    """
    if kind is ReportKind.PROVED:
        if fields is None:
            raise PayloadError("a proved report needs ProvedFields")
        return proved_payload(block_number, cluster_id, fields)
    if kind is ReportKind.PROVING:
        return proving_payload(block_number, cluster_id)
    return queued_payload(block_number, cluster_id)


@dataclass(frozen=True, slots=True)
class PayloadSummary:
    """What the reporter reads back from a stored body for logs and notifications.

    ``proving_time_ms`` and ``proving_cycles`` are None when absent (queued/proving bodies).
    """

    block_number: int
    cluster_id: int
    proving_time_ms: int | None
    proving_cycles: int | None
    proof_base64_chars: int


def summarize_payload(payload_json: str) -> PayloadSummary:
    """Parse a stored body back into the few fields worth logging (never the proof itself).

    Raises:
        PayloadError: not a JSON object, or ``block_number``/``cluster_id`` missing or not ints.
    """
    try:
        doc = json.loads(payload_json)
    except ValueError as exc:
        raise PayloadError(f"payload is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise PayloadError("payload is not a JSON object")
    block, cluster = doc.get("block_number"), doc.get("cluster_id")
    if not isinstance(block, int) or not isinstance(cluster, int):
        raise PayloadError("payload lacks an int block_number or cluster_id")
    ms, cycles, proof = doc.get("proving_time"), doc.get("proving_cycles"), doc.get("proof")
    return PayloadSummary(
        block_number=block,
        cluster_id=cluster,
        proving_time_ms=ms if isinstance(ms, int) else None,
        proving_cycles=cycles if isinstance(cycles, int) else None,
        proof_base64_chars=len(proof) if isinstance(proof, str) else 0,
    )
