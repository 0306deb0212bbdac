"""Script calls made together are sent together (``queues/redis/batch.py``): one pipeline
for the calls of one event loop turn, each call answered with its own reply or error, a
lost script loaded again, a failed connection failing every call of the batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from queues.redis.batch import MAX_BATCH, ScriptBatches
from queues.redis.store import RedisStore
from tests.conftest import FakeClock
from tests.queues.redis_support import admin, contact_and_message, store, waiting
from tests.redis_server import free_port

__all__ = ["admin", "store"]  # fixtures used here

INCR = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
HSET = "return redis.call('HSET', KEYS[1], 'f', ARGV[1])"


@pytest.fixture
async def client(redis_url: str, admin: aioredis.Redis) -> AsyncIterator[aioredis.Redis]:
    opened = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield opened
    await opened.aclose()


async def test_calls_of_one_turn_go_in_one_pipeline_each_with_its_reply(
    client: aioredis.Redis, admin: aioredis.Redis
) -> None:
    batches = ScriptBatches(client)
    incr = client.register_script(INCR)
    replies = await asyncio.gather(*(batches.run(incr, [f"n{i % 3}"], [str(i)]) for i in range(30)))
    assert batches.batches == 1 and batches.calls == 30
    # Each call saw the key as the calls before it on that key left it (one server, in order).
    for key in range(3):
        mine = [i for i in range(30) if i % 3 == key]
        assert [replies[i] for i in mine] == [sum(mine[: k + 1]) for k in range(len(mine))]
        assert await admin.get(f"n{key}") == str(sum(mine))


async def test_a_call_that_fails_fails_alone(client: aioredis.Redis, admin: aioredis.Redis) -> None:
    await admin.set("text", "not a hash")
    batches = ScriptBatches(client)
    incr, hset = client.register_script(INCR), client.register_script(HSET)
    calls = [batches.run(incr, ["n"], ["1"]) for _ in range(5)]
    calls.insert(2, batches.run(hset, ["text"], ["v"]))
    replies = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(replies[2], ResponseError) and "WRONGTYPE" in str(replies[2])
    assert [r for i, r in enumerate(replies) if i != 2] == [1, 2, 3, 4, 5]
    assert batches.batches == 1


async def test_a_script_the_server_lost_is_loaded_again(
    client: aioredis.Redis, admin: aioredis.Redis
) -> None:
    batches = ScriptBatches(client)
    incr = client.register_script(INCR)
    assert await batches.run(incr, ["n"], ["1"]) == 1  # loaded
    await admin.script_flush()
    replies = await asyncio.gather(*(batches.run(incr, ["n"], ["1"]) for _ in range(10)))
    assert sorted(replies) == list(range(2, 12))
    assert await admin.script_exists(incr.sha) == [True]


async def test_more_calls_than_a_batch_holds_go_in_several(client: aioredis.Redis) -> None:
    batches = ScriptBatches(client)
    incr = client.register_script(INCR)
    replies = await asyncio.gather(
        *(batches.run(incr, ["n"], ["1"]) for _ in range(MAX_BATCH * 2 + 1))
    )
    assert sorted(replies) == list(range(1, MAX_BATCH * 2 + 2))
    assert batches.batches == 3


async def test_a_connection_that_fails_fails_every_call_of_the_batch() -> None:
    down = aioredis.Redis(port=free_port(), socket_connect_timeout=1, decode_responses=True)
    try:
        batches = ScriptBatches(down)
        incr = down.register_script(INCR)
        replies = await asyncio.gather(
            *(batches.run(incr, ["n"], ["1"]) for _ in range(4)), return_exceptions=True
        )
        assert all(isinstance(r, RedisConnectionError) for r in replies), replies
    finally:
        await down.aclose()


async def test_the_store_sends_concurrent_operations_together(
    store: RedisStore, clock: FakeClock
) -> None:
    ids = await asyncio.gather(*(waiting(store, clock, "billing") for _ in range(20)))
    batches = store._scripts.batches  # what the store sent (not a time)
    assert batches is not None and batches.batches < batches.calls / 2
    positions = await asyncio.gather(*(store.position(i) for i in ids))
    assert sorted(p.ahead for p in positions if p is not None) == list(range(20))
    contact, message = contact_and_message(clock, "+48500100999")
    assert (await store.intake(contact, message)).contact.id == contact.id


async def test_a_call_given_up_before_it_is_sent_is_not_sent(
    client: aioredis.Redis, admin: aioredis.Redis
) -> None:
    batches = ScriptBatches(client)
    incr = client.register_script(INCR)
    gone = asyncio.ensure_future(batches.run(incr, ["gone"], ["1"]))
    kept = asyncio.ensure_future(batches.run(incr, ["kept"], ["1"]))
    await asyncio.sleep(0)  # both are waiting to be sent
    gone.cancel()
    assert await kept == 1
    assert await admin.exists("gone") == 0 and batches.calls == 1
