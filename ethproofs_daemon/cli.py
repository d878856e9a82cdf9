"""The ``ethproofs-daemon`` command line: argument parsing only.

- ``run``: the daemon (every setting as a flag, overriding the environment).
- ``enqueue BLOCK...`` / ``status [--json]``: talk to a running daemon's admin API.
- ``build-input`` / ``inspect-input``: the guest input codec (``inputs/commands.py``).
- ``demo``: the whole main job on this machine (``demo/``).
- ``config``: the settings table (``--markdown`` for the README).

Exit statuses: 0 ok, 1 failure, 2 bad usage or invalid configuration (nothing started).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import httpx
import structlog
import trio

from ethproofs_daemon.config import (
    ENV_NAMES,
    FIELDS,
    ConfigError,
    load_settings,
    settings_markdown_table,
    shown_settings,
)

EXIT_CONFIG = 2


def _flag(env: str) -> str:
    return "--" + env.lower().replace("_", "-")


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (each overrides its environment variable)")
    for f in FIELDS:
        group.add_argument(_flag(f.env), dest=f"setting_{f.env}", metavar=f.env,
                           help=f"{f.help} [env {f.env}]")


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    return {env: getattr(args, f"setting_{env}", None) for env in ENV_NAMES.values()}


def _daemon_url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url).rstrip("/")
    port = os.environ.get("HEALTH_PORT", "4000")
    return f"http://127.0.0.1:{port}"


def cmd_run(args: argparse.Namespace) -> int:
    """Validate the settings (exit 2 on any problem), then run the daemon until stopped."""
    from ethproofs_daemon.logs import configure_logging

    try:
        settings = load_settings(overrides=_overrides(args), for_run=True)
    except ConfigError as exc:
        print(f"ethproofs-daemon: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    secrets = [s.get_secret_value() for s in (settings.ethproofs_api_key,
                                              settings.slack_webhook, settings.admin_token) if s]
    configure_logging(settings.log_level, settings.log_format, secrets=secrets)
    from ethproofs_daemon.app import build_daemon, run_daemon, startup_warnings

    for warning in startup_warnings(settings):
        structlog.get_logger("ethproofs_daemon").warning("startup_warning", warning=warning)

    daemon = build_daemon(settings)
    return trio.run(run_daemon, daemon)


def cmd_enqueue(args: argparse.Namespace) -> int:
    """POST the blocks to the running daemon's admin API."""
    headers = {"authorization": f"Bearer {args.token}"} if args.token else {}
    try:
        reply = httpx.post(f"{_daemon_url(args)}/admin/jobs", headers=headers, timeout=10,
                           json={"blocks": args.blocks, "priority": args.priority})
    except httpx.HTTPError as exc:
        print(f"ethproofs-daemon: cannot reach the daemon: {exc}", file=sys.stderr)
        return 1
    if reply.status_code != 201:
        print(f"ethproofs-daemon: {reply.status_code}: {reply.text}", file=sys.stderr)
        return 1
    for job in reply.json()["jobs"]:
        what = "enqueued" if job["created"] else f"already known ({job['state']})"
        print(f"block {job['block_number']}: {what}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the running daemon's queue, current job and recent results."""
    try:
        reply = httpx.get(f"{_daemon_url(args)}/admin/status", params={"limit": args.limit},
                          timeout=10)
        reply.raise_for_status()
    except httpx.HTTPError as exc:
        print(f"ethproofs-daemon: cannot read status: {exc}", file=sys.stderr)
        return 1
    doc = reply.json()
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    _print_status(doc)
    return 0


def _print_status(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    counts = ", ".join(f"{k} {v}" for k, v in doc["counts"].items() if v)
    console.print(f"[bold]head[/bold] {doc['head']}   [bold]jobs[/bold] {counts or 'none'}")
    flying = doc.get("in_flight") or ([doc["current"]] if doc["current"] else [])
    for proof in flying:
        job = f", coordinator job {proof['prover_job_id']}" if proof.get("prover_job_id") else ""
        console.print(f"[bold]proving[/bold] block {proof['block_number']} "
                      f"({proof['kind']}, phase {proof['phase'] or '-'}{job})")
    if doc["queued"]:
        console.print(f"[bold]queued[/bold] {', '.join(map(str, doc['queued']))}")
    table = Table("block", "state", "attempts", "proving ms", "cycles", "failure")
    for job in doc["recent"]:
        failure = f"{job['failure_reason']}: {(job['error'] or '')[:60]}" \
            if job["failure_reason"] else ""
        table.add_row(str(job["block_number"]), job["state"], str(job["attempts"]),
                      str(job["proving_time_ms"] or ""), str(job["cycles"] or ""), failure)
    console.print(table)


def cmd_config(args: argparse.Namespace) -> int:
    """Print every setting (or the README's markdown table)."""
    if args.markdown:
        print(settings_markdown_table())
        return 0
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"ethproofs-daemon: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for env, shown in shown_settings(settings):
        print(f"{env}={shown}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole argument parser (each subcommand has ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="ethproofs-daemon",
        description="Prove Ethereum blocks with ZisK and report them to EthProofs.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon")
    _add_setting_flags(run)
    run.set_defaults(func=cmd_run)

    for name, fn, helptext in (("enqueue", cmd_enqueue, "ask the running daemon to prove blocks"),
                               ("status", cmd_status, "show the running daemon's jobs")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--url", help="daemon admin URL (default http://127.0.0.1:$HEALTH_PORT)")
        p.set_defaults(func=fn)
        if name == "enqueue":
            p.add_argument("blocks", nargs="+", type=int, metavar="BLOCK")
            p.add_argument("--priority", type=int, default=0,
                           help="higher is proved first (follower targets have 0)")
            p.add_argument("--token", default=os.environ.get("ADMIN_TOKEN"),
                           help="admin token for a non-loopback daemon [env ADMIN_TOKEN]")
        else:
            p.add_argument("--json", action="store_true", help="print the raw JSON")
            p.add_argument("--limit", type=int, default=20, help="recent jobs to show")

    cfg = sub.add_parser("config", help="print the settings")
    cfg.add_argument("--markdown", action="store_true", help="the README's table")
    cfg.set_defaults(func=cmd_config)

    from ethproofs_daemon.inputs.commands import register as register_input_commands

    register_input_commands(sub)
    try:
        from ethproofs_daemon.demo import register_demo
    except ImportError:  # pragma: no cover - demo not built in
        pass
    else:
        register_demo(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and ``python -m ethproofs_daemon``."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
