"""How the Redis store keeps a waiting crowd's histories small: prompts as a template code
and params, messages as short lines, the meta one field each (a compact hash), no message
events in the streams; and that records written by earlier versions still read the same.
A session keeps the prompts its contact's history kept the same way. Idempotency keys and
the rest of a session: ``test_layout.py``."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, cast

import redis.asyncio as aioredis

from queues import Direction, Message, Turn, TurnOutcome, fill
from queues.redis.keys import (
    TEXTS_KEY,
    contact_events_key,
    flow_key,
    history_key,
    session_key,
)
from queues.redis.store import RedisStore
from queues.redis.texts import template_id
from tests.conftest import FakeClock
from tests.queues.redis_support import admin, contact_and_message, store

__all__ = ["admin", "store"]  # fixtures used here

QUEUED = "You are number {position} in the queue for {team}. Please stay on the line."


async def entries(admin: aioredis.Redis, contact_id: str) -> list[str]:
    """A contact's history entries as Redis keeps them."""
    return cast(list[str], await admin.lrange(history_key(contact_id), 0, -1))


def kept_text(raw: str) -> Any:
    """The text of a history line of a prompt kept as its template (messages.py)."""
    return json.loads(raw.split(" ", 2)[2])


def prompt(clock: FakeClock, template: str, **params: str) -> Message:
    text = fill(template, params)
    return Message(
        Direction.OUT, text, clock(), meta={"flow": True}, template=template, params=params
    )


