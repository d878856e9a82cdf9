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

#: The guest profile of the ZisK 0.14 stand-ins (the stand-in cargo-zisk's default version and
#: the ethrex golden vectors): tests of that path name it, as the default profile is zec-reth.
ETHREX_014_PROFILE = "ethrex-24d4b6404-zisk-0.14.0"
