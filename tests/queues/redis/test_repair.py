"""Hand-overs between hash tags that a crash cuts off are finished by whoever meets them.

A transfer (move_out on the source team, move_in on the destination, moved on the source),
an enqueue in cluster mode (reserve on the contact's shard, enqueue on the team, reserved)
and an intake under an idempotency key (the key's slot, then the contact's shard) take
more than one script. Each test stops a process between two of them, as a kill would,
and checks that a reader, a retry or the reaper leaves the contact in exactly one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from queues import ContactState, Direction, InvalidTransition, Message
from queues.redis.keys import contact_pending_key, entry_key, flow_key, moving_key
from queues.redis.queue import PENDING_GRACE_S
from queues.redis.store import RedisStore
from tests.conftest import FakeClock
from tests.queues.redis_support import (
    admin,
    assert_consistent,
    contact_and_message,
    store,
    waiting,
)

__all__ = ["admin", "store"]  # fixtures used here


class Killed(Exception):
    """The process "died" here."""


def cut_after(store: RedisStore, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """The store's process dies right after running ``script`` (before, for 'intake')."""
    run = store._scripts.run

    async def run_then_die(name: str, keys: list[str], args: list[str]) -> list[Any]:
        if name == script == "intake":
            raise Killed(name)
        reply = await run(name, keys, args)
        if name == script:
            raise Killed(name)
        return reply

    monkeypatch.setattr(store._scripts, "run", run_then_die)


@pytest.fixture
async def other(
    admin: aioredis.Redis, redis_url: str, clock: FakeClock
) -> AsyncIterator[RedisStore]:
    """Another process's store, which meets what the first one left."""
    async with await RedisStore.open(redis_url, clock=clock) as opened:
        yield opened


@pytest.fixture
async def sharded(
    admin: aioredis.Redis, redis_url: str, clock: FakeClock
) -> AsyncIterator[RedisStore]:
    """A store running the cluster protocol (every script on one slot) on one Redis."""
    async with await RedisStore.open(redis_url, clock=clock, single_slot=True) as opened:
        yield opened


