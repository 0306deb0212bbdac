"""The store contract for a customer's timeline: contacts listed by account from an index
(``list_contacts(account=...)``) that follows every change of a contact's account, and
agents' notes and tags (``Store.annotate``) kept atomically in the contact's meta."""

from __future__ import annotations

import asyncio

import pytest

from queues import Channel, Contact, ContactNotFound, ContactState, Direction, Message, Store
from queues.timeline import MAX_NOTES, NotesFull
from tests.conftest import FakeClock, StoreMaker

JAN = "jan.kowalski"
ANNA = "anna.dluzna"


async def a_contact(
    store: Store,
    clock: FakeClock,
    *,
    channel: Channel = Channel.SMS,
    address: str = "+48500100200",
    account: str | None = None,
    team: str | None = None,
) -> Contact:
    """A contact with one message, verified as ``account`` when given, queued on ``team``."""
    clock.advance(1)
    contact = Contact(channel=channel, address=address, created_at=clock())
    await store.intake(contact, Message(Direction.IN, "internet nie działa", clock()))
    if account is not None:
        await store.update_contact(contact.id, account=account, verified=True)
    if team is not None:
        await store.enqueue(contact.id, team)
    return await store.get_contact(contact.id, messages=False)


def ids(contacts: list[Contact]) -> list[str]:
    return [c.id for c in contacts]


def a_note(text: str, agent: str = "ania", n: int = 0) -> dict[str, str]:
    return {"id": f"note{n}", "text": text, "agent": agent, "at": "2026-11-18T11:06:40.000000Z"}


async def test_contacts_of_an_account_come_newest_first_on_every_channel(
    store: Store, clock: FakeClock
) -> None:
    first = await a_contact(store, clock, account=JAN, channel=Channel.VOICE, team="billing")
    await a_contact(store, clock, account=ANNA, address="+48600000000")
    await a_contact(store, clock)  # unverified, same address
    second = await a_contact(store, clock, account=JAN, channel=Channel.EMAIL, address="j@k.pl")
    third = await a_contact(store, clock, account=JAN, channel=Channel.CHAT, address="s-1")
    assert ids(await store.list_contacts(account=JAN)) == [third.id, second.id, first.id]
    assert ids(await store.list_contacts(account=JAN, limit=2)) == [third.id, second.id]
    assert [c.account for c in await store.list_contacts(account=JAN)] == [JAN] * 3
    assert await store.list_contacts(account="nobody") == []


async def test_the_account_filter_combines_with_the_others(store: Store, clock: FakeClock) -> None:
    waiting = await a_contact(store, clock, account=JAN, team="billing")
    assigned = await a_contact(store, clock, account=JAN, team="technical")
    claim = await store.claim(["technical"], "tomek", lease_s=60)
    assert claim is not None and claim.contact_id == assigned.id
    in_flow = await a_contact(store, clock, account=JAN, channel=Channel.CHAT, address="s-2")
    await a_contact(store, clock, account=ANNA, team="billing", address="+48600000000")
    assert ids(await store.list_contacts(account=JAN, state="waiting")) == [waiting.id]
    assert ids(await store.list_contacts(account=JAN, state="assigned")) == [assigned.id]
    assert ids(await store.list_contacts(account=JAN, team="billing")) == [waiting.id]
    assert ids(await store.list_contacts(account=JAN, channel="chat")) == [in_flow.id]
    address = "+48500100200"
    assert ids(await store.list_contacts(account=JAN, address=address)) == [
        assigned.id,
        waiting.id,
    ]
    (listed,) = await store.list_contacts(account=JAN, state="assigned")
    assert listed.agent == "tomek" and listed.state is ContactState.ASSIGNED


async def test_the_index_follows_a_change_of_account(store: Store, clock: FakeClock) -> None:
    contact = await a_contact(store, clock, account=JAN)
    await store.update_contact(contact.id, account=ANNA)
    assert await store.list_contacts(account=JAN) == []
    assert ids(await store.list_contacts(account=ANNA)) == [contact.id]
    await store.update_contact(contact.id, account=None, verified=False)
    assert await store.list_contacts(account=ANNA) == []
    # A change of something else leaves the index as it is.
    await store.update_contact(contact.id, account=JAN)
    await store.update_contact(contact.id, language="en", meta={"x": 1})
    assert ids(await store.list_contacts(account=JAN)) == [contact.id]


