"""Redis-only measurements: commands per cycle, claim time against queue depth, memory.

Each takes the URL of redis-servers the bench started and owns (it FLUSHALLs them and
CONFIG RESETSTATs them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis

from bench.fill import fill_parallel
from bench.workload import (
    AGENT,
    LEASE_S,
    TEAM,
    BenchError,
    create_contacts,
    fill_queue,
    phase,
    run_cycles,
)
from queues import Contact, Store, open_store

__all__ = ["CommandCount", "DepthAndMemory", "count_commands", "depth_and_memory"]

_SENTINEL = "bench:end-of-count"
_NOT_COUNTED = frozenset({"info", "config", "echo"})  # the measurement's own commands


@asynccontextmanager
async def _admin(url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        await client.ping()  # connect now, so its handshake is never counted
        yield client
    finally:
        await client.aclose()


@dataclass(frozen=True, slots=True)
class CommandCount:
    """Commands per cycle: those clients sent (round trips when not pipelined) and all the
    server ran, which adds the ones Lua scripts run inside a call."""

    sent_per_cycle: float
    executed_per_cycle: float


async def count_commands(store: Store, url: str, *, cycles: int, warmup: int) -> CommandCount:
    """Count the commands of ``cycles`` enqueue + claim + ack cycles.

    INFO commandstats (after CONFIG RESETSTAT) counts every command the server ran,
    including those a script runs with redis.call. MONITOR shows the same commands and
    marks the scripted ones ``lua``, which tells the two apart.
    """
    ids = await create_contacts(store, warmup + cycles)
    await run_cycles(store, ids[:warmup])  # scripts loaded, connection open
    async with _admin(url) as admin, _admin(url) as watcher, watcher.monitor() as monitor:
        await admin.config_resetstat()
        await run_cycles(store, ids[warmup:])
        stats = await admin.info("commandstats")
        await admin.echo(_SENTINEL)
        sent = scripted = 0
        while True:
            seen = await asyncio.wait_for(monitor.next_command(), timeout=30)
            name = seen["command"].split(" ", 1)[0].lower()
            if name == "echo" and _SENTINEL in seen["command"]:
                break
            if name in _NOT_COUNTED:
                continue
            if seen["client_type"] == "lua":
                scripted += 1
            else:
                sent += 1
    executed = sum(
        int(entry["calls"])
        for key, entry in stats.items()
        if key.removeprefix("cmdstat_").split("|")[0] not in _NOT_COUNTED
    )
    if executed != sent + scripted:
        raise BenchError(
            f"INFO commandstats counted {executed} commands but MONITOR saw {sent} sent and "
            f"{scripted} scripted; another client used the bench's redis-server"
        )
    return CommandCount(sent / cycles, executed / cycles)


@dataclass(frozen=True, slots=True)
class DepthAndMemory:
    """Mean seconds of one claim with ``low`` and with ``high`` contacts waiting, and the
    memory each waiting contact takes."""

    low: int
    high: int
    low_claim_s: float
    high_claim_s: float
    contacts: int  # waiting contacts of the memory measurement
    bytes_per_waiting: float
    raw_bytes_per_waiting: float  # the same fields as a plain hash + sorted set entry

    @property
    def claim_ratio(self) -> float:
        return self.high_claim_s / self.low_claim_s


async def _timed_claims(store: Store, count: int, *, batch: int) -> list[float]:
    # Claims are timed one by one, then acked and replaced by as many new contacts (not
    # timed), so the depth stays within ``count`` of where it was.
    timings: list[float] = []
    held: list[str] = []
    for _ in range(count):
        start = time.perf_counter()
        claim = await store.claim((TEAM,), AGENT, lease_s=LEASE_S)
        timings.append(time.perf_counter() - start)
        if claim is None:
            raise BenchError("claim found the benchmark queue empty; it should be full")
        held.append(claim.contact_id)
    await asyncio.gather(*(store.ack(contact_id, AGENT) for contact_id in held))
    await fill_queue(store, count, batch=batch)
    return timings


async def _waiting(url: str) -> int:
    store = await open_store(url)
    try:
        return (await store.queue_stats([TEAM]))[0].waiting
    finally:
        await store.aclose()


async def _used_memory_alone(admin: aioredis.Redis) -> int:
    # A client's buffers count in used_memory: wait until every other connection is gone.
    deadline = time.monotonic() + 10
    while int((await admin.info("clients"))["connected_clients"]) > 1:
        if time.monotonic() > deadline:
            raise BenchError("connections to the bench's redis-server stayed open for 10 s")
        await asyncio.sleep(0.05)
    return int((await admin.info("memory"))["used_memory"])


async def _sample(url: str) -> Contact:
    # One of the waiting contacts, with its message, as the store gives it back.
    store = await open_store(url)
    try:
        [listed] = await store.list_contacts(team=TEAM, limit=1)
        return await store.get_contact(listed.id, messages=True)
    finally:
        await store.aclose()


def _raw_fields(sample: Contact, n: int) -> tuple[str, dict[str, str]]:
    """The fields of ``sample`` and of its first message, as strings, for the ``n``-th raw
    contact: its id, address and message text made unique as the bench's contacts are."""
    contact_id = f"{sample.id[:12]}{n:08x}"
    fields = {
        f.name: str(value)
        for f in dataclasses.fields(sample)
        if f.name not in ("messages", "meta") and (value := getattr(sample, f.name)) is not None
    }
    fields.update(id=contact_id, address=f"bench-{contact_id}")
    if sample.meta:
        fields["meta"] = json.dumps(dict(sample.meta))
    if sample.messages:
        message = sample.messages[0]
        text = f"{contact_id} ".ljust(len(message.text), "x")
        fields.update(
            message_id=message.id, direction=str(message.direction), text=text, at=str(message.at)
        )
    return contact_id, fields


