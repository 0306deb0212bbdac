"""The running aggregates on every backend: after a random day of traffic the buckets equal
a recount from the events, and reading them does not depend on what the day held."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from queues import (
    NO_TEAM,
    WAIT_EDGES_S,
    Bucket,
    Channel,
    Contact,
    Direction,
    Event,
    Message,
    Store,
    edge_index,
)
from queues.buckets import RECENT_HANDLES
from queues.memory import MemoryStore
from queues.redis import RedisStore
from tests.conftest import FakeClock, StoreMaker, flush_redis

TEAMS = ("billing", "technical", "sales")
CHANNELS = (Channel.VOICE, Channel.CHAT, Channel.SMS, Channel.EMAIL)
AGENTS = ("ania", "tomek", "ola")
# Steps of the clock: waits from a second to hours, edges hit exactly, many minutes and hours.
ADVANCES_S: tuple[float, ...] = (0.01, 0.5, 1.5, 3, 4, 5, 7, 10, 12, 15, 19.999999, 20)
ADVANCES_S += (20.000001, 30, 45.25, 61, 89, 130, 240, 700, 1000, 3000)


# -- the recount: what the buckets must hold, from the events alone -----------------------
Key = tuple[str, int, str]  # team, minute start, channel


def recount(events: Sequence[Event]) -> dict[Key, Counter[str]]:
    """Each (team, minute, channel)'s counts, worked out from the events in order."""
    channels: dict[str, str] = {}
    claimed: set[str] = set()
    counts: dict[Key, Counter[str]] = {}

    def add(team: str, event: Event, **more: int) -> None:
        key = (team, int(math.floor(event.at / 60) * 60), channels[event.contact_id])
        counts.setdefault(key, Counter()).update(more)

    for e in events:
        if e.kind == "contact_created":
            channels[e.contact_id] = e.data["channel"]
            add(NO_TEAM, e, created=1)
        if e.team is None:
            continue
        if e.kind == "contact_enqueued":
            add(e.team, e, offered=1, waiting=1)
        elif e.kind in ("contact_released", "lease_expired"):
            add(e.team, e, waiting=1)
        elif e.kind == "contact_transferred":
            add(e.team, e, waiting=1)
            if e.agent is None:  # it was waiting in the team it left
                add(e.data["from"], e, waiting=-1)
        elif e.kind == "contact_claimed":
            add(e.team, e, waiting=-1)
            if e.contact_id not in claimed:
                wait_us = round(e.data["wait_s"] * 1e6)
                add(e.team, e, answered=1, answered_wait_us=wait_us, **{f"a{bin_of(wait_us)}": 1})
            claimed.add(e.contact_id)
        elif e.kind == "contact_abandoned" and "wait_s" in e.data:
            wait_us = round(e.data["wait_s"] * 1e6)
            add(e.team, e, abandoned=1, waiting=-1, **{f"x{bin_of(wait_us)}": 1})
        elif e.kind == "contact_resolved" and "handle_s" in e.data:
            add(e.team, e, resolved=1, handle_us=round(e.data["handle_s"] * 1e6))
    return counts


def bin_of(wait_us: int) -> int:
    """How many edges the wait is over."""
    return sum(1 for edge in WAIT_EDGES_S if wait_us > edge * 1_000_000)


def as_counts(bucket: Bucket) -> Counter[str]:
    got = Counter(
        created=bucket.created,
        offered=bucket.offered,
        waiting=bucket.waiting_delta,
        answered=bucket.answered,
        answered_wait_us=bucket.answered_wait_us,
        abandoned=bucket.abandoned,
        resolved=bucket.resolved,
        handle_us=bucket.handle_us,
    )
    got.update({f"a{i}": n for i, n in enumerate(bucket.answered_by_wait)})
    got.update({f"x{i}": n for i, n in enumerate(bucket.abandoned_by_wait)})
    return Counter({name: n for name, n in got.items() if n})


def without_zeros(counts: dict[Key, Counter[str]]) -> dict[Key, Counter[str]]:
    kept = {key: Counter({k: n for k, n in c.items() if n}) for key, c in counts.items()}
    return {key: c for key, c in kept.items() if c}


# -- a random day --------------------------------------------------------------------------
@dataclass
class Day:
    """The traffic the test made, as the test sees it."""

    in_flow: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # contact -> agent
    n: int = 0


