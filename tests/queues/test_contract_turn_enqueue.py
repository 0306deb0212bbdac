"""A turn that queues its contact (``Turn.enqueue``) on every backend: the message, the
prompts, the contact's SLA and meta and its place in the team's queue land whole, or with
CHANGED / SEEN not at all; what it leaves is what ``update_contact`` + ``enqueue`` leave."""

from __future__ import annotations

import dataclasses
from typing import Any

from queues import (
    Contact,
    ContactState,
    Position,
    Store,
    Turn,
    TurnEnqueue,
    TurnOutcome,
)
from tests.conftest import FakeClock
from tests.queues.test_contract import inbound, new_contact
from tests.queues.test_contract_turn import SESSION, history, said, turn

SLA_DUE = 1_795_000_020.0
QUEUE = TurnEnqueue("billing", delay_s=60, sla_due=SLA_DUE, meta_merge={"complaint": True})


async def in_flow(store: Store, clock: FakeClock, address: str = "+48500100200") -> Contact:
    """A contact in its flow, with the session its last turn left."""
    contact = new_contact(clock, address=address)
    first = turn(contact, inbound(clock, "dzień dobry"), session_key=f"sms:{address}")
    assert (await store.apply_turn(first)).applied
    return contact


async def queueing(store: Store, contact: Contact, clock: FakeClock, **kw: Any) -> Turn:
    """The turn that answers the team menu of ``contact``'s conversation and queues it."""
    key = f"sms:{contact.address}"
    _, tag = await store.get_session_tagged(key)
    defaults: dict[str, Any] = {
        "session_key": key,
        "session_tag": tag,
        "session": None,
        "new": False,
        "key": f"sms:{contact.id}:menu",
        "said": (said(clock, "Łączymy z działem rozliczeń."),),
        "enqueue": QUEUE,
    }
    return turn(contact, inbound(clock, "1"), **{**defaults, **kw})


async def test_a_turn_that_queues_lands_whole_and_says_where_the_contact_stands(
    store: Store, clock: FakeClock
) -> None:
    contact = await in_flow(store, clock)
    session, tag = await store.get_session_tagged(SESSION)
    clock.advance(3)
    done = await store.apply_turn(await queueing(store, contact, clock))
    assert done.outcome is TurnOutcome.APPLIED and done.contact is not None
    queued = done.contact
    assert queued.state is ContactState.WAITING and queued.team == "billing"
    assert queued.priority == 60 and queued.queued_at == clock()
    assert queued.sla_due == SLA_DUE and queued.meta["complaint"] is True
    assert done.position == Position("billing", ahead=0, waiting=1)
    assert done.position == await store.position(contact.id)
    stored = await store.get_contact(contact.id)
    assert dataclasses.replace(stored, messages=()) == queued
    assert await history(store, contact.id) == ["dzień dobry", "1", "Łączymy z działem rozliczeń."]
    # The session is left to the router (``session`` None), its tag with it.
    assert await store.get_session_tagged(SESSION) == (session, tag) and done.session_tag == ""
    claim = await store.claim(["billing"], "ann", lease_s=60)
    assert claim is not None and claim.contact_id == contact.id


async def test_the_position_counts_the_scores_ahead(store: Store, clock: FakeClock) -> None:
    for address, delay_s in (("+48500000001", 0), ("+48500000002", 600)):
        other = new_contact(clock, address=address)
        await store.intake(other, inbound(clock))
        await store.enqueue(other.id, "billing", delay_s=delay_s)
    clock.advance(10)
    contact = await in_flow(store, clock)
    done = await store.apply_turn(
        await queueing(store, contact, clock, enqueue=TurnEnqueue("billing", delay_s=300))
    )
    # Served after the one 600 s ahead of its time, before the one that came with none.
    assert done.position == Position("billing", ahead=1, waiting=3)
    assert done.position == await store.position(contact.id)
    assert (await store.waiting_order("billing"))[1] == contact.id


