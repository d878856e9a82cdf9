"""A stand-in ZisK coordinator: a real gRPC server on 127.0.0.1 speaking ``zisk.coordinator.v1``
as the real server does (not as its proto comments say). It proves nothing.

Contract followed (the coordinator doc's §2 and §6, read from
``0xPolygonHermez/zisk@c603fe8fd:distributed/crates/coordinator{,-server}/src``):

1. Surface: ``/zisk.coordinator.v1.ZiskCoordinatorApi/*`` with the daemon's own proto, plus
   ``grpc.health.v1.Health/Check`` (service ``""`` → SERVING). A request over
   ``max_message_bytes`` (128 MiB) → ``OUT_OF_RANGE "Error, decoded message length too large:
   found N bytes, the limit is: 134217728 bytes"``. Only the 1.1 numbering is modelled.
2. Register: ``hash_id`` = blake3 hex of the ELF; idempotent; empty ELF → ``INVALID_ARGUMENT
   "zisk_elf must not be empty"``; registered ELFs survive ``restart()`` (the disk cache).
3. Setup: the first setup of a program takes ``setup_s`` and reserves every connected partition
   (workers ``SettingUp``); it completes with ``SetupResponse{vk: 32 bytes, hash_mode}``. A
   repeat completes at once with the same vk (1.0-beta+ fast path). Unknown hash → ``NOT_FOUND
   "Program not found: <hash>"``; an uncached setup while a partition computes or recovers →
   ``INVALID_ARGUMENT "Invalid job state: Cannot run setup_program while workers are computing"``
   (``… are recovering``); no worker connected → ``UNAVAILABLE … no workers connected``.
4. Submit: a UUID job id, or (no queue) ``UNAVAILABLE "Cluster unavailable: workers are setting
   up; retry shortly"`` / ``"…workers connected but setup not done; call setup() first"`` /
   ``"…no workers connected"`` (the last also when every partition is busy). A job takes one
   Ready partition (``partitions`` of them: the real ``default_compute_units`` set to one
   worker's capacity). ``proof_dest`` 0 → STARK; ``proof_timeout`` ignored; ``hash_id`` not
   checked at submission: a job for a program not set up fails with ``Guest program not found for
   hash_id=<id>``; inline input that is not a multiple of 8 bytes fails the job like the
   emulator (``input size must be a multiple of 8``). ``stream_uri`` ``grpc://…`` jobs wait for
   their ``PushJobInput`` stream; a chunk not a multiple of 8 fails the job with
   ``InputStreamData payload length N is not a multiple of 8 bytes``.
5. ``restart()``: jobs and setups are forgotten (``NOT_FOUND "Job not found: <uuid>"``; submits
   get ``setup not done``); workers reconnect after ``reconnect_s``; connections in flight drop.
6. ``WaitJobResult``: holds up to ``timeout_seconds`` (default 5, clamped 1..3600); ``running{}``
   without phase when the hold ends; a terminal result at once, again on every read, for
   ``job_ttl_s``; never ``queued``/``waiting_for_input``. (The 0.17 "result lost" mode is not
   modelled.)
7. ``WatchJob``: ``queued`` (+ ``started``, + past ``progress``), live ``progress(PROVE)`` and
   ``progress(RECURSE)`` (at ⅓ and ⅔ of ``prove_s``), one terminal event, then close; unknown →
   ``NOT_FOUND``.
8. Failures: ``fail_next(reason)`` fails the next admitted prove job with
   ``failed{execution{reason}}`` after ``fail_after_s``; a failed or cancelled job leaves its
   partition recovering (``SettingUp``) for ``recovery_s``.
9. ``CancelJob``: ``cancelled=true`` for a running job at once (then recovery), ``false`` when
   terminal, ``INTERNAL "An internal error occurred"`` for an unknown id or a setup job.
10. Result: ``proof.data`` is a real layout-D envelope (``zisk_proof_encoders.encode_v1_d``):
    Minimal for ``STARK_MINIMAL`` else Final, hash ``"Poseidon1"``, ``publics_full`` = setup vk
    ×4 + 64 outputs derived from the input; ``proof_kind = STARK`` whatever was asked; empty
    ``verification_key``/``public_inputs``; ``proof_id`` random per read; ``hash_id`` ``""`` after
    the first terminal read; timestamps now; ``stats.steps``; ``duration_nanos`` = whole ms ×
    10^6 from admission to the end.
11. Transport: ``stop()`` (connection refused), ``hang()`` (accepts calls, never answers until
    ``unhang()`` or ``stop()``), and ``SilentListener`` (accepts TCP, never speaks HTTP/2).

Not modelled: wrap / execute jobs (``UNIMPLEMENTED``), PLONK proofs (the job fails), hints,
setup failure modes, 0.17/0.18 numbering. Every request is recorded (``requests`` / ``calls``).
"""

