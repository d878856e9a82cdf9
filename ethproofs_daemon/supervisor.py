"""An OTP-style supervisor on trio: child specs, restart strategies, intensity and backoff.

Semantics follow Erlang/OTP's supervisor principles (erlang.org/doc/system/sup_princ), with the
restart backoff of Boundless's broker (boundless-xyz/boundless ``crates/broker/src/task.rs``: 500 ms
× 1.5, cap 60 s, reset after 5 minutes of healthy running; recoverable vs fatal task errors):

- Children start in list order; each must call ``task_status.started()`` before the next starts
  (``await nursery.start(...)``). They stop in reverse order, each within its ``shutdown_s``.
- Strategies: ``one_for_one`` restarts the failed child; ``rest_for_one`` restarts it and every
  child after it; ``one_for_all`` restarts them all.
- Restart types: ``permanent`` (always restarted), ``transient`` (restarted only after an
  exception), ``temporary`` (never restarted).
- Intensity is counted per supervisor: more than ``max_restarts`` restarts within ``period_s``
  seconds stops every child and raises ``SupervisorFailed``, which escalates to the parent (or
  ends the process with a non-zero status at the root).
- Restarts wait an exponential backoff with jitter (0.5 s × 1.5, cap 60 s by default), reset once
  a child has run for ``reset_after_s`` seconds.
- A child that raises ``Fatal`` is not restarted: the supervisor stops at once.
- A child may name ``resource_errors``: faults of its surroundings (a full disk, a locked
  database) that restarting the process cannot cure. A child ending with one (or an exception
  group of only such) is restarted after the backoff like any other, but the restart is not
  counted against the intensity: the supervisor waits the fault out instead of escalating it.
- Cancellation of the supervisor (shutdown) is a clean exit, not a failure.

Every crash is logged once, with its traceback (``exc_info``) and the fields a child attached
with ``crash_context`` (e.g. the block it was working on): ``child_restarting``,
``child_start_failed``, ``child_fatal`` or ``supervisor_intensity_exceeded``. A nested
supervisor's failure is logged by that supervisor; its parent logs the restart without repeating
the traceback.

The module knows nothing of blocks or proofs.
"""

from __future__ import annotations

import enum
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import structlog
import trio

from ethproofs_daemon.backoff import Backoff, Spread

log = structlog.get_logger(__name__)


