"""A thin trio client of the ZisK coordinator's gRPC API (``zisk.coordinator.v1``, port 7000).

One call per method, each bounded by its own gRPC deadline (``timeout=``), errors mapped to the
hierarchy of ``errors.py``. The API and its server behaviour are documented in
``0xPolygonHermez/zisk@c603fe8fd:book/developer/coordinator_api.md`` and read from
``distributed/crates/coordinator-server/src/grpc.rs`` (same tree): plain HTTP/2, no TLS, no
authentication, 128 MiB per message both ways.

How trio stays in charge: every call is started non-blocking as a gRPC future
(``multicallable.future(request, timeout=…)``); a worker thread blocks on ``future.result()``
(``trio.to_thread.run_sync(…, abandon_on_cancel=True)``). When trio cancels the caller, the
thread is abandoned at once and the gRPC future is cancelled in ``finally``, which ends the
call on the wire (RST_STREAM) and wakes the thread with ``FutureCancelledError`` (discarded).
So a cancelled call neither blocks trio nor leaves a thread or an RPC behind; and a call the
server never answers ends at its deadline (``CallTimedOut``) even without trio cancelling it.
A cancelled ``JobRequest`` may still have created a job on the server (its id is lost); the
caller decides whether that matters.

Calls that fail fast on a refused connection: ``wait_for_ready`` is left False, so a down
coordinator gives ``CoordinatorUnreachable`` at once instead of waiting out the deadline.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, TypeVar, cast

import grpc
import structlog
import trio

from ethproofs_daemon.prover.coordinator import zisk_coordinator_api_pb2 as pb
from ethproofs_daemon.prover.coordinator.errors import CoordinatorError, classify_status
from ethproofs_daemon.prover.coordinator.outcomes import JobOutcome, parse_wait_response

log = structlog.get_logger(__name__)

#: The server's per-message limit, both directions (``MAX_MESSAGE_SIZE``,
#: ``zisk@c603fe8fd:distributed/crates/coordinator-server/src/server.rs``).
MAX_MESSAGE_BYTES: Final = 128 * 1024 * 1024
#: Room left in an inline ``JobRequestMessage`` for everything but the input bytes.
INLINE_HEADROOM_BYTES: Final = 64 * 1024
#: Largest input sent inline (bytes); larger input goes through ``PushJobInput``.
INLINE_LIMIT_BYTES: Final = MAX_MESSAGE_BYTES - INLINE_HEADROOM_BYTES
#: ``PushJobInput`` chunk size (bytes): the SDK sends ≤ 3 MiB per message, and every chunk must
#: be a multiple of 8 bytes (``zisk@c603fe8fd:distributed/crates/worker/src/worker_node.rs``
#: ``handle_input_stream_data``).
PUSH_CHUNK_BYTES: Final = 3 * 1024 * 1024
#: The ``stream_uri`` that tells the coordinator the input arrives through ``PushJobInput``
#: (any ``grpc://`` URI; ``zisk@c603fe8fd:sdk/src/remote.rs`` ``stdin_to_input_kind``).
PUSH_STREAM_URI: Final = "grpc://push"
#: ``WaitJobResult`` hold is clamped to 1..3600 s by the server.
MIN_HOLD_S: Final = 1
MAX_HOLD_S: Final = 3600

_SERVICE: Final = "/zisk.coordinator.v1.ZiskCoordinatorApi/"
_T = TypeVar("_T")


class ProofDest(enum.IntEnum):
    """``zisk.coordinator.v1.ProofKind`` as sent in ``ProveRequest.proof_dest`` (0 / unknown is
    treated as STARK by the server). EthProofs takes STARK_MINIMAL."""

    STARK = pb.PROOF_KIND_STARK
    STARK_MINIMAL = pb.PROOF_KIND_STARK_MINIMAL
    PLONK = pb.PROOF_KIND_PLONK


@dataclass(frozen=True, slots=True)
class CallTimeouts:
    """Per-call gRPC deadlines, in seconds. ``wait_margin_s`` is added to a ``WaitJobResult``'s
    hold (the book asks for a client deadline longer than ``timeout_seconds``); ``push_s`` bounds
    a whole ``PushJobInput`` stream."""

    register_s: float = 60.0
    submit_s: float = 60.0
    cancel_s: float = 30.0
    push_s: float = 600.0
    wait_margin_s: float = 10.0


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """gRPC channel options. Reconnect backoff in ms: gRPC's own default grows to 120 s, which
    would keep a restarted coordinator unreachable long after it is back."""

    max_message_bytes: int = MAX_MESSAGE_BYTES
    initial_reconnect_backoff_ms: int = 1000
    max_reconnect_backoff_ms: int = 5000

    def options(self) -> list[tuple[str, int]]:
        return [
            ("grpc.max_send_message_length", self.max_message_bytes),
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.initial_reconnect_backoff_ms", self.initial_reconnect_backoff_ms),
            ("grpc.min_reconnect_backoff_ms", self.initial_reconnect_backoff_ms),
            ("grpc.max_reconnect_backoff_ms", self.max_reconnect_backoff_ms),
        ]


def error_from_rpc(exc: grpc.RpcError) -> CoordinatorError:
    """The ``errors.py`` class for a failed call (``classify_status`` of its code and text)."""
    code = exc.code()
    return classify_status(code.name if code is not None else "", exc.details() or "")


def push_chunks(job_id: str, data: bytes, chunk_bytes: int) -> Iterator[pb.PushJobInputRequest]:
    """``PushJobInputRequest``s carrying ``data`` in order, ``chunk_bytes`` each (the last one
    shorter). ``chunk_bytes`` must be a positive multiple of 8 and ``len(data)`` a multiple of 8
    (framed input), so every chunk is a multiple of 8 bytes."""
    if chunk_bytes <= 0 or chunk_bytes % 8 or len(data) % 8:
        raise ValueError("push chunks and framed input must be multiples of 8 bytes")
    for start in range(0, len(data), chunk_bytes):
        yield pb.PushJobInputRequest(
            job_id=job_id, chunk=pb.InputChunk(data=data[start : start + chunk_bytes])
        )


class CoordinatorClient:
    """The coordinator's client API over one gRPC channel.

    Args:
        target: ``host:port`` of the coordinator's client API (default port 7000).
        timeouts: per-call deadlines.
        channel: channel options (message limits, reconnect backoff).
        inline_limit_bytes: largest input sent inline; larger input is streamed.
        push_chunk_bytes: chunk size of the streamed path (multiple of 8).

    Every method raises a ``CoordinatorError`` subclass (``errors.py``) when the call fails.
    """

    def __init__(
        self,
        target: str,
        *,
        timeouts: CallTimeouts | None = None,
        channel: ChannelSettings | None = None,
        inline_limit_bytes: int = INLINE_LIMIT_BYTES,
        push_chunk_bytes: int = PUSH_CHUNK_BYTES,
    ) -> None:
        self.target = target
        self.timeouts = timeouts or CallTimeouts()
        self.inline_limit_bytes = inline_limit_bytes
        self.push_chunk_bytes = push_chunk_bytes
        options = (channel or ChannelSettings()).options()
        self._channel = grpc.insecure_channel(target, options=options)
        ch = self._channel
        self._register: grpc.UnaryUnaryMultiCallable[
            pb.RegisterGuestProgramRequest, pb.RegisterGuestProgramResponse
        ] = ch.unary_unary(
            _SERVICE + "RegisterGuestProgram",
            request_serializer=pb.RegisterGuestProgramRequest.SerializeToString,
            response_deserializer=pb.RegisterGuestProgramResponse.FromString,
        )
        self._job: grpc.UnaryUnaryMultiCallable[pb.JobRequestMessage, pb.JobResponse] = (
            ch.unary_unary(
                _SERVICE + "JobRequest",
                request_serializer=pb.JobRequestMessage.SerializeToString,
                response_deserializer=pb.JobResponse.FromString,
            )
        )
        self._wait: grpc.UnaryUnaryMultiCallable[
            pb.WaitJobResultRequest, pb.WaitJobResultResponse
        ] = ch.unary_unary(
            _SERVICE + "WaitJobResult",
            request_serializer=pb.WaitJobResultRequest.SerializeToString,
            response_deserializer=pb.WaitJobResultResponse.FromString,
        )
        self._push: grpc.StreamUnaryMultiCallable[pb.PushJobInputRequest, object] = (
            ch.stream_unary(
                _SERVICE + "PushJobInput",
                request_serializer=pb.PushJobInputRequest.SerializeToString,
                response_deserializer=None,  # google.protobuf.Empty: the bytes are ignored
            )
        )
        self._cancel: grpc.UnaryUnaryMultiCallable[pb.CancelJobRequest, pb.CancelJobResponse] = (
            ch.unary_unary(
                _SERVICE + "CancelJob",
                request_serializer=pb.CancelJobRequest.SerializeToString,
                response_deserializer=pb.CancelJobResponse.FromString,
            )
        )

    def close(self) -> None:
        """Close the channel; calls in flight fail with ``CANCELLED``."""
        self._channel.close()

    def __enter__(self) -> CoordinatorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def _finish(self, future: grpc.CallFuture[_T]) -> _T:
        # Module doc: the thread only waits; trio cancellation abandons it and cancels the RPC.
        try:
            return await trio.to_thread.run_sync(future.result, abandon_on_cancel=True)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        finally:
            cast("grpc.Future[_T]", future).cancel()  # no-op once done

    async def register(self, elf: bytes) -> str:
        """``RegisterGuestProgram``: store the guest ELF on the coordinator (idempotent; it
        survives a coordinator restart unless its cache is wiped).

        Returns:
            ``hash_id``: blake3 of ``elf``, lowercase hex.

        Raises:
            RequestRejected: empty ELF (``INVALID_ARGUMENT "zisk_elf must not be empty"``).
        """
        req = pb.RegisterGuestProgramRequest(zisk_elf=elf)
        resp = await self._finish(self._register.future(req, timeout=self.timeouts.register_s))
        return resp.hash_id

    async def setup(self, hash_id: str) -> str:
        """Submit a setup job for ``hash_id`` (``with_hints=false, program_name="",
        emulator_only=false``, as ere sends). Wait for it with ``wait_result``.

        Returns:
            The setup job's id (UUID text).

        Raises:
            ProgramNotFound: the ELF was never registered (or the cache was wiped).
            ClusterBusy: no worker connected, or workers computing / recovering.
        """
        req = pb.JobRequestMessage(
            job_kind=pb.JobKind(setup=pb.SetupRequest(hash_id=hash_id, with_hints=False,
                                                      program_name="", emulator_only=False))
        )
        resp = await self._finish(self._job.future(req, timeout=self.timeouts.submit_s))
        return resp.job_id

    async def prove(self, hash_id: str, framed_input: bytes, proof_dest: ProofDest) -> str:
        """Submit a prove job. ``framed_input`` is the guest's stdin image, already framed
        (``u64 LE len | payload | zero pad to 8`` per read; the server frames nothing). Up to
        ``inline_limit_bytes`` it goes inline; larger, the job is submitted with
        ``stream_uri = "grpc://push"`` and the bytes follow on ``PushJobInput`` in
        ``push_chunk_bytes`` chunks (the SDK's path; how workers learn of end-of-input is
        unconfirmed upstream). If the push fails, the job is cancelled (best effort) before the
        error is raised. ``proof_timeout`` is not sent: the server ignores it.

        Returns:
            The prove job's id (UUID text).

        Raises:
            ClusterBusy: no Ready capacity (the server has no queue: another job runs, workers
                recovering, none connected).
            SetupNeeded: the coordinator forgot the setup (restarted).
            RequestRejected: malformed request, or a message over 128 MiB (``OUT_OF_RANGE``).
            CoordinatorUnreachable / CallTimedOut: transport.
        """
        streamed = len(framed_input) > self.inline_limit_bytes
        if streamed:
            input_kind = pb.InputKind(stream_uri=PUSH_STREAM_URI)
        else:
            input_kind = pb.InputKind(inline=pb.InputChunk(data=framed_input))
        req = pb.JobRequestMessage(
            job_kind=pb.JobKind(prove=pb.ProveRequest(hash_id=hash_id, input=input_kind,
                                                      proof_dest=pb.ProofKind.Name(proof_dest)))
        )
        resp = await self._finish(self._job.future(req, timeout=self.timeouts.submit_s))
        if not streamed:
            return resp.job_id
        chunks = push_chunks(resp.job_id, framed_input, self.push_chunk_bytes)
        try:
            await self._finish(self._push.future(chunks, timeout=self.timeouts.push_s))
        except BaseException:
            with trio.CancelScope(shield=True):
                await self.cancel_quietly(resp.job_id)
            raise
        return resp.job_id

    async def wait_result(self, job_id: str, hold_s: int) -> JobOutcome:
        """``WaitJobResult``: the server holds the call until the job is terminal or ``hold_s``
        seconds pass (clamped here to 1..3600, as the server does). The call's deadline is
        ``hold_s + wait_margin_s``.

        Returns:
            ``JobRunning`` when the hold ended first, else the terminal outcome (a terminal
            result is returned again on every call for ``job_ttl``, 3600 s by default).

        Raises:
            JobNotFound: unknown or evicted job (e.g. lost in a coordinator restart).
            CoordinatorInternal: 0.17 servers after the job ended (result lost).
        """
        hold = max(MIN_HOLD_S, min(MAX_HOLD_S, hold_s))
        req = pb.WaitJobResultRequest(job_id=job_id, timeout_seconds=hold)
        future = self._wait.future(req, timeout=hold + self.timeouts.wait_margin_s)
        return parse_wait_response(await self._finish(future))

    async def cancel(self, job_id: str) -> bool:
        """``CancelJob``: returns at once (the server does not wait for workers to stop).

        Returns:
            True when a running job was cancelled, False when it was already terminal.

        Raises:
            CoordinatorInternal: unknown or evicted job, or a setup job's id.
        """
        req = pb.CancelJobRequest(job_id=job_id)
        resp = await self._finish(self._cancel.future(req, timeout=self.timeouts.cancel_s))
        return resp.cancelled

    async def cancel_quietly(self, job_id: str) -> bool | None:
        """``cancel`` that logs instead of raising a ``CoordinatorError``; None when it failed."""
        try:
            return await self.cancel(job_id)
        except CoordinatorError as exc:
            log.warning("coordinator_cancel_failed", job_id=job_id, error=str(exc))
            return None
