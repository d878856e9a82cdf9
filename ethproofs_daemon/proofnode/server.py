"""Serving the Proof Node API with hypercorn's trio worker on its own port.

``serve_proof_node`` binds ``host:settings.port`` (port 0: any free port), reports the bound
``http://host:port`` URLs through ``task_status`` and serves until cancelled or until
``shutdown_trigger`` returns (hypercorn then waits ``graceful_timeout_s`` for open requests;
SSE streams end when the service's ``run`` ends).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from .app import create_proof_node_app
from .service import ProofNodeService


def hypercorn_config(host: str, port: int, *, graceful_timeout_s: float = 3.0) -> Config:
    """A hypercorn ``Config`` bound to ``host:port`` with access logs off."""
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.graceful_timeout = graceful_timeout_s
    config.accesslog = None
    config.errorlog = None
    return config


async def serve_proof_node(
    service: ProofNodeService,
    *,
    host: str = "0.0.0.0",
    shutdown_trigger: Callable[..., Awaitable[None]] | None = None,
    graceful_timeout_s: float = 3.0,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``create_proof_node_app(service)`` on ``host:service.settings.port``."""
    app = create_proof_node_app(service)
    config = hypercorn_config(host, service.settings.port, graceful_timeout_s=graceful_timeout_s)
    # hypercorn's ASGI typing is narrower than starlette's (same protocol at run time)
    await serve(
        app,  # type: ignore[arg-type]
        config,
        shutdown_trigger=shutdown_trigger,
        task_status=task_status,
    )
