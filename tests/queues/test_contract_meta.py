"""The store contract for merging keys into a contact's meta
(``update_contact(id, meta_merge={key: value or None})``): only the keys named change, from
the meta as the store holds it, so what another writer put there in between (an agent's
note, another key) is kept. Every backend passes the same suite."""

from __future__ import annotations

import asyncio

import pytest

from queues import NOTES, TAGS, Channel, Contact, ContactNotFound, Direction, Message, Store
from tests.conftest import FakeClock, StoreMaker

NOTE = {"id": "n1", "text": "Oddzwonić po 16", "agent": "ania", "at": "2026-12-04T10:00:00Z"}


async def a_contact(store: Store, clock: FakeClock, **meta: object) -> Contact:
    clock.advance(1)
    contact = Contact(channel=Channel.SMS, address="+48500100200", created_at=clock(), meta=meta)
    await store.intake(contact, Message(Direction.IN, "internet nie działa", clock()))
    return await store.get_contact(contact.id, messages=False)


async def test_a_merge_sets_and_removes_only_the_keys_it_names(
    store: Store, clock: FakeClock
) -> None:
    contact = await a_contact(store, clock, call_sid="CA1", to="+48221234567", keep=[1, {}])
    merge = {"survey": {"score": 5, "at": "2026-12-04T10:00:00Z"}, "to": None, "absent": None}
    changed = await store.update_contact(contact.id, meta_merge=merge)
    expected = {"call_sid": "CA1", "keep": [1, {}], "survey": merge["survey"]}
    assert changed.meta == expected
    assert (await store.get_contact(contact.id)).meta == expected
    assert (await store.update_contact(contact.id, meta_merge={})).meta == expected


async def test_a_merge_after_a_stale_read_keeps_a_note_and_tags_added_in_between(
    store: Store, clock: FakeClock
) -> None:
    read = await a_contact(store, clock, complaint=False)
    await store.annotate(read.id, note=NOTE, tags=["outage"])  # after ``read`` was taken
    await store.update_contact(read.id, meta_merge={"survey": "question"})
    meta = (await store.get_contact(read.id, messages=False)).meta
    assert meta == {"complaint": False, NOTES: [NOTE], TAGS: ["outage"], "survey": "question"}


async def test_a_merge_changes_other_fields_in_the_same_step(
    store: Store, clock: FakeClock
) -> None:
    contact = await a_contact(store, clock, form={"name": "Jan"})
    changed = await store.update_contact(
        contact.id, sla_due=clock() + 60, subject="Reklamacja 2026/00001", meta_merge={"n": 1}
    )
    again = await store.get_contact(contact.id, messages=False)
    for seen in (changed, again):
        assert seen.sla_due == clock() + 60 and seen.subject == "Reklamacja 2026/00001"
        assert seen.meta == {"form": {"name": "Jan"}, "n": 1}


async def test_concurrent_merges_of_different_keys_are_all_kept(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    first = await make_store(clock)
    # Another process on the shared backends (one memory store is one process).
    second = first if make_store.backend == "memory" else await make_store(clock)
    contact = await a_contact(first, clock, base=True)
    writes = [
        (first if n % 2 else second).update_contact(contact.id, meta_merge={f"k{n}": n})
        for n in range(20)
    ]
    await asyncio.gather(*writes, first.annotate(contact.id, note=NOTE))
    meta = (await second.get_contact(contact.id, messages=False)).meta
    assert meta == {"base": True, NOTES: [NOTE], **{f"k{n}": n for n in range(20)}}


async def test_a_merge_is_refused_with_the_whole_meta_or_when_it_is_not_a_mapping(
    store: Store, clock: FakeClock
) -> None:
    contact = await a_contact(store, clock, base=True)
    with pytest.raises(ValueError, match="not both"):
        await store.update_contact(contact.id, meta={}, meta_merge={"a": 1})
    with pytest.raises(ValueError, match="meta_merge"):
        await store.update_contact(contact.id, meta_merge=[("a", 1)])
    with pytest.raises(ValueError, match="meta_merge"):
        await store.update_contact(contact.id, meta_merge={1: "a"})
    with pytest.raises(ContactNotFound):
        await store.update_contact("no-such-contact", meta_merge={"a": 1})
    assert (await store.get_contact(contact.id, messages=False)).meta == {"base": True}