from __future__ import annotations

import math
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

import blake3
import grpc
from google.protobuf import empty_pb2, message
from google.protobuf.timestamp_pb2 import Timestamp

from ethproofs_daemon.prover.coordinator import zisk_coordinator_api_pb2 as pb
from ethproofs_daemon.prover.coordinator import zisk_coordinator_api_pb2_grpc as pb_grpc
from tests.standins.zisk_proof_encoders import (
    FIXTURE_ZISK_VK,
    KIND_FINAL,
    KIND_MINIMAL,
    encode_v1_d,
)

MAX_MESSAGE_BYTES: Final = 128 * 1024 * 1024
GOLDILOCKS_P: Final = 2**64 - 2**32 + 1
NO_WORKERS: Final = "Cluster unavailable: no workers connected"
SETTING_UP: Final = "Cluster unavailable: workers are setting up; retry shortly"
SETUP_NOT_DONE: Final = (
    "Cluster unavailable: workers connected but setup not done; call setup() first"
)
INTERNAL: Final = "An internal error occurred"
HASH_MODE: Final = "Poseidon1"
#: How often blocked handlers look at the stop flag (s).
_TICK_S: Final = 0.05


@dataclass(frozen=True, slots=True)
class StandinSettings:
    """Times in seconds. ``partitions``: jobs that can run at once. ``proof_words``: length of
    the fake STARK proof in the envelope."""

    partitions: int = 1
    setup_s: float = 0.3
    prove_s: float = 0.3
    recovery_s: float = 0.2
    reconnect_s: float = 0.0
    fail_after_s: float = 0.05
    job_ttl_s: float = 3600.0
    steps: int = 123_456
    proof_words: int = 32
    max_message_bytes: int = MAX_MESSAGE_BYTES


@dataclass(frozen=True, slots=True)
class ProofParts:
    """What a completed prove job's envelope holds (for tests to build the expected bytes)."""

    proof_words: tuple[int, ...]
    zisk_vk: tuple[int, ...]
    kind: int
    publics_full: tuple[int, ...]
    program_vk: tuple[int, ...]


@dataclass
class _Job:
    id: str
    kind: str  # "setup" | "prove"
    hash_id: str
    started: float
    finish_at: float
    partitions: list[int]
    proof_kind: int = pb.PROOF_KIND_STARK
    input: bytes = b""
    failure: str | None = None
    state: str = "running"  # running | completed | failed | cancelled
    ended_at: float | None = None
    hash_read: bool = False
    parts: ProofParts | None = None


@dataclass
class _Partition:
    job: str | None = None
    recover_until: float = 0.0


def _vk_words(hash_id: str) -> tuple[int, ...]:
    raw = blake3.blake3(b"stand-in program vk " + hash_id.encode()).digest()
    return tuple(w % GOLDILOCKS_P for w in struct.unpack("<4Q", raw))


def _now_ts() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


