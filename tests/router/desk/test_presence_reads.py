"""What occupancy costs to read: the same store reads of the same size after a small and a
big day, on every backend; the records it reads stay bounded; records of before read the same.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st

from bench.stats import AGENTS, TEAMS, WINDOW_S, DayClock, fill_day
from queues import Store, open_store
from router.desk import AgentStatus, Presence
from router.desk.ledger import MAX_MINUTES, Minutes
from router.stats import AgentTime, accrue, window_time
from router.stats.occupancy import KEEP_MINUTES
from tests.conftest import BACKENDS, FakeClock, flush_redis

END = 1_795_000_000.0
SMALL_DAY, BIG_DAY = 600, 3_000  # events: the busy hour alone, and 240 contacts before it
#: A connection's own commands (a new pooled connection says hello), not reads.
HANDSHAKE = {"cmdstat_info", "cmdstat_hello", "cmdstat_select", "cmdstat_ping"}


class CountedStore:
    """A real store whose calls are recorded: name, arguments, and the size of the answer."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls: list[tuple[str, tuple[Any, ...], int]] = []

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._store, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            answer = await method(*args, **kwargs)
            size = len(json.dumps(answer, sort_keys=True, default=repr))
            self.calls.append((name, (*args, *sorted(kwargs.items())), size))
            return answer

        return counted


async def _commands(client: aioredis.Redis | None) -> dict[str, int]:
    if client is None:
        return {}
    stats = await client.info("commandstats")
    return {name: int(s["calls"]) for name, s in stats.items() if name not in HANDSHAKE}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _occupancy_after(
    backend: str, request: pytest.FixtureRequest, path: Path, events: int
) -> tuple[list[tuple[str, tuple[Any, ...], int]], dict[str, int], AgentTime]:
    """Fill a day of ``events`` (the same 30 agents through its last hour), then read
    occupancy once: the store calls, the Redis commands, and the overall time read."""
    client = None
    if backend == "memory":
        url = "memory://"
    elif backend == "sqlite":
        url = f"sqlite:///{path}"
    else:
        url = str(request.getfixturevalue("redis_url"))
        await flush_redis(url)
        client = aioredis.Redis.from_url(url)
    clock = DayClock(END)
    store = await open_store(url, clock=clock)
    try:
        await fill_day(store, clock, events, per_minute=1)
        counted = CountedStore(store)
        presence = Presence(cast(Store, counted), clock, snapshot_s=0.0)
        before = await _commands(client)
        _, overall = await presence.agent_time(TEAMS, start=END - WINDOW_S, now=END)
        after = await _commands(client)
        commands = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
        return counted.calls, commands, overall
    finally:
        await store.aclose()
        if client is not None:
            await client.aclose()


@pytest.mark.timeout(120)
async def test_occupancy_reads_the_same_after_a_small_and_a_big_day(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    small = await _occupancy_after(backend, request, tmp_path / "small.db", SMALL_DAY)
    big = await _occupancy_after(backend, request, tmp_path / "big.db", BIG_DAY)
    calls, commands, overall = small
    assert [(name, args) for name, args, _ in calls] == [("all_docs", ("presence",))]
    assert big == small  # the same calls, answers of the same size, the same Redis commands
    if backend == "redis":
        assert commands == {"cmdstat_hgetall": 1}  # one round trip, the presence hash only
    assert overall.logged_in_s == AGENTS * WINDOW_S  # seen every minute of the hour
    assert 0 < overall.busy_s < overall.logged_in_s


async def test_a_record_keeps_two_hours_however_long_the_agent_works() -> None:
    clock = FakeClock(END)
    store = await open_store("memory://", clock=clock)
    presence = Presence(store, clock)
    kept = []
    for minute in range(5 * 60):
        clock.advance(60)
        await presence.seen("ania", ["billing"])
        await presence.holding("ania", +1 if minute % 2 else -1)
        if minute in (3 * 60, 5 * 60 - 1):
            record, _ = await store.get_doc("presence", "ania")
            assert record is not None and len(json.dumps(record)) < 2_000
            kept.append(len(record["minutes"]["busy_s"]))
    assert kept == [KEEP_MINUTES + 1] * 2 and MAX_MINUTES > KEEP_MINUTES + 1
    # A minute far ahead (written by a host whose clock is) cannot stretch the arrays.
    far = Minutes.of({0: (1.0, 1.0), 525_600: (1.0, 1.0)})
    assert len(far.busy_s) == MAX_MINUTES and far.ledger == {0: (1.0, 1.0)}


async def test_a_record_written_before_the_minutes_reads_the_same() -> None:
    clock = FakeClock(END)
    store = await open_store("memory://", clock=clock)
    ledger = accrue({}, END - 1_800, END - 600, busy=True)  # busy 20 minutes
    ledger = accrue(ledger, END - 600, END, busy=False)
    old = {
        "teams": ["billing"],
        "status": "available",
        "at": END,
        "holding": 0,
        "since": END,
        "ledger": {str(m): list(t) for m, t in ledger.items()},
        "wrap_until": None,
    }
    await store.put_doc("presence", "ania", old)
    presence = Presence(store, clock, snapshot_s=0.0)
    per_team, overall = await presence.agent_time(["billing"], start=END - 3_600, now=END)
    assert per_team["billing"] == overall == AgentTime(busy_s=1_200.0, logged_in_s=1_800.0)
    await presence.seen("ania", ["billing"], status=AgentStatus.BREAK)  # rewritten: minutes
    record, _ = await store.get_doc("presence", "ania")
    assert record is not None and "ledger" not in record
    assert Minutes.from_record(record).ledger == ledger


@given(
    st.dictionaries(
        st.integers(0, 130),
        st.tuples(st.integers(0, 60_000_000), st.integers(0, 60_000_000)),
        max_size=40,
    ),
    st.integers(0, 200),
    st.integers(0, 200),
)
def test_minutes_sum_a_window_as_the_ledger_does(
    micros: dict[int, tuple[int, int]], start_minute: int, minutes: int
) -> None:
    base = int(END // 60)
    ledger = {base + m: (min(b, lg) / 1e6, lg / 1e6) for m, (b, lg) in micros.items()}
    start, now = (base + start_minute) * 60.0 + 7, (base + start_minute + minutes) * 60.0 + 30
    dense = Minutes.of(ledger)
    assert Minutes.from_record({"minutes": dense.to_json()}) == dense
    got = dense.window(start, now)
    want = window_time(ledger, start=start, now=now, open_since=now, busy=False, logged_until=0)
    assert math.isclose(got.busy_s, want.busy_s, abs_tol=1e-6)
    assert math.isclose(got.logged_in_s, want.logged_in_s, abs_tol=1e-6)