async def test_a_queueing_turn_leaves_what_update_and_enqueue_leave(
    store: Store, clock: FakeClock
) -> None:
    stepped, turned = [await in_flow(store, clock, a) for a in ("+48500000011", "+48500000012")]
    clock.advance(5)
    # The locked path's steps for one, the turn for the other, in the same minute.
    await store.intake(stepped, inbound(clock, "1"))
    await store.append_message(stepped.id, said(clock, "Łączymy z działem rozliczeń."))
    await store.update_contact(stepped.id, **QUEUE.changes())
    await store.enqueue(stepped.id, "technical", delay_s=60)
    queue = dataclasses.replace(QUEUE, team="technical")
    assert (await store.apply_turn(await queueing(store, turned, clock, enqueue=queue))).applied
    one, other = [await store.get_contact(c.id) for c in (stepped, turned)]
    assert dataclasses.replace(other, id=one.id, address=one.address, messages=()) == (
        dataclasses.replace(one, messages=())
    )
    kinds = [[e.kind for e in await store.events(c.id)] for c in (stepped, turned)]
    assert kinds[0] == kinds[1] and kinds[0][-1] == "contact_enqueued"
    enqueued = await store.list_events(kinds=["contact_enqueued"])
    assert [(e.contact_id, e.team, e.data) for e in enqueued] == [
        (c.id, "technical", {"delay_s": 60}) for c in (stepped, turned)
    ]
    buckets = await store.minute_buckets(["technical"], since=clock() - 60, until=clock())
    assert [(b.offered, b.waiting_delta) for b in buckets] == [(2, 2)]
    stats = (await store.queue_stats(["technical"]))[0]
    assert stats.waiting == 2 and stats.oldest_wait_s == 0


async def test_a_queueing_turn_on_a_session_that_moved_on_writes_nothing(
    store: Store, clock: FakeClock
) -> None:
    contact = await in_flow(store, clock)
    late = await queueing(store, contact, clock)
    await store.put_session(SESSION, {"contact_id": contact.id, "flow": {"node": "x"}}, ttl_s=60)
    assert (await store.apply_turn(late)).outcome is TurnOutcome.CHANGED
    await _untouched(store, contact)
    # The key was not taken: the same message stores normally afterwards.
    assert not (await store.intake(contact, inbound(clock, "1"), key=late.key)).duplicate


async def test_a_queueing_turn_for_a_contact_queued_meanwhile_writes_nothing(
    store: Store, clock: FakeClock
) -> None:
    contact = await in_flow(store, clock)
    late = await queueing(store, contact, clock)
    await store.enqueue(contact.id, "technical")
    assert (await store.apply_turn(late)).outcome is TurnOutcome.CHANGED
    assert await history(store, contact.id) == ["dzień dobry"]
    assert (await store.get_contact(contact.id)).team == "technical"
    assert [s.waiting for s in await store.queue_stats(["billing", "technical"])] == [0, 1]


async def test_a_queueing_turn_whose_key_was_seen_writes_nothing(
    store: Store, clock: FakeClock
) -> None:
    contact = await in_flow(store, clock)
    await store.intake(contact, inbound(clock, "1"), key="sms:SM-menu")
    seen = await store.apply_turn(await queueing(store, contact, clock, key="sms:SM-menu"))
    assert seen.outcome is TurnOutcome.SEEN and seen.position is None
    assert await history(store, contact.id) == ["dzień dobry", "1"]
    assert (await store.get_contact(contact.id)).state is ContactState.IN_FLOW
    assert (await store.queue_stats(["billing"]))[0].waiting == 0


async def test_a_queueing_turn_waits_for_nobody_while_its_lock_is_held(
    store: Store, clock: FakeClock
) -> None:
    contact = await in_flow(store, clock)
    locked = await queueing(store, contact, clock, lock="conversation:" + SESSION)
    assert await store.acquire_lock("conversation:" + SESSION, "the-locked-path", ttl_s=30)
    assert (await store.apply_turn(locked)).outcome is TurnOutcome.CHANGED
    await _untouched(store, contact)
    await store.release_lock("conversation:" + SESSION, "the-locked-path")
    assert (await store.apply_turn(locked)).position == Position("billing", ahead=0, waiting=1)


async def test_a_first_message_may_queue_its_new_contact_and_write_the_session(
    store: Store, clock: FakeClock
) -> None:
    contact = new_contact(clock)
    session = {"contact_id": contact.id, "queue_prompt": "queued"}
    done = await store.apply_turn(
        turn(contact, inbound(clock, "pilne"), key="sms:SM1", session=session, enqueue=QUEUE)
    )
    assert done.contact is not None and done.contact.state is ContactState.WAITING
    assert done.position == Position("billing", ahead=0, waiting=1)
    assert (await store.get_session_tagged(SESSION)) == (session, done.session_tag)
    assert done.session_tag != ""
    kinds = [e.kind for e in await store.events(contact.id)]
    assert kinds[0] == "contact_created" and kinds[-1] == "contact_enqueued"


async def _untouched(store: Store, contact: Contact) -> None:
    """``contact`` as ``in_flow`` left it: in its flow, its first message only, no queue."""
    stored = await store.get_contact(contact.id)
    assert stored.state is ContactState.IN_FLOW and stored.team is None
    assert stored.sla_due is None and "complaint" not in stored.meta
    assert [m.text for m in stored.messages] == ["dzień dobry"]
    assert (await store.queue_stats(["billing"]))[0].waiting == 0
    assert await store.list_events(kinds=["contact_enqueued"]) == []