class Restart(enum.StrEnum):
    """When a child that ended is started again."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


class Strategy(enum.StrEnum):
    """Which children are restarted when one fails."""

    ONE_FOR_ONE = "one_for_one"
    REST_FOR_ONE = "rest_for_one"
    ONE_FOR_ALL = "one_for_all"


#: Exit status of a process whose tree failed (restart intensity, a plain ``Fatal``).
EXIT_FAILURE: Final = 1


class Fatal(Exception):
    """Raised by a child to stop its supervisor without a restart (a fault no restart can fix).

    ``exit_status`` is the process exit status the root maps it to (``fatal_exit_status``):
    ``EXIT_FAILURE`` (1) unless a subclass or the raiser says otherwise (e.g. 2 for a
    configuration error, which service managers are told not to restart).
    """

    exit_status: int = EXIT_FAILURE

    def __init__(self, message: str, *, exit_status: int | None = None) -> None:
        super().__init__(message)
        if exit_status is not None:
            self.exit_status = exit_status


def fatal_exit_status(error: BaseException | None) -> int:
    """The exit status for a failed tree: the ``exit_status`` of the first ``Fatal`` found along
    ``error``'s ``__cause__`` chain (through nested ``SupervisorFailed`` and exception groups),
    else ``EXIT_FAILURE``. Pure."""
    seen: set[int] = set()
    pending: list[BaseException] = [] if error is None else [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, Fatal):
            return current.exit_status
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        if current.__cause__ is not None:
            pending.append(current.__cause__)
    return EXIT_FAILURE


class SupervisorFailed(Exception):
    """The supervisor stopped: restart intensity exceeded, or a child raised ``Fatal``.

    ``child_id`` names the child whose failure tripped it; ``__cause__`` is that child's error.
    """

    def __init__(self, supervisor: str, child_id: str, message: str) -> None:
        super().__init__(f"supervisor {supervisor!r}: child {child_id!r}: {message}")
        self.supervisor = supervisor
        self.child_id = child_id


#: The attribute ``crash_context`` sets on an exception that leaves it: a ``dict`` of log fields.
_CRASH_FIELDS: Final = "_supervisor_crash_fields"


@contextmanager
def crash_context(**fields: object) -> Iterator[None]:
    """Bind ``fields`` to every log line of the block (structlog contextvars) and, when an
    exception escapes it, attach them to the exception so that the supervisor's crash line
    carries them too (the contextvars are gone by the time the supervisor logs). Inner contexts
    win over outer ones for the same field.

    Example: ``with crash_context(block_number=n, job_id=job.id): await prove(job)``.
    """
    with structlog.contextvars.bound_contextvars(**fields):
        try:
            yield
        except Exception as exc:
            attached = exc.__dict__.setdefault(_CRASH_FIELDS, {})
            for key, value in fields.items():
                attached.setdefault(key, value)
            raise


def crash_fields(error: BaseException | None) -> dict[str, object]:
    """The fields ``crash_context`` attached to ``error`` or, for an exception group, to any of
    its exceptions (first one wins per field); ``{}`` when none."""
    if error is None:
        return {}
    found: dict[str, object] = dict(error.__dict__.get(_CRASH_FIELDS, {}))
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            for key, value in crash_fields(inner).items():
                found.setdefault(key, value)
    return found


def is_resource_error(error: BaseException | None,
                      kinds: tuple[type[Exception], ...]) -> bool:
    """Pure: is ``error`` one of ``kinds``, or an exception group made only of them?"""
    if error is None or not kinds:
        return False
    if isinstance(error, BaseExceptionGroup):
        _, rest = error.split(kinds)
        return rest is None
    return isinstance(error, kinds)


class ChildStart(Protocol):
    """A child's entry point: runs until done, calls ``task_status.started()`` once it is up."""

    def __call__(self, *, task_status: trio.TaskStatus[Any] = ...) -> Awaitable[None]: ...


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """One child: ``id`` (unique in its supervisor), its ``start`` function, restart type,
    ``shutdown_s``: seconds it gets to finish after being cancelled before the supervisor moves
    on to the next child, and ``resource_errors``: exception classes whose restarts are not
    counted against the intensity (see the module docstring)."""

    id: str
    start: ChildStart
    restart: Restart = Restart.PERMANENT
    shutdown_s: float = 5.0
    resource_errors: tuple[type[Exception], ...] = ()


@dataclass(frozen=True, slots=True)
class Intensity:
    """At most ``max_restarts`` restarts within ``period_s`` seconds."""

    max_restarts: int = 5
    period_s: float = 60.0


@dataclass(frozen=True, slots=True)
class RestartBackoff:
    """Delay before a restart, in seconds: ``initial_s * factor ** n`` capped at ``cap_s``, times a
    random factor in ``[1 - jitter, 1 + jitter]`` (``backoff.Backoff`` with ``Spread.BOTH``);
    ``n`` counts consecutive quick failures and resets when a child ran ``reset_after_s`` seconds
    or more."""

    initial_s: float = 0.5
    factor: float = 1.5
    cap_s: float = 60.0
    reset_after_s: float = 300.0
    jitter: float = 0.2

    def delay_s(self, consecutive: int, rng: random.Random) -> float:
        """Seconds to wait before restart number ``consecutive`` (0-based) of a failure run."""
        backoff = Backoff(self.initial_s, self.factor, self.cap_s, self.jitter, Spread.BOTH)
        return backoff.delay_s(consecutive + 1, rng)


def should_restart(restart: Restart, error: BaseException | None) -> bool:
    """Pure restart decision: does a child with this restart type, that ended with ``error``
    (None: returned normally), get restarted?"""
    if restart is Restart.PERMANENT:
        return True
    if restart is Restart.TRANSIENT:
        return error is not None
    return False


def children_to_restart(strategy: Strategy, failed: int, count: int) -> range:
    """Pure: the indexes (in start order) restarted when child ``failed`` of ``count`` fails."""
    if strategy is Strategy.ONE_FOR_ONE:
        return range(failed, failed + 1)
    if strategy is Strategy.REST_FOR_ONE:
        return range(failed, count)
    return range(0, count)


class IntensityWindow:
    """Counts restarts in a sliding window (pure apart from the times it is given)."""

    def __init__(self, intensity: Intensity) -> None:
        self.intensity = intensity
        self._times: deque[float] = deque()

    def record(self, now: float) -> bool:
        """Record a restart at ``now`` (seconds); return False when it exceeds the intensity."""
        self._times.append(now)
        while self._times and now - self._times[0] > self.intensity.period_s:
            self._times.popleft()
        return len(self._times) <= self.intensity.max_restarts