async def random_day(
    store: Store, clock: FakeClock, rng: random.Random, steps: int, day: Day | None = None
) -> Day:
    """Arrivals, enqueues, claims, releases, transfers, heartbeats, expired leases, resolves
    and abandons across teams, channels and agents, with the clock moving on throughout
    (``day``: go on from an earlier one)."""
    day = day or Day()
    for _ in range(steps):
        clock.advance(rng.choice(ADVANCES_S))
        await step(store, clock, rng, day, rng.random())
        if rng.random() < 0.1:
            for cid in await store.requeue_expired():
                day.held.pop(cid, None)
                day.waiting.append(cid)
    return day


async def step(store: Store, clock: FakeClock, rng: random.Random, day: Day, roll: float) -> None:
    if roll < 0.2 or not (day.in_flow or day.waiting or day.held):
        day.n += 1
        contact = Contact(
            channel=rng.choice(CHANNELS), address=f"+48{day.n:09d}", created_at=clock()
        )
        await store.intake(contact, Message(direction=Direction.IN, text="hi", at=clock()))
        day.in_flow.append(contact.id)
    elif roll < 0.4 and day.in_flow:
        cid = day.in_flow.pop(rng.randrange(len(day.in_flow)))
        if rng.random() < 0.1:
            await store.remove(cid)  # left during the flow: no abandon in a queue
        else:
            await store.enqueue(cid, rng.choice(TEAMS), delay_s=rng.choice((0, 0, 60)))
            day.waiting.append(cid)
    elif roll < 0.7:
        teams = rng.sample(TEAMS, rng.randint(1, len(TEAMS)))
        agent = rng.choice(AGENTS)
        claim = await store.claim(teams, agent, lease_s=rng.choice((30.0, 600.0, 3600.0)))
        if claim is not None:
            day.waiting.remove(claim.contact_id)
            day.held[claim.contact_id] = agent
    elif roll < 0.75 and day.held:
        cid, agent = rng.choice(sorted(day.held.items()))
        await store.release(cid, agent)
        del day.held[cid]
        day.waiting.append(cid)
    elif roll < 0.8 and (day.held or day.waiting):
        await transfer(store, rng, day)
    elif roll < 0.83 and day.held:
        cid, agent = rng.choice(sorted(day.held.items()))
        await store.heartbeat(cid, agent, lease_s=600.0)
    elif roll < 0.95 and day.held:
        cid, agent = rng.choice(sorted(day.held.items()))
        await store.ack(cid, agent, disposition=rng.choice((None, "solved")))
        del day.held[cid]
    elif day.waiting:
        cid = day.waiting.pop(rng.randrange(len(day.waiting)))
        await store.remove(cid)


async def transfer(store: Store, rng: random.Random, day: Day) -> None:
    team = rng.choice(TEAMS)  # the same team now and then
    if day.held and (not day.waiting or rng.random() < 0.5):
        cid, agent = rng.choice(sorted(day.held.items()))
        await store.transfer(cid, team, agent=agent)
        del day.held[cid]
        day.waiting.append(cid)
    else:
        await store.transfer(rng.choice(day.waiting), team, delay_s=rng.choice((None, 30)))


async def check_against_events(store: Store, start: float, end: float) -> None:
    events = await store.list_events(since=start)
    expected = recount(events)
    buckets = await store.minute_buckets([*TEAMS, NO_TEAM], since=start, until=end)
    got = {(b.team, b.minute, b.channel): as_counts(b) for b in buckets}
    assert len(got) == len(buckets), "one bucket per team, minute and channel"
    assert got == without_zeros(expected)
    order = [(*TEAMS, NO_TEAM).index(b.team) for b in buckets]
    assert order == sorted(order)
    for team in TEAMS:
        handles = [
            e.data["handle_s"]
            for e in events
            if e.kind == "contact_resolved" and e.team == team and "handle_s" in e.data
        ]
        assert await store.handle_times(team, since=start) == handles[-RECENT_HANDLES:]


