"""The summary printed at the end of a demo run (pure over ``DemoResult`` apart from printing)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ethproofs_daemon.demo.runner import DemoResult


def summary_lines(result: DemoResult) -> list[str]:
    """Plain-text lines: outcome, timings, transactions sent, processes, where the files are."""
    p = result.paths
    status = "stopped" if result.interrupted else "FAILED"
    outcome = (
        f"demo OK: {len(result.proved)} blocks proved (SIMULATED) and reported "
        f"in {result.wall_s:.1f} s"
        if result.ok
        else f"demo {status}: {result.reason} ({len(result.proved)}/{result.wanted} blocks "
        f"proved and reported, {result.wall_s:.1f} s)"
    )
    lines = [outcome]
    if result.proved:
        times = [b.seconds_to_proved for b in result.proved]
        lines.append(
            f"target detected → proved: min {min(times):.1f} s, max {max(times):.1f} s, "
            f"mean {sum(times) / len(times):.1f} s"
        )
    sent = sum(result.sent.values())
    lines.append(f"transactions sent: {sent} in blocks up to {result.head}")
    lines += [f"  {n:3d} {kind}" for kind, n in sorted(result.sent.items())]
    lines.append(f"EthProofs reports received by the local endpoint: {result.reports_received}")
    lines.append(
        f"anvil pid {result.anvil_pid} at {result.anvil_url}: stopped; "
        f"daemon exit status {result.daemon_status}"
    )
    lines += [
        f"output dir:     {p.output_dir}  (simulated placeholder proofs, NOT proofs)",
        f"state dir:      {p.state_dir}  (SQLite job store, built guest inputs)",
        f"received log:   {p.received_log}  (what the local EthProofs endpoint received)",
        f"daemon log:     {p.daemon_log}",
        f"chain config:   {p.genesis}",
    ]
    return lines


def print_summary(console: Console, result: DemoResult) -> None:
    """Print the per-block table and the summary lines."""
    if result.proved:
        table = Table("block", "txs", "gas used", "detected→\nproved s",
                      "simulated\nproving ms", "proof\nid", "EthProofs reports",
                      title="proved (SIMULATED) and reported")
        for b in result.proved:
            table.add_row(str(b.block_number), str(b.tx_count or 0),
                          f"{b.gas_used or 0:,}", f"{b.seconds_to_proved:.1f}",
                          str(b.proving_time_ms or ""), str(b.proof_id or ""),
                          "→".join(b.reports))
        console.print(table)
    for row in result.failed:
        console.print(f"block {row.block_number} failed: {row.failure}", highlight=False)
    for line in summary_lines(result):
        console.print(line, highlight=False, soft_wrap=True)