@dataclass(eq=False)
class _Running:
    spec: ChildSpec
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    done: trio.Event = field(default_factory=trio.Event)
    started_at: float = 0.0
    stopping: bool = False


@dataclass(frozen=True, slots=True)
class _Exit:
    index: int
    running: _Running
    error: Exception | None


class _StartedFlag:
    """Wraps a ``task_status`` to know whether the child reported itself started."""

    def __init__(self, inner: trio.TaskStatus[Any], on_started: Callable[[], None]) -> None:
        self._inner = inner
        self._on_started = on_started
        self.started_flag = False

    def started(self, value: Any = None) -> None:
        self.started_flag = True
        self._on_started()
        self._inner.started(value)


RestartHook = Callable[[str, str, BaseException | None], None]
UpHook = Callable[[str, bool], None]


class Supervisor:
    """Runs ``children`` under ``strategy``; ``await nursery.start(sup.run)`` returns once every
    child has started. ``run`` returns after ``stop()`` or cancellation (children stopped in
    reverse order).

    Args:
        name: the supervisor's name, in logs and ``SupervisorFailed``.
        children: the child specs, in start order; ids must be unique.
        strategy: which children a failure restarts.
        intensity: how many restarts within how many seconds before the supervisor gives up.
        backoff: the delay before each restart.
        on_restart: called as ``on_restart(supervisor, child_id, error)`` for every restart
            (metrics hook).
        on_child_up: called as ``on_child_up(child_id, up)`` when a child reports started (True)
            and when it ends (False).
        rng: draws the backoff jitter.

    Raises:
        ValueError: two children have the same id.
    """

    def __init__(
        self,
        name: str,
        children: Sequence[ChildSpec],
        *,
        strategy: Strategy = Strategy.REST_FOR_ONE,
        intensity: Intensity = Intensity(),
        backoff: RestartBackoff = RestartBackoff(),
        on_restart: RestartHook | None = None,
        on_child_up: UpHook | None = None,
        rng: random.Random | None = None,
    ) -> None:
        ids = [c.id for c in children]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate child ids in supervisor {name!r}: {ids}")
        self.name = name
        self.children = list(children)
        self.strategy = strategy
        self.backoff = backoff
        self._window = IntensityWindow(intensity)
        self._on_restart = on_restart
        self._on_child_up: UpHook = on_child_up or (lambda child_id, up: None)
        self._rng = rng or random.Random()
        self._running: list[_Running | None] = [None] * len(self.children)
        self._consecutive = 0
        self._send, self._receive = trio.open_memory_channel[_Exit](math.inf)
        self._main_scope: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None
        self.restarts = 0

    def stop(self) -> None:
        """Ask the supervisor to stop its children (reverse order) and return from ``run``."""
        if self._main_scope is not None:
            self._main_scope.cancel()

    def is_running(self, child_id: str) -> bool:
        """True while the child with this id is started and not stopping."""
        for running in self._running:
            if running is not None and running.spec.id == child_id:
                return not running.done.is_set() and not running.stopping
        return False

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start every child in order, then supervise until stopped. See the class docstring.

        Raises:
            SupervisorFailed: a child failed to start, raised ``Fatal``, or the restart
                intensity was exceeded; every child has been stopped by then.
        """
        failure: SupervisorFailed | None = None
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._main_scope = trio.CancelScope()
            try:
                with self._main_scope:
                    for index in range(len(self.children)):
                        await self._start_initial(index)
                    task_status.started()
                    log.info("supervisor_started", supervisor=self.name,
                             children=[c.id for c in self.children])
                    await self._supervise()
            except SupervisorFailed as exc:
                failure = exc  # raised below, outside the nursery, so it is not grouped
            finally:
                with trio.CancelScope(shield=True):
                    await self._stop_range(range(len(self.children)))
                log.info("supervisor_stopped", supervisor=self.name)
        if failure is not None:
            raise failure

    async def _supervise(self) -> None:
        async for event in self._receive:
            if self._running[event.index] is not event.running:
                continue  # a late exit of a child we already stopped or replaced
            self._running[event.index] = None
            await self._handle_exit(event.index, event.running, event.error)

    async def _handle_exit(self, index: int, running: _Running, error: Exception | None) -> None:
        spec = running.spec
        crash = _crash_log_fields(error)
        if isinstance(error, Fatal):
            log.error("child_fatal", supervisor=self.name, child=spec.id, error=str(error),
                      **crash)
            raise SupervisorFailed(self.name, spec.id, f"fatal: {error}") from error
        if not should_restart(spec.restart, error):
            log.info("child_exited", supervisor=self.name, child=spec.id, restart=spec.restart)
            return
        now = trio.current_time()
        if now - running.started_at >= self.backoff.reset_after_s:
            self._consecutive = 0
        resource = is_resource_error(error, spec.resource_errors)
        if not resource and not self._window.record(now):
            log.error("supervisor_intensity_exceeded", supervisor=self.name, child=spec.id,
                      error=repr(error), **crash)
            raise SupervisorFailed(
                self.name, spec.id, f"restart intensity exceeded; last error: {error!r}"
            ) from error
        delay = self.backoff.delay_s(self._consecutive, self._rng)
        self._consecutive += 1
        self.restarts += 1
        affected = children_to_restart(self.strategy, index, len(self.children))
        log.warning("child_restarting", supervisor=self.name, child=spec.id, error=repr(error),
                    delay_s=round(delay, 3), restarting=[self.children[i].id for i in affected],
                    resource_fault=resource, **crash)
        if self._on_restart is not None:
            self._on_restart(self.name, spec.id, error)
        await self._stop_range(affected)
        await trio.sleep(delay)
        for i in affected:
            if self._running[i] is None and (
                i == index or self.children[i].restart is not Restart.TEMPORARY
            ):
                await self._start_or_recover(i)

    async def _start_initial(self, index: int) -> None:
        """Start child ``index`` at supervisor start; failing here fails the supervisor (OTP)."""
        assert self._nursery is not None
        spec = self.children[index]
        try:
            await self._nursery.start(self._child_task, index)
        except Exception as exc:
            log.error("child_start_failed", supervisor=self.name, child=spec.id, error=repr(exc),
                      **_crash_log_fields(exc))
            raise SupervisorFailed(self.name, spec.id, f"failed to start: {exc!r}") from exc

    async def _start_or_recover(self, index: int) -> None:
        """Start child ``index``; a failure before it reports started counts as an exit."""
        assert self._nursery is not None
        try:
            await self._nursery.start(self._child_task, index)
        except Exception as exc:
            running = _Running(self.children[index])
            running.started_at = trio.current_time()
            running.done.set()
            self._running[index] = running
            self._send.send_nowait(_Exit(index, running, exc))

    async def _child_task(self, index: int, *, task_status: trio.TaskStatus[None]) -> None:
        spec = self.children[index]
        running = _Running(spec, started_at=trio.current_time())
        self._running[index] = running
        flag = _StartedFlag(task_status, lambda: self._on_child_up(spec.id, True))
        error: Exception | None = None
        try:
            with running.scope:
                await spec.start(task_status=flag)
        except Exception as exc:
            if not flag.started_flag:
                self._running[index] = None
                raise
            error = exc
        finally:
            running.done.set()
            self._on_child_up(spec.id, False)
        if not flag.started_flag:
            if running.stopping:
                return
            error = RuntimeError(f"child {spec.id!r} returned before reporting started")
            task_status.started()
        if not running.stopping:
            self._send.send_nowait(_Exit(index, running, error))

    async def _stop_range(self, indexes: range) -> None:
        """Stop the running children at ``indexes`` in reverse order, each within its deadline."""
        for i in reversed(indexes):
            running = self._running[i]
            if running is None:
                continue
            running.stopping = True
            running.scope.cancel()
            with trio.move_on_after(running.spec.shutdown_s) as timeout:
                await running.done.wait()
            if timeout.cancelled_caught:
                log.error("child_shutdown_timeout", supervisor=self.name, child=running.spec.id,
                          shutdown_s=running.spec.shutdown_s)
            self._running[i] = None


def _crash_log_fields(error: BaseException | None) -> dict[str, Any]:
    """The fields of a crash line: ``exc_info`` (the traceback) and ``crash_context``'s fields.
    A nested supervisor's failure carries no traceback: that supervisor logged it already."""
    if error is None:
        return {}
    fields: dict[str, Any] = dict(crash_fields(error))
    if not isinstance(error, SupervisorFailed):
        fields["exc_info"] = error
    return fields
