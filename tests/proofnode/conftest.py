"""Fixtures of the proof node tests (helpers in ``harness.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from .harness import Node, start_node, stop_node


@pytest.fixture
async def node(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Node]:
    """A proof node with default test settings; everything ends with the test's nursery."""
    started = await start_node(nursery, tmp_path)
    try:
        yield started
    finally:
        await stop_node(started)
