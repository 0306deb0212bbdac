"""Baselines: as many cycles done with the plainest tool under each store, in the same run.

Each is a ``CycleRunner``: called with a number of cycles, it returns the seconds they took.
"""

from __future__ import annotations

import heapq
import sqlite3
import time
from pathlib import Path

import redis.asyncio as aioredis

__all__ = ["RAW_SCRIPT", "RedisRaw", "SqliteRaw", "heapq_cycles"]

#: What a queue transition at its cheapest costs Redis: one tiny script, one round trip.
RAW_SCRIPT = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
return redis.call('ZPOPMIN', KEYS[1])
"""
RAW_CALLS_PER_CYCLE = 3  # one script call per transition: enqueue, claim, ack


async def heapq_cycles(cycles: int) -> float:
    """Push and pop one (score, seq, id) entry per cycle on a plain heap."""
    heap: list[tuple[float, int, str]] = []
    ids = [f"{i:020x}" for i in range(cycles)]
    start = time.perf_counter()
    for seq, contact_id in enumerate(ids):
        heapq.heappush(heap, (float(seq), seq, contact_id))
        heapq.heappop(heap)
    return time.perf_counter() - start


class SqliteRaw:
    """Raw sqlite3 in WAL mode: per cycle one INSERT, one UPDATE and one DELETE transaction,
    the same number of commits as the store's enqueue, claim and ack."""

    def __init__(self, path: Path, *, synchronous: int) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None)
        mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise RuntimeError(f"{path} cannot use WAL (journal_mode {mode})")
        self._conn.execute(f"PRAGMA synchronous = {int(synchronous)}")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS queue (id TEXT PRIMARY KEY, score REAL, agent TEXT)"
        )
        self._next = 0

    def close(self) -> None:
        self._conn.close()

    def _commit(self, sql: str, params: tuple[object, ...]) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.execute(sql, params)
        self._conn.execute("COMMIT")

    async def __call__(self, cycles: int) -> float:
        ids = [f"{self._next + i:020x}" for i in range(cycles)]
        self._next += cycles
        start = time.perf_counter()
        for seq, contact_id in enumerate(ids):
            self._commit("INSERT INTO queue (id, score) VALUES (?, ?)", (contact_id, seq))
            self._commit("UPDATE queue SET agent = 'raw' WHERE id = ?", (contact_id,))
            self._commit("DELETE FROM queue WHERE id = ?", (contact_id,))
        return time.perf_counter() - start


class RedisRaw:
    """redis-py EVALSHA of ``RAW_SCRIPT``, three calls per cycle, on one connection."""

    def __init__(self, client: aioredis.Redis, sha: str) -> None:
        self._client = client
        self._sha = sha

    @classmethod
    async def load(cls, client: aioredis.Redis) -> RedisRaw:
        return cls(client, await client.script_load(RAW_SCRIPT))

    async def __call__(self, cycles: int) -> float:
        evalsha = self._client.evalsha
        start = time.perf_counter()
        for i in range(cycles):
            for _ in range(RAW_CALLS_PER_CYCLE):
                await evalsha(self._sha, 1, "{sb:bench}:raw", i)
        return time.perf_counter() - start
