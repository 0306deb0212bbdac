"""The store contract: every backend (memory, sqlite, redis) passes the same suite."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from queues import (
    Channel,
    Contact,
    ContactNotFound,
    ContactState,
    Direction,
    InvalidTransition,
    Message,
    NotHolder,
    Store,
    StoreUnavailable,
)
from tests.conftest import FakeClock


def new_contact(clock: FakeClock, address: str = "+48500100200", **kw: Any) -> Contact:
    return Contact(
        channel=kw.pop("channel", Channel.SMS), address=address, created_at=clock(), **kw
    )


def inbound(clock: FakeClock, text: str = "hello") -> Message:
    return Message(direction=Direction.IN, text=text, at=clock())


async def waiting(store: Store, clock: FakeClock, team: str, delay_s: int = 0, **kw: Any) -> str:
    contact = new_contact(clock, **kw)
    await store.intake(contact, inbound(clock))
    await store.enqueue(contact.id, team, delay_s=delay_s)
    return contact.id


async def claim_ids(store: Store, teams: list[str], n: int) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(n):
        got = await store.claim(teams, "ann", lease_s=60)
        out.append(got.contact_id if got else None)
    return out


# -- records and intake --------------------------------------------------------------------
async def test_intake_creates_contact_with_message_and_events(
    store: Store, clock: FakeClock
) -> None:
    contact = new_contact(clock, language="pl", meta={"subject": "Faktura"})
    msg = inbound(clock, "Zażółć gęślą jaźń — faktura")
    got = await store.intake(contact, msg, key="sms:SM1")
    assert not got.duplicate
    stored = await store.get_contact(contact.id)
    assert stored.state is ContactState.IN_FLOW
    assert stored.language == "pl" and stored.meta == {"subject": "Faktura"}
    assert [m.text for m in stored.messages] == ["Zażółć gęślą jaźń — faktura"]
    assert stored.messages[0] == msg
    kinds = [e.kind for e in await store.events(contact.id)]
    assert kinds == ["contact_created", "message_received"]


async def test_intake_appends_to_existing_contact(store: Store, clock: FakeClock) -> None:
    contact = new_contact(clock)
    await store.intake(contact, inbound(clock, "one"))
    clock.advance(1)
    again = await store.intake(contact.replace(address="ignored"), inbound(clock, "two"))
    assert not again.duplicate
    stored = await store.get_contact(contact.id)
    assert [m.text for m in stored.messages] == ["one", "two"]
    assert stored.address == contact.address


async def test_duplicate_key_returns_existing_and_changes_nothing(
    store: Store, clock: FakeClock
) -> None:
    first = new_contact(clock)
    original = inbound(clock, "first")
    await store.intake(first, original, key="tg:42")
    other = new_contact(clock, address="someone-else")
    dup = await store.intake(other, inbound(clock, "retry"), key="tg:42")
    assert dup.duplicate
    assert dup.contact.id == first.id and dup.message == original
    assert [m.text for m in (await store.get_contact(first.id)).messages] == ["first"]
    with pytest.raises(ContactNotFound):
        await store.get_contact(other.id)


async def test_concurrent_duplicates_store_one_message(store: Store, clock: FakeClock) -> None:
    contact = new_contact(clock)
    results = await asyncio.gather(
        *(store.intake(contact, inbound(clock, f"copy {i}"), key="MSG-1") for i in range(50))
    )
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message.id for r in results}) == 1
    assert len((await store.get_contact(contact.id)).messages) == 1


async def test_contact_json_round_trip(store: Store, clock: FakeClock) -> None:
    contact = new_contact(clock, channel=Channel.EMAIL, language="he", meta={"cc": ["a@b"]})
    await store.intake(contact, inbound(clock, "שלום"))
    await store.update_contact(contact.id, verified=True, account="jan", sla_due=clock() + 86400)
    await store.enqueue(contact.id, "billing", delay_s=300)
    stored = await store.get_contact(contact.id)
    assert Contact.from_json(stored.to_json()) == stored
    data = stored.to_dict()
    assert data["state"] == "waiting" and data["priority"] == 300 and data["verified"] is True
    assert data["messages"][0]["direction"] == "in"


async def test_update_contact_refuses_queue_fields(store: Store, clock: FakeClock) -> None:
    contact = new_contact(clock)
    await store.intake(contact, inbound(clock))
    with pytest.raises(ValueError, match="state"):
        await store.update_contact(contact.id, state="resolved")
    with pytest.raises(ContactNotFound):
        await store.update_contact("nope", language="en")


async def test_outbound_message_recorded(store: Store, clock: FakeClock) -> None:
    contact = new_contact(clock)
    await store.intake(contact, inbound(clock))
    reply = Message(direction=Direction.OUT, text="Dzień dobry", at=clock(), author="ann")
    await store.append_message(contact.id, reply)
    stored = await store.get_contact(contact.id)
    assert stored.messages[-1] == reply
    assert (await store.events(contact.id))[-1].kind == "message_sent"


async def test_list_contacts_filters_newest_first(store: Store, clock: FakeClock) -> None:
    ids = []
    for i, channel in enumerate([Channel.SMS, Channel.EMAIL, Channel.SMS, Channel.CHAT]):
        clock.advance(1)
        c = new_contact(clock, address=f"addr{i % 2}", channel=channel)
        await store.intake(c, inbound(clock))
        ids.append(c.id)
    await store.enqueue(ids[2], "technical")
    assert [c.id for c in await store.list_contacts()] == ids[::-1]
    assert [c.id for c in await store.list_contacts(channel="sms")] == [ids[2], ids[0]]
    assert [c.id for c in await store.list_contacts(state="waiting")] == [ids[2]]
    assert [c.id for c in await store.list_contacts(team="technical")] == [ids[2]]
    assert [c.id for c in await store.list_contacts(address="addr1")] == [ids[3], ids[1]]
    assert [c.id for c in await store.list_contacts(limit=2)] == [ids[3], ids[2]]
    assert all(c.messages == () for c in await store.list_contacts())


async def test_close_in_flow_contact(store: Store, clock: FakeClock) -> None:
    contact = new_contact(clock)
    await store.intake(contact, inbound(clock))
    closed = await store.close(contact.id, ContactState.ABANDONED, reason="hung up")
    assert closed.state is ContactState.ABANDONED
    assert (await store.get_contact(contact.id)).state is ContactState.ABANDONED
    with pytest.raises(InvalidTransition):
        await store.enqueue(contact.id, "billing")


# -- ordering ------------------------------------------------------------------------------
async def test_claim_serves_lowest_score_fifo_on_ties(store: Store, clock: FakeClock) -> None:
    a = await waiting(store, clock, "billing")
    b = await waiting(store, clock, "billing")  # same time, same delay: FIFO
    clock.advance(10)
    c = await waiting(store, clock, "billing", delay_s=60)  # served as if 50 s before a
    assert await claim_ids(store, ["billing"], 4) == [c, a, b, None]


async def test_waiting_order_is_the_serving_order_and_agrees_with_positions(
    store: Store, clock: FakeClock
) -> None:
    assert await store.waiting_order("billing") == []
    a = await waiting(store, clock, "billing")
    b = await waiting(store, clock, "billing")
    clock.advance(10)
    c = await waiting(store, clock, "billing", delay_s=60)
    d = await waiting(store, clock, "technical")
    assert await store.waiting_order("billing") == [c, a, b]
    for ahead, contact_id in enumerate([c, a, b]):
        position = await store.position(contact_id)
        assert position is not None and position.ahead == ahead
    await store.claim(["billing"], "ann", lease_s=60)
    await store.remove(b)
    assert await store.waiting_order("billing") == [a]
    assert await store.waiting_order("technical") == [d]


async def test_low_priority_that_waited_longer_than_delay_difference_goes_first(
    store: Store, clock: FakeClock
) -> None:
    email = await waiting(store, clock, "technical", delay_s=0)
    clock.advance(121)
    voice = await waiting(store, clock, "technical", delay_s=120)
    assert await claim_ids(store, ["technical"], 2) == [email, voice]


async def test_claim_across_teams_takes_lowest_score(store: Store, clock: FakeClock) -> None:
    t1 = await waiting(store, clock, "technical")
    clock.advance(5)
    b1 = await waiting(store, clock, "billing")
    clock.advance(5)
    d1 = await waiting(store, clock, "domains_hosting", delay_s=30)
    clock.advance(5)
    t2 = await waiting(store, clock, "technical")
    teams = ["billing", "technical", "domains_hosting"]
    assert await claim_ids(store, teams, 5) == [d1, t1, b1, t2, None]


async def test_claim_only_from_served_teams(store: Store, clock: FakeClock) -> None:
    await waiting(store, clock, "billing")
    assert await store.claim(["technical"], "ann", lease_s=60) is None
    assert await store.claim([], "ann", lease_s=60) is None


async def test_claim_sets_lease_and_emits_wait(store: Store, clock: FakeClock) -> None:
    cid = await waiting(store, clock, "billing", delay_s=90)
    clock.advance(12)
    claim = await store.claim(["billing"], "ann", lease_s=60)
    assert claim is not None
    assert (claim.contact_id, claim.team, claim.agent) == (cid, "billing", "ann")
    assert claim.lease_until == pytest.approx(clock() + 60)
    held = await store.get_contact(cid)
    assert held.state is ContactState.ASSIGNED and held.agent == "ann"
    assert held.assigned_at == pytest.approx(clock())
    event = (await store.events(cid))[-1]
    assert event.kind == "contact_claimed" and event.agent == "ann"
    assert event.data["wait_s"] == pytest.approx(12)


# -- leases --------------------------------------------------------------------------------
async def test_expired_lease_requeues_with_original_score(store: Store, clock: FakeClock) -> None:
    first = await waiting(store, clock, "billing")
    clock.advance(5)
    second = await waiting(store, clock, "billing")
    claim = await store.claim(["billing"], "ann", lease_s=30)
    assert claim is not None and claim.contact_id == first
    clock.advance(29)
    assert await store.requeue_expired() == []
    clock.advance(2)
    assert await store.requeue_expired() == [first]
    back = await store.get_contact(first)
    assert back.state is ContactState.WAITING and back.agent is None
    assert back.score == claim.score
    assert (await store.events(first))[-1].kind == "lease_expired"
    with pytest.raises(NotHolder):
        await store.ack(first, "ann")
    assert await claim_ids(store, ["billing"], 2) == [first, second]


async def test_heartbeat_extends_lease(store: Store, clock: FakeClock) -> None:
    cid = await waiting(store, clock, "billing")
    await store.claim(["billing"], "ann", lease_s=30)
    clock.advance(20)
    renewed = await store.heartbeat(cid, "ann", lease_s=30)
    assert renewed.lease_until == pytest.approx(clock() + 30)
    clock.advance(20)
    assert await store.requeue_expired() == []
    with pytest.raises(NotHolder):
        await store.heartbeat(cid, "bob", lease_s=30)


async def test_ack_resolves_with_handle_time(store: Store, clock: FakeClock) -> None:
    cid = await waiting(store, clock, "billing")
    await store.claim(["billing"], "ann", lease_s=60)
    clock.advance(42)
    with pytest.raises(NotHolder):
        await store.ack(cid, "bob")
    await store.ack(cid, "ann", disposition="solved")
    done = await store.get_contact(cid)
    assert done.state is ContactState.RESOLVED and done.disposition == "solved"
    event = (await store.events(cid))[-1]
    assert event.kind == "contact_resolved" and event.data["handle_s"] == pytest.approx(42)
    with pytest.raises(InvalidTransition):
        await store.ack(cid, "ann")
    assert (await store.queue_stats(["billing"]))[0].assigned == 0


async def test_release_puts_back_with_original_score(store: Store, clock: FakeClock) -> None:
    first = await waiting(store, clock, "billing")
    clock.advance(1)
    second = await waiting(store, clock, "billing")
    await store.claim(["billing"], "ann", lease_s=60)
    clock.advance(100)
    with pytest.raises(NotHolder):
        await store.release(first, "bob")
    await store.release(first, "ann")
    assert (await store.get_contact(first)).state is ContactState.WAITING
    assert await claim_ids(store, ["billing"], 2) == [first, second]


async def test_transfer_keeps_place_and_moves_team(store: Store, clock: FakeClock) -> None:
    moved = await waiting(store, clock, "technical")
    clock.advance(30)
    already = await waiting(store, clock, "billing")
    await store.claim(["technical"], "ann", lease_s=60)
    with pytest.raises(NotHolder):
        await store.transfer(moved, "billing", agent="bob")
    await store.transfer(moved, "billing", agent="ann")
    stored = await store.get_contact(moved)
    assert stored.team == "billing" and stored.state is ContactState.WAITING
    assert stored.agent is None
    event = (await store.events(moved))[-1]
    assert event.kind == "contact_transferred" and event.data["from"] == "technical"
    assert await claim_ids(store, ["technical"], 1) == [None]
    assert await claim_ids(store, ["billing"], 2) == [moved, already]


async def test_transfer_of_waiting_contact_with_new_delay(store: Store, clock: FakeClock) -> None:
    early = await waiting(store, clock, "billing")
    clock.advance(10)
    late = await waiting(store, clock, "technical")
    await store.transfer(late, "billing", delay_s=60)
    assert (await store.get_contact(late)).priority == 60
    assert await claim_ids(store, ["billing"], 2) == [late, early]


async def test_remove_abandons_waiting_contact(store: Store, clock: FakeClock) -> None:
    cid = await waiting(store, clock, "billing")
    clock.advance(33)
    await store.remove(cid)
    gone = await store.get_contact(cid)
    assert gone.state is ContactState.ABANDONED
    event = (await store.events(cid))[-1]
    assert event.kind == "contact_abandoned" and event.data["wait_s"] == pytest.approx(33)
    assert await store.claim(["billing"], "ann", lease_s=60) is None
    with pytest.raises(InvalidTransition):
        await store.remove(cid)


async def test_invalid_transitions_raise(store: Store, clock: FakeClock) -> None:
    contact = new_contact(clock)
    await store.intake(contact, inbound(clock))
    with pytest.raises(InvalidTransition):
        await store.release(contact.id, "ann")
    await store.enqueue(contact.id, "billing")
    with pytest.raises(InvalidTransition):
        await store.enqueue(contact.id, "technical")
    with pytest.raises(NotHolder):
        await store.ack(contact.id, "ann")
    with pytest.raises(ContactNotFound):
        await store.ack("missing", "ann")
    with pytest.raises(ContactNotFound):
        await store.enqueue("missing", "billing")


# -- position and stats --------------------------------------------------------------------
async def test_position_and_queue_stats(store: Store, clock: FakeClock) -> None:
    a = await waiting(store, clock, "billing")
    clock.advance(10)
    b = await waiting(store, clock, "billing")
    c = await waiting(store, clock, "billing", delay_s=300)
    pos_b = await store.position(b)
    assert pos_b is not None and (pos_b.team, pos_b.ahead, pos_b.waiting) == ("billing", 2, 3)
    pos_c = await store.position(c)
    assert pos_c is not None and pos_c.ahead == 0
    clock.advance(5)
    await store.claim(["billing"], "ann", lease_s=60)
    billing, empty = await store.queue_stats(["billing", "technical"])
    assert (billing.team, billing.waiting, billing.assigned) == ("billing", 2, 1)
    assert billing.oldest_wait_s == pytest.approx(15)
    assert (empty.team, empty.waiting, empty.assigned, empty.oldest_wait_s) == (
        "technical",
        0,
        0,
        None,
    )
    assert await store.position(c) is None
    assert (await store.position(a)) == pos_c.__class__("billing", 0, 2)


# -- concurrency ---------------------------------------------------------------------------
async def test_concurrent_claimers_never_share_and_lose_nothing(
    store: Store, clock: FakeClock
) -> None:
    ids = {await waiting(store, clock, team) for team in ("billing", "technical") * 75}
    teams = ["billing", "technical"]
    results = await asyncio.gather(
        *(store.claim(teams, f"agent{i}", lease_s=60) for i in range(200))
    )
    claimed = [r.contact_id for r in results if r is not None]
    assert len(claimed) == len(set(claimed)) == 150
    assert set(claimed) == ids
    assert sum(s.waiting for s in await store.queue_stats(teams)) == 0


# -- events, sessions, pub/sub ---------------------------------------------------------------
async def test_list_events_since_and_kinds(store: Store, clock: FakeClock) -> None:
    await waiting(store, clock, "billing")
    clock.advance(60)
    since = clock()
    later = await waiting(store, clock, "technical")
    events = await store.list_events(since=since)
    assert {e.contact_id for e in events} == {later}
    enqueued = await store.list_events(kinds=["contact_enqueued"])
    assert [e.team for e in enqueued] == ["billing", "technical"]
    assert enqueued[1].data["delay_s"] == 0


async def test_sessions_expire(store: Store, clock: FakeClock) -> None:
    await store.put_session("sms:+48500", {"node": "verify", "tries": 1}, ttl_s=600)
    assert await store.get_session("sms:+48500") == {"node": "verify", "tries": 1}
    clock.advance(601)
    assert await store.get_session("sms:+48500") is None
    await store.put_session("chat:x", {"node": "menu"}, ttl_s=600)
    await store.delete_session("chat:x")
    assert await store.get_session("chat:x") is None


async def test_hits_count_within_the_sliding_window(store: Store, clock: FakeClock) -> None:
    start = clock()
    assert await store.record_hit("lockout:a", window_s=60, ttl_s=60) == 1
    clock.advance(30)
    assert await store.record_hit("lockout:a", window_s=60, ttl_s=60) == 2
    assert await store.record_hit("lockout:b", window_s=60, ttl_s=60) == 1
    assert await store.hits("lockout:a", window_s=60) == [
        pytest.approx(start),
        pytest.approx(start + 30),
    ]
    clock.advance(30)  # the first hit is exactly window_s old now: it no longer counts
    assert await store.hits("lockout:a", window_s=60) == [pytest.approx(start + 30)]
    assert await store.record_hit("lockout:a", window_s=60, ttl_s=60) == 2
    clock.advance(61)
    assert await store.hits("lockout:a", window_s=60) == []
    assert await store.record_hit("lockout:a", window_s=60, ttl_s=60) == 1


async def test_a_tagged_hit_counts_once_within_the_window(store: Store, clock: FakeClock) -> None:
    """The retry of one attempt (the same tag) is not counted again, and keeps the time it
    was first counted at; once that has left the window, the tag counts anew."""
    start = clock()
    assert await store.record_hit("lockout:a", window_s=60, ttl_s=60, tag="sms:SM1") == 1
    clock.advance(10)
    assert await store.record_hit("lockout:a", window_s=60, ttl_s=60, tag="sms:SM1") == 1
    assert await store.record_hit("lockout:a", window_s=60, ttl_s=60, tag="sms:SM2") == 2
    assert await store.record_hit("lockout:a", window_s=60, ttl_s=60) == 3
    assert await store.record_hit("lockout:b", window_s=60, ttl_s=60, tag="sms:SM1") == 1
    counts = await asyncio.gather(
        *(store.record_hit("lockout:a", window_s=60, ttl_s=60, tag="sms:SM3") for _ in range(5))
    )
    assert counts == [4] * 5
    assert (await store.hits("lockout:a", window_s=60))[0] == pytest.approx(start)
    clock.advance(51)  # the first SM1 has left the window
    assert await store.record_hit("lockout:a", window_s=60, ttl_s=60, tag="sms:SM1") == 4


async def test_clear_hits_forgets_one_key(store: Store, clock: FakeClock) -> None:
    for _ in range(3):
        await store.record_hit("lockout:a", window_s=60, ttl_s=60)
    await store.record_hit("lockout:b", window_s=60, ttl_s=60)
    await store.clear_hits("lockout:a")
    await store.clear_hits("never-hit")
    assert await store.hits("lockout:a", window_s=60) == []
    assert len(await store.hits("lockout:b", window_s=60)) == 1
    assert await store.record_hit("lockout:a", window_s=60, ttl_s=60) == 1


async def test_concurrent_hits_on_one_key_are_all_counted(store: Store, clock: FakeClock) -> None:
    counts = await asyncio.gather(
        *(store.record_hit("lockout:a", window_s=60, ttl_s=60) for _ in range(50))
    )
    assert sorted(counts) == list(range(1, 51))
    assert len(await store.hits("lockout:a", window_s=60)) == 50


async def test_publish_reaches_subscriber(store: Store) -> None:
    async with store.subscribe("replies:abc") as messages:
        await store.publish("replies:abc", '{"text": "hi"}')
        await store.publish("replies:other", "not for us")
        await store.publish("replies:abc", "second")
        got = [
            await asyncio.wait_for(anext(messages), 5),
            await asyncio.wait_for(anext(messages), 5),
        ]
    assert got == ['{"text": "hi"}', "second"]


async def test_ping_answers_while_open_and_refuses_once_closed(store: Store) -> None:
    await store.ping()  # no error: it answers
    await store.aclose()
    with pytest.raises(StoreUnavailable, match="closed"):
        await store.ping()
    await store.aclose()  # closing twice is harmless (the fixture closes it again)


async def test_session_compare_and_set_lets_one_of_two_writers_win(
    store: Store, clock: FakeClock
) -> None:
    assert await store.get_session_tagged("incidents") == (None, "")
    assert await store.put_session_if("incidents", {"n": 1}, tag="", ttl_s=60)
    data, tag = await store.get_session_tagged("incidents")
    assert data == {"n": 1} and tag
    # Two writers read the same version; the second to write finds it changed.
    assert await store.put_session_if("incidents", {"n": 2}, tag=tag, ttl_s=60)
    assert not await store.put_session_if("incidents", {"n": 3}, tag=tag, ttl_s=60)
    assert await store.get_session("incidents") == {"n": 2}
    # A plain put is a new version too; an expired session counts as absent.
    _, tag = await store.get_session_tagged("incidents")
    await store.put_session("incidents", {"n": 4}, ttl_s=60)
    assert not await store.put_session_if("incidents", {"n": 5}, tag=tag, ttl_s=60)
    clock.advance(61)
    assert await store.get_session_tagged("incidents") == (None, "")
    assert await store.put_session_if("incidents", {"n": 6}, tag="", ttl_s=60)
    assert await store.get_session("incidents") == {"n": 6}
