"""Runs each backend's measurements and turns them into figures."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis

from bench.baselines import RedisRaw, SqliteRaw, heapq_cycles
from bench.procs import redis_server
from bench.redis_figures import CommandCount, DepthAndMemory, count_commands, depth_and_memory
from bench.report import Figure
from bench.sqlite_depth import position_costs, position_figures
from bench.workload import BenchError, Rates, compare_rates, phase
from queues import open_store
from queues.sqlite import SqliteStore

__all__ = ["BACKENDS", "FULL", "QUICK", "Results", "Sizes", "run"]

BACKENDS = ("memory", "sqlite", "redis", "channels", "ingest", "stats", "outage", "simulate")
CYCLE_UNIT = "cycles/s"
_SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}  # PRAGMA synchronous values
#: The raw baseline's PRAGMA synchronous: FULL, as SqliteStore documents its own.
SQLITE_SYNCHRONOUS = 2


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each measurement does."""

    memory_cycles: int
    sqlite_cycles: int
    redis_cycles: int
    repeats: int  # timed rounds of store and baseline; the figures are their medians
    warmup: int
    round_trip_cycles: int
    depth_low: int
    depth_high: int
    depth_claims: int
    memory_contacts: int
    batch: int = 256  # intakes + enqueues run concurrently when filling a queue
    fill_workers: int | None = None  # processes filling the deep queue; None: one per core


FULL = Sizes(
    memory_cycles=5_000,
    sqlite_cycles=500,
    redis_cycles=1_000,
    repeats=5,
    warmup=300,
    round_trip_cycles=1_000,
    depth_low=1_000,
    depth_high=100_000,
    depth_claims=3_000,
    memory_contacts=20_000,
)
QUICK = Sizes(
    memory_cycles=200,
    sqlite_cycles=200,
    redis_cycles=200,
    repeats=1,
    warmup=20,
    round_trip_cycles=50,
    depth_low=100,
    depth_high=1_000,
    depth_claims=200,
    memory_contacts=500,
    batch=50,
    fill_workers=1,
)


async def run_memory(sizes: Sizes) -> list[Figure]:
    store = await open_store("memory://")
    try:
        rates = await compare_rates(
            store,
            heapq_cycles,
            cycles=sizes.memory_cycles,
            repeats=sizes.repeats,
            warmup=sizes.warmup,
        )
    finally:
        await store.aclose()
    return [
        Figure(
            "queue.memory.cycle_per_s",
            rates.store,
            CYCLE_UNIT,
            rates.baseline,
            note="heapq push + pop",
        )
    ]


def _journal_mode(path: Path) -> str:
    # journal_mode=WAL is kept in the file, so a connection of the bench's own reads the
    # store's (synchronous is per connection: the store's is the FULL it documents).
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


async def run_sqlite(sizes: Sizes, workdir: Path) -> list[Figure]:
    store = await SqliteStore.open(f"sqlite:///{workdir / 'store.db'}")
    try:
        journal_mode = _journal_mode(store.path)
        if journal_mode != "wal":
            raise BenchError(f"the sqlite store runs journal_mode={journal_mode}, not wal")
        raw = SqliteRaw(workdir / "raw.db", synchronous=SQLITE_SYNCHRONOUS)
        try:
            rates = await compare_rates(
                store,
                raw,
                cycles=sizes.sqlite_cycles,
                repeats=sizes.repeats,
                warmup=sizes.warmup,
            )
        finally:
            raw.close()
    except sqlite3.Error as exc:
        raise BenchError(f"raw sqlite3 baseline failed in {workdir}: {exc}") from exc
    finally:
        await store.aclose()
    # Depths a tenth of the Redis claim test's: the fill goes through the durable store.
    low, high = sizes.depth_low // 10, sizes.depth_high // 10
    costs = await position_costs(
        workdir, low=low, high=high, reads=sizes.depth_claims // 3, batch=sizes.batch
    )
    return [
        *position_figures(costs, magnitude(low), magnitude(high)),
        Figure(
            "queue.sqlite.cycle_per_s",
            rates.store,
            CYCLE_UNIT,
            rates.baseline,
            note=f"raw sqlite3, WAL, synchronous={_SYNCHRONOUS[SQLITE_SYNCHRONOUS]}, 3 txns/cycle",
        ),
    ]


