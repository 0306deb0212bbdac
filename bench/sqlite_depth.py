"""What a waiting contact's position costs on the sqlite default, with few and with many
contacts waiting: the store's ``position`` (the count tree of ``queues/sqlite/ranks.py``)
against counting the queue, as earlier versions did, on the same file.

Two files are filled through the store (intakes and enqueues in concurrent batches, so they
commit in groups); rounds of positions of each file's last contact then alternate between
them, so a machine busy with other work slows both alike. Figures are medians over every
read: microseconds per position, the ratio of the deep file's to the shallow one's, and
this process's CPU per position (the store runs in it: its reader thread and the loop).
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Figure
from bench.workload import BenchError, phase
from queues import Channel, Contact, Direction, Message
from queues.sqlite import SqliteStore

__all__ = ["PositionCosts", "position_costs", "position_figures"]

#: What earlier versions ran for one position: a walk of the team's waiting contacts.
RECOUNT = (
    "SELECT count(*), coalesce(sum(o.score < c.score OR (o.score = c.score AND o.seq < c.seq)),"
    " 0) FROM contacts AS c JOIN contacts AS o ON o.team = c.team AND o.state = 'waiting'"
    " WHERE c.id = ?"
)
_TEAM = "technical"
_ROUND = 50


@dataclass(frozen=True, slots=True)
class PositionCosts:
    low: int
    high: int
    low_us: float  # median wall time of one position
    high_us: float
    high_cpu_ms: float  # this process's CPU per position on the deep file
    recount_us: float  # the earlier versions' query on the deep file, raw sqlite3

    @property
    def ratio(self) -> float:
        return self.high_us / self.low_us


async def _fill(path: Path, count: int, batch: int) -> str:
    """``count`` contacts waiting in one team; the id of the one served last."""
    async with await SqliteStore.open(f"sqlite:///{path}") as store:
        for start in range(0, count, batch):
            now = time.time()
            contacts = [
                Contact(channel=Channel.EMAIL, address=f"c{n}@example.net", created_at=now)
                for n in range(start, min(count, start + batch))
            ]
            message = Message(Direction.IN, "Internet nie działa", now)
            await asyncio.gather(*(store.intake(c, message) for c in contacts))
            await asyncio.gather(*(store.enqueue(c.id, _TEAM) for c in contacts))
        order = await store.waiting_order(_TEAM)
    if len(order) != count:
        raise BenchError(f"{len(order):,} contacts wait in {path.name}, not {count:,}")
    return order[-1]


async def _round(store: SqliteStore, contact_id: str, want: int) -> tuple[list[float], float]:
    times = []
    cpu0 = time.process_time()
    for _ in range(_ROUND):
        t0 = time.perf_counter()
        found = await store.position(contact_id)
        times.append(time.perf_counter() - t0)
        if found is None or found.ahead != want:
            raise BenchError(f"position {found} of the last of {want + 1:,} contacts")
    return times, (time.process_time() - cpu0) / _ROUND


def _recount_us(path: Path, contact_id: str, reads: int) -> float:
    conn = sqlite3.connect(path)
    try:
        times = []
        for _ in range(reads):
            t0 = time.perf_counter()
            conn.execute(RECOUNT, (contact_id,)).fetchone()
            times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return statistics.median(times) * 1e6


async def position_costs(
    workdir: Path, *, low: int, high: int, reads: int, batch: int
) -> PositionCosts:
    shallow_path, deep_path = workdir / "positions-low.db", workdir / "positions-high.db"
    with phase(f"sqlite: fill to depths {high:,} and {low:,}"):
        shallow_last = await _fill(shallow_path, low, batch)
        deep_last = await _fill(deep_path, high, batch)
    low_times: list[float] = []
    high_times: list[float] = []
    high_cpu: list[float] = []
    with phase(f"sqlite: {reads:,} positions at each depth"):
        async with (
            await SqliteStore.open(f"sqlite:///{shallow_path}") as shallow,
            await SqliteStore.open(f"sqlite:///{deep_path}") as deep,
        ):
            await _round(shallow, shallow_last, low - 1)  # warm-up
            await _round(deep, deep_last, high - 1)
            for _ in range(max(1, reads // _ROUND)):
                low_times += (await _round(shallow, shallow_last, low - 1))[0]
                times, cpu_s = await _round(deep, deep_last, high - 1)
                high_times += times
                high_cpu.append(cpu_s)
        recount_us = _recount_us(deep_path, deep_last, min(reads, 200))
    return PositionCosts(
        low,
        high,
        statistics.median(low_times) * 1e6,
        statistics.median(high_times) * 1e6,
        statistics.median(high_cpu) * 1e3,
        recount_us,
    )


def position_figures(costs: PositionCosts, low: str, high: str) -> list[Figure]:
    """The figures, the depths named ``low`` and ``high`` (1e2, 1e4)."""
    return [
        Figure(
            f"queue.sqlite.position_depth_ratio_{high}_vs_{low}",
            costs.ratio,
            "ratio",
            target=1.5,
            note=(
                f"median position {costs.low_us:.0f} µs at {costs.low:,}, "
                f"{costs.high_us:.0f} µs at {costs.high:,} waiting"
            ),
        ),
        Figure(
            f"queue.sqlite.position_us_{high}",
            costs.high_us,
            "µs",
            costs.recount_us,
            note=(
                f"store.position, {costs.high_cpu_ms:.3f} CPU-ms each (this process: loop and "
                "reader thread); baseline: counting the queue (earlier versions), raw sqlite3"
            ),
        ),
    ]
