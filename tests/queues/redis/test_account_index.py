"""The Redis store's index by account: on each contact's own shard tag, and built once, a
page at a time, for the contacts an earlier version kept without it."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from queues import Channel, Contact, Direction, Message
from queues.redis import timeline
from queues.redis.keys import SHARDS, account_key, accounts_indexed_key, shard_of
from queues.redis.store import RedisStore
from tests.conftest import FakeClock
from tests.queues.redis_support import admin, store

__all__ = ["admin", "store"]  # fixtures used here


async def verified(store: RedisStore, clock: FakeClock, n: int, login: str) -> str:
    clock.advance(1)
    channel = (Channel.SMS, Channel.VOICE, Channel.EMAIL)[n % 3]
    contact = Contact(channel=channel, address=f"+4850000{n:04d}", created_at=clock())
    await store.intake(contact, Message(Direction.IN, "hello", clock()))
    await store.update_contact(contact.id, account=login, verified=True)
    return contact.id


async def test_the_index_lives_on_the_contacts_shard(
    store: RedisStore, admin: aioredis.Redis, clock: FakeClock
) -> None:
    made = [await verified(store, clock, n, "jan.kowalski") for n in range(12)]
    for cid in made:
        key = account_key(shard_of(cid), "jan.kowalski")
        assert await admin.zscore(key, cid) is not None
    listed = await store.list_contacts(account="jan.kowalski", limit=100)
    assert [c.id for c in listed] == made[::-1]


async def test_contacts_of_an_earlier_version_are_indexed_once(
    store: RedisStore,
    admin: aioredis.Redis,
    redis_url: str,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jan = [await verified(store, clock, n, "jan.kowalski") for n in range(0, 14, 2)]
    anna = [await verified(store, clock, n, "anna.dluzna") for n in range(1, 14, 2)]
    for shard in range(SHARDS):  # as an earlier version left them: no index at all
        await admin.delete(
            account_key(shard, "jan.kowalski"),
            account_key(shard, "anna.dluzna"),
            accounts_indexed_key(shard),
        )
    monkeypatch.setattr(timeline, "_INDEX_PAGE", 2)  # several calls per list
    async with await RedisStore.open(redis_url, clock=clock) as later:
        assert [c.id for c in await later.list_contacts(account="jan.kowalski")] == jan[::-1]
        assert [c.id for c in await later.list_contacts(account="anna.dluzna")] == anna[::-1]
    for shard in range(SHARDS):
        assert await admin.hget(accounts_indexed_key(shard), "done") == "1"
    # Indexed once: what an erase of the index would hide now stays hidden (nobody walks).
    await admin.delete(account_key(shard_of(jan[0]), "jan.kowalski"))
    async with await RedisStore.open(redis_url, clock=clock) as again:
        listed = await again.list_contacts(account="jan.kowalski")
        assert jan[0] not in [c.id for c in listed]
