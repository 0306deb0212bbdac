"""The store contract for a customer's erase request (``Store.erase_contact``): every
backend rewrites the address, subject, meta and message texts in one step, keeps what the
KPIs count, and leaves neither the digits nor the words anywhere in a dump of itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from queues import Channel, Contact, ContactNotFound, Direction, Message, Store
from queues.memory import MemoryStore
from queues.redis.store import RedisStore
from queues.sqlite import SqliteStore
from tests.conftest import FakeClock

PHONE = "+48500100200"
PESEL = "85010112345"
STREET = "Kwiatowa"
SURNAME = "Kowalski"
KEEP = ("complaint", "flow", "delivery")
ERASED = "erased:5f1c0a"
TEXT = "[erased]"


async def a_customer(store: Store, clock: FakeClock, *, messages: int = 3) -> Contact:
    """A contact with the customer's details everywhere a store keeps them: the address,
    the subject, the meta, inbound texts and meta, a prompt kept as a template filled with
    the surname, and an agent's reply; queued, claimed and resolved."""
    contact = Contact(
        channel=Channel.SMS,
        address=PHONE,
        created_at=clock(),
        subject=f"Reklamacja {SURNAME}",
        meta={"from": PHONE, "complaint": True, "name": f"Jan {SURNAME}"},
    )
    first = Message(
        Direction.IN,
        f"Mój PESEL {PESEL}, mieszkam przy ul. {STREET} 5",
        clock(),
        meta={"from": PHONE, "sid": "SM1"},
    )
    await store.intake(contact, first, key="sms:SM1")
    prompt = Message(
        Direction.OUT,
        f"Dzień dobry, {SURNAME}!",
        clock(),
        meta={"flow": True},
        template="Dzień dobry, {name}!",
        params={"name": SURNAME},
    )
    await store.append_message(contact.id, prompt)
    for n in range(messages):
        clock.advance(1)
        text = f"Wiadomość {n}: dzwońcie na {PHONE}, ul. {STREET} " + "tekst " * 40
        await store.intake(contact, Message(Direction.IN, text, clock()), key=f"sms:SM{n + 2}")
    await store.update_contact(contact.id, account="jan.kowalski", verified=True)
    await store.enqueue(contact.id, "billing", delay_s=60)
    clock.advance(30)
    claimed = await store.claim(["billing"], "ania", lease_s=60)
    assert claimed is not None and claimed.contact_id == contact.id
    reply = Message(
        Direction.OUT,
        f"Panie {SURNAME}, oddzwonimy na {PHONE}",
        clock(),
        author="ania",
        meta={"delivery": "sent", "provider_id": "SM99"},
    )
    await store.append_message(contact.id, reply)
    clock.advance(60)
    await store.ack(contact.id, "ania", disposition="solved")
    return await store.get_contact(contact.id)


async def test_erase_rewrites_the_customer_and_keeps_the_record(
    store: Store, clock: FakeClock
) -> None:
    before = await a_customer(store, clock)
    events = await store.events(before.id)
    assert await store.erase_contact(before.id, address=ERASED, text=TEXT, keep_meta=KEEP) == 6
    after = await store.get_contact(before.id)
    assert after.address == ERASED and after.subject is None
    assert after.meta == {"complaint": True}
    assert [m.text for m in after.messages] == [TEXT] * 6
    assert [m.id for m in after.messages] == [m.id for m in before.messages]
    assert [m.at for m in after.messages] == [m.at for m in before.messages]
    assert [m.direction for m in after.messages] == [m.direction for m in before.messages]
    assert [m.author for m in after.messages] == [None, None, None, None, None, "ania"]
    assert [dict(m.meta) for m in after.messages] == [
        {},
        {"flow": True},
        {},
        {},
        {},
        {"delivery": "sent"},
    ]
    kept = ["state", "team", "account", "verified", "created_at", "queued_at", "assigned_at"]
    kept += ["closed_at", "disposition", "priority", "agent", "channel", "id"]
    assert {k: getattr(after, k) for k in kept} == {k: getattr(before, k) for k in kept}
    assert await store.events(before.id) == events
    # Erasing again the same way rewrites nothing more.
    assert await store.erase_contact(before.id, address=ERASED, text=TEXT, keep_meta=KEEP) == 0


async def test_erase_keeps_every_count_the_kpis_read(store: Store, clock: FakeClock) -> None:
    start = clock()
    contact = await a_customer(store, clock)
    other = Contact(channel=Channel.CHAT, address="chat-session-1", created_at=clock())
    await store.intake(other, Message(Direction.IN, "hello", clock()))
    await store.enqueue(other.id, "billing")

    async def counts() -> tuple[object, ...]:
        return (
            await store.minute_buckets(["", "billing"], since=start, until=clock()),
            await store.handle_times("billing", since=start),
            await store.list_events(),
            await store.queue_stats(["billing"]),
            await store.position(other.id),
        )

    before = await counts()
    await store.erase_contact(contact.id, address=ERASED, text=TEXT, keep_meta=KEEP)
    assert await counts() == before


