"""Errors of the ZisK coordinator boundary, and how a gRPC status maps to them (pure).

The coordinator answers errors with a bare ``Status(code, message)``: its numeric ``ApiError``
codes never reach the client, so the class is chosen by gRPC code and message text
(``0xPolygonHermez/zisk@c603fe8fd:distributed/crates/coordinator-server/src/errors.rs``; the
texts from ``.../coordinator/src/coordinator.rs`` ``resolve_capacity``)::

    CoordinatorError                    base; ``code`` (gRPC status name) and ``details`` (text)
    ├── CoordinatorUnreachable          transport: down, restarting, refused  → retry, paced
    │   └── CallTimedOut                our own per-call deadline passed       → retry / re-poll
    ├── ClusterBusy                     UNAVAILABLE "Cluster unavailable: …"  → retry, paced
    ├── SetupNeeded                     "…setup not done; call setup() first" → setup, then retry
    ├── JobNotFound                     NOT_FOUND "Job not found: <uuid>"     → job gone: resubmit
    ├── ProgramNotFound                 NOT_FOUND "Program not found: <hash>" → register again
    ├── CoordinatorInternal             INTERNAL "An internal error occurred" → retry (as ere)
    └── RequestRejected                 anything else (INVALID_ARGUMENT, OUT_OF_RANGE, …): do not
                                        retry the same request
"""

from __future__ import annotations

from typing import Final

#: The message prefix of every "no capacity now" refusal (``CLUSTER_UNAVAILABLE``).
CLUSTER_UNAVAILABLE_PREFIX: Final = "Cluster unavailable"
#: Substring of the refusal that means the coordinator forgot its setups (e.g. after a restart).
SETUP_NOT_DONE: Final = "setup not done"
#: Substring of the refusals that mean "workers are setting up or busy; retry".
RETRY_SHORTLY: Final = "retry shortly"
#: Prefix of ``INVALID_ARGUMENT`` for a setup refused while workers compute or recover.
INVALID_JOB_STATE: Final = "Invalid job state"


class CoordinatorError(Exception):
    """A coordinator call failed. ``code`` is the gRPC status name (``"UNAVAILABLE"``, …, or
    ``""`` when no status came back); ``details`` the status message as the server sent it."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(f"{code}: {details}" if code else details)
        self.code = code
        self.details = details


class CoordinatorUnreachable(CoordinatorError):
    """No answer from the coordinator: connection refused, reset, or the server is restarting
    (gRPC ``UNAVAILABLE`` without the coordinator's own text). Retry, paced."""


class CallTimedOut(CoordinatorUnreachable):
    """The call's own deadline passed (``DEADLINE_EXCEEDED``): the server accepted the
    connection but did not answer in time. A submission may still have created a job."""


class ClusterBusy(CoordinatorError):
    """``UNAVAILABLE "Cluster unavailable: …"``: no Ready worker capacity (all busy, none
    connected, or setting up / recovering), or a setup refused while workers compute. The real
    server has no queue: this is back-pressure, retry paced, never a job failure."""


class SetupNeeded(CoordinatorError):
    """``"… setup not done; call setup() first"``: the coordinator forgot the program's setup
    (it lives in its memory; a restart loses it). Run setup, then submit again."""


class JobNotFound(CoordinatorError):
    """``NOT_FOUND "Job not found: <uuid>"``: unknown or evicted job (after ``job_ttl``, or lost
    in a coordinator restart). The job is gone: submit again."""


class ProgramNotFound(CoordinatorError):
    """``NOT_FOUND "Program not found: <hash_id>"``: setup of a hash the coordinator has no ELF
    for (its cache was wiped). Register the ELF again."""


class CoordinatorInternal(CoordinatorError):
    """``INTERNAL "An internal error occurred"``: any internal error, also ``CancelJob`` of an
    unknown job. Transient as far as the client can tell (ere retries it)."""


class RequestRejected(CoordinatorError):
    """The request itself was refused (``INVALID_ARGUMENT``, ``OUT_OF_RANGE`` for a message over
    128 MiB, ``UNIMPLEMENTED``, …): sending it again does not help."""


def classify_status(code: str, details: str) -> CoordinatorError:
    """The error for a gRPC status. ``code`` is the status name (``grpc.StatusCode.X.name``).

    Also matches the mapping of a newer index version (``RESOURCE_EXHAUSTED "Insufficient
    compute capacity"``, ``FAILED_PRECONDITION "Workers connected but setup not done; …"``,
    ``UNAVAILABLE "Workers are busy; retry shortly"``), as the coordinator doc advises.
    """
    if SETUP_NOT_DONE in details.lower() and code in {"UNAVAILABLE", "FAILED_PRECONDITION"}:
        return SetupNeeded(code, details)
    if code == "UNAVAILABLE":
        if details.startswith(CLUSTER_UNAVAILABLE_PREFIX) or RETRY_SHORTLY in details:
            return ClusterBusy(code, details)
        return CoordinatorUnreachable(code, details)
    if code == "RESOURCE_EXHAUSTED" and "capacity" in details.lower():
        return ClusterBusy(code, details)
    if code == "INVALID_ARGUMENT" and details.startswith(INVALID_JOB_STATE):
        return ClusterBusy(code, details)
    if code == "DEADLINE_EXCEEDED":
        return CallTimedOut(code, details)
    if code == "NOT_FOUND":
        if details.startswith("Program not found"):
            return ProgramNotFound(code, details)
        return JobNotFound(code, details)
    if code == "INTERNAL":
        return CoordinatorInternal(code, details)
    return RequestRejected(code, details)
