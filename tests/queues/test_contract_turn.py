"""The turn contract (``Store.apply_turn``, ``get_sessions``) on every backend: a turn is
applied whole, or with CHANGED / SEEN not at all."""

from __future__ import annotations

from typing import Any

from queues import (
    Channel,
    Contact,
    ContactState,
    Direction,
    Message,
    Store,
    Turn,
    TurnOutcome,
)
from tests.conftest import FakeClock
from tests.queues.test_contract import inbound, new_contact

SESSION = "sms:+48500100200"


def said(clock: FakeClock, text: str, **params: str) -> Message:
    template = "Witaj, {name}!" if params else None
    return Message(
        Direction.OUT, text, clock(), meta={"flow": True}, template=template, params=params
    )


def turn(contact: Contact, message: Message, **kw: Any) -> Turn:
    defaults: dict[str, Any] = {
        "session_key": SESSION,
        "session_tag": "",
        "session": {"contact_id": contact.id, "flow": {"node": "ask"}},
        "session_ttl_s": 3600.0,
        "new": True,
        "key": None,
    }
    return Turn(contact=contact, message=message, **{**defaults, **kw})


async def history(store: Store, contact_id: str) -> list[str]:
    return [m.text for m in (await store.get_contact(contact_id)).messages]


async def test_a_first_turn_creates_the_contact_with_its_message_prompts_and_session(
    store: Store, clock: FakeClock
) -> None:
    contact = new_contact(clock, language="pl")
    prompts = (said(clock, "Witaj, Jan!", name="Jan"), said(clock, "W czym pomóc?"))
    done = await store.apply_turn(
        turn(contact, inbound(clock, "dzień dobry"), key="sms:SM1", said=prompts, language="en")
    )
    assert done.outcome is TurnOutcome.APPLIED and done.contact is not None
    assert done.contact.id == contact.id and done.contact.language == "en"
    stored = await store.get_contact(contact.id)
    assert stored.state is ContactState.IN_FLOW and stored.language == "en"
    assert [m.text for m in stored.messages] == ["dzień dobry", "Witaj, Jan!", "W czym pomóc?"]
    assert [m.direction for m in stored.messages] == [Direction.IN, Direction.OUT, Direction.OUT]
    assert (await store.get_session(SESSION)) == {"contact_id": contact.id, "flow": {"node": "ask"}}
    again = await store.intake(contact, inbound(clock, "dzień dobry"), key="sms:SM1")
    assert again.duplicate and again.message.text == "dzień dobry"
    assert [c.id for c in await store.list_contacts(channel="sms")] == [contact.id]
    assert next(e.kind for e in await store.events(contact.id)) == "contact_created"


async def test_a_turn_on_a_session_that_moved_on_writes_nothing(
    store: Store, clock: FakeClock
) -> None:
    await store.put_session(SESSION, {"contact_id": "someone"}, ttl_s=60)
    contact = new_contact(clock)
    done = await store.apply_turn(turn(contact, inbound(clock), key="sms:SM2"))
    assert done.outcome is TurnOutcome.CHANGED and done.contact is None
    assert await store.list_contacts() == []
    assert await store.get_session(SESSION) == {"contact_id": "someone"}
    # The key was not taken: the same message stores normally afterwards.
    assert not (await store.intake(contact, inbound(clock), key="sms:SM2")).duplicate


async def test_a_turn_whose_key_was_seen_writes_nothing(store: Store, clock: FakeClock) -> None:
    first = new_contact(clock)
    await store.intake(first, inbound(clock, "one"), key="voice:CA1:0")
    other = new_contact(clock, address="+48500999888")
    done = await store.apply_turn(turn(other, inbound(clock, "one"), key="voice:CA1:0"))
    assert done.outcome is TurnOutcome.SEEN
    assert await store.get_session(SESSION) is None
    assert [c.id for c in await store.list_contacts()] == [first.id]


