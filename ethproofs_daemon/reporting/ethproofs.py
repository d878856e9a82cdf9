"""The EthProofs API client for the three proof status endpoints, over httpx (runs under trio).

Contract: the EthProofs API server, ethproofs/ethproofs@98b7a6f. ``POST {base_url}/proofs/{kind}``
for ``queued``, ``proving`` and ``proved`` (``app/api/v0/proofs/{kind}/route.ts``) with
``Authorization: Bearer <key>`` and a JSON body (``payloads.py``). The header must be exactly two
words: ``lib/middleware/with-auth.ts`` takes the second word as the key, and the rate limiter
(``lib/middleware/with-rate-limit.ts``) only recognises ``bearer <key>``. Answers, from those
routes and middleware:

======================  =========================================  ==========================
status                  meaning                                    what the client does
======================  =========================================  ==========================
200 ``{"proof_id":n}``  stored                                     returns 200
409                     block already proved for this cluster      returns 409 (success: done)
429 + ``Retry-After``   rate limit (60 req / 60 s per key)         raises ``Retryable``
408, 5xx, transport     server or network trouble (500 also for    raises ``Retryable``
                        ``proved`` before ``queued``/``proving``)
400, 401, 404, other    schema error, bad key, unknown cluster     raises ``Rejected``
======================  =========================================  ==========================

409 is **not** an exception: ``post_status`` returns it, and callers treat both 200 and 409 as
delivered (``HTTP_ALREADY_PROVED``). Error bodies are plain text (JSON for 429).

The API key never appears in an exception, a log line or ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import httpx
import structlog

from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting.replies import Outcome, OutcomeKind, StatusRules, classify_reply

log = structlog.get_logger(__name__)

HTTP_OK: Final = 200
#: The block is already proved for this cluster version; counts as delivered (every proof status
#: route answers 409 once the block is proved, ``app/api/v0/proofs/*/route.ts``).
HTTP_ALREADY_PROVED: Final = 409
HTTP_TOO_MANY_REQUESTS: Final = 429
#: Longest error body kept in exceptions and logs (characters).
MAX_BODY_EXCERPT: Final = 500
#: Per-request timeout (s): the original client's Tesla timeout
#: (lambdaclass/ethrex-ethproofs@b45cda3:lib/ethproofs_client/rpc.ex).
DEFAULT_TIMEOUT_S: Final = 30.0


class EthProofsError(Exception):
    """Base of every error ``EthProofsClient.post_status`` raises."""

    def __init__(self, kind: ReportKind, message: str) -> None:
        super().__init__(f"POST /proofs/{kind}: {message}")
        self.kind = kind


class Retryable(EthProofsError):
    """Try again later: 429, 408, 5xx or a transport failure (``status`` None).

    ``retry_after_s`` is the server's ``Retry-After`` in seconds from now when it sent one.
    """

    def __init__(
        self,
        kind: ReportKind,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(kind, message)
        self.status = status
        self.retry_after_s = retry_after_s


class Rejected(EthProofsError):
    """The API refused the request for good (400 schema, 401 key, 404 cluster, other 4xx/3xx).

    Sending it again unchanged cannot succeed; ``body`` holds the server's (plain-text) reason.
    """

    def __init__(self, kind: ReportKind, status: int, body: str) -> None:
        super().__init__(kind, f"HTTP {status}: {body}")
        self.status = status
        self.body = body


#: The module table as ``StatusRules``.
ETHPROOFS_RULES: Final = StatusRules(
    delivered=frozenset({HTTP_OK}),
    already_done=frozenset({HTTP_ALREADY_PROVED}),
    retryable=frozenset({HTTP_TOO_MANY_REQUESTS, 408, *range(500, 600)}),
    excerpt_chars=MAX_BODY_EXCERPT,
)


def classify_response(
    status: int, headers: Mapping[str, str], body: str, *, now: float | None = None
) -> Outcome:
    """Classify one reply from a proof status endpoint (see the module table).

    Args:
        status: the HTTP status.
        headers: the reply headers, looked up case-insensitively for ``Retry-After`` (read on
            429, 408 and 5xx).
        body: the reply body as text; an excerpt of ``MAX_BODY_EXCERPT`` characters is kept.
        now: Unix seconds (default the wall clock), to resolve an HTTP-date ``Retry-After``.

    Returns:
        The ``Outcome``: delivered (200), already proved (409), retry (with ``retry_after_s``)
        or rejected.
    """
    return classify_reply(status, headers, body, ETHPROOFS_RULES, now=now)


class EthProofsClient:
    """Posts proof status reports to one EthProofs deployment.

    The client has no retry policy of its own: the reporter decides from the exception class.

    Args:
        base_url: ``ETHPROOFS_RPC_URL``, e.g. ``https://ethproofs.org/api/v0`` (a trailing slash
            is ignored).
        api_key: the team's key (``ETHPROOFS_API_KEY``); never logged or shown in ``repr``.
        http: an ``httpx.AsyncClient`` owned by the caller.
        timeout_s: per-request timeout, seconds.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        http: httpx.AsyncClient,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._http = http
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"EthProofsClient(base_url={self.base_url!r})"

    def url_for(self, kind: ReportKind) -> str:
        """``{base_url}/proofs/{kind}``."""
        return f"{self.base_url}/proofs/{kind}"

    async def post_status(self, kind: ReportKind, payload_json: str) -> int:
        """POST ``payload_json`` (an exact body from ``payloads.py``) to ``/proofs/{kind}``.

        Returns:
            200 (stored) or 409 (already proved: done). Both mean "delivered".

        Raises:
            Retryable: 429 (with ``retry_after_s``), 408, 5xx, or transport failure/timeout.
            Rejected: 400, 401, 404 or any other status (``status``, ``body``).
        """
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Content-Type": "application/json",
        }
        try:
            reply = await self._http.post(
                self.url_for(kind),
                content=payload_json.encode("utf-8"),
                headers=headers,
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            # The message of a transport error never includes the Authorization header.
            raise Retryable(kind, f"transport: {type(exc).__name__}: {exc}") from exc
        outcome = classify_response(reply.status_code, reply.headers, _body_text(reply))
        if outcome.kind is OutcomeKind.DELIVERED:
            log.debug("ethproofs_report_accepted", kind=str(kind), proof_id=_proof_id(reply))
            return reply.status_code
        if outcome.kind is OutcomeKind.ALREADY_PROVED:
            return reply.status_code
        if outcome.kind is OutcomeKind.RETRY:
            raise Retryable(
                kind,
                f"HTTP {outcome.status}: {outcome.excerpt}",
                status=outcome.status,
                retry_after_s=outcome.retry_after_s,
            )
        raise Rejected(kind, outcome.status, outcome.excerpt)


def _body_text(reply: httpx.Response) -> str:
    """The reply body as text in its declared charset; as UTF-8 (bad bytes replaced) when that
    charset cannot decode it (``reply.text`` raises ``UnicodeError`` for e.g. ``utf-16``
    without a BOM)."""
    try:
        return reply.text
    except UnicodeError:
        return reply.content.decode("utf-8", "replace")


#: Brackets beyond which a 200 body is not parsed for its ``proof_id`` (``{"proof_id": n}``
#: has one): ``json.loads`` recurses in C per level (``RecursionError``, or a C stack overflow
#: where the recursion limit is raised).
_MAX_BRACKETS: Final = 64


def _proof_id(reply: httpx.Response) -> int | None:
    if reply.content.count(b"[") + reply.content.count(b"{") > _MAX_BRACKETS:
        return None
    try:
        doc = reply.json()
    except ValueError:
        return None
    value = doc.get("proof_id") if isinstance(doc, dict) else None
    return value if isinstance(value, int) else None


def make_client(
    base_url: str | None, api_key: str | None, http: httpx.AsyncClient
) -> EthProofsClient | None:
    """The client for ``ETHPROOFS_RPC_URL`` and ``ETHPROOFS_API_KEY``, or None when either is
    unset or empty (reporting disabled: the reporter then leaves rows pending)."""
    if not base_url or not api_key:
        return None
    return EthProofsClient(base_url, api_key, http)