async def test_a_prompt_is_kept_as_its_template_code_and_params(
    admin: aioredis.Redis, store: RedisStore, redis_url: str, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    said = prompt(clock, QUEUED, position="181", team="Technical support")
    await store.append_message(contact.id, said)
    raw = (await entries(admin, contact.id))[-1]
    code = kept_text(raw)[0]
    assert "stay on the line" not in raw and raw.startswith("t")
    assert kept_text(raw) == [code, "181", "Technical support"]  # in the template's order
    assert await admin.hget(TEXTS_KEY, str(code)) == QUEUED
    # Another process, which has not seen the template, reads it from Redis, and keeps the
    # same template under the same code.
    async with await RedisStore.open(redis_url, clock=clock) as other:
        read = (await other.get_contact(contact.id)).messages[-1]
        again = prompt(clock, QUEUED, position="2", team="T")
        await other.append_message(contact.id, again)
    assert read == said and read.text == said.text and read.meta == {"flow": True}
    assert read.template == QUEUED and read.params == said.params
    raw = (await entries(admin, contact.id))[-1]
    assert kept_text(raw) == [code, "2", "T"]
    assert [e.kind for e in await store.events(contact.id)][-2] == "message_sent"


async def test_a_prompt_without_params_or_with_other_params_reads_back_the_same(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    plain = prompt(clock, "For English, press 2.")
    partial = prompt(clock, "{a} and {b}", a="x")  # {b} stays as typed
    await store.append_message(contact.id, plain)
    await store.append_message(contact.id, partial)
    raws = (await entries(admin, contact.id))[-2:]
    assert isinstance(kept_text(raws[0]), int)
    assert kept_text(raws[1])[1:] == [{"a": "x"}]
    read = (await store.get_contact(contact.id)).messages[-2:]
    assert list(read) == [plain, partial] and read[1].text == "x and {b}"
    assert read[1].params == {"a": "x"} and read[0].params == {}


async def test_a_text_its_template_does_not_give_is_kept_as_text(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    odd = Message(Direction.OUT, "Something else", clock(), template=QUEUED, params={})
    await store.append_message(contact.id, odd)
    raw = (await entries(admin, contact.id))[-1]
    assert raw.startswith("o") and raw.split(" ", 2)[2] == "Something else"
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
    # A prompt kept by its template's id, a message id made in another millisecond in full.
    await admin.hset(TEXTS_KEY, template_id(QUEUED), QUEUED)
    made = int(contact.id[:12], 16) + 7
    kept = {"T": template_id(QUEUED), "p": {"position": "3", "team": "T"}}
    await admin.rpush(history_key(contact.id), json.dumps([f"{made:012x}00000001", "f", kept, at]))
    await admin.hset(flow_key(contact.id), "mt", json.dumps({"call_sid": "CA1"}))
    got = await store.get_contact(contact.id)
    assert got.meta == {"call_sid": "CA1"}
    assert got.messages[-2] == Message(Direction.OUT, "Old", at, mid, "ann", {"k": 1})
    said = got.messages[-1]
    text = fill(QUEUED, {"position": "3", "team": "T"})
    flow = {"flow": True}
    assert said == Message(Direction.OUT, text, at, f"{made:012x}00000001", meta=flow)
    assert said.template == QUEUED and said.params == kept["p"]


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
    early = Message(Direction.OUT, "early", (made - 2) / 1000, f"{made:012x}{8:08x}")
    for message in (*said, odd, later, early):
        await store.append_message(contact.id, message)
    raws = (await entries(admin, contact.id))[2:]  # after a ref, "hello"
    assert [r[0] for r in raws] == ["o"] * 4 + ["[", "o", "o"]  # lines, and an array
    assert [r.split(" ")[0] for r in raws[:2]] == [f"o{0:08x}", f"o{1:08x}"]
    heads = [r.split(" ")[0] for r in raws[5:]]
    assert heads == [f"o{9:08x}:-5", f"o{8:08x}:2"]  # made 5 ms before, 2 ms after
    assert raws[1].split(" ")[1] == "4321001" and json.loads(raws[4])[0] == "not-a-new-id"
    got = list((await store.get_contact(contact.id)).messages[1:])
    assert got == [*said, odd, later, early]
    assert [m.at for m in got] == [m.at for m in (*said, odd, later, early)]


async def test_a_session_keeps_the_prompts_just_kept_as_their_templates(
    admin: aioredis.Redis, store: RedisStore, redis_url: str, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    await store.intake(contact, first)
    said = prompt(clock, QUEUED, position="181", team="Technical support")
    plain = prompt(clock, "For English, press 2.")
    await store.append_message(contact.id, said)
    await store.append_message(contact.id, plain)
    answer = [[said.text, "en"], [plain.text, "en"], ["Not a prompt", "en"]]
    data = {"contact_id": contact.id, "answer": {"prompts": answer}, "queue_prompt": "queued"}
    await store.put_session("voice:CA1", data, ttl_s=60)
    raw = cast(str, await admin.get(session_key("voice:CA1")))
    code = kept_text((await entries(admin, contact.id))[-2])[0]
    assert "stay on the line" not in raw and "press 2" not in raw and "Not a prompt" in raw
    body = json.loads(raw.split(" ", 2)[2])
    assert body["answer"]["prompts"][:2] == [
        [[code, "181", "Technical support"], "en"],
        [code + 1, "en"],
    ]
    assert await store.get_session("voice:CA1") == data
    # Another process, which has not seen the templates, reads them from Redis.
    async with await RedisStore.open(redis_url, clock=clock) as other:
        assert await other.get_sessions(["voice:CA1"]) == [(data, raw.split(" ")[1])]
        # It keeps a text it has not kept itself as the text.
        await other.put_session("voice:CA2", data, ttl_s=60)
    assert said.text in cast(str, await admin.get(session_key("voice:CA2")))
    assert await store.get_session("voice:CA2") == data


async def test_a_turn_keeps_its_sessions_prompts_as_their_templates(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    contact, first = contact_and_message(clock)
    said = prompt(clock, QUEUED, position="3", team="Billing")
    session = {"contact_id": contact.id, "answer": {"prompts": [[said.text, "pl"]]}}
    turn = Turn("sms:+48500100200", "", session, 60.0, contact, True, first, said=(said,))
    done = await store.apply_turn(turn)
    assert done.outcome is TurnOutcome.APPLIED
    raw = cast(str, await admin.get(session_key("sms:+48500100200")))
    body = json.loads(raw.split(" ", 2)[2])
    assert said.text not in raw and isinstance(body["answer"]["prompts"][0][0], list)
    assert await store.get_sessions(["sms:+48500100200"]) == [(session, done.session_tag)]
