"""``ethproofs-daemon demo``: the whole main job on this machine, with nothing but anvil.

A real node (anvil on 127.0.0.1), real transactions (transfers, contract deployments, storage
writes, EIP-1559 and EIP-2930 access-list transactions), real synthesized witnesses verified
against the parent state root, real ethrex guest inputs, real HTTP reports to a local EthProofs
API endpoint; the proof is SIMULATED (the simulated prover sleeps and writes a placeholder: it
proves nothing). See ``runner.py`` for the run, ``transactions.py``, ``endpoint.py``, ``table.py``.

Work directory: ``--workdir`` (default ``./demo-output/<UTC date-time>/``, a new one per run, kept
afterwards so its files can be read). An existing non-empty directory is refused.

Exit statuses: 0 the wanted blocks were proved and reported; 1 they were not (timeout, failure);
2 bad usage or anvil missing (nothing started); 130 interrupted (SIGINT or SIGTERM: the daemon is
stopped gracefully and anvil ended; a second signal cancels at once, anvil still ended by pid).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ethproofs_daemon.demo.anvil import AnvilError, AnvilNotFound

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_BLOCKS = 5
DEFAULT_TIMEOUT_S = 110.0
DEFAULT_OUTPUT_ROOT = Path("demo-output")


def default_workdir(now: float | None = None) -> Path:
    """``./demo-output/<YYYYmmdd-HHMMSS>/`` (UTC), a new directory per run."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    path = DEFAULT_OUTPUT_ROOT / stamp
    n = 1
    while path.exists():
        n += 1
        path = DEFAULT_OUTPUT_ROOT / f"{stamp}-{n}"
    return path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def register_demo(subparsers: Any) -> None:
    """Add the ``demo`` subcommand to the CLI's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run the whole job locally: anvil, real transactions, a SIMULATED prover",
        description=(
            "Start anvil on 127.0.0.1, send real transactions while blocks are mined, run the "
            "daemon against it (synthesized witnesses, the real ethrex input codec) with a "
            "SIMULATED prover (it proves nothing) reporting to a local EthProofs API endpoint; "
            "show a live table, print a summary, end every process started."
        ),
    )
    p.add_argument("--blocks", type=_positive_int, default=DEFAULT_BLOCKS,
                   help=f"blocks to prove and report before stopping (default {DEFAULT_BLOCKS})")
    p.add_argument("--timeout", type=_positive_float, default=DEFAULT_TIMEOUT_S,
                   metavar="SECONDS",
                   help=f"give up after this many seconds (default {DEFAULT_TIMEOUT_S:g})")
    p.add_argument("--workdir", type=Path, default=None,
                   help="state and output directory; must be new or empty "
                        "(default: a new ./demo-output/<UTC date-time>/)")
    p.add_argument("--block-interval", type=_positive_int, default=2,
                   help="BLOCK_INTERVAL of the daemon (default 2)")
    p.add_argument("--proving-seconds", type=float, default=1.0,
                   help="how long the simulated prover sleeps per block (default 1)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit status (see the module docstring)."""
    from rich.console import Console

    from ethproofs_daemon.demo.runner import (
        DemoError,
        DemoOptions,
        prepare_workdir,
        route_logs_to_file,
        run_blocking,
    )
    from ethproofs_daemon.demo.summary import print_summary

    console = Console()
    workdir = args.workdir if args.workdir is not None else default_workdir()
    try:
        from ethproofs_daemon.demo.anvil import find_anvil

        anvil = find_anvil()
        paths = prepare_workdir(workdir)
    except (AnvilNotFound, DemoError) as exc:
        print(f"ethproofs-daemon demo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    options = DemoOptions(workdir=paths.workdir, blocks=args.blocks, timeout_s=args.timeout,
                          block_interval=args.block_interval, proving_s=args.proving_seconds)
    console.print(
        f"[bold]ethproofs-daemon demo[/bold]: anvil ({anvil}) on 127.0.0.1, "
        f"{options.blocks} blocks (block 2 and every {options.block_interval} after), "
        f"timeout {options.timeout_s:g} s\n"
        "[bold red]The prover is SIMULATED: it sleeps and writes a placeholder proof; "
        "it proves nothing.[/bold red] Node, transactions, witnesses, inputs and HTTP reports "
        f"are real.\nwork directory: {paths.workdir} (logs: {paths.daemon_log})",
        highlight=False,
        soft_wrap=True,
    )
    log_file = route_logs_to_file(paths.daemon_log, [])
    try:
        result = run_blocking(options, paths, console)
    except KeyboardInterrupt:
        console.print("interrupted; every process the demo started was ended")
        return EXIT_INTERRUPTED
    except AnvilError as exc:
        print(f"ethproofs-daemon demo: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        log_file.flush()
    print_summary(console, result)
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_FAILED