async def test_buckets_equal_a_recount_of_the_events_after_a_random_day(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    store = await make_store(clock)
    start = clock()
    steps = 2_000 if make_store.backend == "memory" else 600
    await random_day(store, clock, random.Random(20261118), steps)
    assert clock() - start > 12 * 3600  # many hours, so many bucket hashes
    await check_against_events(store, start, clock())
    # A window reads its own minutes only: here, the minute of a bucket mid-day.
    every = await store.minute_buckets(list(TEAMS), since=start, until=clock())
    middle = every[len(every) // 2]
    part = await store.minute_buckets(list(TEAMS), since=middle.minute + 59, until=middle.minute)
    assert middle in part and {b.minute for b in part} == {middle.minute}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_more_random_days_on_the_reference_store(clock: FakeClock, seed: int) -> None:
    store = MemoryStore(clock=clock)
    start = clock()
    await random_day(store, clock, random.Random(seed), 3_000)
    await check_against_events(store, start, clock())


async def test_buckets_equal_the_recount_under_the_cluster_protocol(
    clock: FakeClock, redis_url: str
) -> None:
    """Every script on one slot: enqueue in two steps, the channel from the reservation."""
    await flush_redis(redis_url)
    async with await RedisStore.open(redis_url, clock=clock, single_slot=True) as store:
        start = clock()
        await random_day(store, clock, random.Random(7), 400)
        await check_against_events(store, start, clock())


# -- the contract, case by case ------------------------------------------------------------
async def queued(store: Store, clock: FakeClock, team: str, channel: Channel) -> str:
    contact = Contact(channel=channel, address="+48500100200", created_at=clock())
    await store.intake(contact, Message(direction=Direction.IN, text="hi", at=clock()))
    await store.enqueue(contact.id, team)
    return contact.id


def totals(buckets: Sequence[Bucket], **where: Any) -> Counter[str]:
    out: Counter[str] = Counter()
    for b in buckets:
        if all(getattr(b, k) == v for k, v in where.items()):
            out.update(as_counts(b))
    return out


async def test_a_claim_after_a_release_or_a_transfer_is_not_a_second_answer(
    store: Store, clock: FakeClock
) -> None:
    cid = await queued(store, clock, "billing", Channel.VOICE)
    clock.advance(20)  # an edge: within 20 s
    await store.claim(["billing"], "ania", lease_s=60)
    await store.release(cid, "ania")
    clock.advance(5)
    await store.claim(["billing"], "ania", lease_s=60)
    await store.transfer(cid, "technical", agent="ania")
    await store.claim(["technical"], "tomek", lease_s=60)
    clock.advance(90)
    await store.ack(cid, "tomek")
    got = await store.minute_buckets(["billing", "technical"], since=clock() - 600, until=clock())
    billing, technical = totals(got, team="billing"), totals(got, team="technical")
    assert billing["answered"] == 1 and billing["answered_wait_us"] == 20_000_000
    assert billing[f"a{edge_index(20)}"] == 1
    assert technical["answered"] == 0 and technical["resolved"] == 1
    assert technical["handle_us"] == 90_000_000
    assert {b.channel for b in got} == {"voice"}
    assert await store.handle_times("technical", since=clock() - 600) == [90.0]
    assert await store.handle_times("billing", since=clock() - 600) == []


async def test_within_a_threshold_is_exact_at_an_edge(store: Store, clock: FakeClock) -> None:
    waits = [19.999999, 20.0, 20.000001, 3600.0, 3600.5]
    ids = [await queued(store, clock, "billing", Channel.CHAT) for _ in waits]
    start = clock()
    for cid, wait_s in zip(ids, waits, strict=True):
        clock.now = start + wait_s
        claim = await store.claim(["billing"], "ania", lease_s=60)
        assert claim is not None and claim.contact_id == cid
    (bucket, *more) = await store.minute_buckets(["billing"], since=start, until=clock())
    answered = sum(b.answered for b in (bucket, *more))
    assert answered == 5
    assert sum(b.answered_within(20) for b in (bucket, *more)) == 2
    assert sum(b.answered_within(3600) for b in (bucket, *more)) == 4
    with pytest.raises(ValueError, match="25 s is not an edge"):
        bucket.answered_within(25)


async def test_an_abandon_counts_its_wait_and_leaving_the_flow_does_not(
    store: Store, clock: FakeClock
) -> None:
    cid = await queued(store, clock, "sales", Channel.SMS)
    contact = Contact(channel=Channel.SMS, address="+48600", created_at=clock())
    await store.intake(contact, Message(direction=Direction.IN, text="hi", at=clock()))
    clock.advance(45.5)
    await store.remove(cid)
    await store.remove(contact.id)  # still in its flow
    got = await store.minute_buckets(["sales", NO_TEAM], since=clock() - 300, until=clock())
    sales = totals(got, team="sales")
    assert (sales["abandoned"], sales["offered"], sales["waiting"]) == (1, 1, 0)
    assert sales[f"x{edge_index(60)}"] == 1  # 45.5 s: over 45, within 60
    assert totals(got, team=NO_TEAM)["created"] == 2


async def test_reading_a_window_costs_the_same_whatever_it_held(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    """Minutes with one event or with many give one bucket per team, minute and channel."""
    store = await make_store(clock)
    for n in (1, 30):
        start = clock()
        for _minute in range(3):
            for _ in range(n):
                await queued(store, clock, "billing", Channel.VOICE)
            clock.advance(60)
        got = await store.minute_buckets(["billing"], since=start, until=clock() - 60)
        assert [b.offered for b in got] == [n, n, n]
