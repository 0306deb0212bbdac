"""The Redis store: several router processes on several hosts share one Redis.

Every state transition is one Lua script (``queues/lua/``), so a contact is in exactly one
of waiting, leased or done even when a process dies between two commands, and each
transition writes its event in the same script. Times come from the store's clock and
reach the scripts as arguments. Key layout and encodings: ``queues/redis_keys.py``.

Running the scripts (and how a script learns a contact's team keys): ``redis_scripts.py``.
Pub/sub shares one connection per store: ``redis_pubsub.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from queues.base import UPDATABLE_FIELDS, Clock, ContactNotFound
from queues.models import (
    Claim,
    Contact,
    ContactState,
    Direction,
    Event,
    Intake,
    Message,
    Position,
    QueueStats,
    now_s,
)
from queues.redis_keys import (
    CHANNEL_PREFIX,
    CONTACT_EVENTS_PREFIX,
    CONTACT_PREFIX,
    CONTACTS_KEY,
    EVENTS_KEY,
    FIELDS,
    SEQ_KEY,
    TEAMS_KEY,
    address_key,
    contact_events_key,
    contact_fields,
    contact_key,
    decode_contact,
    decode_event,
    decode_message,
    encode_event,
    encode_field,
    encode_message,
    fmt_time,
    history_keys,
    intake_key,
    leased_key,
    messages_key,
    pairs,
    queued_key,
    ready_key,
    session_key,
)
from queues.redis_pubsub import Fanout
from queues.redis_scripts import Scripts, check, translated

__all__ = ["RedisStore"]

_PAGE = 256  # contacts or events read per round trip when scanning
_MAX_CONNECTIONS = 50
_POOL_WAIT_S = 20.0  # a burst waits this long for a pooled connection


class RedisStore:
    """Store Protocol on Redis: Lua scripts for transitions, plain reads for the rest."""

    def __init__(self, client: Redis, *, clock: Clock | None = None) -> None:
        self._redis = client
        self._clock = clock or now_s
        self._scripts = Scripts(client)
        self._fanout = Fanout(client)

    @classmethod
    async def open(cls, url: str, clock: Clock | None = None) -> RedisStore:
        """Connect to ``redis://host:port/db`` and load the scripts."""
        # No automatic retries: a script resent after a timeout could run twice.
        pool = BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=5,
            socket_timeout=10,
            max_connections=_MAX_CONNECTIONS,
            timeout=_POOL_WAIT_S,
        )
        client = Redis.from_pool(pool)
        store = cls(client, clock=clock)
        try:
            await translated(store._scripts.load)()
        except BaseException:
            await client.aclose()
            raise
        return store

    async def __aenter__(self) -> RedisStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._fanout.aclose()
        await self._redis.aclose()

    @translated
    async def ping(self) -> None:
        await self._redis.ping()

    # -- helpers -------------------------------------------------------------------------
    def _now(self) -> str:
        return fmt_time(self._clock())

    async def _contacts(self, ids: Sequence[str]) -> list[Contact]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for contact_id in ids:
                pipe.hgetall(contact_key(contact_id))
            rows = await pipe.execute()
        return [decode_contact(cid, row) for cid, row in zip(ids, rows, strict=True) if row]

    # -- contacts and history ------------------------------------------------------------
    @translated
    async def intake(self, contact: Contact, message: Message, *, key: str | None = None) -> Intake:
        cid = contact.id
        keys = [*history_keys(cid), messages_key(cid), CONTACTS_KEY, address_key(contact.address)]
        if key is not None:
            keys.append(intake_key(key))
        args = [cid, self._now(), encode_message(message), message.id, *contact_fields(contact)]
        reply = await self._scripts.run("intake", keys, args)
        if reply[0] == "dup":
            index, _, original = str(reply[1]).partition(":")
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(contact_key(original))
                pipe.lindex(messages_key(original), int(index))
                fields, raw = await pipe.execute()
            return Intake(decode_contact(original, fields), decode_message(raw), duplicate=True)
        return Intake(decode_contact(cid, pairs(reply[1:])), message, duplicate=False)

    @translated
    async def append_message(self, contact_id: str, message: Message) -> None:
        kind = "message_sent" if message.direction is Direction.OUT else "message_received"
        keys = [*history_keys(contact_id), messages_key(contact_id)]
        args = [contact_id, self._now(), encode_message(message), message.id, kind]
        check(await self._scripts.run("append_message", keys, args), contact_id, "append_message")

    @translated
    async def get_contact(self, contact_id: str, *, messages: bool = True) -> Contact:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(contact_key(contact_id))
            if messages:
                pipe.lrange(messages_key(contact_id), 0, -1)
            fields, *raw = await pipe.execute()
        if not fields:
            raise ContactNotFound(contact_id)
        stored = tuple(decode_message(m) for m in raw[0]) if raw else ()
        return decode_contact(contact_id, fields, stored)

    @translated
    async def update_contact(self, contact_id: str, **changes: Any) -> Contact:
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(
                f"cannot update {sorted(unknown)}; only {sorted(UPDATABLE_FIELDS)} change "
                "this way, queue fields change through queue operations"
            )
        to_set: list[str] = []
        to_delete: list[str] = []
        for name, value in changes.items():
            encoded = encode_field(name, value)
            if encoded is None:
                to_delete.append(FIELDS[name])
            else:
                to_set += [FIELDS[name], encoded]
        args = [str(len(to_set) // 2), *to_set, *to_delete]
        reply = await self._scripts.run("update_contact", [contact_key(contact_id)], args)
        check(reply, contact_id, "update_contact")
        return decode_contact(contact_id, pairs(reply[1:]))

    @translated
    async def close(self, contact_id: str, state: ContactState, *, reason: str = "") -> Contact:
        state = ContactState(state)
        keys = history_keys(contact_id)
        final = "1" if state.is_final else "0"
        args = [contact_id, str(state), final, reason, self._now()]
        reply = check(await self._scripts.run("close", keys, args), contact_id, f"close as {state}")
        return decode_contact(contact_id, pairs(reply[1:]))

    @translated
    async def list_contacts(
        self,
        *,
        channel: str | None = None,
        state: str | None = None,
        team: str | None = None,
        address: str | None = None,
        limit: int = 50,
    ) -> list[Contact]:
        # Newest first: ZREVRANGE orders by created_at, then id, both descending.
        index = CONTACTS_KEY if address is None else address_key(address)
        found: list[Contact] = []
        start = 0
        while len(found) < limit:
            ids = [str(i) for i in await self._redis.zrevrange(index, start, start + _PAGE - 1)]
            if not ids:
                break
            start += len(ids)
            for contact in await self._contacts(ids):
                if (
                    (channel is None or contact.channel == channel)
                    and (state is None or contact.state == state)
                    and (team is None or contact.team == team)
                    and (address is None or contact.address == address)
                ):
                    found.append(contact)
        return found[:limit]

    @translated
    async def add_event(self, event: Event) -> None:
        cid = event.contact_id
        keys = history_keys(cid)
        args = encode_event(event)
        check(await self._scripts.run("add_event", keys, args), cid, "add_event")

    @translated
    async def events(self, contact_id: str) -> list[Event]:
        keys = history_keys(contact_id)
        reply = check(await self._scripts.run("events", keys, []), contact_id, "events")
        return [decode_event(pairs(entry)) for entry in reply[1:]]

    @translated
    async def list_events(
        self, *, since: float | None = None, kinds: Iterable[str] | None = None
    ) -> list[Event]:
        wanted = set(kinds) if kinds is not None else None
        # A stream id is never below its event's time, so starting at `since` misses
        # nothing; the exact filter is on the event's own time.
        start = "-" if since is None else str(math.floor(since * 1000))
        found: list[Event] = []
        while True:
            entries = cast(
                list[tuple[str, dict[str, str]]],
                await self._redis.xrange(EVENTS_KEY, start, "+", count=_PAGE),
            )
            for _entry_id, fields in entries:
                event = decode_event(fields)
                if since is not None and event.at < since:
                    continue
                if wanted is None or event.kind in wanted:
                    found.append(event)
            if len(entries) < _PAGE:
                return found
            start = "(" + entries[-1][0]

    # -- queues --------------------------------------------------------------------------
    @translated
    async def enqueue(self, contact_id: str, team: str, *, delay_s: int = 0) -> Contact:
        _check_team(team)
        keys = [*history_keys(contact_id), SEQ_KEY, TEAMS_KEY, ready_key(team), queued_key(team)]
        args = [contact_id, team, str(int(delay_s)), self._now()]
        reply = check(await self._scripts.run("enqueue", keys, args), contact_id, "enqueue")
        self._scripts.remember(contact_id, team)
        return decode_contact(contact_id, pairs(reply[1:]))

    @translated
    async def claim(self, teams: Sequence[str], agent: str, *, lease_s: float) -> Claim | None:
        unique = list(dict.fromkeys(teams))
        if not unique:
            return None
        now = self._clock()
        lease_until = fmt_time(now + lease_s)
        keys = [EVENTS_KEY]
        for team in unique:
            keys += [ready_key(team), leased_key(team), queued_key(team)]
        args = [agent, fmt_time(now), lease_until, CONTACT_PREFIX, CONTACT_EVENTS_PREFIX]
        reply = await self._scripts.run("claim", keys, args + unique)
        if reply[0] == "empty":
            return None
        _, cid, team, queued_at, priority = reply
        self._scripts.remember(cid, team)
        score = round(float(queued_at) - int(priority), 6)
        return Claim(cid, team, agent, float(lease_until), score)

    @translated
    async def heartbeat(self, contact_id: str, agent: str, *, lease_s: float) -> Claim:
        lease_until = fmt_time(self._clock() + lease_s)

        def build(team: str) -> tuple[list[str], list[str]]:
            keys = [contact_key(contact_id), leased_key(team)]
            return keys, [contact_id, agent, lease_until, team]

        reply = await self._scripts.run_in_team("heartbeat", contact_id, build)
        _, team, queued_at, priority = check(reply, contact_id, "heartbeat", agent)
        score = round(float(queued_at) - int(priority), 6)
        return Claim(contact_id, team, agent, float(lease_until), score)

    @translated
    async def ack(self, contact_id: str, agent: str, *, disposition: str | None = None) -> None:
        now = self._now()

        def build(team: str) -> tuple[list[str], list[str]]:
            keys = history_keys(contact_id)
            args = [contact_id, agent, now, team]
            if disposition is not None:
                args.append(disposition)
            return [*keys, leased_key(team)], args

        reply = await self._scripts.run_in_team("ack", contact_id, build)
        check(reply, contact_id, "resolve", agent)
        self._scripts.forget(contact_id)

    @translated
    async def release(self, contact_id: str, agent: str) -> None:
        now = self._now()

        def build(team: str) -> tuple[list[str], list[str]]:
            keys = history_keys(contact_id)
            keys += [ready_key(team), leased_key(team), queued_key(team)]
            return keys, [contact_id, agent, now, team]

        reply = await self._scripts.run_in_team("release", contact_id, build)
        check(reply, contact_id, "release", agent)

    @translated
    async def transfer(
        self,
        contact_id: str,
        team: str,
        *,
        agent: str | None = None,
        delay_s: int | None = None,
    ) -> None:
        _check_team(team)
        now = self._now()

        def build(old: str) -> tuple[list[str], list[str]]:
            keys = history_keys(contact_id)
            keys += [TEAMS_KEY, ready_key(old), leased_key(old), queued_key(old)]
            keys += [ready_key(team), queued_key(team)]
            args = [contact_id, team, old, now, agent or ""]
            if delay_s is not None:
                args.append(str(int(delay_s)))
            return keys, args

        reply = await self._scripts.run_in_team("transfer", contact_id, build)
        check(reply, contact_id, "transfer", agent or "")
        self._scripts.remember(contact_id, team)

    @translated
    async def remove(self, contact_id: str) -> None:
        now = self._now()

        def build(team: str) -> tuple[list[str], list[str]]:
            keys = history_keys(contact_id)
            return [*keys, ready_key(team), queued_key(team)], [contact_id, now, team]

        reply = await self._scripts.run_in_team("remove", contact_id, build)
        check(reply, contact_id, "remove")
        self._scripts.forget(contact_id)

    @translated
    async def requeue_expired(self) -> list[str]:
        now = self._clock()
        teams = sorted(str(team) for team in await self._redis.smembers(TEAMS_KEY))
        async with self._redis.pipeline(transaction=False) as pipe:
            for team in teams:
                pipe.zrangebyscore(leased_key(team), "-inf", fmt_time(now), withscores=True)
            found = await pipe.execute()
        expired = sorted(
            (lease_until, cid, team)
            for team, rows in zip(teams, found, strict=True)
            for cid, lease_until in rows
        )
        done: list[str] = []
        for start in range(0, len(expired), _PAGE):
            keys = [EVENTS_KEY]
            args = [fmt_time(now)]
            for _lease_until, cid, team in expired[start : start + _PAGE]:
                keys += [contact_key(cid), contact_events_key(cid)]
                keys += [ready_key(team), leased_key(team), queued_key(team)]
                args += [cid, team]
            done += [str(cid) for cid in await self._scripts.run("requeue_expired", keys, args)]
        return done

    @translated
    async def position(self, contact_id: str) -> Position | None:
        row = await self._redis.hmget(contact_key(contact_id), ["st", "tm", "sq"])
        state, team, seq = (None if value is None else str(value) for value in row)
        if state is None:
            raise ContactNotFound(contact_id)
        if state != ContactState.WAITING or team is None or seq is None:
            return None
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrank(ready_key(team), f"{seq}:{contact_id}")
            pipe.zcard(ready_key(team))
            ahead, waiting = await pipe.execute()
        if ahead is None:  # claimed or moved since the first read
            return None
        return Position(team, ahead=int(ahead), waiting=int(waiting))

    @translated
    async def queue_stats(self, teams: Sequence[str]) -> list[QueueStats]:
        async with self._redis.pipeline(transaction=True) as pipe:
            for team in teams:
                pipe.zcard(ready_key(team))
                pipe.zcard(leased_key(team))
                pipe.zrange(queued_key(team), 0, 0, withscores=True)
            rows = await pipe.execute()
        now = self._clock()
        stats = []
        for i, team in enumerate(teams):
            waiting, assigned, oldest = rows[3 * i : 3 * i + 3]
            oldest_wait_s = round(now - oldest[0][1], 6) if oldest else None
            stats.append(QueueStats(team, int(waiting), int(assigned), oldest_wait_s))
        return stats

    # -- sessions ------------------------------------------------------------------------
    @translated
    async def get_session(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(session_key(key))
        if raw is None:
            return None
        stored = json.loads(raw)
        if stored["x"] <= self._clock():
            return None
        data: dict[str, Any] = stored["d"]
        return data

    @translated
    async def put_session(self, key: str, data: dict[str, Any], *, ttl_s: float) -> None:
        if ttl_s <= 0:
            await self._redis.delete(session_key(key))
            return
        # Expiry is checked against the store's clock; the PX ttl only reclaims memory.
        raw = json.dumps({"x": round(self._clock() + ttl_s, 6), "d": data}, ensure_ascii=False)
        await self._redis.set(session_key(key), raw, px=max(1, math.ceil(ttl_s * 1000)))

    @translated
    async def delete_session(self, key: str) -> None:
        await self._redis.delete(session_key(key))

    # -- pub/sub -------------------------------------------------------------------------
    @translated
    async def publish(self, channel: str, payload: str) -> None:
        await self._redis.publish(CHANNEL_PREFIX + channel, payload)

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]:
        return self._fanout.subscribe(CHANNEL_PREFIX + channel)


def _check_team(team: str) -> None:
    if not team or not isinstance(team, str):
        raise ValueError(f"team {team!r} is not a team name; pass a non-empty string")
