"""Fixtures and checks shared by the Redis store's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
import redis.asyncio as aioredis

from queues import Channel, Contact, Direction, Message
from queues.redis.codec import LIVE
from queues.redis.keys import (
    TEAMS_KEY,
    entry_prefix,
    leased_key,
    moving_key,
    queued_key,
    ready_channel_key,
    ready_key,
    ready_keys,
)
from queues.redis.store import RedisStore
from tests.conftest import FakeClock


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def store(
    admin: aioredis.Redis, redis_url: str, clock: FakeClock
) -> AsyncIterator[RedisStore]:
    async with await RedisStore.open(redis_url, clock=clock) as opened:
        yield opened


def contact_and_message(clock: FakeClock, address: str = "+48500100200") -> tuple[Contact, Message]:
    contact = Contact(channel=Channel.SMS, address=address, created_at=clock())
    return contact, Message(direction=Direction.IN, text="hello", at=clock())


async def waiting(store: RedisStore, clock: FakeClock, team: str, delay_s: int = 0) -> str:
    contact, message = contact_and_message(clock)
    await store.intake(contact, message)
    await store.enqueue(contact.id, team, delay_s=delay_s)
    return contact.id


async def _members(admin: aioredis.Redis, key: str) -> set[str]:
    return {str(member) for member in await admin.zrange(key, 0, -1)}


async def _ready(admin: aioredis.Redis, team: str) -> dict[str, tuple[str, str]]:
    """id -> (member, the index holding it) of the team's ready indexes; an id in two is
    an inconsistency, and so is the combined :ready an earlier version kept."""
    assert not await admin.exists(ready_key(team)), (team, "a combined :ready is left")
    found: dict[str, tuple[str, str]] = {}
    for key in ready_keys(team):
        for member in await _members(admin, key):
            cid = member.split(":", 1)[1]
            assert cid not in found, (cid, "in two ready indexes", found[cid][1], key)
            found[cid] = (member, key)
    return found


async def assert_consistent(admin: aioredis.Redis, *, settled: bool = True) -> dict[str, str]:
    """Every contact is in exactly one place, the one its records say; returns id -> state.

    A contact handed to a team has exactly one live entry (waiting, assigned, resolved or
    abandoned) and is in exactly that team's structures its state calls for; one never
    queued has no entry. With ``settled`` False a hand-over a crash cut off (a moving
    entry, or a pending enqueue) also counts, as the waiting contact a reader makes of it.
    """
    teams = sorted(str(team) for team in await admin.smembers(TEAMS_KEY))
    ready = {t: await _ready(admin, t) for t in teams}
    leased = {t: await _members(admin, leased_key(t)) for t in teams}
    queued = {t: await _members(admin, queued_key(t)) for t in teams}
    moving = {t: await _members(admin, moving_key(t)) for t in teams}
    entries: dict[str, dict[str, dict[str, str]]] = {}
    for team in teams:
        prefix = entry_prefix(team)
        async for key in admin.scan_iter(match=prefix + "*", count=500):
            entries.setdefault(str(key).removeprefix(prefix), {})[team] = _text(
                await admin.hgetall(key)
            )
    states: dict[str, str] = {}
    async for key in admin.scan_iter(match="{sb:c:*}:c:*", count=500):
        cid = str(key).split("}:c:", 1)[1]
        flow = _text(await admin.hgetall(key))
        mine = entries.pop(cid, {})
        live = [(t, e) for t, e in mine.items() if e["st"] in LIVE]
        halfway = [t for t, e in mine.items() if e["st"] == "moving"] or "qa" in flow
        if "q" not in flow:
            assert not mine, (cid, "never queued, yet has entries", mine)
            states[cid] = flow.get("st", "in_flow")
            continue
        if not live and not settled and halfway:
            assert not any(cid in ready[t] or cid in leased[t] for t in teams), cid
            states[cid] = "waiting"
            continue
        assert len(live) == 1, (cid, "needs exactly one live entry", mine)
        team, entry = live[0]
        state = states[cid] = entry["st"]
        homes = [(t, "ready") for t in teams if cid in ready[t]]
        homes += [(t, "leased") for t in teams if cid in leased[t]]
        if state == "waiting":
            assert homes == [(team, "ready")], (cid, state, homes)
            member, index = ready[team][cid]
            assert member == f"{int(entry['sq']):012d}:{cid}"
            assert index == ready_channel_key(team, entry.get("ch", "")), (cid, index, entry)
            score = float(entry["qa"]) - int(entry["pr"])
            assert await admin.zscore(index, member) == score
            assert [t for t in teams if cid in queued[t]] == [team]
        elif state == "assigned":
            assert homes == [(team, "leased")], (cid, state, homes)
            assert not any(cid in q for q in queued.values())
        else:
            assert homes == [], (cid, state, homes)
            assert not any(cid in q for q in queued.values())
        if settled:
            assert not any(cid in m for m in moving.values()), (cid, "still moving")
    assert not entries, ("queue entries without a contact", entries)
    members = set().union(*ready.values(), *leased.values(), *queued.values())
    assert members <= set(states), "queue members without a contact"
    return states


def _text(fields: Mapping[Any, Any]) -> dict[str, str]:
    """A hash as text (the admin client decodes responses)."""
    return {str(k): str(v) for k, v in fields.items()}
