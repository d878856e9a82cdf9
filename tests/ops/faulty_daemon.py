"""Run the real daemon (``ethproofs_daemon.cli.main``) in this process with faults a test asks for.

Used as a script (``python tests/ops/faulty_daemon.py run``): the process's pid is the daemon's,
so a test can change its resource limits (``resource.prlimit``) or signal it. Faults, from the
environment:

- ``FAULT_RAISE_ON_REPORT=<kind>``: the first POST of a ``<kind>`` report (``queued``,
  ``proving``, ``proved``) raises ``RuntimeError("injected fault ...")`` inside the reporter, an
  exception no code path expects.
- Always: ``SIGXFSZ`` is ignored, so a write past ``RLIMIT_FSIZE`` fails with ``EFBIG`` (as a
  write to a full disk fails with ``ENOSPC``) instead of killing the process (setrlimit(2)).
"""

from __future__ import annotations

import os
import signal
import sys


def _inject_report_fault(kind: str) -> None:
    from ethproofs_daemon.outbox import ReportKind
    from ethproofs_daemon.reporting.ethproofs import EthProofsClient

    original = EthProofsClient.post_status
    armed = [True]

    async def post_status(self: EthProofsClient, report: ReportKind, payload_json: str) -> int:
        if armed[0] and str(report) == kind:
            armed[0] = False
            raise RuntimeError(f"injected fault: posting a {kind} report")
        return await original(self, report, payload_json)

    EthProofsClient.post_status = post_status  # type: ignore[method-assign]


def main() -> int:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    kind = os.environ.get("FAULT_RAISE_ON_REPORT")
    if kind:
        _inject_report_fault(kind)
    from ethproofs_daemon.cli import main as daemon_main

    return daemon_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
