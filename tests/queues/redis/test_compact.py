"""How the Redis store keeps a waiting crowd small: prompts as a template id and params,
messages as arrays, the meta one field each (a compact hash), no message events in the
streams; and that records written by earlier versions still read the same."""

from __future__ import annotations

import dataclasses
import json
from typing import cast

import redis.asyncio as aioredis

from queues import Direction, Message, fill
from queues.redis.keys import TEXTS_KEY, contact_events_key, flow_key, history_key
from queues.redis.store import RedisStore
from tests.conftest import FakeClock
from tests.queues.redis_support import admin, contact_and_message, store

__all__ = ["admin", "store"]  # fixtures used here

QUEUED = "You are number {position} in the queue for {team}. Please stay on the line."


def prompt(clock: FakeClock, template: str, **params: str) -> Message:
    text = fill(template, params)
    return Message(
        Direction.OUT, text, clock(), meta={"flow": True}, template=template, params=params
    )


async def test_a_prompt_is_kept_as_its_template_and_params(
    admin: aioredis.Redis, store: RedisStore, redis_url: str, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    said = prompt(clock, QUEUED, position="181", team="Technical support")
    await store.append_message(contact.id, said)
    raw = (await admin.lrange(history_key(contact.id), 0, -1))[-1]
    assert "stay on the line" not in raw and json.loads(raw)[2]["p"]["position"] == "181"
    assert list((await admin.hgetall(TEXTS_KEY)).values()) == [QUEUED]
    # Another process, which has not seen the template, reads it from Redis.
    async with await RedisStore.open(redis_url, clock=clock) as other:
        read = (await other.get_contact(contact.id)).messages[-1]
    assert read == said and read.text == said.text and read.meta == {"flow": True}
    assert read.template == QUEUED and read.params == said.params
    assert [e.kind for e in await store.events(contact.id)][-1] == "message_sent"


async def test_a_text_its_template_does_not_give_is_kept_as_text(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    odd = Message(Direction.OUT, "Something else", clock(), template=QUEUED, params={})
    await store.append_message(contact.id, odd)
    raw = (await admin.lrange(history_key(contact.id), 0, -1))[-1]
    assert json.loads(raw)[2] == "Something else"
    assert await admin.hlen(TEXTS_KEY) == 0
    assert (await store.get_contact(contact.id)).messages[-1].text == "Something else"


async def test_messages_leave_no_event_in_the_stream_and_meta_keeps_the_hash_compact(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    sid = "CA" + "7" * 32
    meta = {"call_sid": sid, "to": "+48221234567", "complaint": False}
    await store.intake(dataclasses.replace(contact, meta=meta), first)
    for n in range(5):
        await store.append_message(contact.id, prompt(clock, QUEUED, position=str(n), team="T"))
    entries = cast(
        list[tuple[str, dict[str, str]]], await admin.xrange(contact_events_key(contact.id))
    )
    kinds = [fields["k"] for _, fields in entries]
    assert kinds == ["contact_created"]
    assert await admin.object("encoding", flow_key(contact.id)) == "listpack"
    got = await store.get_contact(contact.id)
    assert got.meta == meta and len(got.messages) == 6
    changed = await store.update_contact(contact.id, meta={"to": "+48"})
    assert changed.meta == {"to": "+48"}
    fields = cast(list[str], await admin.hkeys(flow_key(contact.id)))
    assert not any(f.startswith("m:call") for f in fields)


async def test_records_of_earlier_versions_read_the_same(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    at = clock()
    mid = "01a2" + "0" * 16
    old = {"i": mid, "d": "out", "x": "Old", "t": at, "a": "ann", "m": {"k": 1}}
    await admin.rpush(history_key(contact.id), json.dumps(old))
    await admin.hset(flow_key(contact.id), "mt", json.dumps({"call_sid": "CA1"}))
    got = await store.get_contact(contact.id)
    assert got.meta == {"call_sid": "CA1"}
    assert got.messages[-1] == Message(Direction.OUT, "Old", at, mid, "ann", {"k": 1})


async def test_a_calls_idempotency_keys_are_one_hash_that_expires(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    call = "voice:CA" + "3" * 32
    contact, first = contact_and_message(clock)
    await store.intake(contact, first, key=f"{call}:0")
    for n in range(1, 4):
        await store.intake(contact, Message(Direction.IN, str(n), clock()), key=f"{call}:{n}")
    retry = await store.intake(contact, Message(Direction.IN, "2", clock()), key=f"{call}:2")
    assert retry.duplicate and retry.message.text == "2"
    assert len((await store.get_contact(contact.id)).messages) == 4
    group = "{sb:idem:" + call + "}"
    assert sorted(cast(list[str], await admin.hkeys(group))) == ["0", "1", "2", "3"]
    assert 6 * 86_400 < await admin.ttl(group) <= 7 * 86_400
    sms, text = contact_and_message(clock, address="+48600")
    await store.intake(sms, text, key="sms:SM1")
    assert 6 * 86_400 < await admin.ttl("{sb:idem:sms:SM1}") <= 7 * 86_400
    assert (await store.intake(sms, text, key="sms:SM1")).duplicate


async def test_an_id_made_in_the_messages_millisecond_is_kept_short_and_reads_back_exactly(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    made = int(contact.id[:12], 16) + 4_321  # 4.321 s after the contact's id
    said = [
        Message(Direction.OUT, f"m{n}", (made * 1000 + us) / 1e6, f"{made:012x}{n:08x}")
        for n, us in enumerate((0, 1, 999, 500))
    ]
    odd = Message(Direction.OUT, "mine", (made * 1000 + 7) / 1e6, "not-a-new-id")
    later = Message(Direction.OUT, "later", (made + 5) / 1000, f"{made:012x}{9:08x}")
    for message in (*said, odd, later):
        await store.append_message(contact.id, message)
    raws = (await admin.lrange(history_key(contact.id), 0, -1))[2:]  # after a ref, "hello"
    assert [json.loads(r)[0][0] for r in raws] == ["~"] * 4 + ["n", f"{made:012x}"[0]]
    assert json.loads(raws[1])[3] == 4_321_001
    got = list((await store.get_contact(contact.id)).messages[1:])
    assert got == [*said, odd, later]
    assert [m.at for m in got] == [m.at for m in (*said, odd, later)]
