"""Every fuzz target (``fuzz/``) runs a few hundred cases without finding a bug.

The targets and what each asserts: ``fuzz/README.md``. A failure here prints hypothesis's
minimal failing example; reproduce it with ``python -m fuzz.<target> --seed 0 --cases N``.
In CI (``CI`` set) the run is seeded, so it is the same run every time.
"""

from __future__ import annotations

import importlib
import os
import traceback

import pytest

from fuzz import TARGETS
from fuzz.runner import Target, run_target

#: Cases per target: the whole module stays under about 30 s on a loaded 2-core machine.
SMOKE_CASES = 200


@pytest.mark.parametrize("name", TARGETS)
def test_fuzz_target_finds_no_bug_in_a_few_hundred_cases(name: str) -> None:
    target: Target = importlib.import_module(f"fuzz.{name}").TARGET
    result = run_target(target, SMOKE_CASES, rng_seed=0 if os.environ.get("CI") else None)
    if result.failure is not None:
        pytest.fail("".join(traceback.format_exception(result.failure))[-6000:])
    assert result.cases >= 1


def test_a_target_whose_check_raises_reports_the_failure() -> None:
    from hypothesis import strategies as st

    from fuzz.runner import stateless

    async def check(case: int) -> None:
        if case > 10:
            raise KeyError(case)

    result = run_target(Target("broken", st.integers(0, 100), stateless(check)), 200)
    assert isinstance(result.failure, KeyError) and result.failure.args == (11,)
