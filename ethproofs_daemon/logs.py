"""structlog set-up: JSON lines when not on a TTY, readable console output on a TTY.

Standard-library loggers (hypercorn, httpx) go through the same processors. Secrets are
scrubbed by value: ``configure_logging(secrets=[...])`` replaces any occurrence of a configured
secret (API key, admin token, webhook URL) in any string field of any line, nested in dicts,
lists and tuples too, with ``***``. Secrets shorter than 4 characters are not scrubbed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

_SECRETS: list[str] = []


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _SECRETS:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def scrub_secrets(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask configured secrets in every field."""
    if not _SECRETS:
        return event_dict
    return {k: _scrub(v) for k, v in event_dict.items()}


def configure_logging(level: str = "info", fmt: str = "auto", *,
                      secrets: Iterable[str] = ()) -> None:
    """Route structlog and stdlib logging to stderr, replacing the root logger's handlers.

    Args:
        level: ``debug``, ``info``, ``warning`` or ``error`` (httpx, httpcore and hpack log at
            ``warning`` at least).
        fmt: ``json``, ``console``, or ``auto`` (JSON unless stderr is a TTY).
        secrets: strings never to print (those under 4 characters are ignored); replaces the
            ones of an earlier call.
    """
    _SECRETS[:] = [s for s in secrets if s and len(s) >= 4]
    json_output = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        scrub_secrets,
    ]
    renderer: Any = (structlog.processors.JSONRenderer() if json_output
                     else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
