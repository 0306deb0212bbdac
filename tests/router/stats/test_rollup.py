"""KPIs, charts and the wait estimate from the store's buckets: the numbers the events give,
read at a cost that does not grow with the day."""

from __future__ import annotations

import dataclasses
import inspect
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

import pytest

from queues import NO_TEAM, Channel, Contact, Direction, Message, Store, minute_of
from queues.memory import MemoryStore
from router.desk import HandleTimes
from router.stats import (
    AgentLoad,
    AgentTime,
    Buckets,
    KpiBoard,
    arrivals_by_channel,
    arrivals_from_buckets,
    compute_kpis,
    service_level,
    service_level_from_buckets,
    team_kpis,
    waiting_from_buckets,
    waiting_over_time,
)
from tests.conftest import FakeClock, StoreMaker
from tests.queues.test_buckets import TEAMS, random_day

THRESHOLDS_S = {"voice": 20.0, "chat": 30.0, "sms": 3600.0, "billing": 60.0, "sales": 45.0}


class Nobody:
    """No agents: the board's occupancy has nothing to count."""

    async def load(self, teams: Sequence[str]) -> dict[str, AgentLoad]:
        return {team: AgentLoad(0, 0) for team in teams}

    async def total(self) -> AgentLoad:
        return AgentLoad(0, 0)

    async def agent_time(
        self, teams: Sequence[str], *, start: float, now: float
    ) -> tuple[dict[str, AgentTime], AgentTime]:
        return {team: AgentTime() for team in teams}, AgentTime()