# -- transfer ------------------------------------------------------------------------------
async def test_a_reader_finishes_a_transfer_cut_off_after_its_first_step(
    admin: aioredis.Redis,
    store: RedisStore,
    other: RedisStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cid = await waiting(store, clock, "technical")
    await store.claim(["technical"], "ann", lease_s=60)
    cut_after(store, monkeypatch, "move_out")
    with pytest.raises(Killed):
        await store.transfer(cid, "billing", agent="ann")
    await assert_consistent(admin, settled=False)
    assert await other.claim(["technical", "billing"], "bob", lease_s=60) is None  # not yet
    moved = await other.get_contact(cid)
    assert (moved.state, moved.team, moved.agent) == (ContactState.WAITING, "billing", None)
    kinds = [e.kind for e in await other.events(cid)]
    assert kinds.count("contact_transferred") == 1 and kinds[-1] == "contact_transferred"
    claim = await other.claim(["technical", "billing"], "bob", lease_s=60)
    assert claim is not None and (claim.contact_id, claim.team) == (cid, "billing")
    await assert_consistent(admin)


async def test_the_reaper_finishes_a_transfer_no_reader_met(
    admin: aioredis.Redis,
    store: RedisStore,
    other: RedisStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await waiting(store, clock, "technical")
    clock.advance(10)
    later = await waiting(store, clock, "billing")
    cut_after(store, monkeypatch, "move_out")
    with pytest.raises(Killed):
        await store.transfer(first, "billing", delay_s=0)
    assert await other.requeue_expired() == []
    assert await admin.zcard(moving_key("technical")) == 0
    assert await admin.hget(entry_key("technical", first), "st") == "moved"  # a tombstone
    assert await admin.ttl(entry_key("technical", first)) > 0
    # It kept its place: it arrived before the contact already waiting in billing.
    claims = [await other.claim(["billing"], "bob", lease_s=60) for _ in range(2)]
    assert [c.contact_id for c in claims if c] == [first, later]
    await assert_consistent(admin)


async def test_during_a_move_the_destination_decides_and_the_reaper_tidies_the_source(
    admin: aioredis.Redis,
    store: RedisStore,
    other: RedisStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cid = await waiting(store, clock, "technical")
    cut_after(store, monkeypatch, "move_in")
    with pytest.raises(Killed):
        await store.transfer(cid, "billing")
    assert await admin.hget(entry_key("technical", cid), "st") == "moving"
    assert (await other.get_contact(cid)).team == "billing"
    await other.remove(cid)  # acts on the destination
    assert (await other.get_contact(cid)).state is ContactState.ABANDONED
    await other.requeue_expired()
    assert await admin.hget(entry_key("technical", cid), "st") == "moved"
    await assert_consistent(admin)


async def test_two_transfers_at_once_leave_one_home(
    admin: aioredis.Redis, store: RedisStore, other: RedisStore, clock: FakeClock
) -> None:
    cid = await waiting(store, clock, "technical")
    await asyncio.gather(store.transfer(cid, "billing"), other.transfer(cid, "domains_hosting"))
    team = (await store.get_contact(cid)).team
    assert team in ("billing", "domains_hosting")
    assert (await other.get_contact(cid)).team == team
    events = [e for e in await store.events(cid) if e.kind == "contact_transferred"]
    assert len(events) == 2 and events[-1].team == team
    await assert_consistent(admin)


# -- enqueue in cluster mode ---------------------------------------------------------------
async def test_a_reader_finishes_an_enqueue_cut_off_after_the_reservation(
    admin: aioredis.Redis,
    sharded: RedisStore,
    other: RedisStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contact, message = contact_and_message(clock)
    await sharded.intake(contact, message)
    cut_after(sharded, monkeypatch, "reserve")
    with pytest.raises(Killed):
        await sharded.enqueue(contact.id, "billing", delay_s=60)
    await assert_consistent(admin, settled=False)
    with pytest.raises(InvalidTransition):  # handed to a team: no longer in its flow
        await other.close(contact.id, ContactState.ABANDONED)
    found = await other.get_contact(contact.id)
    assert (found.state, found.team, found.priority) == (ContactState.WAITING, "billing", 60)
    assert await admin.zscore(contact_pending_key(contact.id), contact.id) is None
    assert await admin.hget(flow_key(contact.id), "qa") is None
    claim = await other.claim(["billing"], "ann", lease_s=60)
    assert claim is not None and claim.contact_id == contact.id
    assert [e.kind for e in await other.events(contact.id)].count("contact_enqueued") == 1
    await assert_consistent(admin)


@pytest.mark.parametrize("cut", ["reserve", "enqueue"])
async def test_the_reaper_finishes_an_enqueue_no_reader_met(
    admin: aioredis.Redis,
    sharded: RedisStore,
    other: RedisStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    cut: str,
) -> None:
    contact, message = contact_and_message(clock)
    await sharded.intake(contact, message)
    cut_after(sharded, monkeypatch, cut)
    with pytest.raises(Killed):
        await sharded.enqueue(contact.id, "billing")
    await other.requeue_expired()  # within the grace period the enqueuer may still finish
    assert await admin.zscore(contact_pending_key(contact.id), contact.id) is not None
    clock.advance(PENDING_GRACE_S + 1)
    await other.requeue_expired()
    assert await admin.zscore(contact_pending_key(contact.id), contact.id) is None
    claim = await other.claim(["billing"], "ann", lease_s=60)
    assert claim is not None and claim.contact_id == contact.id
    await assert_consistent(admin)


async def test_a_retried_enqueue_finishes_the_hand_over_it_began(
    admin: aioredis.Redis, redis_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with await RedisStore.open(redis_url, clock=clock, single_slot=True) as cut:
        contact, message = contact_and_message(clock)
        await cut.intake(contact, message)
        cut_after(cut, monkeypatch, "reserve")
        with pytest.raises(Killed):
            await cut.enqueue(contact.id, "billing")
    async with await RedisStore.open(redis_url, clock=clock, single_slot=True) as retry:
        queued = await retry.enqueue(contact.id, "billing")
        assert (queued.state, queued.team) == (ContactState.WAITING, "billing")
        for team in ("billing", "technical"):
            with pytest.raises(InvalidTransition):
                await retry.enqueue(contact.id, team)
    await assert_consistent(admin)


@pytest.mark.parametrize("single_slot", [False, True])
async def test_one_contact_enqueued_into_two_teams_at_once_lands_in_one(
    admin: aioredis.Redis, redis_url: str, clock: FakeClock, single_slot: bool
) -> None:
    async with (
        await RedisStore.open(redis_url, clock=clock, single_slot=single_slot) as one,
        await RedisStore.open(redis_url, clock=clock, single_slot=single_slot) as two,
    ):
        for _ in range(20):
            contact, message = contact_and_message(clock)
            await one.intake(contact, message)
            results = await asyncio.gather(
                one.enqueue(contact.id, "billing"),
                two.enqueue(contact.id, "technical"),
                two.close(contact.id, ContactState.ABANDONED),
                return_exceptions=True,
            )
            assert sum(not isinstance(r, Exception) for r in results) == 1, results
            assert all(
                isinstance(r, InvalidTransition) for r in results if isinstance(r, Exception)
            )
    await assert_consistent(admin)


# -- intake under an idempotency key ---------------------------------------------------------
async def test_a_retried_intake_stores_what_the_key_reserved_exactly_once(
    admin: aioredis.Redis,
    store: RedisStore,
    other: RedisStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contact, message = contact_and_message(clock)
    cut_after(store, monkeypatch, "intake")  # the key is reserved, the message not stored
    with pytest.raises(Killed):
        await store.intake(contact, message, key="SM42")
    retry = Message(direction=Direction.IN, text="hello", at=clock())  # a new id
    first = await other.intake(contact.replace(id="another-id"), retry, key="SM42")
    assert not first.duplicate
    assert (first.contact.id, first.message.id) == (contact.id, message.id)
    again = await other.intake(contact, retry, key="SM42")
    assert again.duplicate and again.message == first.message
    stored = await other.get_contact(contact.id)
    assert [m.id for m in stored.messages] == [message.id]
    kinds = [e.kind for e in await other.events(contact.id)]
    assert kinds == ["contact_created", "message_received"]
    await assert_consistent(admin)