async def test_a_contact_created_with_its_account_is_indexed(
    store: Store, clock: FakeClock
) -> None:
    contact = Contact(
        channel=Channel.EMAIL, address="jan@example.com", created_at=clock(), account=JAN
    )
    await store.intake(contact, Message(Direction.IN, "Login: jan.kowalski", clock()))
    assert ids(await store.list_contacts(account=JAN)) == [contact.id]


async def test_an_erase_keeps_the_contact_in_its_account(store: Store, clock: FakeClock) -> None:
    contact = await a_contact(store, clock, account=JAN, team="billing")
    await store.annotate(contact.id, note=a_note("Prosi o fakturę korygującą"), tags=["vip"])
    await store.erase_contact(contact.id, address="erased:1", text="[erased]")
    (listed,) = await store.list_contacts(account=JAN)
    assert listed.id == contact.id and listed.address == "erased:1"
    assert "notes" not in listed.meta and "tags" not in listed.meta  # the agent's words go too


async def test_another_process_reads_the_same_index(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    if make_store.backend == "memory":
        pytest.skip("a memory store is one process's")
    one = await make_store(clock)
    two = await make_store(clock, fresh=False)
    contact = await a_contact(one, clock, account=JAN, team="billing")
    await one.annotate(contact.id, note=a_note("Oddzwonić po 16"), tags=["callback"])
    (listed,) = await two.list_contacts(account=JAN)
    assert listed.id == contact.id
    assert listed.meta["tags"] == ["callback"]
    assert [n["text"] for n in listed.meta["notes"]] == ["Oddzwonić po 16"]


async def test_notes_are_appended_and_tags_replaced_without_touching_the_rest(
    store: Store, clock: FakeClock
) -> None:
    contact = await a_contact(store, clock, account=JAN, team="billing")
    await store.update_contact(contact.id, meta={"complaint": False, "from": "+48500100200"})
    claim = await store.claim(["billing"], "ania", lease_s=60)
    assert claim is not None
    first = await store.annotate(contact.id, note=a_note("Klient zgłasza awarię", n=1))
    assert first.state is ContactState.ASSIGNED and first.agent == "ania"  # queue state kept
    await store.annotate(contact.id, tags=["outage", "vip"])
    both = await store.annotate(
        contact.id, note=a_note("Oddzwonić jutro", agent="ola", n=2), tags=["vip"]
    )
    assert both.meta == {
        "complaint": False,
        "from": "+48500100200",
        "notes": [a_note("Klient zgłasza awarię", n=1), a_note("Oddzwonić jutro", "ola", 2)],
        "tags": ["vip"],
    }
    assert (await store.get_contact(contact.id)).meta == both.meta
    cleared = await store.annotate(contact.id, tags=[])
    assert "tags" not in cleared.meta and len(cleared.meta["notes"]) == 2
    assert (await store.get_contact(contact.id, messages=False)).meta == cleared.meta


async def test_notes_added_at_once_are_all_kept(store: Store, clock: FakeClock) -> None:
    contact = await a_contact(store, clock, account=JAN)
    notes = [a_note(f"uwaga {n}", agent=f"agent{n % 3}", n=n) for n in range(20)]
    await asyncio.gather(*(store.annotate(contact.id, note=note) for note in notes))
    kept = (await store.get_contact(contact.id, messages=False)).meta["notes"]
    assert sorted(n["id"] for n in kept) == sorted(n["id"] for n in notes)


async def test_a_contact_keeps_at_most_so_many_notes(store: Store, clock: FakeClock) -> None:
    contact = await a_contact(store, clock)
    for n in range(MAX_NOTES):
        await store.annotate(contact.id, note=a_note(f"n{n}", n=n))
    with pytest.raises(NotesFull):
        await store.annotate(contact.id, note=a_note("one too many", n=MAX_NOTES), tags=["x"])
    after = await store.get_contact(contact.id, messages=False)
    assert len(after.meta["notes"]) == MAX_NOTES and "tags" not in after.meta  # nothing changed
    assert (await store.annotate(contact.id, tags=["full"])).meta["tags"] == ["full"]


async def test_annotating_refuses_an_unknown_contact_and_a_bad_note(
    store: Store, clock: FakeClock
) -> None:
    with pytest.raises(ContactNotFound):
        await store.annotate("nosuchcontact0000000", tags=["x"])
    contact = await a_contact(store, clock)
    with pytest.raises(ValueError, match="a note is"):
        await store.annotate(contact.id, note={"text": "no author"})
    with pytest.raises(ValueError, match="characters"):
        await store.annotate(contact.id, note=a_note("   "))
    assert (await store.get_contact(contact.id, messages=False)).meta == {}