async def run_redis(sizes: Sizes, url: str, deep_url: str) -> list[Figure]:
    """The redis figures, from two servers the bench owns: ``deep_url`` holds the deep
    queue of the claim depth test (and the memory test) while ``url`` holds the rest."""
    client = aioredis.Redis.from_url(url)
    store = await open_store(url)
    try:
        await client.flushall()
        with phase("cycles, store and raw"):
            rates = await compare_rates(
                store,
                await RedisRaw.load(client),
                cycles=sizes.redis_cycles,
                repeats=sizes.repeats,
                warmup=sizes.warmup,
                batch=sizes.batch,
            )
        with phase("command count"):
            commands = await count_commands(
                store, url, cycles=sizes.round_trip_cycles, warmup=sizes.warmup
            )
    finally:
        await store.aclose()
        await client.aclose()
    measured = await depth_and_memory(
        url,
        deep_url,
        low=sizes.depth_low,
        high=sizes.depth_high,
        claims=sizes.depth_claims,
        contacts=sizes.memory_contacts,
        batch=sizes.batch,
        workers=sizes.fill_workers,
    )
    return _redis_figures(rates, commands, measured)


def magnitude(n: int) -> str:
    """``n`` as a figure's name shows it: 1e5 for 100,000, else the digits (300)."""
    digits = str(n)
    if n >= 100 and digits.strip("0") == "1":
        return f"1e{len(digits) - 1}"
    return digits


def _redis_figures(rates: Rates, commands: CommandCount, measured: DepthAndMemory) -> list[Figure]:
    depths = f"{magnitude(measured.high)}_vs_{magnitude(measured.low)}"
    return [
        Figure(
            "queue.redis.cycle_per_s",
            rates.store,
            CYCLE_UNIT,
            rates.baseline,
            note="redis-py EVALSHA of ZADD+ZPOPMIN, 3 calls/cycle",
        ),
        Figure(
            "queue.redis.round_trips_per_contact",
            commands.sent_per_cycle,
            "commands/cycle",
            target=3,
            note="sent by clients (MONITOR), checked against INFO commandstats",
        ),
        Figure(
            "queue.redis.commands_run_per_contact",
            commands.executed_per_cycle,
            "commands/cycle",
            note="INFO commandstats: sent + run by Lua redis.call",
        ),
        Figure(
            f"queue.redis.claim_depth_ratio_{depths}",
            measured.claim_ratio,
            "ratio",
            target=1.5,
            note=(
                f"mean claim {measured.low_claim_s * 1e6:.0f} µs at {measured.low:,}, "
                f"{measured.high_claim_s * 1e6:.0f} µs at {measured.high:,} waiting"
            ),
        ),
        Figure(
            "queue.redis.bytes_per_waiting_contact",
            measured.bytes_per_waiting,
            "bytes",
            measured.raw_bytes_per_waiting,
            target=2048,
            note=(
                f"{measured.contacts:,} waiting; baseline: a raw HSET of the contact's and its "
                "message's fields + a ZADD, measured now"
            ),
        ),
    ]


@dataclass(slots=True)
class Results:
    figures: list[Figure] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # backend -> traceback
    elapsed_s: dict[str, float] = field(default_factory=dict)


def _run_backend(backend: str, sizes: Sizes, workdir: Path) -> list[Figure]:
    if backend == "memory":
        return asyncio.run(run_memory(sizes))
    if backend == "sqlite":
        (workdir / "sqlite").mkdir(exist_ok=True)
        return asyncio.run(run_sqlite(sizes, workdir / "sqlite"))
    if backend == "redis":
        # The bench owns these servers: it FLUSHALLs and CONFIG RESETSTATs them.
        with (
            redis_server(workdir / "redis", appendonly=False) as url,
            redis_server(workdir / "redis-deep", appendonly=False) as deep_url,
        ):
            return asyncio.run(run_redis(sizes, url, deep_url))
    if backend == "channels":
        from bench.channels import run_channels

        (workdir / "voice").mkdir(exist_ok=True)
        return run_channels(sizes is QUICK, workdir)
    if backend == "ingest":
        from bench.ingest import run_ingest

        return run_ingest(sizes is QUICK, workdir / "ingest")
    if backend == "stats":
        from bench.stats import run_stats

        (workdir / "stats").mkdir(exist_ok=True)
        return run_stats(sizes is QUICK, workdir / "stats")
    if backend == "outage":
        from bench.outage import FULL_OUTAGE, QUICK_OUTAGE, run_outage

        (workdir / "outage").mkdir(exist_ok=True)
        outage = QUICK_OUTAGE if sizes is QUICK else FULL_OUTAGE
        return asyncio.run(run_outage(outage, workdir / "outage"))
    if backend == "simulate":
        from bench.simulate import run_simulate

        return run_simulate(sizes is QUICK)
    raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")


def run(backends: Sequence[str], sizes: Sizes, workdir: Path) -> Results:
    """Measure each backend in turn; a backend that fails is recorded, the rest still run."""
    results = Results()
    for backend in backends:
        print(f"bench: {backend} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            results.figures.extend(_run_backend(backend, sizes, workdir))
        except Exception:
            results.failures[backend] = traceback.format_exc()
        results.elapsed_s[backend] = time.perf_counter() - start
    return results