def _valid_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class ZiskCoordinatorStandin(pb_grpc.ZiskCoordinatorApiServicer):
    """The stand-in server (module doc). ``start()`` binds 127.0.0.1 (port 0 = ephemeral, kept
    across ``restart()``); ``target`` is ``host:port``; ``stop()`` ends it and its threads."""

    def __init__(self, settings: StandinSettings | None = None) -> None:
        self.settings = settings or StandinSettings()
        self.port = 0
        self.requests: list[tuple[str, message.Message]] = []
        self.elfs: dict[str, bytes] = {}  # the disk cache: survives restart()
        #: Calls that ended on the client's side (cancelled, deadline) while hung.
        self.dropped_calls = 0
        self._cond = threading.Condition()
        self._failures: deque[str] = deque()
        self._hang = False
        self._stopping = False
        self._generation = 0
        self._server: grpc.Server | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._reset_state(connected_at=0.0)

    # ------------------------------------------------------------ lifecycle

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _reset_state(self, connected_at: float) -> None:
        self.jobs: dict[str, _Job] = {}
        self.setups: dict[str, tuple[int, ...]] = {}
        self._parts = [_Partition() for _ in range(self.settings.partitions)]
        self._connected_at = connected_at

    def start(self) -> None:
        """Serve on 127.0.0.1:``port`` (ephemeral the first time)."""
        with self._cond:
            self._stopping = False
            self._generation += 1
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="zisk-coord-standin")
        limit = self.settings.max_message_bytes
        # grpcio's own limit is set above the real one so that oversize requests reach the
        # handler and are refused with tonic's OUT_OF_RANGE text.
        server = grpc.server(self._pool, options=[
            ("grpc.max_receive_message_length", 2 * limit + 1024 * 1024),
            ("grpc.max_send_message_length", limit),
            ("grpc.so_reuseport", 0),
        ])
        pb_grpc.add_ZiskCoordinatorApiServicer_to_server(self, server)
        server.add_generic_rpc_handlers((_health_handler(),))
        port = server.add_insecure_port(f"127.0.0.1:{self.port}")
        if port == 0:
            raise OSError(f"cannot bind 127.0.0.1:{self.port}")
        self.port = port
        server.start()
        self._server = server

    def stop(self) -> None:
        """Drop every connection and call at once (the coordinator process went away)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.stop(grace=None).wait(5)
            self._server = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def restart(self, down_s: float = 0.0) -> None:
        """Stop, forget jobs and setups (workers reconnect Idle after ``reconnect_s``), serve
        again on the same port after ``down_s`` seconds. Registered ELFs stay."""
        self.stop()
        time.sleep(down_s)
        with self._cond:
            self._reset_state(time.monotonic() + self.settings.reconnect_s)
        self.start()

    def __enter__(self) -> ZiskCoordinatorStandin:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ test controls

    def fail_next(self, reason: str) -> None:
        """Fail the next admitted prove job with ``execution{reason}`` after ``fail_after_s``."""
        with self._cond:
            self._failures.append(reason)

    def hang(self, on: bool = True) -> None:
        """While on, every call is accepted (and recorded) but never answered."""
        with self._cond:
            self._hang = on
            self._cond.notify_all()

    def calls(self, method: str) -> list[Any]:
        """The requests received for ``method`` (e.g. ``"JobRequest"``), in order."""
        with self._cond:
            return [req for name, req in self.requests if name == method]

    def prove_requests(self) -> list[pb.ProveRequest]:
        return [r.job_kind.prove for r in self.calls("JobRequest")
                if r.job_kind.WhichOneof("kind") == "prove"]

    def setup_requests(self) -> list[pb.SetupRequest]:
        return [r.job_kind.setup for r in self.calls("JobRequest")
                if r.job_kind.WhichOneof("kind") == "setup"]

    def proof_parts(self, job_id: str) -> ProofParts:
        with self._cond:
            parts = self.jobs[job_id].parts
        assert parts is not None, f"job {job_id} has no proof"
        return parts

    def running_jobs(self) -> list[str]:
        with self._cond:
            self._tick(time.monotonic())
            return [j.id for j in self.jobs.values() if j.state == "running"]

    # ------------------------------------------------------------ state machine (under _cond)

    def _part_status(self, p: _Partition, now: float) -> str:
        if now < self._connected_at:
            return "disconnected"
        if p.job is not None:
            return "setting_up" if self.jobs[p.job].kind == "setup" else "computing"
        if now < p.recover_until:
            return "recovering"
        return "ready" if self.setups else "idle"

    def _end(self, job: _Job, state: str, at: float) -> None:
        job.state = state
        job.ended_at = at
        for i in job.partitions:
            part = self._parts[i]
            part.job = None
            if state in ("failed", "cancelled"):
                part.recover_until = at + self.settings.recovery_s
        self._cond.notify_all()

    def _tick(self, now: float) -> None:
        for job in list(self.jobs.values()):
            if job.state != "running":
                if job.ended_at is not None and now > job.ended_at + self.settings.job_ttl_s:
                    del self.jobs[job.id]
                continue
            if now < job.finish_at:
                continue
            if job.kind == "setup":
                self.setups[job.hash_id] = _vk_words(job.hash_id)
                self._end(job, "completed", job.finish_at)
            elif job.failure is not None:
                self._end(job, "failed", job.finish_at)
            else:
                job.parts = self._make_parts(job)
                self._end(job, "completed", job.finish_at)

    def _make_parts(self, job: _Job) -> ProofParts:
        vk = self.setups.get(job.hash_id, _vk_words(job.hash_id))
        digest = blake3.blake3(job.input).digest(length=8 * self.settings.proof_words)
        words = struct.unpack(f"<{self.settings.proof_words}Q", digest)
        outputs = tuple(struct.unpack("<8I", blake3.blake3(job.input).digest())) + (0,) * 56
        kind = KIND_MINIMAL if job.proof_kind == pb.PROOF_KIND_STARK_MINIMAL else KIND_FINAL
        return ProofParts(words, tuple(FIXTURE_ZISK_VK), kind, (*vk, *outputs), vk)

    def _admission_error(self, now: float) -> str:
        states = {self._part_status(p, now) for p in self._parts}
        if states & {"setting_up", "recovering"}:
            return SETTING_UP
        if "idle" in states:
            return SETUP_NOT_DONE
        return NO_WORKERS

    # ------------------------------------------------------------ plumbing

    def _enter(self, name: str, request: message.Message, context: grpc.ServicerContext) -> int:
        """Record, check the size, and block while hung. Returns the server generation."""
        with self._cond:
            self.requests.append((name, request))
            gen = self._generation
            while self._hang and not self._stopping and context.is_active():
                self._cond.wait(_TICK_S)
            if not context.is_active():
                self.dropped_calls += 1  # the client cancelled the call or its deadline passed
            if self._stopping or not context.is_active():
                raise _Abort(grpc.StatusCode.UNAVAILABLE, "stand-in stopping")
        size = request.ByteSize()
        if size > self.settings.max_message_bytes:
            raise _Abort(
                grpc.StatusCode.OUT_OF_RANGE,
                f"Error, decoded message length too large: found {size} bytes, "
                f"the limit is: {self.settings.max_message_bytes} bytes",
            )
        return gen

    def _handle(self, name: str, request: message.Message, context: grpc.ServicerContext,
                body: Callable[[int], Any]) -> Any:
        try:
            gen = self._enter(name, request, context)
            return body(gen)
        except _Abort as exc:
            _abort(context, exc.code, exc.details)

    # ------------------------------------------------------------ RPCs

    def RegisterGuestProgram(
        self, request: pb.RegisterGuestProgramRequest, context: grpc.ServicerContext
    ) -> pb.RegisterGuestProgramResponse:
        def body(_gen: int) -> pb.RegisterGuestProgramResponse:
            if not request.zisk_elf:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "zisk_elf must not be empty")
            hash_id = blake3.blake3(request.zisk_elf).hexdigest()
            with self._cond:
                self.elfs.setdefault(hash_id, request.zisk_elf)
            return pb.RegisterGuestProgramResponse(hash_id=hash_id)

        return self._handle("RegisterGuestProgram", request, context, body)

    def JobRequest(
        self, request: pb.JobRequestMessage, context: grpc.ServicerContext
    ) -> pb.JobResponse:
        def body(_gen: int) -> pb.JobResponse:
            if not request.HasField("job_kind"):
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "job_kind must be set")
            which = request.job_kind.WhichOneof("kind")
            if which is None:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "job_kind.kind must be set")
            if which == "setup":
                return self._setup(request.job_kind.setup)
            if which == "prove":
                return self._prove(request.job_kind.prove)
            raise _Abort(grpc.StatusCode.UNIMPLEMENTED, f"stand-in: {which} jobs not modelled")

        return self._handle("JobRequest", request, context, body)

    def _setup(self, req: pb.SetupRequest) -> pb.JobResponse:
        now = time.monotonic()
        job_id = str(uuid.uuid4())
        with self._cond:
            self._tick(now)
            if req.hash_id not in self.elfs:
                raise _Abort(grpc.StatusCode.NOT_FOUND, f"Program not found: {req.hash_id}")
            if req.hash_id in self.setups:  # fast path: Started → Completed at once
                self.jobs[job_id] = _Job(job_id, "setup", req.hash_id, now, now, [])
                self._tick(now)
                return pb.JobResponse(job_id=job_id)
            states = [self._part_status(p, now) for p in self._parts]
            if "computing" in states or "setting_up" in states:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "Invalid job state: Cannot run "
                             "setup_program while workers are computing")
            if "recovering" in states:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "Invalid job state: Cannot run "
                             "setup_program while workers are recovering")
            connected = [i for i, s in enumerate(states) if s != "disconnected"]
            if not connected:
                raise _Abort(grpc.StatusCode.UNAVAILABLE, NO_WORKERS)
            job = _Job(job_id, "setup", req.hash_id, now, now + self.settings.setup_s, connected)
            self.jobs[job_id] = job
            for i in connected:
                self._parts[i].job = job_id
        return pb.JobResponse(job_id=job_id)

    def _prove(self, req: pb.ProveRequest) -> pb.JobResponse:
        if not req.HasField("input"):
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "input must be set")
        input_kind = req.input.WhichOneof("kind")
        if input_kind is None:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "input.kind must be set")
        now = time.monotonic()
        with self._cond:
            self._tick(now)
            ready = [i for i, p in enumerate(self._parts)
                     if self._part_status(p, now) == "ready"]
            if not ready:
                raise _Abort(grpc.StatusCode.UNAVAILABLE, self._admission_error(now))
            job_id = str(uuid.uuid4())
            kind = req.proof_dest if req.proof_dest in (
                pb.PROOF_KIND_STARK, pb.PROOF_KIND_STARK_MINIMAL, pb.PROOF_KIND_PLONK
            ) else pb.PROOF_KIND_STARK
            job = _Job(job_id, "prove", req.hash_id, now, now + self.settings.prove_s,
                       [ready[0]], proof_kind=kind)
            if input_kind == "inline":
                job.input = req.input.inline.data
                self._check_input(job, now)
            elif req.input.stream_uri.startswith("grpc://"):
                job.finish_at = math.inf  # until PushJobInput closes
            else:
                job.failure = f"Failed to dispatch Phase 1 to workers: stand-in cannot read " \
                              f"{req.input.stream_uri}"
                job.finish_at = now + self.settings.fail_after_s
            if job.failure is None and self._failures:
                job.failure = self._failures.popleft()
                job.finish_at = min(job.finish_at, now + self.settings.fail_after_s)
            self.jobs[job_id] = job
            self._parts[ready[0]].job = job_id
        return pb.JobResponse(job_id=job_id)

    def _check_input(self, job: _Job, now: float) -> None:
        """Worker-side failures of an admitted job (under ``_cond``)."""
        failure = None
        if job.hash_id not in self.setups:
            failure = f"Guest program not found for hash_id={job.hash_id}"
        elif len(job.input) % 8:
            failure = "input size must be a multiple of 8"
        elif job.proof_kind == pb.PROOF_KIND_PLONK:
            failure = "stand-in: PLONK proofs not modelled"
        if failure is not None:
            job.failure = failure
            job.finish_at = now + self.settings.fail_after_s

    def PushJobInput(
        self, request_iterator: Iterator[pb.PushJobInputRequest], context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        chunks: list[pb.PushJobInputRequest] = []
        try:
            for chunk in request_iterator:
                chunks.append(chunk)
        except grpc.RpcError:
            return empty_pb2.Empty()

        def body(_gen: int) -> empty_pb2.Empty:
            if not chunks:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                             "PushJobInput stream must not be empty")
            if any(not c.HasField("chunk") for c in chunks):
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "chunk must be set")
            job_id = chunks[0].job_id
            now = time.monotonic()
            with self._cond:
                self._tick(now)
                job = self.jobs.get(job_id)
                if job is None:
                    raise _Abort(grpc.StatusCode.NOT_FOUND, f"Job not found: {job_id}")
                if job.state != "running":
                    return empty_pb2.Empty()
                bad = [len(c.chunk.data) for c in chunks if len(c.chunk.data) % 8]
                job.input = b"".join(c.chunk.data for c in chunks)
                job.finish_at = now + self.settings.prove_s
                if bad:
                    job.failure = (f"InputStreamData payload length {bad[0]} is not a "
                                   "multiple of 8 bytes")
                    job.finish_at = now + self.settings.fail_after_s
                else:
                    self._check_input(job, now)
                self._cond.notify_all()
            return empty_pb2.Empty()

        record = pb.PushJobInputRequest(job_id=chunks[0].job_id if chunks else "")
        return self._handle("PushJobInput", record, context, body)

    def _wait_terminal(self, job_id: str, until: float, gen: int,
                       context: grpc.ServicerContext) -> _Job | None:
        """Hold until ``job_id`` is terminal or ``until`` (monotonic) passes (under ``_cond``).
        None: the job is unknown."""
        while True:
            now = time.monotonic()
            self._tick(now)
            job = self.jobs.get(job_id)
            if job is None or job.state != "running" or now >= until:
                return job
            if self._stopping or gen != self._generation or not context.is_active():
                raise _Abort(grpc.StatusCode.UNAVAILABLE, "stand-in stopping")
            self._cond.wait(min(until, job.finish_at, now + _TICK_S * 20) - now)

    def WaitJobResult(
        self, request: pb.WaitJobResultRequest, context: grpc.ServicerContext
    ) -> pb.WaitJobResultResponse:
        def body(gen: int) -> pb.WaitJobResultResponse:
            if not _valid_uuid(request.job_id):
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid UUID: {request.job_id}")
            hold = request.timeout_seconds if request.HasField("timeout_seconds") else 5
            hold = max(1, min(3600, hold))
            with self._cond:
                job = self._wait_terminal(request.job_id, time.monotonic() + hold, gen, context)
                if job is None:
                    raise _Abort(grpc.StatusCode.NOT_FOUND, f"Job not found: {request.job_id}")
                resp = pb.WaitJobResultResponse(job_id=job.id)
                if job.state == "running":
                    resp.job_status.running.SetInParent()
                elif job.state == "failed":
                    resp.job_status.failed.failure.execution.reason = job.failure or ""
                elif job.state == "cancelled":
                    resp.job_status.cancelled.SetInParent()
                else:
                    resp.job_status.completed.SetInParent()
                    resp.result.CopyFrom(self._result(job))
                if job.state != "running":
                    job.hash_read = True
                return resp

        return self._handle("WaitJobResult", request, context, body)

    def _result(self, job: _Job) -> pb.JobKindResponse:
        if job.kind == "setup":
            vk = self.setups[job.hash_id]
            return pb.JobKindResponse(setup=pb.SetupResponse(
                vk=struct.pack("<4Q", *vk), hash_mode=HASH_MODE))
        assert job.parts is not None and job.ended_at is not None
        p = job.parts
        data = encode_v1_d(p.proof_words, p.zisk_vk, p.kind, HASH_MODE, p.publics_full,
                           p.program_vk, 0)
        duration_ms = int((job.ended_at - job.started) * 1000)
        now = _now_ts()
        proof = pb.Proof(
            proof_id=str(uuid.uuid4()), hash_id="" if job.hash_read else job.hash_id,
            proof_kind=pb.PROOF_KIND_STARK, data=data, started_at=now, completed_at=now,
        )
        stats = pb.ExecutionStats(steps=self.settings.steps,
                                  duration_nanos=duration_ms * 1_000_000)
        return pb.JobKindResponse(prove=pb.ProveResponse(proof=proof, stats=stats))

    def CancelJob(
        self, request: pb.CancelJobRequest, context: grpc.ServicerContext
    ) -> pb.CancelJobResponse:
        def body(_gen: int) -> pb.CancelJobResponse:
            now = time.monotonic()
            with self._cond:
                self._tick(now)
                job = self.jobs.get(request.job_id)
                if job is None or job.kind == "setup":
                    raise _Abort(grpc.StatusCode.INTERNAL, INTERNAL)
                if job.state != "running":
                    return pb.CancelJobResponse(job_id=job.id, cancelled=False)
                self._end(job, "cancelled", now)
                return pb.CancelJobResponse(job_id=job.id, cancelled=True)

        return self._handle("CancelJob", request, context, body)

    def WatchJob(
        self, request: pb.WatchJobRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.JobEvent]:
        try:
            gen = self._enter("WatchJob", request, context)
            yield from self._watch(request.job_id, gen, context)
        except _Abort as exc:
            _abort(context, exc.code, exc.details)

    def _watch(self, job_id: str, gen: int,
               context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
        with self._cond:
            self._tick(time.monotonic())
            job = self.jobs.get(job_id)
            if job is None:
                raise _Abort(grpc.StatusCode.NOT_FOUND, f"Job not found: {job_id}")
        yield pb.JobEvent(queued=pb.JobEventQueued(job_id=job_id, timestamp=_now_ts()))
        if job.kind == "prove":
            yield pb.JobEvent(started=pb.JobEventStarted(job_id=job_id, timestamp=_now_ts()))
            third = self.settings.prove_s / 3
            for at, phase in ((job.started + third, pb.JOB_PHASE_PROVE),
                              (job.started + 2 * third, pb.JOB_PHASE_RECURSE)):
                with self._cond:
                    ended = self._wait_terminal(job_id, at, gen, context)
                if ended is None or ended.state != "running":
                    break
                yield pb.JobEvent(progress=pb.JobEventProgress(
                    job_id=job_id, phase=phase, timestamp=_now_ts()))
        with self._cond:
            ended = self._wait_terminal(job_id, math.inf, gen, context)
            if ended is None:
                return
            if ended.state == "completed":
                event = pb.JobEvent(completed=pb.JobEventCompleted(
                    job_id=job_id, result=self._result(ended), timestamp=_now_ts()))
            elif ended.state == "failed":
                event = pb.JobEvent(failed=pb.JobEventFailed(
                    job_id=job_id, failure=pb.JobFailure(
                        execution=pb.JobFailureExecution(reason=ended.failure or "")),
                    timestamp=_now_ts()))
            else:
                event = pb.JobEvent(cancelled=pb.JobEventCancelled(
                    job_id=job_id, timestamp=_now_ts()))
        yield event


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, details: str) -> NoReturn:
    context.abort(code, details)
    raise AssertionError("unreachable")  # context.abort raises


def _health_handler() -> grpc.GenericRpcHandler:
    """``grpc.health.v1.Health/Check``: ``HealthCheckResponse{status: SERVING}`` (field 1 = 1)
    for service ``""`` (an empty request), ``NOT_FOUND`` for any other service (grpcio-health's
    behaviour; the real server answers only ``""``)."""

    def check(request: bytes, context: grpc.ServicerContext) -> bytes:
        if request:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return b"\x08\x01"

    handler = grpc.unary_unary_rpc_method_handler(
        check, request_deserializer=lambda b: b, response_serializer=lambda b: b)
    return grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": handler})


@dataclass
class SilentListener:
    """Accepts TCP connections on 127.0.0.1 and never writes a byte (a hung process): gRPC calls
    to ``target`` end only at their deadline. ``stop()`` closes every socket and the thread."""

    port: int = 0
    _sock: socket.socket | None = None
    _conns: list[socket.socket] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(16)
        sock.settimeout(_TICK_S)
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._thread = threading.Thread(target=self._accept, name="silent-listener", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
        for conn in self._conns:
            conn.close()
        if self._sock is not None:
            self._sock.close()
