"""Fuzz target: the ops server's admin requests (``http.app.create_ops_app``): bodies, query
strings, path values and the headers the mutation checks read.

Real HTTP semantics through the real app (``httpx.ASGITransport``, client address chosen per
case: loopback or not) over a real SQLite ``Store`` in a temporary directory and a real
``Lifecycle``: ``GET /admin/status?limit=``, ``GET /admin/jobs/{n}?limit=``, ``POST /admin/jobs``
(JSON body, mutated), ``POST /admin/jobs/{n}/retry``, with ``Host``, ``Origin``,
``Content-Type`` and ``Authorization`` drawn from near misses of the accepted values. Asserted:
never a 5xx (and no exception out of the app); every answer is JSON but starlette's
plain-text 404/405 (and slash redirect) for a path no route matches; a 201 lists one
job per block asked for.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from hypothesis import strategies as st

from ethproofs_daemon.health import DaemonState
from ethproofs_daemon.http.app import create_ops_app
from ethproofs_daemon.jobs import RetryPolicy
from ethproofs_daemon.lifecycle import Lifecycle
from ethproofs_daemon.metrics import DaemonMetrics
from ethproofs_daemon.store import Store

from . import runner
from .mutation import JSON_VALUES, mutated_json

TOKEN = "fuzz-token-3f9a"


@dataclass(frozen=True, slots=True)
class Request:
    """One admin request: method, path, query, body bytes, headers, client address."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]
    client: str


_NUMBERS = st.one_of(st.integers(0, 2**70).map(str), st.sampled_from(
    ["0", "9223372036854775807", "9223372036854775808", "1" * 4400, "-1", "1.5", "x",
     "\u0661", "%20", ""]))
_LIMITS = st.one_of(st.none(), _NUMBERS, st.text(max_size=8))
_BODIES = st.one_of(
    st.fixed_dictionaries({"blocks": st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=3)},
                          optional={"priority": st.integers(-5, 5)}).flatmap(mutated_json)
    .map(lambda d: json.dumps(d).encode()),
    JSON_VALUES.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=40),
    st.sampled_from([b"[" * 100_000 + b"]" * 100_000, b'{"blocks": ' + b"[" * 5000 + b"]" * 5000
                     + b"}", b'{"blocks": [' + b"9" * 5000 + b"]}", b'{"blocks": [1e999]}',
                     b'{"blocks": [NaN]}', b'{"blocks": [1], "priority": 1e999}',
                     b'{"blocks": [1], "priority": "' + b"7" * 5000 + b'"}']),
)
_HEADER_VALUES = {
    "host": st.sampled_from(["127.0.0.1:4000", "localhost:4000", "[::1]:4000", "evil.example",
                             "", "127.0.0.1:4000:1", "[::1", "LOCALHOST"]),
    "origin": st.sampled_from(["http://127.0.0.1:4000", "http://evil.example", "null", ""]),
    "content-type": st.sampled_from(["application/json", "application/json; charset=utf-8",
                                     "text/plain", "", "APPLICATION/JSON ;"]),
    "authorization": st.sampled_from([f"Bearer {TOKEN}", "Bearer nope", "Bearer ", TOKEN,
                                      f"bearer {TOKEN}", "Basic eA=="]),
}


@st.composite
def _request(draw: st.DrawFn) -> Request:
    kind = draw(st.sampled_from(["status", "job", "enqueue", "retry"]))
    query: dict[str, str] = {}
    limit = draw(_LIMITS)
    if limit is not None and kind in ("status", "job"):
        query["limit"] = limit
    number = draw(_NUMBERS)
    path = {"status": "/admin/status", "job": f"/admin/jobs/{number}", "enqueue": "/admin/jobs",
            "retry": f"/admin/jobs/{number}/retry"}[kind]
    headers = {"content-type": "application/json", "host": "127.0.0.1:4000"}
    for name, values in _HEADER_VALUES.items():
        if draw(st.integers(0, 3)) == 0:
            headers[name] = draw(values)
    return Request("GET" if kind in ("status", "job") else "POST", path, query,
                   draw(_BODIES) if kind in ("enqueue", "retry") else b"", headers,
                   draw(st.sampled_from(["127.0.0.1", "::1", "10.1.2.3", "127.0.0.6"])))


STRATEGY = _request()


@asynccontextmanager
async def session() -> AsyncIterator[runner.Check]:
    with tempfile.TemporaryDirectory(prefix="fuzz-admin-") as tmp:
        store = Store(Path(tmp) / "state.sqlite3")
        try:
            state = DaemonState(started_at=time.time(), store_open=True)
            lifecycle = Lifecycle(store, reporting=None, retry=RetryPolicy(), clock=time.time)
            app = create_ops_app(store=store, lifecycle=lifecycle, state=state,
                                 metrics=DaemonMetrics(store, state), stuck_threshold_s=3600,
                                 admin_token=TOKEN)
            clients: dict[str, httpx.AsyncClient] = {}

            async def check(request: Request) -> None:
                client = clients.get(request.client)
                if client is None:
                    transport = httpx.ASGITransport(app=app, client=(request.client, 50000))
                    client = httpx.AsyncClient(transport=transport,
                                               base_url="http://127.0.0.1:4000")
                    clients[request.client] = client
                reply = await client.request(request.method, request.path, params=request.query,
                                             content=request.body, headers=request.headers)
                assert reply.status_code < 500, (reply.status_code, reply.text[:300])
                if not reply.headers.get("content-type", "").startswith("application/json"):
                    # starlette's own answers for a path no route matches (307: its slash
                    # redirect)
                    assert reply.status_code in (307, 404, 405), reply.status_code
                    return
                doc: Any = reply.json()
                if reply.status_code == 201:
                    assert len(doc["jobs"]) == len(json.loads(request.body)["blocks"])

            try:
                yield check
            finally:
                for client in clients.values():
                    await client.aclose()
        finally:
            store.close()


TARGET = runner.Target("admin_api", STRATEGY, session)

if __name__ == "__main__":
    sys.exit(runner.main(TARGET))
