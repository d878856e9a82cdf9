"""Small helpers shared by tests (fixtures live in ``conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable

import trio


async def wait_until(
    predicate: Callable[[], bool], timeout_s: float = 10.0, *, poll_s: float = 0.01
) -> None:
    """Poll ``predicate`` every ``poll_s`` seconds until it is true; ``trio.TooSlowError`` after
    ``timeout_s`` seconds."""
    with trio.fail_after(timeout_s):
        while not predicate():
            await trio.sleep(poll_s)
