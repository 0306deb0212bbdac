"""What capacity on Redis promises beyond the contract (tests/queues/test_contract_capacity.py):
a claim older than another claim's load count is fenced out, the channels' ready indexes
are the ready queues, what an earlier version kept in a combined one is moved into them,
held sets stay small."""

from __future__ import annotations

import random
from typing import cast

import pytest
import redis.asyncio as aioredis

from queues import Channel, Contact, Direction, Message
from queues.capacity import MAX_WRAP_UP_S, Capacity
from queues.redis.keys import (
    agent_claims_key,
    entry_key,
    held_key,
    ready_channel_key,
    ready_key,
)
from queues.redis.queue import Fenced, Pick
from queues.redis.store import RedisStore
from tests.conftest import FakeClock
from tests.queues.redis_support import admin, assert_consistent, store

__all__ = ["admin", "store"]

CHAT_ONE = Capacity(limits={"chat": 1, "voice": 1}, exclusive=frozenset({"voice"}))


async def queued(
    store: RedisStore, clock: FakeClock, channel: Channel, team: str = "billing"
) -> str:
    clock.advance(1)
    contact = Contact(channel=channel, address=f"+48{random.randrange(10**9)}", created_at=clock())
    await store.intake(contact, Message(direction=Direction.IN, text="hi", at=clock()))
    await store.enqueue(contact.id, team)
    return contact.id


async def test_a_claim_older_than_another_claims_count_is_fenced_out(
    store: RedisStore, clock: FakeClock
) -> None:
    """A claim that stalled after counting the load (a GC pause, a slow network) must not
    lease on that count once a newer claim of the agent counted and leased."""
    await queued(store, clock, Channel.CHAT)
    late = await queued(store, clock, Channel.CHAT)
    old_token = str(await store._redis.incr(agent_claims_key("ann")))
    assert await store._capacities.load("ann", 0.0, extra=["billing"], token=old_token) == {}
    # Meanwhile a newer claim of ann counts (her load is still empty) and leases.
    newer = await store.claim(["billing"], "ann", lease_s=60, capacity=CHAT_ONE)
    assert newer is not None
    # The stalled claim wakes up believing ann holds nothing: it is refused.
    with pytest.raises(Fenced):
        await store._queues.claim(["billing"], "ann", 60, Pick(old_token, ("chat",)))
    assert await store.agent_load("ann") == {"chat": 1}
    assert (await store.get_contact(late)).state == "waiting"
    # Other agents' claims are not fenced by ann's.
    assert await store.claim(["billing"], "bob", lease_s=60, capacity=CHAT_ONE) is not None


