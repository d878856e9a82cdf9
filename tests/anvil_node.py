"""A real anvil node for tests: started on 127.0.0.1 (free port), ended by its pid in teardown.

Register it as a fixture (pytest-trio runs async-generator fixtures)::

    from tests.anvil_node import anvil_node_fixture
    anvil = pytest.fixture(anvil_node_fixture)          # automine: one block per transaction

or use ``running_anvil(block_time_s=0.5)`` directly in a test. Tests skip (saying how to install
it) when no anvil binary is found; see ``ethproofs_daemon.chain.anvil.find_anvil``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from ethproofs_daemon.chain.anvil import AnvilNode, AnvilNotFound, find_anvil, start_anvil


@asynccontextmanager
async def running_anvil(
    *, block_time_s: float | None = None, hardfork: str | None = None
) -> AsyncIterator[AnvilNode]:
    """A running anvil for the ``async with`` block; ``pytest.skip`` when anvil is not installed."""
    try:
        binary = find_anvil()
    except AnvilNotFound as exc:
        pytest.skip(str(exc))
    async with start_anvil(binary=binary, block_time_s=block_time_s, hardfork=hardfork) as node:
        yield node


async def anvil_node_fixture() -> AsyncIterator[AnvilNode]:
    """Fixture body: an automining anvil (one block per transaction), ended by pid afterwards."""
    async with running_anvil() as node:
        yield node
