"""A turn (``queues/turns.py``) on one Redis: one script, ``lua/turn.lua``, one round trip.

The session and the idempotency key live outside the contact's shard, so on a Redis
Cluster no one script may touch them all: there the store applies a turn step by step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from queues.base import Clock
from queues.redis.codec import contact_fields, decode_contact, fmt_time, pairs
from queues.redis.idem import short_value
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
    lock_key,
    session_key,
    shard_of,
)
from queues.redis.messages import encode_message
from queues.redis.scripts import Scripts
from queues.redis.texts import Texts
from queues.turns import Turn, TurnOutcome, TurnResult

__all__ = ["run_turn"]

SessionValue = Callable[[str, dict[str, Any], float], tuple[str, int, str]]


async def run_turn(
    scripts: Scripts, texts: Texts, clock: Clock, session_value: SessionValue, turn: Turn
) -> TurnResult:
    contact, message = turn.contact, turn.message
    cid, now = contact.id, clock()
    shard = shard_of(cid)
    keys = [flow_key(cid), history_key(cid), keyed_key(cid), all_key(shard, contact.channel)]
    keys += [address_key(shard, contact.address), contact_events_key(cid)]
    keys += [contact_buckets_key(cid, now), account_prefix(shard), session_key(turn.session_key)]
    keys.append(lock_key(turn.lock) if turn.lock is not None else "")
    field, value, short, where = "", "", "", ""
    if turn.key is not None:
        where, last = idempotency_key(turn.key)
        field, value = last or "", f"{cid} {message.id}"
        short = short_value(cid, message.id)
    keys += [where, *(session_key(key) for key, _ in turn.unchanged)]
    raw, px, tag = session_value(turn.session_key, turn.session, turn.session_ttl_s)
    said = [encode_message(m, await texts.keep(m), cid) for m in turn.said]
    args = [cid, fmt_time(now), encode_message(message, None, cid), message.id]
    args += ["" if turn.key is None else "1", turn.session_tag, raw, str(px)]
    args += [field, value, short, str(int(IDEMPOTENCY_TTL_S * 1000)), "1" if turn.new else "0"]
    args += [turn.language or "", str(len(said)), str(len(turn.unchanged)), *said]
    args += [tag for _, tag in turn.unchanged]
    if turn.new:
        args += contact_fields(contact)
    reply = await scripts.run("turn", keys, args)
    if reply[0] != "ok":
        return TurnResult(TurnOutcome(reply[0]))
    return TurnResult(TurnOutcome.APPLIED, decode_contact(cid, pairs(reply[1:])), tag)
