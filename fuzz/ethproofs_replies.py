"""Fuzz target: EthProofs API replies (status code × body × headers).

Entry points: ``reporting.ethproofs.EthProofsClient.post_status`` against an
``httpx.MockTransport`` answering the drawn reply (no socket), and the pure
``classify_response`` with arbitrary header mappings. Asserted: ``post_status`` returns 200 or
409, or raises only ``Retryable`` (429, 408, 5xx, transport) or ``Rejected`` (anything else),
as the module's table says; a ``retry_after_s`` is never negative or NaN; the body excerpt is at
most ``MAX_BODY_EXCERPT`` characters; the API key never appears in an error.
"""

from __future__ import annotations

import math
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from hypothesis import strategies as st

from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting.ethproofs import (
    MAX_BODY_EXCERPT,
    EthProofsClient,
    Rejected,
    Retryable,
    classify_response,
)
from ethproofs_daemon.reporting.replies import OutcomeKind

from . import runner
from .mutation import JSON_VALUES, deeply_nested_json, mutated_bytes, to_json_bytes

API_KEY = "fuzz-key-71c2"


@dataclass(frozen=True, slots=True)
class Answer:
    """One reply of the API: ``status``, ``body`` bytes, ``headers``, and which report."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]
    kind: ReportKind


_STATUSES = st.one_of(st.sampled_from([200, 201, 204, 301, 400, 401, 404, 408, 409, 413, 429,
                                       500, 502, 503, 599]), st.integers(100, 999))
_BODIES = st.one_of(
    st.builds(lambda n: to_json_bytes({"proof_id": n}), JSON_VALUES).flatmap(mutated_bytes),
    JSON_VALUES.map(to_json_bytes),
    st.binary(max_size=64),
    st.sampled_from([b"", b"\xff\xfe\x00", deeply_nested_json(100_000), b"x" * 100_000,
                     b'{"proof_id": ' + b"9" * 5000 + b"}"]),
)
_RETRY_AFTER = st.one_of(
    st.integers(-10, 10**6).map(str),
    st.sampled_from(["", " ", "1.5", "-1", "inf", "-inf", "nan", "1e999", "0x10", "9" * 5000,
                     "Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 99999 07:28:00 GMT",
                     "Wed, 21 Oct 2015 07:28:00 +9999", "Wed, 31 Feb 2015 07:28:00 GMT",
                     "Mon, 01 Jan 0001 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
                     "21 Oct 2015", "Wed, 21 Oct 2015 07:28:00", "\u0661\u0662"]),
    st.text(max_size=30),
)
_HEADERS = st.lists(
    st.tuples(st.sampled_from(["Retry-After", "retry-after", "RETRY-AFTER", "Content-Type",
                               "X-Other"]),
              st.one_of(_RETRY_AFTER, st.sampled_from(["text/plain; charset=nope",
                                                       "application/json; charset=utf-16"]))),
    max_size=3,
).map(tuple)
STRATEGY = st.builds(Answer, _STATUSES, _BODIES, _HEADERS, st.sampled_from(list(ReportKind)))


def _printable(headers: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """Headers httpx can send (printable ASCII values); others are dropped."""
    return [(name, value) for name, value in headers if value.isascii() and value.isprintable()]


@asynccontextmanager
async def session() -> AsyncIterator[runner.Check]:
    current: list[Answer] = []

    def handle(request: httpx.Request) -> httpx.Response:
        answer = current[-1]
        return httpx.Response(answer.status, content=answer.body,
                              headers=_printable(answer.headers))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        client = EthProofsClient("https://ethproofs.invalid/api/v0", API_KEY, http)

        async def check(answer: Answer) -> None:
            outcome = classify_response(answer.status, dict(answer.headers),
                                        answer.body.decode("utf-8", "replace"), now=1.7e9)
            assert len(outcome.excerpt) <= MAX_BODY_EXCERPT
            if outcome.retry_after_s is not None:
                assert outcome.retry_after_s >= 0 and not math.isnan(outcome.retry_after_s)
            current.append(answer)
            try:
                status = await client.post_status(answer.kind, '{"block_number": 1}')
            except Retryable as exc:
                assert answer.status in (408, 429) or 500 <= answer.status < 600, answer.status
                assert API_KEY not in str(exc)
                assert exc.retry_after_s is None or exc.retry_after_s >= 0
            except Rejected as exc:
                assert answer.status not in (200, 409, 408, 429) and not 500 <= answer.status < 600
                assert API_KEY not in str(exc) and len(exc.body) <= MAX_BODY_EXCERPT
            else:
                assert status in (200, 409) and status == answer.status
            finally:
                current.clear()
            assert outcome.kind is not OutcomeKind.DELIVERED or answer.status == 200

        yield check


TARGET = runner.Target("ethproofs_replies", STRATEGY, session)

if __name__ == "__main__":
    sys.exit(runner.main(TARGET))
