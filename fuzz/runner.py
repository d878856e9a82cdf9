"""Run one fuzz target: hypothesis drives the inputs, trio runs the checks.

A ``Target`` is a strategy of inputs and a ``session``: an async context manager that sets up
what the check needs (an ASGI app with its store, a fake node) once and yields the async check.
``run_target`` runs hypothesis in a worker thread of one ``trio.run`` and hands each input to the
check on the trio thread (``trio.from_thread.run``), so every target, pure or not, runs the same
way and a check can use the real async code (httpx clients, starlette apps).

A check signals a bug by raising anything: ``AssertionError`` for a broken invariant, or the
unexpected exception itself (``KeyError``, ``TypeError``…). Documented errors are caught inside
the check.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
import trio
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

Check = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Target:
    """A fuzz target: ``name``, the ``strategy`` of inputs, and ``session()`` yielding the check
    (set-up and tear-down around a whole run)."""

    name: str
    strategy: st.SearchStrategy[Any]
    session: Callable[[], AbstractAsyncContextManager[Check]]


def stateless(check: Check) -> Callable[[], AbstractAsyncContextManager[Check]]:
    """A ``session`` for a check that needs no set-up."""

    @asynccontextmanager
    async def session() -> AsyncIterator[Check]:
        yield check

    return session


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one run did: examples executed (shrinking included), seconds, the failure if any."""

    cases: int
    elapsed_s: float
    failure: BaseException | None

    @property
    def cases_per_s(self) -> float:
        return self.cases / self.elapsed_s if self.elapsed_s > 0 else 0.0


def run_target(target: Target, cases: int, *, rng_seed: int | None = None) -> RunResult:
    """Run ``target`` for ``cases`` hypothesis examples (no example database, no deadline).

    Returns:
        The count, the wall time and the first failure (with hypothesis's "Falsifying example"
        note: the minimal input), or None.
    """
    executed = 0
    failure: list[BaseException] = []

    async def main() -> None:
        async with target.session() as check:

            def one(case: Any) -> None:
                nonlocal executed
                executed += 1
                trio.from_thread.run(check, case)

            test = settings(
                max_examples=cases,
                deadline=None,
                database=None,
                report_multiple_bugs=False,
                suppress_health_check=list(HealthCheck),
                print_blob=True,
            )(given(target.strategy)(one))
            if rng_seed is not None:
                test = seed(rng_seed)(test)

            def hypothesis_run() -> None:
                try:
                    test()
                except Exception as exc:  # the failure found, reported to the caller
                    failure.append(exc)

            await trio.to_thread.run_sync(hypothesis_run)

    # The daemon logs every refused input; thousands of lines would drown the report.
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    started = time.perf_counter()
    try:
        trio.run(main)
    finally:
        structlog.configure(**saved)
    return RunResult(executed, time.perf_counter() - started, failure[0] if failure else None)


def main(target: Target, argv: list[str] | None = None) -> int:
    """Command line of a target module: ``--cases N`` (default 1000), ``--seed S``.

    Prints the cases run, the failures, elapsed seconds and cases per second; on a failure also
    the minimal failing example and its traceback. Returns 1 on a failure, else 0.
    """
    parser = argparse.ArgumentParser(prog=f"python -m fuzz.{target.name}",
                                     description=f"Fuzz target {target.name}.")
    parser.add_argument("--cases", type=int, default=1000, help="hypothesis examples to run")
    parser.add_argument("--seed", type=int, default=None, help="random seed (reproducible run)")
    args = parser.parse_args(argv)
    result = run_target(target, args.cases, rng_seed=args.seed)
    if result.failure is not None:
        print("minimal failing example and traceback:", file=sys.stderr)
        traceback.print_exception(result.failure, file=sys.stderr)
    print(f"target={target.name} cases={result.cases} failures={int(result.failure is not None)} "
          f"elapsed_s={result.elapsed_s:.1f} cases_per_s={result.cases_per_s:.0f}")
    return 1 if result.failure is not None else 0
