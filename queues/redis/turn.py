"""A turn (``queues/turns.py``) on one Redis: one script, ``lua/turn.lua``, one round trip,
its enqueue (``TurnEnqueue``) included: the script checks and marks the flow record and
writes the team's entry, as ``enqueue.lua`` does on one Redis.

The session and the idempotency key live outside the contact's shard, and the queue under
the team's tag, so on a Redis Cluster no one script may touch them all: there the store
applies a turn step by step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from queues.base import Clock, check_updatable
from queues.models import Position
from queues.redis.codec import contact_fields, decode_contact, flow_changes, fmt_time, pairs
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
    team_buckets_key,
)
from queues.redis.locate import Locator, team_keys
from queues.redis.messages import encode_message
from queues.redis.queue import check_team
from queues.redis.scripts import Scripts
from queues.redis.texts import Texts
from queues.turns import Turn, TurnEnqueue, TurnOutcome, TurnResult

__all__ = ["run_turn"]

SessionValue = Callable[[str, dict[str, Any], float], tuple[str, int, str]]


async def run_turn(
    scripts: Scripts,
    texts: Texts,
    locator: Locator,
    clock: Clock,
    session_value: SessionValue,
    turn: Turn,
) -> TurnResult:
    contact, message, queue = turn.contact, turn.message, turn.enqueue
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
    queueing: list[str] = []
    if queue is not None:
        check_team(queue.team)
        await locator.add_team(queue.team)
        keys += [*team_keys(queue.team, cid), team_buckets_key(queue.team, now)]
        queueing = _enqueue_args(queue)
    said = [encode_message(m, await texts.keep(m), cid) for m in turn.said]
    raw, px, tag = "", 0, ""
    if turn.session is not None:  # after the prompts: it keeps them as they are kept
        raw, px, tag = session_value(turn.session_key, turn.session, turn.session_ttl_s)
    args = [cid, fmt_time(now), encode_message(message, None, cid), message.id]
    args += ["" if turn.key is None else "1", turn.session_tag, raw, str(px)]
    args += [field, value, short, str(int(IDEMPOTENCY_TTL_S * 1000)), "1" if turn.new else "0"]
    args += [turn.language or "", str(len(said)), str(len(turn.unchanged)), str(len(queueing))]
    args += [*said, *(tag for _, tag in turn.unchanged), *queueing]
    if turn.new:
        args += contact_fields(contact)
    reply = await scripts.run("turn", keys, args)
    if reply[0] != "ok":
        return TurnResult(TurnOutcome(reply[0]))
    if queue is None:
        return TurnResult(TurnOutcome.APPLIED, decode_contact(cid, pairs(reply[1:])), tag)
    count = int(reply[3])
    entry, flow = pairs(reply[4 : 4 + count]), pairs(reply[4 + count :])
    locator.remember(cid, queue.team)
    position = Position(queue.team, ahead=int(reply[1]), waiting=int(reply[2]))
    return TurnResult(
        TurnOutcome.APPLIED, decode_contact(cid, flow, queue.team, entry), tag, position
    )


def _enqueue_args(queue: TurnEnqueue) -> list[str]:
    """The enqueue's values in the script's ARGV: team, delay, the flow pairs to set (their
    number first), the flow fields to delete."""
    changes = queue.changes()
    check_updatable(changes)  # as update_contact checks them
    to_set, to_delete = flow_changes(changes)
    return [queue.team, str(int(queue.delay_s)), str(len(to_set) // 2), *to_set, *to_delete]
