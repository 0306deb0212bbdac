"""The stats figures: what ``/api/stats`` (the KPI board) costs with a small and a big day.

A day of contacts goes through the store's API (each contact: two inbound messages, queued,
answered, four replies, resolved: ten events in its ``events``, four of them in the day's
log, which leaves the six message events out): the same busy last hour (the board's window)
on either day, the rest spread over the 23 hours before it, with agents' status changes.
Then the board answers ``calls`` times and each answer is timed, wall clock and CPU of this
process (and of redis-server, from INFO). The board's two reads are timed apart too, each
``read_calls`` times (a p99 of few calls would be their slowest): the contacts' numbers from
the minute buckets, and occupancy from the agents' presence ledgers. The presence snapshot
lasts one answer, as in ``switchboard run`` (where it lasts a second): the board's three asks
of presence (load, total, agent time) share one read of the store, and every answer reads.
The baseline is the board as it was before the buckets: every event of the last 25 hours
read and counted on each call. Before the timed calls the process freezes what is alive
(``gc.freeze``), as ``switchboard run`` does once started.
"""

from __future__ import annotations

import asyncio
import gc
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from bench.procs import redis_server
from bench.report import Figure
from bench.workload import phase
from queues import Channel, Contact, Direction, Message, Store, open_store
from router.desk import Presence
from router.stats import KpiBoard, compute_kpis, team_kpis

__all__ = ["StatsSizes", "run_stats"]

TEAMS = ("billing", "technical", "sales")
CHANNELS = (Channel.VOICE, Channel.CHAT, Channel.SMS, Channel.EMAIL)
THRESHOLDS_S = {"voice": 20.0, "chat": 20.0, "sms": 3600.0}
AGENTS = 30
DAY_S = 86_400.0
WINDOW_S = 3_600.0
EVENTS_PER_CONTACT = 10
_BATCHES = 1_440  # groups of contacts over the day, whose steps run concurrently


@dataclass(frozen=True, slots=True)
class StatsSizes:
    few: int  # events in the small day
    many: int  # events in the big day
    calls: int  # timed answers of the board per day
    baseline_calls: int  # timed answers of the board before the buckets
    read_calls: int  # timed calls of each of the board's two reads apart
    #: Contacts a minute in the last hour, the board's window, on either day: the same
    #: busy hour, so that the two days differ in what came before it, not in what the
    #: window holds (12 a minute fills every team x channel minute bucket).
    per_minute: int = 12


FULL_SIZES = StatsSizes(few=10_000, many=1_000_000, calls=200, baseline_calls=3, read_calls=400)
QUICK_SIZES = StatsSizes(
    few=1_000, many=10_000, calls=8, baseline_calls=2, read_calls=100, per_minute=1
)


