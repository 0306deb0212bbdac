"""A task cancelled during a Redis store call stops (``queues/redis/cancel.py``).

redis-py on Python 3.11 writes every command through ``asyncio.wait_for``, which loses a
cancel that arrives as the write completes; a background loop of store calls then ran on
after its cancel, and a router's shutdown waited for it for ever. Cancelled at random
instants, every loop here must end.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from queues import StoreUnavailable
from queues.redis.store import RedisStore
from tests.queues.redis_support import admin, store

__all__ = ["admin", "store"]  # fixtures used here

ROUNDS = 300


async def _stops_every_time(call: object, rounds: int = ROUNDS) -> list[int]:
    """Run ``call`` in a loop, cancel it at a random instant; the rounds it did not stop."""
    rng = random.Random(7)
    lost: list[int] = []
    for round_ in range(rounds):

        async def loop() -> None:
            while True:
                await asyncio.sleep(0)
                await call()  # type: ignore[operator]

        task = asyncio.create_task(loop())
        await asyncio.sleep(rng.random() * 0.003)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if not done:
            lost.append(round_)
            while not task.done():  # stop it anyway, for the next round
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
    return lost


async def test_a_loop_of_reads_stops_when_cancelled(store: RedisStore) -> None:
    await store.put_doc("k", "v", {"a": 1})
    assert await _stops_every_time(lambda: store.get_doc("k", "v")) == []


async def test_a_loop_of_scripts_stops_when_cancelled(store: RedisStore) -> None:
    assert await _stops_every_time(lambda: store.put_doc("k", "v", {"a": 1})) == []


async def test_a_loop_of_subscriptions_stops_when_cancelled(store: RedisStore) -> None:
    async def subscribe_once() -> None:
        async with store.subscribe("news"):
            pass

    assert await _stops_every_time(subscribe_once, rounds=150) == []
    # The store still works afterwards: a subscriber hears what is published.
    async with store.subscribe("news") as news:
        await store.publish("news", "after")
        assert await asyncio.wait_for(anext(news), 5) == "after"


async def test_a_timeout_around_a_store_call_still_times_out(store: RedisStore) -> None:
    """The cancel a timeout makes, lost and raised again, is still that timeout's."""
    rng = random.Random(11)
    timed_out = 0
    for _ in range(200):
        try:
            async with asyncio.timeout(rng.random() * 0.002):
                while True:
                    await store.get_doc("k", "v")
        except TimeoutError:
            timed_out += 1
        except StoreUnavailable:
            pytest.fail("a timeout became StoreUnavailable")
    assert timed_out == 200