async def _raw_bytes_per_contact(
    admin: aioredis.Redis, sample: Contact, contacts: int, *, batch: int
) -> float:
    """used_memory per contact stored at its plainest: one HSET of the sample's fields and
    one ZADD, on a FLUSHALLed server (flushed again after)."""
    before = await _used_memory_alone(admin)
    score = sample.score or 0.0
    for start in range(0, contacts, batch):
        pipe = admin.pipeline(transaction=False)
        for n in range(start, min(start + batch, contacts)):
            contact_id, fields = _raw_fields(sample, n)
            pipe.hset(f"bench:raw:contact:{contact_id}", items=[*itertools.chain(*fields.items())])
            pipe.zadd("bench:raw:queue", {contact_id: score + n * 1e-3})
        await pipe.execute()
    after = await _used_memory_alone(admin)
    await admin.flushall(asynchronous=False)
    return (after - before) / contacts


async def _fresh(url: str, *, batch: int) -> None:
    # The store's scripts stay cached across FLUSHALL, so they are loaded before, not
    # during, a measurement.
    store = await open_store(url)
    try:
        await fill_queue(store, 1, batch=batch)
    finally:
        await store.aclose()
    async with _admin(url) as admin:
        await admin.flushall(asynchronous=False)


async def _bytes_per_contact(
    url: str, raw_url: str, contacts: int, *, batch: int, workers: int | None
) -> tuple[float, float]:
    """used_memory per waiting contact: ``contacts`` of the store's on ``url``, then as
    many raw hashes of the same fields on ``raw_url`` (both FLUSHALLed)."""
    async with _admin(url) as admin:
        with phase(f"memory of {contacts:,} waiting contacts"):
            before = await _used_memory_alone(admin)
            await fill_parallel(url, contacts, batch=batch, workers=workers)
            after = await _used_memory_alone(admin)
    sample = await _sample(url)
    async with _admin(raw_url) as admin:
        with phase(f"memory of {contacts:,} raw hashes"):
            raw = await _raw_bytes_per_contact(admin, sample, contacts, batch=batch)
    return (after - before) / contacts, raw


async def depth_and_memory(
    shallow_url: str,
    deep_url: str,
    *,
    low: int,
    high: int,
    claims: int,
    contacts: int,
    batch: int,
    workers: int | None = None,
) -> DepthAndMemory:
    """Claim times with ``low`` and ``high`` contacts waiting, and memory per contact.

    Two FLUSHALLed servers: on ``deep_url``, used_memory is measured with no client
    connected before and after adding ``contacts`` waiting contacts, then the queue is
    filled to ``high``; ``shallow_url`` gets ``low``. Rounds of claims then alternate
    between the two, so a machine busy with other work slows both alike.
    """
    if high < contacts:
        raise ValueError(f"depth {high} is below the {contacts} contacts of the memory step")
    await _fresh(shallow_url, batch=batch)
    await _fresh(deep_url, batch=batch)
    stored, raw = await _bytes_per_contact(
        deep_url, shallow_url, contacts, batch=batch, workers=workers
    )
    with phase(f"fill to depths {high:,} and {low:,}"):
        await fill_parallel(deep_url, high - contacts, batch=batch, workers=workers)
        await fill_parallel(shallow_url, low, batch=batch, workers=1)
    for url, depth in ((deep_url, high), (shallow_url, low)):
        if (waiting := await _waiting(url)) != depth:
            raise BenchError(f"{waiting:,} contacts are waiting after the fill, not {depth:,}")

    round_size = min(100, claims)
    low_timings: list[float] = []
    high_timings: list[float] = []
    shallow, deep = await open_store(shallow_url), await open_store(deep_url)
    try:
        with phase(f"{claims:,} claims at each depth"):
            for store in (shallow, deep):
                await _timed_claims(store, round_size, batch=batch)  # warm-up
            for done in range(0, claims, round_size):
                count = min(round_size, claims - done)
                low_timings += await _timed_claims(shallow, count, batch=batch)
                high_timings += await _timed_claims(deep, count, batch=batch)
    finally:
        await shallow.aclose()
        await deep.aclose()
    return DepthAndMemory(
        low,
        high,
        statistics.fmean(low_timings),
        statistics.fmean(high_timings),
        contacts,
        stored,
        raw,
    )