class Counting:
    """Wraps a store: counts the calls of each method, and the records their answers held."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        self.kinds: list[frozenset[str] | None] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if name == "list_events":
                kinds = kwargs.get("kinds")
                self.kinds.append(None if kinds is None else frozenset(kinds))
            answer = await attr(*args, **kwargs)
            if isinstance(answer, list):
                self.records[name] += len(answer)
            return answer

        return call


async def answered_traffic(store: Store, clock: FakeClock, events: int) -> None:
    """Contacts over the last 90 minutes through the store's API, about ``events`` events:
    each is created, talked to, queued, answered, talked to and resolved: four events in
    the day's log (its messages are not logged)."""
    rng = random.Random(events)
    contacts = max(1, events // 4)
    step_s = 5400 / contacts
    for n in range(contacts):
        channel = rng.choice((Channel.VOICE, Channel.CHAT, Channel.SMS))
        contact = Contact(channel=channel, address=f"+48{n:09d}", created_at=clock())
        await store.intake(contact, Message(direction=Direction.IN, text="hi", at=clock()))
        await store.enqueue(contact.id, rng.choice(TEAMS))
        clock.advance(step_s / 2)
        claim = await store.claim(list(TEAMS), "ania", lease_s=600)
        assert claim is not None
        for _ in range(5):
            await store.append_message(claim.contact_id, Message(Direction.OUT, "ok", clock()))
        clock.advance(step_s / 2)
        await store.ack(claim.contact_id, "ania")


async def board_reads(store: Store, clock: FakeClock, events: int) -> Counting:
    counting = Counting(store)
    await answered_traffic(store, clock, events)
    assert len(await store.list_events()) >= events
    board = KpiBoard(
        cast(Store, counting),
        Nobody(),
        teams=TEAMS,
        thresholds_s=THRESHOLDS_S,
        clock=clock,
        window_s=3600.0,
    )
    kpis = await board.current()
    assert kpis["overall"]["answered"] > 0
    estimates = HandleTimes(cast(Store, counting), clock)
    for team in TEAMS:
        await estimates.estimate_s(team, 3, 1)
    return counting


async def test_the_board_reads_the_same_however_many_events_the_day_holds(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    few, many = (1_000, 100_000) if make_store.backend == "memory" else (300, 3_000)
    small = await board_reads(await make_store(clock), clock, few)
    large = await board_reads(await make_store(clock, fresh=False), clock, many)
    assert small.calls == large.calls
    assert small.calls["minute_buckets"] == 1 and small.calls["handle_times"] == len(TEAMS)
    # One bucket per team, minute and channel at most, however many contacts they count.
    bound = len(TEAMS) * 61 * 3
    assert small.records["minute_buckets"] <= bound and large.records["minute_buckets"] <= bound
    assert large.records["handle_times"] <= len(TEAMS) * 50
    # Events are read only for occupancy: never the contacts' own (messages, arrivals).
    assert all(kinds is not None and "message_sent" not in kinds for kinds in large.kinds)
    assert all(kinds is not None and "contact_enqueued" not in kinds for kinds in large.kinds)


async def test_kpis_from_buckets_equal_the_kpis_from_events(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    store = await make_store(clock)
    start = clock()
    await random_day(store, clock, random.Random(99), 500)
    now = clock()
    stats = await store.queue_stats(TEAMS)
    events = await store.list_events()
    buckets = await store.minute_buckets(TEAMS, since=start, until=now)
    from_events = compute_kpis(
        events, stats, now=now, window_s=now - start, thresholds_s=THRESHOLDS_S, agents={}
    )
    from_buckets = team_kpis(buckets, stats, thresholds_s=THRESHOLDS_S, agents={})
    assert [k.team for k in from_buckets] == [k.team for k in from_events] == list(TEAMS)
    for got, want in zip(from_buckets, from_events, strict=True):
        assert got.answered and got.abandoned and got.resolved and got.service_level_base
        for name, value in dataclasses.asdict(want).items():
            if isinstance(value, float):  # sums of seconds: to the last bits of a float
                assert getattr(got, name) == pytest.approx(value, rel=1e-12), name
            else:
                assert getattr(got, name) == value, name


async def test_charts_from_buckets_draw_what_the_events_give(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    store = await make_store(clock)
    await random_day(store, clock, random.Random(5), 400)
    now = clock()
    events = await store.list_events()
    buckets = await store.minute_buckets([*TEAMS, NO_TEAM], since=now - 3600, until=now)
    bars = Buckets.covering(now, window_s=3600, step_s=300)
    assert arrivals_from_buckets(buckets, bars) == arrivals_by_channel(events, bars)
    assert service_level_from_buckets(buckets, bars, thresholds_s=THRESHOLDS_S) == service_level(
        events, bars, now=now, thresholds_s=THRESHOLDS_S
    )
    # Waiting: at the start of each minute (the events of that very instant undone) and now.
    times = [now - 3600 + 60 * i for i in range(61)]
    depth = {s.team: s.waiting for s in await store.queue_stats(TEAMS)}
    starts = [minute_of(t) - 1e-6 for t in times[:-1]] + [now]
    assert waiting_from_buckets(buckets, depth, now=now, times=times) == waiting_over_time(
        events, depth, now=now, times=starts
    )
    assert any(
        any(series)
        for series in waiting_from_buckets(buckets, depth, now=now, times=times).values()
    )


def test_a_board_refuses_a_threshold_the_buckets_cannot_measure() -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match=r"'voice'.*25.0 s is not an edge.*5, 10, 15, 20"):
        KpiBoard(
            store,
            Nobody(),
            teams=TEAMS,
            thresholds_s={"voice": 25.0},
            clock=FakeClock(),
            window_s=60,
        )


async def test_the_wait_estimate_takes_the_last_hours_handle_times_from_the_store(
    store: Store, clock: FakeClock
) -> None:
    async def handled(handle_s: float) -> None:
        contact = Contact(channel=Channel.CHAT, address="+48600", created_at=clock())
        await store.intake(contact, Message(direction=Direction.IN, text="hi", at=clock()))
        await store.enqueue(contact.id, "billing")
        claim = await store.claim(["billing"], "ania", lease_s=3600)
        assert claim is not None
        clock.advance(handle_s)
        await store.ack(contact.id, "ania")

    for handle_s in (1000.0, 1000.0, 1000.0, 1000.0, 1000.0):  # more than an hour ago
        await handled(handle_s)
    clock.advance(3600)
    for handle_s in (100.0, 200.0, 300.0, 400.0, 500.0, 600.0):
        await handled(handle_s)
    times = HandleTimes(store, clock, ttl_s=30.0)
    assert await times.for_team("billing") == [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
    # Trimmed mean of the last hour's: 200..500 -> 350 s per contact, two ahead, one agent.
    assert await times.estimate_s("billing", 2, 1) == pytest.approx(3 * 350.0)
    await handled(10.0)
    assert len(await times.for_team("billing")) == 6  # read again only after ttl_s
    clock.advance(21)
    assert (await times.for_team("billing"))[-2:] == [600.0, 10.0]
    assert await times.for_team("technical") == []
