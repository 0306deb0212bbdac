"""What the Redis store keeps per waiting contact besides its history: idempotency keys (a
call's steps are one hash naming the contact once), no keyed index for messages stored on
the first try, compact sessions and documents with short tags, scripts without the helpers
they do not call; and that what earlier versions wrote still reads the same."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, cast

import redis.asyncio as aioredis

from queues import Direction, Message, Turn, TurnOutcome
from queues.redis.keys import contact_events_key, history_key, keyed_key, session_key
from queues.redis.scripts import script_source
from queues.redis.store import RedisStore
from tests.conftest import FakeClock
from tests.queues.redis_support import admin, contact_and_message, store

__all__ = ["admin", "store"]  # fixtures used here

CALL = "voice:CA" + "3" * 32
GROUP = "{sb:idem:" + CALL + "}"


def made_us(contact_id: str) -> int:
    """The time in a contact id (``new_id``) in microseconds."""
    return int(contact_id[:12], 16) * 1000


def inbound(clock: FakeClock, text: str) -> Message:
    return Message(Direction.IN, text, clock())


async def test_a_calls_idempotency_keys_are_one_hash_naming_the_contact_once(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first, key=f"{CALL}:0")
    for n in range(1, 4):
        await store.intake(contact, inbound(clock, str(n)), key=f"{CALL}:{n}")
    group = cast(dict[str, str], await admin.hgetall(GROUP))
    assert sorted(group) == ["0", "1", "2", "3", ":c"] and group[":c"] == contact.id
    steps = [group[str(n)] for n in range(4)]
    assert all(len(value) < 16 and contact.id not in value for value in steps)
    assert 6 * 86_400 < await admin.ttl(GROUP) <= 7 * 86_400
    assert not await admin.exists(keyed_key(contact.id))  # stored on the first try: no index
    retry = await store.intake(contact, inbound(clock, "again"), key=f"{CALL}:2")
    assert retry.duplicate and retry.message.text == "2"
    assert len((await store.get_contact(contact.id)).messages) == 4
    sms, text = contact_and_message(clock, address="+48600")
    await store.intake(sms, text, key="sms:SM1")
    assert await admin.get("{sb:idem:sms:SM1}") == f"{sms.id} {text.id}"
    assert 6 * 86_400 < await admin.ttl("{sb:idem:sms:SM1}") <= 7 * 86_400
    assert (await store.intake(sms, text, key="sms:SM1")).duplicate


async def test_a_key_of_another_contact_in_the_group_keeps_its_full_value(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    one, first = contact_and_message(clock)
    two, second = contact_and_message(clock, address="+48600")
    await store.intake(one, first, key=f"{CALL}:0")
    await store.intake(two, second, key=f"{CALL}:1")
    assert await admin.hget(GROUP, "1") == f"{two.id} {second.id}"
    retry = await store.intake(one, inbound(clock, "x"), key=f"{CALL}:1")
    assert retry.duplicate and (retry.contact.id, retry.message) == (two.id, second)


async def test_a_message_an_id_made_in_another_millisecond_is_found_by_a_retry(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    made = int(contact.id[:12], 16) + 90
    late = Message(Direction.IN, "1001", (made - 1) / 1000, f"{made:012x}0000abcd")
    await store.intake(contact, late, key=f"{CALL}:1")
    raw = cast(list[str], await admin.lrange(history_key(contact.id), -1, -1))[0]
    assert raw.split(" ")[0] == "i0000abcd:1"
    retry = await store.intake(contact, inbound(clock, "1001"), key=f"{CALL}:1")
    assert retry.duplicate and retry.message == late
    assert len((await store.get_contact(contact.id)).messages) == 2


async def test_keys_and_indexes_an_earlier_version_wrote_still_answer_retries(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    # An earlier version: each key of the group held "<contact id> <message id>", a keyed
    # message had its index in :k:, and a message id made in another ms was kept in full.
    made = int(contact.id[:12], 16) + 40
    old = Message(Direction.IN, "2", clock(), f"{made:012x}00000002")
    entry = json.dumps([old.id, "i", "2", old.at], separators=(",", ":"))
    await admin.rpush(history_key(contact.id), entry)
    await admin.hset(keyed_key(contact.id), old.id, "2")
    await admin.hset(GROUP, "0", f"{contact.id} {old.id}")
    unindexed = Message(Direction.IN, "3", clock(), f"{made + 1:012x}00000003")
    entry = json.dumps([unindexed.id, "i", "3", unindexed.at], separators=(",", ":"))
    await admin.rpush(history_key(contact.id), entry)
    await admin.hset(GROUP, "1", f"{contact.id} {unindexed.id}")
    # The previous release: an id made in its message's millisecond kept short in an array.
    at_us = (made + 2) * 1000 + 17
    short = Message(Direction.IN, "4", at_us / 1e6, f"{made + 2:012x}00000004")
    entry = json.dumps(["~00000004", "i", "4", at_us - made_us(contact.id)])
    await admin.rpush(history_key(contact.id), entry)
    await admin.hset(GROUP, "2", f"{contact.id} {short.id}")
    for step, message in enumerate((old, unindexed, short)):
        retry = await store.intake(contact, inbound(clock, "x"), key=f"{CALL}:{step}")
        assert retry.duplicate and retry.message == message and retry.contact.id == contact.id
    # A new key in the old group: the group names its contact from now on.
    await store.intake(contact, inbound(clock, "5"), key=f"{CALL}:3")
    assert await admin.hget(GROUP, ":c") == contact.id
    texts = [m.text for m in (await store.get_contact(contact.id)).messages]
    assert texts == ["hello", "2", "3", "4", "5"]


async def test_a_session_is_its_expiry_tag_and_data_naming_its_key_once(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    key = "voice:CA1"
    data = {"contact_id": "c1", "handled": {"p": key + ":", "s": ["0", "1"]}, "x": "\x01 é"}
    await store.put_session(key, data, ttl_s=60)
    raw = cast(str, await admin.get(session_key(key)))
    expires_at, tag, body = raw.split(" ", 2)
    assert float(expires_at) == clock() + 60 and len(tag) == 12 and key not in body
    assert await store.get_session_tagged(key) == (data, tag)
    assert await store.put_session_if(key, {"n": 1}, tag=tag, ttl_s=60)
    assert not await store.put_session_if(key, {"n": 2}, tag=tag, ttl_s=60)
    clock.advance(61)  # expired on the store's clock: no tag to compare
    assert await store.get_session_tagged(key) == (None, "")
    assert await store.put_session_if(key, {"n": 3}, tag="", ttl_s=60)
    odd = 'a"b'  # a key JSON escapes is kept as it is
    await store.put_session(odd, {"k": odd}, ttl_s=60)
    assert await store.get_session(odd) == {"k": odd}


async def test_documents_are_compact_json_with_short_tags(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    tag = await store.put_doc("presence", "ann", {"status": "available"})
    assert tag is not None and len(tag) == 12
    assert await admin.object("encoding", "sb:doc:presence") == "listpack"
    assert await store.get_doc("presence", "ann") == ({"status": "available"}, tag)


async def test_a_session_an_earlier_version_wrote_reads_and_compares_the_same(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    tag = "0123456789abcdef0123456789abcdef"
    old = {"x": clock() + 60, "t": tag, "d": {"contact_id": "c1", "handled": ["a"]}}
    await admin.set(session_key("voice:CA1"), json.dumps(old), px=60_000)
    assert await store.get_session_tagged("voice:CA1") == (old["d"], tag)
    assert not await store.put_session_if("voice:CA1", {"n": 1}, tag="other", ttl_s=60)
    assert await store.put_session_if("voice:CA1", {"n": 2}, tag=tag, ttl_s=60)
    assert await store.get_session("voice:CA1") == {"n": 2}
    # A turn (one script) compares an earlier version's session too.
    await admin.set(session_key("voice:CA1"), json.dumps(old), px=60_000)
    assert await store.get_sessions(["voice:CA1", "none"]) == [(old["d"], tag), (None, "")]


def test_a_script_carries_only_the_helpers_it_calls() -> None:
    claim_key, intake = script_source("claim_key"), script_source("intake")
    assert "local function idem_put" in claim_key and "bucket_add" not in claim_key
    assert "local function bucket_add" in intake and "local function count_held" not in intake
    assert "--" not in claim_key and "\n  " not in intake  # no comments, no indentation


async def test_an_events_time_is_kept_after_its_ids_millisecond_and_old_entries_read_the_same(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    created = clock()
    await store.intake(contact, first)
    stream = contact_events_key(contact.id)
    [(_, fields)] = cast(list[tuple[str, dict[str, str]]], await admin.xrange(stream))
    assert fields["t"].isdigit() and int(fields["t"]) < 1000
    # An earlier version kept the time in full.
    at = round(created + 2.000123, 6)
    old: dict[Any, Any] = {"c": contact.id, "k": "note", "t": repr(at), "tm": "", "ag": ""}
    old["d"] = ""
    await admin.rpush(history_key(contact.id), await admin.xadd(stream, old))
    events = await store.events(contact.id)
    assert [(e.kind, e.at) for e in events] == [
        ("contact_created", created),
        ("message_received", first.at),
        ("note", at),
    ]
    assert [e.at for e in await store.list_events(kinds=["note"], since=at)] == [at]
    assert await store.list_events(kinds=["note"], since=at + 1e-6) == []
    created_events = await store.list_events(kinds=["contact_created"], since=created)
    assert [e.at for e in created_events] == [created]
    assert await store.list_events(kinds=["contact_created"], since=created + 1e-6) == []


async def test_a_turn_compares_an_earlier_versions_session_and_stores_its_key_once(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    tag = "0123456789abcdef0123456789abcdef"
    old = {"x": clock() + 60, "t": tag, "d": {"contact_id": contact.id}}
    await admin.set(session_key(CALL), json.dumps(old), px=60_000)
    session = {"contact_id": contact.id, "handled": {"p": CALL + ":", "s": ["0"]}}
    stale = Turn(CALL, "other", session, 60.0, contact, True, first, key=f"{CALL}:0")
    assert (await store.apply_turn(stale)).outcome is TurnOutcome.CHANGED
    done = await store.apply_turn(dataclasses.replace(stale, session_tag=tag))
    assert done.outcome is TurnOutcome.APPLIED
    raw = cast(str, await admin.get(session_key(CALL)))
    assert raw.split(" ")[1] == done.session_tag and CALL not in raw
    assert await store.get_session_tagged(CALL) == (session, done.session_tag)
    assert await admin.hget(GROUP, ":c") == contact.id  # the turn's key, as intake's
