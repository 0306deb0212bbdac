"""The Redis store: several router processes on several hosts share one Redis or one
Redis Cluster.

Every state transition is one Lua script on one hash tag (``queues/lua/``): a contact's
flow and history under its shard, its queue state under its team. The few hand-overs
between tags (an enqueue on a cluster, a transfer, an intake under an idempotency key) are
steps that whoever finds them half done completes, so a contact is in exactly one of
waiting, leased or done even when a process dies between two commands. Each transition
writes its event in the same script. Times come from the store's clock and reach the
scripts as arguments.

Key layout: ``redis_keys.py``; encodings: ``redis_codec.py``; connecting (one Redis or a
cluster): ``redis_cluster.py``; finding a contact's team and finishing hand-overs:
``redis_locate.py``; queue operations: ``redis_queue.py``; reads across tags:
``redis_history.py``; pub/sub: ``redis_pubsub.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Concatenate, ParamSpec, TypeVar

from queues.base import UPDATABLE_FIELDS, Clock
from queues.errors import ContactNotFound, InvalidTransition, StoreUnavailable
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
from queues.redis.cluster import Connection, connect
from queues.redis.codec import (
    FLOW_FIELDS,
    contact_fields,
    decode_contact,
    decode_message,
    encode_event,
    encode_field,
    encode_message,
    fmt_time,
    pairs,
)
from queues.redis.history import History, split_history
from queues.redis.keys import (
    CHANNEL_PREFIX,
    PRESENCE_KEY,
    address_key,
    all_key,
    contact_events_key,
    flow_key,
    history_key,
    hits_key,
    idempotency_key,
    keyed_key,
    session_key,
    shard_of,
)
from queues.redis.locate import Locator
from queues.redis.pubsub import Fanout
from queues.redis.queue import Queues
from queues.redis.scripts import UNAVAILABLE, Scripts, check, translated, unavailable

__all__ = ["RedisStore"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _operation(
    method: Callable[Concatenate[RedisStore, _P], Awaitable[_R]],
) -> Callable[Concatenate[RedisStore, _P], Coroutine[Any, Any, _R]]:
    """A store operation: waits for a connection slot (cluster mode) and turns an
    unreachable server into StoreUnavailable."""

    @functools.wraps(method)
    async def wrapper(self: RedisStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with self._connection.limit:
            try:
                return await method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                raise unavailable(exc) from exc

    return wrapper


class RedisStore:
    """Store Protocol on Redis or Redis Cluster: Lua scripts for transitions, pipelined
    reads for the rest."""

    def __init__(
        self, connection: Connection, *, clock: Clock | None = None, single_slot: bool = False
    ) -> None:
        self._connection = connection
        self._redis = connection.client
        self._clock = clock or now_s
        self._scripts = Scripts(self._redis)
        self._locator = Locator(self._redis, self._scripts)
        cluster = connection.cluster or single_slot
        self._queues = Queues(
            self._redis, self._scripts, self._locator, self._clock, cluster=cluster
        )
        self._history = History(self._redis, self._locator)
        self._fanout = Fanout(connection.pubsub)
        self._closed = False

    @classmethod
    async def open(
        cls, url: str, clock: Clock | None = None, *, single_slot: bool = False
    ) -> RedisStore:
        """Connect to ``redis://host:port/db`` (``?cluster=1`` for a Redis Cluster; without
        it the server says) and load the scripts. ``single_slot`` runs the cluster
        protocol (every script on one slot) on one Redis too, as tests do."""
        connection = await translated(connect)(url)
        store = cls(connection, clock=clock, single_slot=single_slot)
        try:
            await translated(store._scripts.load)()
        except BaseException:
            await connection.aclose()
            raise
        return store

    async def __aenter__(self) -> RedisStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        await self._fanout.aclose()
        await self._connection.aclose()

    @_operation
    async def ping(self) -> None:
        if self._closed:  # redis-py would quietly open a new connection
            raise StoreUnavailable("the redis store is closed; open it again")
        await self._redis.ping()

    # -- helpers -------------------------------------------------------------------------
    def _now(self) -> str:
        return fmt_time(self._clock())

    async def _with_queue(self, contact_id: str, flow: dict[str, str]) -> Contact:
        """The contact from its flow record, with its queue state when it was queued."""
        if "q" not in flow:
            return decode_contact(contact_id, flow)
        return await self._queues.contact(contact_id)

    # -- contacts and history ------------------------------------------------------------
    @_operation
    async def intake(self, contact: Contact, message: Message, *, key: str | None = None) -> Intake:
        cid, message_id = contact.id, message.id
        if key is not None:
            # The key's slot decides first: a key seen before names the contact and message
            # it was stored as (and a retry after a crash stores exactly that).
            mine = f"{cid} {message_id}"
            seen = await self._redis.set(idempotency_key(key), mine, nx=True, get=True)
            if seen is not None:
                cid, _, message_id = str(seen).partition(" ")
        stored = (
            message if message_id == message.id else dataclasses.replace(message, id=message_id)
        )
        shard = shard_of(cid)
        keys = [flow_key(cid), history_key(cid), keyed_key(cid), all_key(shard)]
        keys += [address_key(shard, contact.address), contact_events_key(cid)]
        args = [cid, self._now(), encode_message(stored), message_id, "" if key is None else "1"]
        reply = await self._scripts.run("intake", keys, args + contact_fields(contact))
        if reply[0] == "dup":
            flow = pairs(reply[2:])
            return Intake(await self._with_queue(cid, flow), decode_message(reply[1]), True)
        return Intake(await self._with_queue(cid, pairs(reply[1:])), stored, duplicate=False)

    @_operation
    async def append_message(self, contact_id: str, message: Message) -> None:
        kind = "message_sent" if message.direction is Direction.OUT else "message_received"
        keys = [flow_key(contact_id), history_key(contact_id), contact_events_key(contact_id)]
        args = [contact_id, self._now(), encode_message(message), message.id, kind]
        reply = await self._scripts.run("append_message", keys, [*args, message.author or ""])
        check(reply, contact_id, "append_message")

    @_operation
    async def get_contact(self, contact_id: str, *, messages: bool = True) -> Contact:
        found = await self._locator.find(contact_id, history=messages)
        if not found.flow:
            raise ContactNotFound(contact_id)
        stored = tuple(decode_message(m) for m in split_history(found.history)[0])
        return decode_contact(contact_id, found.flow, found.team, found.entry, stored)

    async def update_contact(self, contact_id: str, **changes: Any) -> Contact:
        return await self._update_contact(contact_id, changes)

    @_operation
    async def _update_contact(self, contact_id: str, changes: dict[str, Any]) -> Contact:
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
                to_delete.append(FLOW_FIELDS[name])
            else:
                to_set += [FLOW_FIELDS[name], encoded]
        args = [str(len(to_set) // 2), *to_set, *to_delete]
        reply = await self._scripts.run("update_contact", [flow_key(contact_id)], args)
        check(reply, contact_id, "update_contact")
        return await self._with_queue(contact_id, pairs(reply[1:]))

    @_operation
    async def close(self, contact_id: str, state: ContactState, *, reason: str = "") -> Contact:
        state = ContactState(state)
        keys = [flow_key(contact_id), history_key(contact_id), contact_events_key(contact_id)]
        final = "1" if state.is_final else "0"
        args = [contact_id, str(state), final, reason, self._now()]
        reply = await self._scripts.run("close", keys, args)
        if reply[0] == "queued":
            current = (await self._queues.contact(contact_id)).state
            raise InvalidTransition(contact_id, current, f"close as {state}")
        check(reply, contact_id, f"close as {state}")
        return decode_contact(contact_id, pairs(reply[1:]))

    @_operation
    async def list_contacts(
        self,
        *,
        channel: str | None = None,
        state: str | None = None,
        team: str | None = None,
        address: str | None = None,
        limit: int = 50,
    ) -> list[Contact]:
        return await self._history.list_contacts(
            channel=channel, state=state, team=team, address=address, limit=limit
        )

    @_operation
    async def add_event(self, event: Event) -> None:
        cid = event.contact_id
        keys = [flow_key(cid), history_key(cid), contact_events_key(cid)]
        check(await self._scripts.run("add_event", keys, encode_event(event)), cid, "add_event")

    @_operation
    async def events(self, contact_id: str) -> list[Event]:
        return (await self._history.events(contact_id))[0]

    @_operation
    async def list_events(
        self, *, since: float | None = None, kinds: Iterable[str] | None = None
    ) -> list[Event]:
        return await self._history.list_events(since=since, kinds=kinds)

    # -- queues --------------------------------------------------------------------------
    @_operation
    async def enqueue(self, contact_id: str, team: str, *, delay_s: int = 0) -> Contact:
        return await self._queues.enqueue(contact_id, team, delay_s)

    @_operation
    async def claim(self, teams: Sequence[str], agent: str, *, lease_s: float) -> Claim | None:
        return await self._queues.claim(teams, agent, lease_s)

    @_operation
    async def heartbeat(self, contact_id: str, agent: str, *, lease_s: float) -> Claim:
        return await self._queues.heartbeat(contact_id, agent, lease_s)

    @_operation
    async def ack(self, contact_id: str, agent: str, *, disposition: str | None = None) -> None:
        await self._queues.ack(contact_id, agent, disposition)

    @_operation
    async def release(self, contact_id: str, agent: str) -> None:
        await self._queues.release(contact_id, agent)

    @_operation
    async def transfer(
        self,
        contact_id: str,
        team: str,
        *,
        agent: str | None = None,
        delay_s: int | None = None,
    ) -> None:
        await self._queues.transfer(contact_id, team, agent, delay_s)

    @_operation
    async def remove(self, contact_id: str) -> None:
        await self._queues.remove(contact_id)

    @_operation
    async def requeue_expired(self) -> list[str]:
        return await self._queues.requeue_expired()

    @_operation
    async def position(self, contact_id: str) -> Position | None:
        return await self._queues.position(contact_id)

    @_operation
    async def queue_stats(self, teams: Sequence[str]) -> list[QueueStats]:
        return await self._queues.queue_stats(teams)

    # -- sessions ------------------------------------------------------------------------
    async def get_session(self, key: str) -> dict[str, Any] | None:
        return (await self.get_session_tagged(key))[0]

    @_operation
    async def get_session_tagged(self, key: str) -> tuple[dict[str, Any] | None, str]:
        raw = await self._redis.get(session_key(key))
        if raw is None:
            return None, ""
        stored = json.loads(raw)
        if stored["x"] <= self._clock():
            return None, ""
        data: dict[str, Any] = stored["d"]
        return data, str(stored.get("t", ""))

    @_operation
    async def put_session(self, key: str, data: dict[str, Any], *, ttl_s: float) -> None:
        if ttl_s <= 0:
            await self._redis.delete(session_key(key))
            return
        raw, px = self._session_value(data, ttl_s)
        await self._redis.set(session_key(key), raw, px=px)

    @_operation
    async def put_session_if(
        self, key: str, data: dict[str, Any], *, tag: str, ttl_s: float
    ) -> bool:
        raw, px = self._session_value(data, max(ttl_s, 0.001))
        args = [tag, repr(self._clock()), raw, str(px)]
        reply = await self._scripts.run("put_session_if", [session_key(key)], args)
        return bool(reply[0] == "ok")

    def _session_value(self, data: dict[str, Any], ttl_s: float) -> tuple[str, int]:
        # Expiry is checked against the store's clock; the PX ttl only reclaims memory.
        stored = {"x": round(self._clock() + ttl_s, 6), "t": uuid.uuid4().hex, "d": data}
        return json.dumps(stored, ensure_ascii=False), max(1, math.ceil(ttl_s * 1000))

    @_operation
    async def delete_session(self, key: str) -> None:
        await self._redis.delete(session_key(key))

    # -- presence (one hash: agent -> JSON record) ---------------------------------------
    @_operation
    async def put_presence(self, agent: str, record: dict[str, Any]) -> None:
        await self._redis.hset(PRESENCE_KEY, agent, json.dumps(record, ensure_ascii=False))

    @_operation
    async def get_presence(self, agent: str) -> dict[str, Any] | None:
        raw = await self._redis.hget(PRESENCE_KEY, agent)
        record: dict[str, Any] | None = json.loads(raw) if raw is not None else None
        return record

    @_operation
    async def all_presence(self) -> dict[str, dict[str, Any]]:
        found = await self._redis.hgetall(PRESENCE_KEY)
        return {str(agent): json.loads(raw) for agent, raw in found.items()}

    # -- hit counters (one script on the key's own slot) ---------------------------------
    @_operation
    async def record_hit(self, key: str, *, window_s: float, ttl_s: float) -> int:
        now = self._clock()
        ttl_ms = str(max(1, math.ceil(ttl_s * 1000)))
        args = [fmt_time(now), uuid.uuid4().hex, repr(now - window_s), ttl_ms]
        reply = await self._scripts.run("record_hit", [hits_key(key)], args)
        return int(check(reply, key, "record_hit")[1])

    @_operation
    async def hits(self, key: str, *, window_s: float) -> list[float]:
        cutoff = f"({self._clock() - window_s!r}"
        found = await self._redis.zrangebyscore(hits_key(key), cutoff, "+inf", withscores=True)
        return [float(pair[1]) for pair in found]

    @_operation
    async def clear_hits(self, key: str) -> None:
        await self._redis.delete(hits_key(key))

    # -- pub/sub -------------------------------------------------------------------------
    @_operation
    async def publish(self, channel: str, payload: str) -> None:
        await self._redis.publish(CHANNEL_PREFIX + channel, payload)

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]:
        return self._fanout.subscribe(CHANNEL_PREFIX + channel)
