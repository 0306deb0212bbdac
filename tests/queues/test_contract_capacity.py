"""The store contract for agent capacity, after-contact work, surveys and first-contact
resolution: every backend (and the cluster: tests/queues/redis/test_cluster.py) passes the
same suite."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from queues import Channel, ContactState, Event, InvalidTransition, Store
from queues.buckets import EXTRAS, NO_TEAM, RECENT_HANDLES, minute_of
from queues.capacity import ALL_CHANNELS, Capacity
from tests.conftest import FakeClock, StoreMaker
from tests.queues.test_contract import inbound, new_contact, waiting

Key = tuple[str, int, str]  # team, minute start, channel

#: The shipped limits: voice 1 (and alone), chat 3, email 5, SMS and Telegram 5.
SHIPPED = Capacity(
    limits={"voice": 1, "chat": 3, "email": 5, "sms": 5, "telegram": 5},
    exclusive=frozenset({"voice"}),
)


def capped(**limits: int) -> Capacity:
    return Capacity(limits=limits, exclusive=frozenset({"voice"}))


async def queued(
    store: Store, clock: FakeClock, channel: Channel, team: str = "billing", **kw: Any
) -> str:
    clock.advance(1)
    return await waiting(store, clock, team, channel=channel, **kw)


async def claim(store: Store, agent: str, cap: Capacity, teams: list[str] | None = None) -> str:
    got = await store.claim(teams or ["billing"], agent, lease_s=60, capacity=cap)
    return got.contact_id if got else ""


# -- capacity ------------------------------------------------------------------------------
def test_capacity_closes_full_channels_and_exclusive_ones() -> None:
    assert SHIPPED.closed({}) == frozenset()
    assert SHIPPED.closed({"chat": 2}) == {"voice"}
    assert SHIPPED.closed({"chat": 3, "email": 1}) == {"voice", "chat"}
    assert SHIPPED.closed({"voice": 1}) == ALL_CHANNELS
    assert Capacity().closed({"voice": 9, "chat": 9}) == frozenset()  # nothing limited
    with pytest.raises(ValueError, match="capacity of 'chat'"):
        Capacity(limits={"chat": -1})
    with pytest.raises(ValueError, match="wrap_up_s"):
        Capacity(wrap_up_s=-1)


async def test_a_claim_skips_a_channel_at_its_limit_and_takes_the_next_best(
    store: Store, clock: FakeClock
) -> None:
    chat1 = await queued(store, clock, Channel.CHAT)
    chat2 = await queued(store, clock, Channel.CHAT)
    email = await queued(store, clock, Channel.EMAIL)
    sms = await queued(store, clock, Channel.SMS)
    cap = capped(chat=1, email=1, sms=1)
    assert await claim(store, "ann", cap) == chat1
    assert await claim(store, "ann", cap) == email  # chat2 is older, but chat is full
    assert await claim(store, "ann", cap) == sms
    assert await claim(store, "ann", cap) == ""  # everything waiting is on a full channel
    assert await store.agent_load("ann") == {"chat": 1, "email": 1, "sms": 1}
    # Another agent takes the chat ann could not, and the queue's order held for them.
    assert await claim(store, "bob", cap) == chat2
    assert (await store.get_contact(chat2)).state is ContactState.ASSIGNED
    assert (await store.queue_stats(["billing"]))[0].waiting == 0


async def test_voice_is_held_alone(store: Store, clock: FakeClock) -> None:
    call = await queued(store, clock, Channel.VOICE, delay_s=120)
    chat = await queued(store, clock, Channel.CHAT)
    assert await claim(store, "ann", SHIPPED) == call
    assert await claim(store, "ann", SHIPPED) == ""  # on a call: nothing else
    await store.ack(call, "ann")
    call2 = await queued(store, clock, Channel.VOICE, delay_s=120)
    assert await claim(store, "ann", SHIPPED) == call2  # the better score
    await store.release(call2, "ann")
    assert await claim(store, "bob", SHIPPED) == call2
    assert await claim(store, "ann", SHIPPED) == chat
    call3 = await queued(store, clock, Channel.VOICE, delay_s=600)
    assert await claim(store, "ann", SHIPPED) == ""  # holding a chat: no call
    assert await claim(store, "carl", SHIPPED) == call3


async def test_the_load_spans_teams(store: Store, clock: FakeClock) -> None:
    first = await queued(store, clock, Channel.CHAT, team="billing")
    second = await queued(store, clock, Channel.CHAT, team="technical")
    third = await queued(store, clock, Channel.CHAT, team="technical")
    cap = capped(chat=2)
    assert await claim(store, "ann", cap, ["billing"]) == first
    assert await claim(store, "ann", cap, ["technical"]) == second
    assert await claim(store, "ann", cap, ["technical", "billing"]) == ""
    assert await store.agent_load("ann") == {"chat": 2}
    await store.transfer(first, "technical", agent="ann")  # out of her hands
    assert await store.agent_load("ann") == {"chat": 1}
    assert await claim(store, "ann", cap, ["technical"]) == first  # it kept its place
    assert await claim(store, "bob", cap, ["technical"]) == third


async def test_a_claim_under_capacity_keeps_the_order_across_teams_and_channels(
    store: Store, clock: FakeClock
) -> None:
    late_chat = await queued(store, clock, Channel.CHAT, team="billing")
    early_sms = await queued(store, clock, Channel.SMS, team="technical", delay_s=300)
    email = await queued(store, clock, Channel.EMAIL, team="billing", delay_s=200)
    cap = capped(chat=5, sms=5, email=5)
    assert await claim(store, "ann", cap, ["billing", "technical"]) == early_sms
    assert await claim(store, "ann", cap, ["billing", "technical"]) == email
    assert await claim(store, "ann", cap, ["billing", "technical"]) == late_chat


async def test_letting_go_frees_the_slot_at_once(store: Store, clock: FakeClock) -> None:
    cap = capped(chat=1)
    chats = [await queued(store, clock, Channel.CHAT) for _ in range(4)]
    assert await claim(store, "ann", cap) == chats[0]
    await store.release(chats[0], "ann")
    assert await store.agent_load("ann") == {}
    assert await claim(store, "ann", cap) == chats[0]
    await store.transfer(chats[0], "technical", agent="ann")
    assert await claim(store, "ann", cap) == chats[1]
    clock.advance(61)
    assert await store.requeue_expired() == [chats[1]]  # the lease ran out
    assert await store.agent_load("ann") == {}
    assert await claim(store, "ann", cap) == chats[1]
    await store.ack(chats[1], "ann")  # no wrap-up: free at once
    assert await claim(store, "ann", cap) == chats[2]


async def test_a_wrap_up_keeps_the_slot_of_the_contact_it_follows(
    store: Store, clock: FakeClock
) -> None:
    cap = Capacity(limits={"voice": 1, "chat": 2}, exclusive=frozenset({"voice"}), wrap_up_s=30)
    chats = [await queued(store, clock, Channel.CHAT) for _ in range(3)]
    call = await queued(store, clock, Channel.VOICE)
    assert await claim(store, "ann", cap) == chats[0]
    assert await claim(store, "ann", cap) == chats[1]
    await store.ack(chats[0], "ann", disposition="solved", wrap_s=30)
    assert await store.agent_load("ann", wrap_up_s=30) == {"chat": 2}
    assert await store.agent_load("ann") == {"chat": 1}  # without the wrap-up
    assert await claim(store, "ann", cap) == ""  # chat full: one held, one wrapping up
    clock.advance(29.9)
    assert await claim(store, "ann", cap) == ""
    clock.advance(0.2)
    assert await claim(store, "ann", cap) == chats[2]
    await store.ack(chats[1], "ann", wrap_s=30)
    await store.ack(chats[2], "ann", wrap_s=30)
    assert await claim(store, "ann", cap) == ""  # voice waits for no wrap-up either
    clock.advance(30)
    assert await claim(store, "ann", cap) == call
    await store.ack(call, "ann", wrap_s=30)
    other = await queued(store, clock, Channel.CHAT)
    assert await claim(store, "ann", cap) == ""  # after a call (exclusive): nothing at all
    clock.advance(30)
    assert await claim(store, "ann", cap) == other


async def test_a_wrap_up_is_recorded_with_the_resolve(store: Store, clock: FakeClock) -> None:
    cid = await queued(store, clock, Channel.VOICE)
    await store.claim(["billing"], "ann", lease_s=60)
    clock.advance(100)
    await store.ack(cid, "ann", disposition="solved", wrap_s=25)
    resolved = [e for e in await store.events(cid) if e.kind == "contact_resolved"]
    assert resolved[0].data["handle_s"] == 100 and resolved[0].data["wrap_s"] == 25
    buckets = await store.minute_buckets(["billing"], since=clock() - 300, until=clock())
    assert sum(b.handle_us for b in buckets) == 100_000_000
    assert sum(b.wrap_us for b in buckets) == 25_000_000
    # The wait estimate's handle times carry the after-contact work.
    assert await store.handle_times("billing", since=clock() - 300) == [125.0]
    plain = await queued(store, clock, Channel.SMS)
    await store.claim(["billing"], "ann", lease_s=60)
    await store.ack(plain, "ann")
    assert "wrap_s" not in [e for e in await store.events(plain)][-1].data


async def test_concurrent_claims_of_one_agent_never_exceed_the_capacity(
    make_store: StoreMaker, clock: FakeClock
) -> None:
    """Fifty claims of a few agents at once, through two stores on Redis (two processes'
    worth of connections), over a crowd of every channel in two teams."""
    first = await make_store(clock)
    second = await make_store(clock, fresh=False) if make_store.backend == "redis" else first
    rng = random.Random(14)
    channels = [Channel.VOICE, Channel.CHAT, Channel.EMAIL, Channel.SMS, Channel.TELEGRAM]
    for n in range(60):
        clock.advance(0.5)
        team = ("billing", "technical")[n % 2]
        await waiting(first, clock, team, channel=rng.choice(channels), delay_s=rng.choice((0, 90)))
    agents = ["ann", "bob", "carl"]
    claims = [
        (first if n % 2 else second).claim(
            ["billing", "technical"], agents[n % 3], lease_s=60, capacity=SHIPPED
        )
        for n in range(50)
    ]
    results = await asyncio.gather(*claims)
    refused = {agents[n % 3] for n, c in enumerate(results) if c is None}
    got = [c for c in results if c is not None]
    ids = [c.contact_id for c in got]
    assert len(ids) == len(set(ids)), "a contact leased twice"
    for agent in agents:
        held = [await first.get_contact(c.contact_id) for c in got if c.agent == agent]
        load = Counter(str(c.channel) for c in held)
        assert all(load[ch] <= SHIPPED.limits[ch] for ch in load), (agent, load)
        assert not (load["voice"] and len(held) > 1), (agent, load)
        assert await first.agent_load(agent) == dict(load)
        assert held, f"{agent} got nothing"
    # An agent refused once was full, or nothing left was theirs to take: another claim
    # gets none. (One whose every claim was answered may still be below capacity: up to 18
    # contacts without voice, and each agent makes 16 or 17 claims.)
    for agent in agents:
        again = await second.claim(["billing", "technical"], agent, lease_s=60, capacity=SHIPPED)
        if agent in refused:
            assert again is None
        elif again is not None:  # within the capacity all the same
            load = Counter(await second.agent_load(agent))
            assert all(load[ch] <= SHIPPED.limits[ch] for ch in load), (agent, load)


# -- surveys -------------------------------------------------------------------------------
async def resolved(store: Store, clock: FakeClock, team: str = "billing", **kw: Any) -> str:
    cid = await queued(store, clock, kw.pop("channel", Channel.SMS), team=team, **kw)
    got = await store.claim([team], "ann", lease_s=60)
    assert got is not None and got.contact_id == cid
    clock.advance(10)
    await store.ack(cid, "ann", disposition="solved")
    return cid


async def test_a_survey_is_asked_and_answered_once_and_counted(
    store: Store, clock: FakeClock
) -> None:
    cid = await resolved(store, clock)
    assert await store.record_survey(cid) is True
    assert await store.record_survey(cid) is False  # asked once
    clock.advance(5)
    assert await store.record_survey(cid, score=4) is True
    assert await store.record_survey(cid, score=1) is False  # the first answer stands
    kinds = [e for e in await store.events(cid) if e.kind.startswith("survey")]
    assert [e.kind for e in kinds] == ["survey_asked", "survey_answered"]
    assert kinds[1].data == {"score": 4} and kinds[1].agent == "ann" and kinds[1].team == "billing"
    other = await resolved(store, clock, channel=Channel.CHAT)
    await store.record_survey(other, score=2)  # answered without being asked (a keypad)
    buckets = await store.minute_buckets(["billing"], since=clock() - 600, until=clock())
    assert sum(b.surveys_asked for b in buckets) == 1
    assert sum(b.surveys_answered for b in buckets) == 2
    assert sum(b.csat_sum for b in buckets) == 6
    assert sum(b.csat_satisfied for b in buckets) == 1
    logged = [e.kind for e in await store.list_events(since=clock() - 600)]
    assert logged.count("survey_answered") == 2


async def test_a_survey_refuses_a_bad_score_or_a_contact_never_queued(
    store: Store, clock: FakeClock
) -> None:
    cid = await resolved(store, clock)
    for bad in (0, 6, True, 2.5):
        with pytest.raises(ValueError, match="1-5"):
            await store.record_survey(cid, score=bad)  # type: ignore[arg-type]
    fresh = new_contact(clock)
    await store.intake(fresh, inbound(clock))
    with pytest.raises(InvalidTransition):
        await store.record_survey(fresh.id, score=5)


# -- first-contact resolution --------------------------------------------------------------
DAYS_7 = 7 * 86400.0


async def test_a_new_contact_within_seven_days_is_a_repeat_once(
    store: Store, clock: FakeClock
) -> None:
    first = await resolved(store, clock, account="jan.kowalski")
    assert await store.fcr_resolved(first, "jan.kowalski", within_s=DAYS_7) is True
    assert await store.fcr_resolved(first, "jan.kowalski", within_s=DAYS_7) is False
    clock.advance(3 * 86400)
    other_team = await queued(store, clock, Channel.SMS, team="technical")
    assert await store.fcr_arrived(other_team, "jan.kowalski", within_s=DAYS_7) is False
    again = await queued(store, clock, Channel.VOICE, team="billing")
    assert await store.fcr_arrived(again, "jan.kowalski", within_s=DAYS_7) is True
    assert await store.fcr_arrived(again, "jan.kowalski", within_s=DAYS_7) is False
    third = await queued(store, clock, Channel.CHAT, team="billing")
    assert await store.fcr_arrived(third, "jan.kowalski", within_s=DAYS_7) is False  # ended
    repeat = [e for e in await store.events(again) if e.kind == "fcr_repeat"]
    assert repeat[0].data == {"of": first} and repeat[0].team == "billing"
    buckets = await store.minute_buckets(["billing"], since=clock() - 4 * 86400, until=clock())
    assert sum(b.fcr_resolved for b in buckets) == 1
    assert sum(b.fcr_returned for b in buckets) == 1


async def test_a_contact_after_seven_days_or_from_another_account_is_no_repeat(
    store: Store, clock: FakeClock
) -> None:
    first = await resolved(store, clock)
    await store.fcr_resolved(first, "jan.kowalski", within_s=DAYS_7)
    clock.advance(86400)
    other = await queued(store, clock, Channel.SMS)
    assert await store.fcr_arrived(other, "firma.nowak", within_s=DAYS_7) is False
    assert await store.fcr_arrived(first, "jan.kowalski", within_s=DAYS_7) is False  # itself
    clock.advance(6 * 86400)  # seven days after the resolve
    late = await queued(store, clock, Channel.SMS)
    assert await store.fcr_arrived(late, "jan.kowalski", within_s=DAYS_7) is False
    # A later resolve watches again, from its own time (on its own team).
    second = await resolved(store, clock, team="technical")
    await store.fcr_resolved(second, "jan.kowalski", within_s=DAYS_7)
    clock.advance(60)
    back = await queued(store, clock, Channel.SMS, team="technical")
    assert await store.fcr_arrived(back, "jan.kowalski", within_s=DAYS_7) is True


async def test_a_first_contact_resolution_is_counted_only_once_resolved(
    store: Store, clock: FakeClock
) -> None:
    cid = await queued(store, clock, Channel.SMS)
    with pytest.raises(InvalidTransition):
        await store.fcr_resolved(cid, "jan.kowalski", within_s=DAYS_7)


async def test_the_extra_counts_ride_in_the_buckets_teams_and_channels(
    store: Store, clock: FakeClock
) -> None:
    cid = await resolved(store, clock, channel=Channel.TELEGRAM)
    await store.record_survey(cid, score=5)
    await store.fcr_resolved(cid, "jan.kowalski", within_s=DAYS_7)
    buckets = await store.minute_buckets(["billing", NO_TEAM], since=clock() - 60, until=clock())
    tg = [b for b in buckets if b.team == "billing" and b.channel == "telegram"]
    assert sum(b.csat_satisfied for b in tg) == 1 and sum(b.fcr_resolved for b in tg) == 1
    assert len(await store.handle_times("billing", since=0, limit=RECENT_HANDLES)) == 1


# -- a random day with capacity, wrap-ups, surveys and repeats ------------------------------
def extras_from_events(events: list[Event], channels: dict[str, str]) -> dict[Key, Counter[str]]:
    """The extra counts each (team, minute, channel) must hold, from the events alone."""
    counts: dict[Key, Counter[str]] = {}
    for e in events:
        if e.team is None or e.contact_id not in channels:
            continue
        key = (e.team, minute_of(e.at), channels[e.contact_id])
        add = counts.setdefault(key, Counter())
        if e.kind == "contact_resolved" and "handle_s" in e.data:
            add["wrap_us"] += round(e.data.get("wrap_s", 0) * 1e6)
        elif e.kind == "survey_asked":
            add["surveys_asked"] += 1
        elif e.kind == "survey_answered":
            add.update(surveys_answered=1, csat_sum=e.data["score"])
            add["csat_satisfied"] += e.data["score"] >= 4
        elif e.kind == "fcr_counted":
            add["fcr_resolved"] += 1
        elif e.kind == "fcr_repeat":
            add["fcr_returned"] += 1
    return {k: Counter({n: v for n, v in c.items() if v}) for k, c in counts.items() if +c}


async def test_the_extra_counts_equal_a_recount_after_a_random_day(
    store: Store, clock: FakeClock
) -> None:
    rng = random.Random(1411)
    start = clock()
    accounts = ["jan", "ewa", "olek"]
    channels: dict[str, str] = {}
    held: dict[str, str] = {}
    done: list[str] = []
    cap = Capacity(
        limits={"voice": 1, "chat": 2, "sms": 3}, exclusive=frozenset({"voice"}), wrap_up_s=20
    )
    for _ in range(400):
        clock.advance(rng.choice((1, 7, 30, 200, 3000)))
        roll = rng.random()
        if roll < 0.3:
            channel = rng.choice([Channel.VOICE, Channel.CHAT, Channel.SMS])
            team = rng.choice(["billing", "technical"])
            cid = await waiting(store, clock, team, channel=channel)
            channels[cid] = str(channel)
            await store.fcr_arrived(cid, rng.choice(accounts), within_s=DAYS_7)
        elif roll < 0.55:
            agent = rng.choice(["ann", "bob"])
            claimed = await store.claim(["billing", "technical"], agent, lease_s=600, capacity=cap)
            if claimed is not None:
                held[claimed.contact_id] = agent
        elif roll < 0.75 and held:
            cid = rng.choice(sorted(held))
            await store.ack(cid, held.pop(cid), wrap_s=rng.choice((0, 20, 12.5)))
            await store.fcr_resolved(cid, rng.choice(accounts), within_s=DAYS_7)
            done.append(cid)
        elif done:
            cid = rng.choice(done)
            await store.record_survey(cid, score=rng.choice((None, 1, 3, 4, 5)))
    events = await store.list_events(since=start)
    buckets = await store.minute_buckets(["billing", "technical"], since=start, until=clock())
    got = {
        (b.team, b.minute, b.channel): Counter({n: getattr(b, n) for n in EXTRAS if getattr(b, n)})
        for b in buckets
    }
    assert {k: c for k, c in got.items() if c} == extras_from_events(events, channels)
    assert sum(c["fcr_returned"] for c in got.values()) > 0
    assert sum(c["surveys_answered"] for c in got.values()) > 0
