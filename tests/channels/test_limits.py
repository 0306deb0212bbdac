"""Limits counted in the store hold across router processes together."""

from __future__ import annotations

from channels.limits import WindowLimit
from tests.conftest import FakeClock, StoreMaker

STORE_BACKENDS = ["sqlite", "redis"]  # two stores on one backing store: two processes


async def test_two_processes_share_one_budget(make_store: StoreMaker, clock: FakeClock) -> None:
    a = WindowLimit(await make_store(clock), 3, window_s=60, prefix="chat:messages:")
    b = WindowLimit(await make_store(clock, fresh=False), 3, window_s=60, prefix="chat:messages:")
    assert await a.allow("s1") is None
    clock.advance(10)
    assert await b.allow("s1") is None
    assert await a.allow("s1") is None
    refused = await b.allow("s1")  # the 4th in a minute, whichever process takes it
    # Refused attempts count too: the three latest (at +10 s) must leave the window first.
    assert refused == 60
    assert await a.allow("s2") is None  # another session has its own budget
    clock.advance(59)
    assert await b.allow("s1") is not None
    clock.advance(61)
    assert await b.allow("s1") is None