async def test_turns_continue_a_contact_in_its_flow_under_the_session_tag(
    store: Store, clock: FakeClock
) -> None:
    contact = new_contact(clock, channel=Channel.VOICE, address="+48500111222")
    first = turn(contact, inbound(clock, ""), key="voice:CA7:0", said=(said(clock, "Menu"),))
    assert (await store.apply_turn(first)).applied
    sessions = await store.get_sessions([SESSION, "absent"])
    assert sessions[1] == (None, "")
    data, tag = sessions[0]
    assert data is not None and tag != ""
    clock.advance(2)
    step = turn(
        contact,
        inbound(clock, "2"),
        key="voice:CA7:1",
        new=False,
        session_tag=tag,
        session={"contact_id": contact.id, "flow": {"node": "two"}},
        said=(said(clock, "Dwa"),),
    )
    assert (await store.apply_turn(step)).applied
    assert await history(store, contact.id) == ["", "Menu", "2", "Dwa"]
    # The same tag again: the session moved on with the turn just applied.
    late = turn(contact, inbound(clock, "3"), key="voice:CA7:2", new=False, session_tag=tag)
    assert (await store.apply_turn(late)).outcome is TurnOutcome.CHANGED
    assert await history(store, contact.id) == ["", "Menu", "2", "Dwa"]
    assert (await store.get_session(SESSION)) == {"contact_id": contact.id, "flow": {"node": "two"}}


async def test_a_turn_for_a_contact_out_of_its_flow_writes_nothing(
    store: Store, clock: FakeClock
) -> None:
    queued, closed = new_contact(clock), new_contact(clock, address="+48500333444")
    for contact in (queued, closed):
        await store.intake(contact, inbound(clock, "one"))
    await store.enqueue(queued.id, "billing")
    await store.close(closed.id, ContactState.RESOLVED)
    for contact in (queued, closed):
        late = turn(contact, inbound(clock, "two"), key=f"sms:{contact.id}", new=False)
        assert (await store.apply_turn(late)).outcome is TurnOutcome.CHANGED
        assert await history(store, contact.id) == ["one"]
    assert await store.get_session(SESSION) is None


async def test_get_sessions_leaves_out_expired_sessions(store: Store, clock: FakeClock) -> None:
    await store.put_session("a", {"n": 1}, ttl_s=10)
    await store.put_session("b", {"n": 2}, ttl_s=100)
    _, tag_b = await store.get_session_tagged("b")
    clock.advance(50)
    assert await store.get_sessions(["a", "b", "c"]) == [(None, ""), ({"n": 2}, tag_b), (None, "")]
    assert await store.get_sessions([]) == []


async def test_a_turn_waits_for_nobody_and_writes_nothing_while_its_lock_is_held(
    store: Store, clock: FakeClock
) -> None:
    contact = new_contact(clock)
    locked = turn(contact, inbound(clock), key="sms:SM9", lock="conversation:" + SESSION)
    assert await store.acquire_lock("conversation:" + SESSION, "the-locked-path", ttl_s=30)
    assert (await store.apply_turn(locked)).outcome is TurnOutcome.CHANGED
    assert await store.list_contacts() == [] and await store.get_session(SESSION) is None
    clock.advance(31)  # an expired lock holds nothing
    assert (await store.apply_turn(locked)).applied
    assert await history(store, contact.id) == ["hello"]


async def test_a_turn_names_the_other_sessions_it_was_computed_from(
    store: Store, clock: FakeClock
) -> None:
    await store.put_session("router:incidents", {"open": []}, ttl_s=600)
    _, book = await store.get_session_tagged("router:incidents")
    contact = new_contact(clock)
    guarded = turn(
        contact,
        inbound(clock),
        key="sms:SM10",
        unchanged=(("router:incidents", book), ("survey:sms:+48500100200", "")),
    )
    await store.put_session("survey:sms:+48500100200", {"contact_id": "x"}, ttl_s=60)
    assert (await store.apply_turn(guarded)).outcome is TurnOutcome.CHANGED  # a survey waits
    await store.delete_session("survey:sms:+48500100200")
    await store.put_session("router:incidents", {"open": ["outage"]}, ttl_s=600)
    assert (await store.apply_turn(guarded)).outcome is TurnOutcome.CHANGED  # the book moved
    assert await store.list_contacts() == [] and await store.get_session(SESSION) is None
    _, book = await store.get_session_tagged("router:incidents")
    done = await store.apply_turn(
        turn(contact, inbound(clock), key="sms:SM10", unchanged=(("router:incidents", book),))
    )
    assert done.applied and done.session_tag != ""
    assert (await store.get_session_tagged(SESSION))[1] == done.session_tag