async def test_the_channels_indexes_hold_exactly_the_waiting_contacts_in_order(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    rng = random.Random(3)
    teams = ["billing", "technical"]
    channels = [Channel.VOICE, Channel.CHAT, Channel.SMS, Channel.EMAIL]
    held: dict[str, str] = {}
    waiting: list[str] = []
    for _ in range(300):
        roll = rng.random()
        if roll < 0.35:
            waiting.append(await queued(store, clock, rng.choice(channels), rng.choice(teams)))
        elif roll < 0.55:
            agent = rng.choice(["ann", "bob"])
            cap = Capacity(limits={"chat": 1, "sms": 2}) if rng.random() < 0.5 else None
            got = await store.claim(teams, agent, lease_s=30, capacity=cap)
            if got is not None:
                waiting.remove(got.contact_id)
                held[got.contact_id] = agent
        elif roll < 0.65 and held:
            cid = rng.choice(sorted(held))
            await store.release(cid, held.pop(cid))
            waiting.append(cid)
        elif roll < 0.75 and waiting:
            await store.transfer(rng.choice(waiting), rng.choice(teams))
        elif roll < 0.85 and held:
            cid = rng.choice(sorted(held))
            await store.ack(cid, held.pop(cid), wrap_s=5)
        elif waiting:
            await store.remove(waiting.pop(rng.randrange(len(waiting))))
        clock.advance(rng.choice((1, 5, 20)))
        if rng.random() < 0.1:
            for cid in await store.requeue_expired():
                held.pop(cid, None)
                waiting.append(cid)
    await assert_consistent(admin)  # each waiting contact in its channel's index only
    for team in teams:
        indexed: list[tuple[float, str]] = []
        for channel in [*channels, ""]:
            key = ready_channel_key(team, channel)
            rows = cast(list[tuple[str, float]], await admin.zrange(key, 0, -1, withscores=True))
            for member, score in rows:
                cid = str(member).partition(":")[2]
                assert (await store.get_contact(cid, messages=False)).channel == channel
                indexed.append((float(score), str(member)))
        queue = await store.list_contacts(state="waiting", team=team, limit=1000)
        assert {m.partition(":")[2] for _, m in indexed} == {c.id for c in queue}
        order = [m.partition(":")[2] for _, m in sorted(indexed)]
        assert await store._ready.waiting_order(team) == order


@pytest.mark.parametrize("kept_indexes", [True, False], ids=["previous", "older"])
async def test_a_combined_ready_queue_an_earlier_version_left_is_moved_into_the_indexes(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock, redis_url: str, kept_indexes: bool
) -> None:
    """The previous release kept every waiting member in :ready as well as in its channel's
    index; an older one only in :ready, and entries older still have no channel. A new
    process moves them into the channels' indexes before its first read, and drops the
    members whose entry no longer waits."""
    chats = [await queued(store, clock, Channel.CHAT) for _ in range(3)]
    email = await queued(store, clock, Channel.EMAIL)
    gone = await queued(store, clock, Channel.SMS)
    old = await queued(store, clock, Channel.SMS)
    combined: dict[str, float] = {}
    for channel in ("chat", "email", "sms"):
        key = ready_channel_key("billing", channel)
        rows = cast(list[tuple[str, float]], await admin.zrange(key, 0, -1, withscores=True))
        for member, score in rows:
            combined[str(member)] = float(score)
        if not kept_indexes:
            await admin.delete(key)
    await admin.zadd(ready_key("billing"), combined)
    await store.remove(gone)  # the new version takes it out of its index only
    await admin.hdel(entry_key("billing", old), "ch")  # an entry from before channels
    if kept_indexes:
        await admin.zrem(ready_channel_key("billing", "sms"), *[m for m in combined if old in m])
    async with await RedisStore.open(redis_url, clock=clock) as fresh:
        position = await fresh.position(email)
        assert position is not None and (position.ahead, position.waiting) == (3, 5)
        assert not await admin.exists(ready_key("billing"))
        assert await admin.zcard(ready_channel_key("billing", "")) == 1  # the old one
        await assert_consistent(admin)
        claimed = [await fresh.claim(["billing"], "ann", lease_s=60) for _ in range(6)]
    assert [c.contact_id if c else None for c in claimed] == [*chats, email, old, None]


async def test_held_sets_forget_what_no_longer_counts(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    cap = Capacity(limits={"chat": 100}, wrap_up_s=60)
    ids = [await queued(store, clock, Channel.CHAT) for _ in range(5)]
    for _ in ids:
        assert await store.claim(["billing"], "ann", lease_s=60, capacity=cap) is not None
    for cid in ids[:3]:
        await store.ack(cid, "ann", wrap_s=60)
    await store.release(ids[3], "ann")
    assert await store.agent_load("ann", wrap_up_s=60) == {"chat": 4}
    assert await admin.scard(held_key("billing", "ann")) == 4  # the released one left
    clock.advance(MAX_WRAP_UP_S)
    assert await store.agent_load("ann", wrap_up_s=60) == {"chat": 1}
    assert await admin.smembers(held_key("billing", "ann")) == {ids[4]}
    # Claims made without capacity never count a load, yet the set stays small.
    for _ in range(80):
        await queued(store, clock, Channel.SMS)
        got = await store.claim(["billing"], "ann", lease_s=60)
        assert got is not None
        await store.ack(got.contact_id, "ann")
    clock.advance(MAX_WRAP_UP_S)
    # Pruned once every 64 new members past 64 (amortised): within 64 more claims the
    # hour-old ones are gone.
    for _ in range(64):
        await queued(store, clock, Channel.SMS)
        got = await store.claim(["billing"], "ann", lease_s=60)
        assert got is not None
        await store.ack(got.contact_id, "ann")
    assert await admin.scard(held_key("billing", "ann")) <= 65
