"""The incident book is compare-and-set: changes through two processes at once all land."""

from __future__ import annotations

import asyncio

from router.routing import IncidentBook, Incidents
from tests.conftest import FakeClock, StoreMaker

# Two stores on one backing store stand for two router processes (memory has no second).
STORE_BACKENDS = ["sqlite", "redis"]


async def test_incidents_opened_through_two_processes_at_once_all_survive(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    a = IncidentBook(await make_store(clock))
    b = IncidentBook(await make_store(clock, fresh=False))

    async def open_one(book: IncidentBook, n: int) -> str:
        incident = await book.update(lambda now: now.open("technical", f"outage {n}", at=clock()))
        return incident.id

    opened = await asyncio.gather(*(open_one(a if n % 2 else b, n) for n in range(12)))
    seen_by_a, seen_by_b = await a.load(), await b.load()
    assert sorted(i.id for i in seen_by_a.items) == sorted(opened)
    assert seen_by_a == seen_by_b

    def close_first(book: Incidents) -> tuple[Incidents, None]:
        return book.close(opened[0], at=clock()), None

    await asyncio.gather(a.update(close_first), b.update(close_first))
    closed = (await b.load()).get(opened[0])
    assert closed.closed_at is not None and len((await a.load()).items) == 12
