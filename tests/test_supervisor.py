"""The supervisor's OTP semantics, with real trio tasks (no mocks of trio)."""

from __future__ import annotations

import random
from typing import Any

import pytest
import structlog
import structlog.testing
import trio
import trio.testing

from ethproofs_daemon.supervisor import (
    ChildSpec,
    Fatal,
    Intensity,
    IntensityWindow,
    Restart,
    RestartBackoff,
    Strategy,
    Supervisor,
    SupervisorFailed,
    children_to_restart,
    crash_context,
    crash_fields,
    is_resource_error,
    should_restart,
)

FAST = RestartBackoff(initial_s=0.001, factor=1.0, cap_s=0.001, jitter=0.0)


class Recorder:
    """Children that record start/stop order and fail on request."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.fail_events: dict[str, trio.Event] = {}

    def child(self, name: str, *, fail_on_start: bool = False, returns: bool = False) -> Any:
        async def start(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            self.events.append(f"start:{name}")
            if fail_on_start:
                raise RuntimeError(f"{name} cannot start")
            self.fail_events[name] = trio.Event()
            task_status.started()
            try:
                if returns:
                    return
                await self.fail_events[name].wait()
                raise RuntimeError(f"{name} crashed")
            finally:
                self.events.append(f"stop:{name}")

        return start

    def crash(self, name: str) -> None:
        self.fail_events[name].set()


def test_pure_decisions() -> None:
    assert should_restart(Restart.PERMANENT, None)
    assert should_restart(Restart.TRANSIENT, RuntimeError())
    assert not should_restart(Restart.TRANSIENT, None)
    assert not should_restart(Restart.TEMPORARY, RuntimeError())
    assert list(children_to_restart(Strategy.ONE_FOR_ONE, 1, 4)) == [1]
    assert list(children_to_restart(Strategy.REST_FOR_ONE, 1, 4)) == [1, 2, 3]
    assert list(children_to_restart(Strategy.ONE_FOR_ALL, 1, 4)) == [0, 1, 2, 3]


def test_intensity_window_counts_only_recent_restarts() -> None:
    window = IntensityWindow(Intensity(max_restarts=2, period_s=10))
    assert window.record(0.0) and window.record(1.0)
    assert not window.record(2.0)
    fresh = IntensityWindow(Intensity(max_restarts=2, period_s=10))
    assert fresh.record(0.0) and fresh.record(1.0) and fresh.record(20.0)


def test_backoff_grows_and_caps() -> None:
    b = RestartBackoff(initial_s=0.5, factor=1.5, cap_s=60.0, jitter=0.0)
    rng = random.Random(1)
    assert [b.delay_s(n, rng) for n in range(3)] == [0.5, 0.75, 1.125]
    assert b.delay_s(100, rng) == 60.0
    jittered = RestartBackoff(jitter=0.2)
    assert all(0.4 <= jittered.delay_s(0, rng) <= 0.6 for _ in range(50))


async def test_children_start_in_order_and_stop_in_reverse() -> None:
    rec = Recorder()
    sup = Supervisor("root", [ChildSpec(n, rec.child(n)) for n in "abc"], backoff=FAST)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        assert rec.events == ["start:a", "start:b", "start:c"]
        sup.stop()
    assert rec.events[3:] == ["stop:c", "stop:b", "stop:a"]


async def test_rest_for_one_restarts_failed_child_and_those_after_it() -> None:
    rec = Recorder()
    sup = Supervisor("root", [ChildSpec(n, rec.child(n)) for n in "abc"], backoff=FAST)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        rec.events.clear()
        rec.crash("b")
        with trio.fail_after(5):
            while rec.events.count("start:c") < 1:
                await trio.sleep(0.001)
        sup.stop()
    assert rec.events[:4] == ["stop:b", "stop:c", "start:b", "start:c"]
    assert "start:a" not in rec.events
    assert sup.restarts == 1


async def test_one_for_one_restarts_only_the_failed_child() -> None:
    rec = Recorder()
    sup = Supervisor(
        "root", [ChildSpec(n, rec.child(n)) for n in "abc"],
        strategy=Strategy.ONE_FOR_ONE, backoff=FAST,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        rec.events.clear()
        rec.crash("a")
        with trio.fail_after(5):
            while "start:a" not in rec.events:
                await trio.sleep(0.001)
        sup.stop()
    assert rec.events[:2] == ["stop:a", "start:a"]
    assert "start:b" not in rec.events and "start:c" not in rec.events


async def test_intensity_exceeded_fails_supervisor_and_stops_children() -> None:
    rec = Recorder()
    sup = Supervisor(
        "root", [ChildSpec("a", rec.child("a")), ChildSpec("b", rec.child("b"))],
        intensity=Intensity(max_restarts=2, period_s=60), backoff=FAST,
    )

    async def crash_b_three_times() -> None:
        for _ in range(3):
            with trio.fail_after(5):
                while "b" not in rec.fail_events or rec.fail_events["b"].is_set():
                    await trio.sleep(0.001)
            rec.crash("b")
            await trio.sleep(0.01)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(crash_b_three_times)
        with pytest.raises(SupervisorFailed) as info:
            await sup.run()
        nursery.cancel_scope.cancel()
    assert info.value.child_id == "b"
    assert rec.events[-1] == "stop:a"


async def test_fatal_error_stops_without_restart() -> None:
    async def fatal(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        raise Fatal("config is wrong")

    sup = Supervisor("root", [ChildSpec("f", fatal)], backoff=FAST)
    with pytest.raises(SupervisorFailed, match="fatal"):
        await sup.run()
    assert sup.restarts == 0


async def test_start_failure_at_boot_fails_the_supervisor() -> None:
    rec = Recorder()
    sup = Supervisor("root", [ChildSpec("a", rec.child("a")),
                              ChildSpec("b", rec.child("b", fail_on_start=True))])
    with pytest.raises(SupervisorFailed, match="failed to start"):
        await sup.run()
    assert rec.events == ["start:a", "start:b", "stop:a"]


async def test_transient_child_that_returns_is_not_restarted() -> None:
    rec = Recorder()
    sup = Supervisor(
        "root", [ChildSpec("t", rec.child("t", returns=True), restart=Restart.TRANSIENT)],
        backoff=FAST,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await trio.testing.wait_all_tasks_blocked()
        sup.stop()
    assert rec.events == ["start:t", "stop:t"]


async def test_backoff_delays_restart(autojump_clock: trio.abc.Clock) -> None:
    rec = Recorder()
    backoff = RestartBackoff(initial_s=10.0, factor=2.0, cap_s=100.0, jitter=0.0)
    sup = Supervisor("root", [ChildSpec("a", rec.child("a"))], backoff=backoff)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        t0 = trio.current_time()
        rec.crash("a")
        while rec.events.count("start:a") < 2:
            await trio.sleep(0.5)
        assert trio.current_time() - t0 == pytest.approx(10.0, abs=0.6)
        sup.stop()


async def test_nested_supervisor_failure_escalates_as_a_child_failure() -> None:
    rec = Recorder()
    inner = Supervisor("inner", [ChildSpec("x", rec.child("x"))],
                       intensity=Intensity(max_restarts=0, period_s=60), backoff=FAST)
    restarts: list[str] = []
    outer = Supervisor("outer", [ChildSpec("inner", inner.run)], backoff=FAST,
                       on_restart=lambda sup, child, err: restarts.append(child))
    async with trio.open_nursery() as nursery:
        await nursery.start(outer.run)
        rec.crash("x")
        with trio.fail_after(5):
            while not restarts:
                await trio.sleep(0.001)
        outer.stop()
    assert restarts == ["inner"]


async def test_child_up_hook_follows_start_and_end() -> None:
    rec = Recorder()
    seen: list[tuple[str, bool]] = []
    sup = Supervisor("root", [ChildSpec(n, rec.child(n)) for n in "ab"], backoff=FAST,
                     on_child_up=lambda child, up: seen.append((child, up)))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        assert seen == [("a", True), ("b", True)]
        sup.stop()
    assert seen[2:] == [("b", False), ("a", False)]


async def test_resource_faults_are_restarted_without_counting_towards_intensity() -> None:
    """A child failing with one of its ``resource_errors`` (here a full disk) is restarted for as
    long as the fault lasts; the same number of other crashes fails the supervisor."""
    crashes = 0

    async def disk_full(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                        ) -> None:
        nonlocal crashes
        task_status.started()
        crashes += 1
        if crashes <= 6:
            raise OSError(28, "No space left on device")
        await trio.sleep_forever()

    sup = Supervisor("root", [ChildSpec("w", disk_full, resource_errors=(OSError,))],
                     intensity=Intensity(max_restarts=2, period_s=60), backoff=FAST)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        with trio.fail_after(5):
            while crashes < 7:
                await trio.sleep(0.001)
        sup.stop()
    assert sup.restarts == 6


def test_resource_error_decision_looks_inside_exception_groups() -> None:
    kinds = (OSError,)
    assert is_resource_error(OSError("disk"), kinds)
    assert is_resource_error(ExceptionGroup("g", [OSError("a"), OSError("b")]), kinds)
    assert not is_resource_error(ExceptionGroup("g", [OSError("a"), ValueError()]), kinds)
    assert not is_resource_error(ValueError(), kinds)
    assert not is_resource_error(OSError("disk"), ())
    assert not is_resource_error(None, kinds)


async def test_a_crash_is_logged_once_with_its_traceback_and_context() -> None:
    async def crashes_on_a_block(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                                 ) -> None:
        task_status.started()
        with crash_context(block_number=45, job_id=3):
            raise RuntimeError("unexpected")

    sup = Supervisor("root", [ChildSpec("c", crashes_on_a_block)],
                     intensity=Intensity(max_restarts=0, period_s=60), backoff=FAST)
    with structlog.testing.capture_logs() as logs, pytest.raises(SupervisorFailed):
        await sup.run()
    crash_lines = [e for e in logs if "exc_info" in e]
    assert [e["event"] for e in crash_lines] == ["supervisor_intensity_exceeded"]
    line = crash_lines[0]
    assert isinstance(line["exc_info"], RuntimeError)
    assert (line["block_number"], line["job_id"]) == (45, 3)


def test_crash_fields_come_from_inside_an_exception_group() -> None:
    try:
        with crash_context(block_number=7, job_id=1), crash_context(job_id=2):
            raise ValueError("inner")
    except ValueError as exc:
        group = ExceptionGroup("nursery", [exc])
    assert crash_fields(group) == {"block_number": 7, "job_id": 2}
    assert crash_fields(None) == {}


async def test_nested_supervisor_failure_is_not_logged_twice_with_a_traceback() -> None:
    rec = Recorder()
    inner = Supervisor("inner", [ChildSpec("x", rec.child("x"))],
                       intensity=Intensity(max_restarts=0, period_s=60), backoff=FAST)
    outer = Supervisor("outer", [ChildSpec("inner", inner.run)], backoff=FAST)
    with structlog.testing.capture_logs() as logs:
        async with trio.open_nursery() as nursery:
            await nursery.start(outer.run)
            rec.crash("x")
            with trio.fail_after(5):
                while outer.restarts == 0:
                    await trio.sleep(0.001)
            outer.stop()
    with_traceback = [(e["event"], e["supervisor"]) for e in logs if "exc_info" in e]
    assert with_traceback == [("supervisor_intensity_exceeded", "inner")]
    restarts = [e for e in logs if e["event"] == "child_restarting"]
    assert [e["supervisor"] for e in restarts] == ["outer"]
