"""The Redis store: several router processes on several hosts share one Redis or one
Redis Cluster.

Every state transition is one Lua script on one hash tag (``queues/redis/lua/``): a
contact's flow and history under its shard, its queue state under its team. The few
hand-overs between tags (an enqueue on a cluster, a transfer, an intake under an
idempotency key) are steps that whoever finds them half done completes, so a contact is in
exactly one of waiting, leased or done even when a process dies between two commands. Each
transition writes its event in the same script. Times come from the store's clock and reach
the scripts as arguments.

Key layout: ``keys.py``; encodings: ``codec.py``; connecting (one Redis or a cluster):
``cluster.py``; finding a contact's team and finishing hand-overs: ``locate.py``; queue
operations: ``queue.py``; reads across tags: ``history.py``; contacts by account, notes and
tags: ``timeline.py``; sessions, presence, hit counters and publishing: ``keyed.py``; the
subscriber connection: ``pubsub.py``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

from queues.base import Clock, check_updatable
from queues.buckets import RECENT_HANDLES, Bucket
from queues.capacity import Capacity
from queues.errors import ContactNotFound, InvalidTransition, StoreUnavailable
from queues.models import (
    Claim,
    Contact,
    ContactState,
    Event,
    Intake,
    Message,
    Position,
    QueueStats,
)
from queues.redis.buckets import Aggregates
from queues.redis.capacity import Capacities
from queues.redis.cluster import Connection, connect, operation
from queues.redis.codec import (
    contact_fields,
    decode_contact,
    encode_event,
    flow_changes,
    fmt_time,
    meta_fields,
    pairs,
)
from queues.redis.erase import EraseRedis
from queues.redis.history import History, split_history
from queues.redis.idem import short_value, stored_as
from queues.redis.keyed import KeyedRedis
from queues.redis.keys import (
    IDEMPOTENCY_TTL_S,
    account_prefix,
    address_key,
    all_key,
    contact_buckets_key,
    contact_events_key,
    flow_key,
    history_key,
    idempotency_key,
    keyed_key,
    shard_of,
)
from queues.redis.locate import Locator
from queues.redis.messages import encode_message, message_probe
from queues.redis.outbox import OutboxRedis
from queues.redis.outcomes import Outcomes
from queues.redis.queue import Queues
from queues.redis.ready import Ready
from queues.redis.scripts import check, translated
from queues.redis.timeline import TimelineRedis
from queues.redis.turn import run_turn
from queues.redis.windows import WindowsRedis
from queues.turns import Turn, TurnResult, apply_in_steps
from queues.updates import META_MERGE

__all__ = ["RedisStore"]


class RedisStore(KeyedRedis, OutboxRedis, WindowsRedis, EraseRedis, TimelineRedis):
    """Store Protocol on Redis or Redis Cluster: Lua scripts for transitions, pipelined
    reads for the rest."""

    def __init__(
        self, connection: Connection, *, clock: Clock | None = None, single_slot: bool = False
    ) -> None:
        super().__init__(connection, clock=clock)
        self._locator = Locator(self._redis, self._scripts)
        cluster = connection.cluster or single_slot
        self._cluster = cluster
        self._ready = Ready(self._redis, self._scripts, self._locator, self._clock)
        self._queues = Queues(
            self._redis, self._scripts, self._locator, self._clock, self._ready, cluster=cluster
        )
        self._history = History(self._redis, self._locator, self._scripts, self._texts)
        self._aggregates = Aggregates(self._redis)
        self._capacities = Capacities(
            self._redis, self._scripts, self._locator, self._queues, self._clock
        )
        self._outcomes = Outcomes(self._locator, self._clock)
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

    @operation
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
    @operation
    async def intake(self, contact: Contact, message: Message, *, key: str | None = None) -> Intake:
        cid, message_id = contact.id, message.id
        keyed = ""
        if key is not None:
            # The key's slot decides first: a key seen before names the contact and message
            # it was stored as (and a retry after a crash stores exactly that).
            seen = await self._claim_key(key, cid, message_id)
            keyed = "1" if seen is None else "2"
            if seen is not None:
                cid, message_id = seen
        stored = (
            message if message_id == message.id else dataclasses.replace(message, id=message_id)
        )
        shard, now = shard_of(cid), self._clock()
        keys = [flow_key(cid), history_key(cid), keyed_key(cid), all_key(shard, contact.channel)]
        keys += [address_key(shard, contact.address), contact_events_key(cid)]
        keys += [contact_buckets_key(cid, now), account_prefix(shard)]
        encoded = encode_message(stored, None, cid)
        args = [cid, fmt_time(now), encoded, message_id, keyed, *message_probe(message_id, cid)]
        reply = await self._scripts.run("intake", keys, args + contact_fields(contact))
        if reply[0] == "dup":
            flow = pairs(reply[2:])
            first = (await self._texts.messages([reply[1]], cid))[0]
            return Intake(await self._with_queue(cid, flow), first, True)
        return Intake(await self._with_queue(cid, pairs(reply[1:])), stored, duplicate=False)

    async def apply_turn(self, turn: Turn) -> TurnResult:
        if self._cluster:
            return await apply_in_steps(self, turn)
        return await self._turn(turn)

    @operation
    async def _turn(self, turn: Turn) -> TurnResult:
        return await run_turn(
            self._scripts, self._texts, self._locator, self._clock, self._tagged_value, turn
        )

    async def _claim_key(
        self, key: str, contact_id: str, message_id: str
    ) -> tuple[str, str] | None:
        """Store the contact and message under an idempotency key unless the key is there:
        None, or the contact and message it names (``idem.py``)."""
        where, field = idempotency_key(key)
        full = f"{contact_id} {message_id}"
        if field is None:
            ttl_s = IDEMPOTENCY_TTL_S
            seen = await self._redis.set(where, full, nx=True, get=True, ex=ttl_s)
            return None if seen is None else stored_as(str(seen), "")
        short, ttl = short_value(contact_id, message_id), str(IDEMPOTENCY_TTL_S * 1000)
        args = [field, contact_id, short, full, ttl]
        reply = await self._scripts.run("claim_key", [where], args)
        return stored_as(str(reply[0]), str(reply[1])) if reply else None

    @operation
    async def append_message(self, contact_id: str, message: Message) -> None:
        keys = [flow_key(contact_id), history_key(contact_id)]
        encoded = encode_message(message, await self._texts.keep(message), contact_id)
        reply = await self._scripts.run("append_message", keys, [encoded])
        check(reply, contact_id, "append_message")

    @operation
    async def get_contact(self, contact_id: str, *, messages: bool = True) -> Contact:
        found = await self._locator.find(contact_id, history=messages)
        if not found.flow:
            raise ContactNotFound(contact_id)
        stored = tuple(await self._texts.messages(split_history(found.history)[0], contact_id))
        return decode_contact(contact_id, found.flow, found.team, found.entry, stored)

    async def update_contact(self, contact_id: str, **changes: Any) -> Contact:
        return await self._update_contact(contact_id, changes)

    @operation
    async def _update_contact(self, contact_id: str, changes: dict[str, Any]) -> Contact:
        check_updatable(changes)
        to_set, to_delete = flow_changes(changes)
        keys = [flow_key(contact_id), account_prefix(shard_of(contact_id))]
        # A merge into the meta of an earlier version's record (one JSON, 'mt') splits it
        # into m:<key> fields first, from the 'mt' the script answers (it changes only once).
        guard = "-" if META_MERGE in changes else ""
        split: list[str] = []
        for _ in range(2):
            args = [guard, str(len(split) // 2), *split, str(len(to_set) // 2), *to_set]
            reply = await self._scripts.run("update_contact", keys, [*args, *to_delete])
            if reply[0] != "legacy":
                break
            guard, split = str(reply[1]), meta_fields(json.loads(reply[1]))
        check(reply, contact_id, "update_contact")
        return await self._with_queue(contact_id, pairs(reply[1:]))

    @operation
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

    @operation
    async def list_contacts(
        self,
        *,
        channel: str | None = None,
        state: str | None = None,
        team: str | None = None,
        address: str | None = None,
        limit: int = 50,
        account: str | None = None,
    ) -> list[Contact]:
        if account is not None:
            await self._index_accounts()  # once: what an earlier version kept (timeline.py)
        return await self._history.list_contacts(
            channel=channel, state=state, team=team, address=address, limit=limit, account=account
        )

    @operation
    async def add_event(self, event: Event) -> None:
        cid = event.contact_id
        keys = [flow_key(cid), history_key(cid), contact_events_key(cid)]
        check(await self._scripts.run("add_event", keys, encode_event(event)), cid, "add_event")

    @operation
    async def events(self, contact_id: str) -> list[Event]:
        return (await self._history.events(contact_id))[0]

    @operation
    async def list_events(
        self, *, since: float | None = None, kinds: Iterable[str] | None = None
    ) -> list[Event]:
        return await self._history.list_events(since=since, kinds=kinds)

    # -- queues --------------------------------------------------------------------------
    @operation
    async def enqueue(self, contact_id: str, team: str, *, delay_s: int = 0) -> Contact:
        return await self._queues.enqueue(contact_id, team, delay_s)

    @operation
    async def claim(
        self,
        teams: Sequence[str],
        agent: str,
        *,
        lease_s: float,
        capacity: Capacity | None = None,
    ) -> Claim | None:
        if capacity is None:
            return await self._queues.claim(teams, agent, lease_s)
        return await self._capacities.claim(teams, agent, lease_s, capacity)

    @operation
    async def agent_load(self, agent: str, *, wrap_up_s: float = 0.0) -> dict[str, int]:
        return await self._capacities.load(agent, wrap_up_s)

    @operation
    async def heartbeat(self, contact_id: str, agent: str, *, lease_s: float) -> Claim:
        return await self._queues.heartbeat(contact_id, agent, lease_s)

    @operation
    async def ack(
        self,
        contact_id: str,
        agent: str,
        *,
        disposition: str | None = None,
        wrap_s: float = 0.0,
    ) -> None:
        await self._queues.ack(contact_id, agent, disposition, wrap_s)

    @operation
    async def release(self, contact_id: str, agent: str) -> None:
        await self._queues.release(contact_id, agent)

    @operation
    async def transfer(
        self,
        contact_id: str,
        team: str,
        *,
        agent: str | None = None,
        delay_s: int | None = None,
    ) -> None:
        await self._queues.transfer(contact_id, team, agent, delay_s)

    @operation
    async def remove(self, contact_id: str) -> None:
        await self._queues.remove(contact_id)

    @operation
    async def requeue_expired(self) -> list[str]:
        return await self._queues.requeue_expired()

    @operation
    async def position(self, contact_id: str) -> Position | None:
        return await self._ready.position(contact_id)

    @operation
    async def waiting_order(self, team: str) -> list[str]:
        return await self._ready.waiting_order(team)

    @operation
    async def queue_stats(self, teams: Sequence[str]) -> list[QueueStats]:
        return await self._ready.queue_stats(teams)

    # -- surveys and first-contact resolution --------------------------------------------
    @operation
    async def record_survey(self, contact_id: str, *, score: int | None = None) -> bool:
        return await self._outcomes.record_survey(contact_id, score)

    @operation
    async def fcr_resolved(self, contact_id: str, account: str, *, within_s: float) -> bool:
        return await self._outcomes.fcr(contact_id, account, "resolved", within_s)

    @operation
    async def fcr_arrived(self, contact_id: str, account: str, *, within_s: float) -> bool:
        return await self._outcomes.fcr(contact_id, account, "arrived", within_s)

    # -- running aggregates ------------------------------------------------------------
    @operation
    async def minute_buckets(
        self, teams: Sequence[str], *, since: float, until: float
    ) -> list[Bucket]:
        return await self._aggregates.minute_buckets(teams, since=since, until=until)

    @operation
    async def handle_times(
        self, team: str, *, since: float, limit: int = RECENT_HANDLES
    ) -> list[float]:
        return await self._aggregates.handle_times(team, since=since, limit=limit)