async def test_the_address_index_follows(store: Store, clock: FakeClock) -> None:
    contact = await a_customer(store, clock, messages=0)
    neighbour = Contact(channel=Channel.SMS, address=PHONE, created_at=clock())
    await store.intake(neighbour, Message(Direction.IN, "my own", clock()))
    await store.erase_contact(contact.id, address=ERASED, text=TEXT)
    assert [c.id for c in await store.list_contacts(address=PHONE)] == [neighbour.id]
    assert [c.id for c in await store.list_contacts(address=ERASED)] == [contact.id]
    assert (await store.get_contact(neighbour.id)).messages[0].text == "my own"


async def test_messages_after_the_erase_are_kept(store: Store, clock: FakeClock) -> None:
    contact = await a_customer(store, clock, messages=0)
    await store.erase_contact(contact.id, address=ERASED, text=TEXT)
    later = Message(Direction.OUT, "a note after the erase", clock(), author="ania")
    await store.append_message(contact.id, later)
    texts = [m.text for m in (await store.get_contact(contact.id)).messages]
    assert texts == [TEXT, TEXT, TEXT, "a note after the erase"]
    # A retried intake of an erased message answers with the erased one.
    again = await store.intake(contact, Message(Direction.IN, "retry", clock()), key="sms:SM1")
    assert again.duplicate and again.message.text == TEXT


async def test_concurrent_appends_are_not_lost(store: Store, clock: FakeClock) -> None:
    contact = await a_customer(store, clock, messages=2)

    async def append(n: int) -> None:
        await store.append_message(contact.id, Message(Direction.OUT, f"note {n}", clock()))

    await asyncio.gather(
        store.erase_contact(contact.id, address=ERASED, text=TEXT),
        *(append(n) for n in range(10)),
    )
    texts = [m.text for m in (await store.get_contact(contact.id)).messages]
    # Every note is there: erased when it came before the erase read the history, as it is
    # when it came after.
    assert len(texts) == 5 + 10
    assert set(texts) <= {TEXT} | {f"note {n}" for n in range(10)}
    assert texts[:5] == [TEXT] * 5


async def test_erase_refuses_an_unknown_contact_and_an_empty_placeholder(
    store: Store, clock: FakeClock
) -> None:
    with pytest.raises(ContactNotFound):
        await store.erase_contact("nope", address=ERASED, text=TEXT)
    contact = await a_customer(store, clock, messages=0)
    with pytest.raises(ValueError, match="address"):
        await store.erase_contact(contact.id, address=" ", text=TEXT)
    with pytest.raises(ValueError, match="text"):
        await store.erase_contact(contact.id, address=ERASED, text="")


async def test_nothing_of_the_customer_is_left_in_a_dump(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    contact = await a_customer(store, clock, messages=40)  # several pages of messages
    # A reply that went out through the outbox: its line is named after the address.
    payload = {"address": PHONE, "text": f"Panie {SURNAME}, oddzwonimy"}
    assert await store.post_parcel("reply-1", payload, group=f"sms:{PHONE}")
    [taken] = await store.take_parcels(lease_s=30, limit=1)
    assert await store.settle_parcel(taken.id, taken.attempts)
    secrets = [PHONE.encode(), PHONE[3:].encode(), PESEL.encode(), STREET.encode()]
    secrets.append(SURNAME.encode())
    seen = await dump(store)
    assert all(s in seen for s in secrets)  # the dump does see them
    await store.erase_contact(contact.id, address=ERASED, text=TEXT, keep_meta=KEEP)
    left = await dump(store)
    assert [s.decode() for s in secrets if s in left] == []
    assert ERASED.encode() in left


async def dump(store: Store) -> bytes:
    """Everything the store keeps, as bytes: the sqlite file and its WAL, every Redis key
    with its value, or the memory store's records."""
    if isinstance(store, SqliteStore):
        files = [store.path, store.path.with_name(store.path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    if isinstance(store, RedisStore):
        return await _redis_dump(store)
    assert isinstance(store, MemoryStore)
    return repr(vars(store)).encode()


async def _redis_dump(store: RedisStore) -> bytes:
    client = store._redis  # the store's own connection: one Redis in these tests
    out: list[bytes] = []
    async for key in client.scan_iter(count=1000):
        out.append(str(key).encode())
        kind = str(await client.type(key))
        if kind == "string":
            out.append(str(await client.get(key)).encode())
        elif kind == "hash":
            out.append(repr(await client.hgetall(key)).encode())
        elif kind == "list":
            out.append(repr(await client.lrange(key, 0, -1)).encode())
        elif kind == "zset":
            out.append(repr(await client.zrange(key, 0, -1, withscores=True)).encode())
        elif kind == "set":
            out.append(repr(await client.smembers(key)).encode())
        elif kind == "stream":
            out.append(repr(await client.xrange(key)).encode())
        else:
            raise AssertionError(f"a Redis key of type {kind} is not dumped: {key}")
    return b"\n".join(out)