class DayClock:
    """The store's clock, which the fill moves through the day."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return round(self.now, 6)


async def fill_day(store: Store, clock: DayClock, events: int, per_minute: int = 12) -> None:
    """About ``events`` events over the day before ``clock``'s now (which it leaves there):
    the last hour ``per_minute`` contacts a minute, whatever the day, the rest spread over
    the 23 hours before it."""
    end = clock.now
    busy = 60 * per_minute
    contacts = max(0, events // EVENTS_PER_CONTACT - busy)
    batches = min(contacts, _BATCHES - 60)  # traffic all day long, even on a quiet one
    size = math.ceil(contacts / batches) if batches else 0
    step_s = (DAY_S - WINDOW_S - 600) / max(1, batches)
    for k in range(batches):
        clock.now = end - DAY_S + k * step_s
        await _batch(store, clock, k, min(size, contacts - k * size))
    for minute in range(60):  # the busy hour: its contacts are done within it
        clock.now = end - WINDOW_S + minute * 60 - 300
        await _batch(store, clock, batches + minute, per_minute)
    clock.now = end
    await agents_of_the_hour(store, clock)


async def agents_of_the_hour(store: Store, clock: DayClock) -> None:
    """``AGENTS`` agents through the last hour: seen every minute, taking and letting go of
    contacts, some on a break; their presence records keep the ledger occupancy reads."""
    end = clock.now
    presence = Presence(store, clock)
    for minute in range(60):
        clock.now = end - 3600 + minute * 60
        for agent in range(AGENTS):
            name = f"a{agent}"
            await presence.seen(name, TEAMS)
            if (agent + minute) % 7 == 0:
                await presence.holding(name, +1 if minute % 2 else -1)
    clock.now = end


async def _batch(store: Store, clock: DayClock, k: int, size: int) -> None:
    def contact(i: int) -> Contact:
        channel = CHANNELS[(k + i) % len(CHANNELS)]
        return Contact(channel=channel, address=f"+48{k:06d}{i:03d}", created_at=clock())

    contacts = [contact(i) for i in range(size)]

    async def each(step: Callable[[int, Contact], Awaitable[object]], after_s: float) -> None:
        clock.now += after_s
        await asyncio.gather(*(step(i, c) for i, c in enumerate(contacts)))

    claimed: dict[str, str] = {}

    async def claim(i: int, c: Contact) -> None:
        got = await store.claim(list(TEAMS), f"a{i % AGENTS}", lease_s=3600)
        if got is not None:
            claimed[got.contact_id] = got.agent

    await each(lambda i, c: store.intake(c, Message(Direction.IN, "hi", clock())), 0)
    await each(lambda i, c: store.intake(c, Message(Direction.IN, "faktura", clock())), 5)
    await each(lambda i, c: store.enqueue(c.id, TEAMS[(k + i) % len(TEAMS)]), 30)
    await each(claim, 5 + (k * 7) % 40)  # waits on either side of the thresholds
    for _ in range(4):
        await each(
            lambda i, c: store.append_message(c.id, Message(Direction.OUT, "ok", clock())), 30
        )
    await each(
        lambda i, c: store.ack(c.id, claimed[c.id]) if c.id in claimed else asyncio.sleep(0), 60
    )


@dataclass(frozen=True, slots=True)
class Timings:
    wall_s: list[float]
    cpu_s: list[float]
    server_cpu_s: float | None = None  # per call

    def p(self, q: float) -> float:
        ordered = sorted(self.wall_s)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

    @property
    def cpu_ms(self) -> float:
        return statistics.fmean(self.cpu_s) * 1e3


async def _server_cpu_s(url: str | None) -> float:
    if url is None:
        return 0.0
    client = aioredis.Redis.from_url(url)
    try:
        info = await client.info("cpu")
    finally:
        await client.aclose()
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def timed(call: Callable[[], Awaitable[object]], n: int, url: str | None) -> Timings:
    await call()  # warm: scripts loaded, caches filled
    wall, cpu = [], []
    server = await _server_cpu_s(url)
    # As `switchboard run` does once started: what is alive now stays out of the
    # collector's full passes (each one walks every tracked object: ~20 ms here).
    gc.collect()
    gc.freeze()
    try:
        for _ in range(n):
            w, c = time.perf_counter(), time.process_time()
            await call()
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
    finally:
        gc.unfreeze()
    server = (await _server_cpu_s(url) - server) / n
    return Timings(wall, cpu, server if url else None)


@dataclass(frozen=True, slots=True)
class DayFigures:
    board: Timings
    buckets: Timings
    occupancy: Timings
    before: Timings | None
    buckets_read: int  # what the window's minute_buckets gave


async def measure_day(
    store: Store, clock: DayClock, sizes: StatsSizes, *, url: str | None, baseline: bool
) -> DayFigures:
    # The snapshot's own clock, a second on at each answer: each reads the store once.
    answers = DayClock(0.0)
    presence = Presence(store, clock, snapshot_s=1.0, monotonic=answers)
    board = KpiBoard(
        store, presence, teams=TEAMS, thresholds_s=THRESHOLDS_S, clock=clock, window_s=WINDOW_S
    )

    async def answer() -> None:
        answers.now += 1.0
        await board.current()

    read: list[int] = []

    async def from_buckets() -> None:
        now = clock()
        buckets = await store.minute_buckets(TEAMS, since=now - WINDOW_S, until=now)
        read.append(len(buckets))
        team_kpis(buckets, await store.queue_stats(TEAMS), thresholds_s=THRESHOLDS_S, agents={})

    async def occupancy() -> None:
        answers.now += 1.0
        now = clock()
        await presence.agent_time(TEAMS, start=now - WINDOW_S, now=now)

    async def before() -> None:
        now = clock()
        events = await store.list_events(since=now - WINDOW_S - 86400.0)
        stats = await store.queue_stats(TEAMS)
        compute_kpis(
            events, stats, now=now, window_s=WINDOW_S, thresholds_s=THRESHOLDS_S, agents={}
        )

    return DayFigures(
        board=await timed(answer, sizes.calls, url),
        buckets=await timed(from_buckets, sizes.read_calls, url),
        occupancy=await timed(occupancy, sizes.read_calls, url),
        before=await timed(before, sizes.baseline_calls, url) if baseline else None,
        buckets_read=read[-1],
    )


def _label(n: int) -> str:
    return f"1e{round(math.log10(n))}"


def figures(store_name: str, sizes: StatsSizes, few: DayFigures, many: DayFigures) -> list[Figure]:
    """The store's figures: the board at the big day against the small and against before."""
    big, small = _label(sizes.many), _label(sizes.few)
    name = f"stats.{store_name}.api_stats"
    before = many.before
    at_few = f"at {sizes.few:,} events"
    server = many.board.server_cpu_s
    on_server = "" if server is None else f"; redis-server {server * 1e3:.2f} CPU-ms per call"
    p50_ratio = many.board.p(0.5) / few.board.p(0.5)
    return [
        Figure(
            f"{name}_p50_ms_{big}",
            many.board.p(0.5) * 1e3,
            "ms",
            None if before is None else before.p(0.5) * 1e3,
            note=f"KpiBoard.current, {sizes.many:,} events; baseline: the board before buckets",
        ),
        Figure(
            f"{name}_p99_ms_{big}",
            many.board.p(0.99) * 1e3,
            "ms",
            None if before is None else before.p(0.99) * 1e3,
            target=20,
            note=f"{sizes.calls} calls; baseline: every event of 25 h read and counted",
        ),
        Figure(
            f"{name}_p99_ratio_{big}_vs_{small}",
            many.board.p(0.99) / few.board.p(0.99),
            "ratio",
            target=1.5,
            note=f"p50 ratio {p50_ratio:.2f}; p99 {few.board.p(0.99) * 1e3:.2f} ms {at_few}",
        ),
        Figure(
            f"{name}_cpu_ms_per_call_{big}",
            many.board.cpu_ms,
            "CPU-ms",
            few.board.cpu_ms,
            note=f"this process; baseline: {at_few}{on_server}",
        ),
        Figure(
            f"{name}_kpis_from_buckets_p99_ms_{big}",
            many.buckets.p(0.99) * 1e3,
            "ms",
            few.buckets.p(0.99) * 1e3,
            target=20,
            note=(
                f"minute_buckets + queue_stats + team_kpis, {sizes.read_calls} calls, "
                f"{many.buckets_read} buckets "
                f"(at most teams x 61 min x channels); baseline: {at_few}, {few.buckets_read}"
            ),
        ),
        Figure(
            f"{name}_occupancy_p99_ms_{big}",
            many.occupancy.p(0.99) * 1e3,
            "ms",
            few.occupancy.p(0.99) * 1e3,
            note=f"{AGENTS} agents' presence records, {sizes.read_calls} calls; baseline: {at_few}",
        ),
    ]


