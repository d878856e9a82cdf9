"""Shared test fixtures: the location of ``../shared/fixtures`` and helpers to skip without it.

Outside CI, tests that need the fixtures skip (saying why) when the folder is absent. In CI
(``CI`` set) its absence fails the whole run before any test: a skipped golden vector would
otherwise pass unnoticed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

#: CI runs property tests with a fixed seed (reproducible runs, no example database); a developer's
#: run explores new examples each time.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

#: Real chain data and golden vectors, read in place (never copied into the project).
SHARED_FIXTURES = Path(
    os.environ.get("SHARED_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures")
)


def pytest_configure(config: pytest.Config) -> None:
    """In CI, refuse to run without ``../shared/fixtures`` (exit status 4, saying where)."""
    if os.environ.get("CI") and not SHARED_FIXTURES.is_dir():
        raise pytest.UsageError(
            f"CI is set but the shared fixtures are not at {SHARED_FIXTURES}: the golden-vector "
            "and real-chain tests would all skip (set SHARED_FIXTURES or provide ../shared)"
        )


@pytest.fixture
def shared_fixtures() -> Path:
    """The ``../shared/fixtures`` folder; skips the test (saying why) when it is absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {SHARED_FIXTURES} (set SHARED_FIXTURES)")
    return SHARED_FIXTURES


from tests.anvil_node import anvil_node_fixture  # noqa: E402
from tests.standins.replay_node import ReplayState, load_hive_chain  # noqa: E402

#: A running, automining anvil on 127.0.0.1 (skips, saying how to install it, when absent).
anvil = pytest.fixture(anvil_node_fixture)


@pytest.fixture
def hive(shared_fixtures: Path) -> ReplayState:
    """The hive chain of ``../shared/fixtures`` for the replay node (skips without the folder)."""
    return load_hive_chain(shared_fixtures)
