"""The demo's live view: one ``rich`` table of the blocks the daemon took on and their states.

Pure functions over plain values (``Job`` rows from the store, what the local EthProofs endpoint
received): ``block_rows`` decides the rows, ``render`` draws them. The runner refreshes the view
several times a second inside ``rich.live.Live``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ethproofs_daemon.jobs import Job, JobState

_STATE_STYLE: dict[JobState, str] = {
    JobState.DETECTED: "dim",
    JobState.FETCHING: "cyan",
    JobState.INPUT_READY: "cyan",
    JobState.QUEUED: "yellow",
    JobState.PROVING: "magenta",
    JobState.PROVED: "green",
    JobState.FAILED: "red",
}


@dataclass(frozen=True, slots=True)
class BlockRow:
    """One line of the table: the job's block and state, the transactions and gas of the block,
    the simulated proving time (ms), the reports the local EthProofs endpoint accepted for it
    (``queued → proving → proved``) and the failure, if any."""

    block_number: int
    state: JobState
    tx_count: int | None
    gas_used: int | None
    proving_time_ms: int | None
    reports: tuple[str, ...]
    failure: str


def block_rows(jobs: Iterable[Job], reports: Mapping[int, Sequence[str]]) -> list[BlockRow]:
    """Rows in block order. ``reports`` maps a block to the report kinds accepted for it."""
    rows = []
    for job in sorted(jobs, key=lambda j: j.block_number):
        failure = ""
        if job.failure_reason is not None:
            failure = f"{job.failure_reason}: {(job.error or '')[:70]}"
        rows.append(
            BlockRow(
                block_number=job.block_number,
                state=job.state,
                tx_count=job.tx_count,
                gas_used=job.gas_used,
                proving_time_ms=job.proving_time_ms,
                reports=tuple(reports.get(job.block_number, ())),
                failure=failure,
            )
        )
    return rows


def render(rows: Sequence[BlockRow], *, head: int, wanted: int, elapsed_s: float) -> Group:
    """The table with a one-line header (chain head, progress, elapsed seconds)."""
    proved = sum(1 for r in rows if r.state is JobState.PROVED and "proved" in r.reports)
    header = Text.assemble(
        ("ethproofs-daemon demo", "bold"),
        f"   chain head {head}   proved and reported {proved}/{wanted}   {elapsed_s:4.0f} s   ",
        ("prover: SIMULATED (proves nothing)", "bold red"),
    )
    table = Table(
        "block", "state", "txs", "gas used", "simulated proving ms", "EthProofs reports", "failure"
    )
    for r in rows:
        table.add_row(
            str(r.block_number),
            Text(str(r.state), style=_STATE_STYLE.get(r.state, "")),
            "" if r.tx_count is None else str(r.tx_count),
            "" if r.gas_used is None else f"{r.gas_used:,}",
            "" if r.proving_time_ms is None else str(r.proving_time_ms),
            " → ".join(r.reports),
            Text(r.failure, style="red"),
        )
    return Group(header, table)


def progress_line(row: BlockRow) -> str:
    """A plain line for a row whose state or reports changed (when stdout is not a terminal)."""
    reports = " → ".join(row.reports) or "none"
    line = f"block {row.block_number}: {row.state} (reports: {reports})"
    return f"{line}  {row.failure}" if row.failure else line