async def _day(
    url: str, sizes: StatsSizes, events: int, *, flush: str | None, baseline: bool
) -> DayFigures:
    if flush is not None:
        client = aioredis.Redis.from_url(flush)
        await client.flushall()
        await client.aclose()
    clock = DayClock(1_795_000_000.0)
    store = await open_store(url, clock=clock)
    try:
        with phase(f"{url.split(':')[0]}: a day of {events:,} events"):
            await fill_day(store, clock, events, sizes.per_minute)
        with phase(f"{url.split(':')[0]}: the board, {sizes.calls} calls"):
            return await measure_day(store, clock, sizes, url=flush, baseline=baseline)
    finally:
        await store.aclose()


async def _store_figures(name: str, url: str, sizes: StatsSizes, *, redis: bool) -> list[Figure]:
    flush = url if redis else None
    few = await _day(url, sizes, sizes.few, flush=flush, baseline=False)
    many = await _day(url, sizes, sizes.many, flush=flush, baseline=True)
    return figures(name, sizes, few, many)


def run_stats(quick: bool, workdir: Path) -> list[Figure]:
    """The memory and Redis figures; ``quick`` makes the days small."""
    sizes = QUICK_SIZES if quick else FULL_SIZES
    out = asyncio.run(_store_figures("memory", "memory://", sizes, redis=False))
    with redis_server(workdir / "redis-stats", appendonly=False) as url:
        out += asyncio.run(_store_figures("redis", url, sizes, redis=True))
    return out
