"""What only the Redis backend promises: durability across processes and servers, one
EVALSHA per transition, reloaded scripts, hash tags per team and per contact shard, real
pub/sub. Half-done hand-overs between tags: test_repair.py; a real cluster:
test_cluster.py."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot

from queues import (
    Channel,
    Contact,
    ContactState,
    Direction,
    Event,
    Message,
    StoreUnavailable,
    now_s,
    open_store,
)
from queues.redis.keys import (
    READY_CHANNELS,
    all_key,
    contact_buckets_key,
    contact_events_key,
    entry_key,
    flow_key,
    history_key,
    ready_key,
    ready_keys,
    shard_of,
    team_buckets_key,
    team_events_key,
)
from queues.redis.store import RedisStore
from tests.conftest import FakeClock
from tests.queues.redis_support import (
    admin,
    assert_consistent,
    contact_and_message,
    store,
    waiting,
)
from tests.redis_server import redis_server

__all__ = ["admin", "store"]  # fixtures used here

ROOT = Path(__file__).resolve().parents[3]


# -- durability ----------------------------------------------------------------------------
async def test_data_survives_closing_and_reopening_the_store(
    admin: aioredis.Redis, redis_url: str, clock: FakeClock
) -> None:
    async with await RedisStore.open(redis_url, clock=clock) as first:
        held = await waiting(first, clock, "billing")
        queued = await waiting(first, clock, "technical", delay_s=60)
        claim = await first.claim(["billing"], "ann", lease_s=60)
        assert claim is not None and claim.contact_id == held
        await first.put_session("sms:+48500", {"node": "menu"}, ttl_s=600)
    async with await RedisStore.open(redis_url, clock=clock) as second:
        assert (await second.get_contact(held)).agent == "ann"
        assert (await second.get_contact(queued)).messages[0].text == "hello"
        assert await second.get_session("sms:+48500") == {"node": "menu"}
        await second.ack(held, "ann", disposition="solved")
        again = await second.claim(["billing", "technical"], "bob", lease_s=60)
        assert again is not None and again.contact_id == queued
        kinds = [e.kind for e in await second.events(held)]
        assert kinds == [
            "contact_created",
            "message_received",
            "contact_enqueued",
            "contact_claimed",
            "contact_resolved",
        ]
    await assert_consistent(admin)


async def test_data_survives_a_redis_server_restart(tmp_path: Path, clock: FakeClock) -> None:
    workdir = tmp_path / "redis"
    with redis_server(workdir) as url:  # appendonly, fsync always
        async with await RedisStore.open(url, clock=clock) as store:
            cid = await waiting(store, clock, "billing", delay_s=90)
    with redis_server(workdir) as url:
        async with await RedisStore.open(url, clock=clock) as store:
            stored = await store.get_contact(cid)
            assert stored.state is ContactState.WAITING and stored.priority == 90
            claim = await store.claim(["billing"], "ann", lease_s=60)
            assert claim is not None and claim.contact_id == cid


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from queues import Channel, Contact, Direction, Message, now_s
    from queues.redis.store import RedisStore

    TEAMS = ["billing", "technical"]

    async def worker(store, w):
        i = 0
        while True:
            i += 1
            contact = Contact(channel=Channel.CHAT, address=f"kill-{w}-{i}", created_at=now_s())
            message = Message(direction=Direction.IN, text="x" * 100, at=now_s())
            await store.intake(contact, message, key=f"kill:{w}:{i}")
            print("in_flow", contact.id, flush=True)
            await store.enqueue(contact.id, TEAMS[i % 2], delay_s=(i % 3) * 10)
            print("waiting", contact.id, flush=True)
            claim = await store.claim(TEAMS, f"agent{w}", lease_s=3600)
            if claim is None:
                continue
            print("assigned", claim.contact_id, flush=True)
            if i % 4 == 0:
                other = TEAMS[TEAMS.index(claim.team) - 1]
                print("moved", claim.contact_id, flush=True)  # from here, either
                await store.transfer(claim.contact_id, other, agent=f"agent{w}")
            elif i % 2:
                await store.ack(claim.contact_id, f"agent{w}", disposition="done")
                print("resolved", claim.contact_id, flush=True)

    async def main():
        store = await RedisStore.open(sys.argv[1], single_slot=sys.argv[2] == "single-slot")
        await asyncio.gather(*(worker(store, w) for w in range(4)))

    asyncio.run(main())
    """
)
RANK = {"in_flow": 0, "waiting": 1, "assigned": 2, "resolved": 3}


@pytest.mark.parametrize("protocol", ["one-redis", "single-slot"])
async def test_every_committed_step_survives_kill_9_of_a_writer(
    admin: aioredis.Redis, redis_url: str, protocol: str
) -> None:
    """A writer killed at any point leaves every contact in one place; what a hand-over
    between tags left half done, a reader or the reaper finishes."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        redis_url,
        protocol,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    printed: dict[str, str] = {}  # id -> the furthest state printed for it

    def note(line: str) -> None:
        state, cid = line.split()
        if state == "moved" or printed.get(cid) == "moved":  # then any state but in_flow
            printed[cid] = "moved"
        elif RANK[state] >= RANK[printed.get(cid, "in_flow")]:
            printed[cid] = state

    try:
        while len(printed) < 300:
            raw = await asyncio.wait_for(child.stdout.readline(), 30)
            assert raw, (await child.stderr.read()).decode()
            note(raw.decode())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = await child.communicate()
    for line in rest.decode().splitlines(keepends=True):
        if line.endswith("\n"):  # the last line may have been cut by the kill
            note(line)
    assert child.returncode == -signal.SIGKILL

    await assert_consistent(admin, settled=False)
    later = await RedisStore.open(redis_url, clock=lambda: now_s() + 60)  # past any grace
    async with later:
        assert await later.requeue_expired() == []  # finishes moves and hand-overs only
    states = await assert_consistent(admin)
    assert any(state == "moved" for state in printed.values())
    for cid, state in printed.items():
        # A step may have committed with its line unprinted: never less than printed.
        if state == "moved":  # a transfer began: done or not, and maybe claimed again
            assert states[cid] in ("waiting", "assigned", "resolved"), (cid, states[cid])
        else:
            assert RANK[states[cid]] >= RANK[state], (cid, state, states[cid])
    async with await RedisStore.open(redis_url) as store:
        for cid in printed:
            contact = await store.get_contact(cid)
            assert len(contact.messages) == 1
            kinds = [e.kind for e in await store.events(cid)]
            assert kinds[:2] == ["contact_created", "message_received"]


# -- round trips, scripts, keys ------------------------------------------------------------
async def commands_sent(
    redis_url: str, admin: aioredis.Redis, steps: Callable[[], Awaitable[None]]
) -> list[str]:
    """The commands clients sent while ``steps`` ran (not those scripts ran)."""
    watcher = aioredis.Redis.from_url(redis_url, decode_responses=True)
    sent: list[str] = []
    async with watcher.monitor() as monitor:
        await steps()
        await admin.echo("end-of-count")
        while True:
            seen = await asyncio.wait_for(monitor.next_command(), 10)
            if "end-of-count" in seen["command"]:
                break
            if seen["client_type"] != "lua":
                sent.append(seen["command"].split(" ", 1)[0].lower())
    await watcher.aclose()
    return sent


@pytest.mark.parametrize("single_slot", [False, True])
async def test_enqueue_claim_ack_send_one_evalsha_each(
    admin: aioredis.Redis, redis_url: str, clock: FakeClock, single_slot: bool
) -> None:
    async with await RedisStore.open(redis_url, clock=clock, single_slot=single_slot) as store:
        await waiting(store, clock, "technical")  # a process registers a team once (SADD)
        await waiting(store, clock, "billing")
        await store.claim(["billing"], "ann", lease_s=60)
        contact, message = contact_and_message(clock)
        await store.intake(contact, message)

        async def cycle() -> None:
            await store.enqueue(contact.id, "billing")
            claim = await store.claim(["billing"], "ann", lease_s=60)
            assert claim is not None and claim.contact_id == contact.id
            await store.ack(contact.id, "ann")

        async def across_teams() -> None:
            claim = await store.claim(["billing", "technical"], "bob", lease_s=60)
            assert claim is not None and claim.team == "technical"

        sent = await commands_sent(redis_url, admin, cycle)
        # One Redis: the enqueue script checks the flow record in the same step. The
        # cluster protocol: reserve on the contact's shard, enqueue on the team, reserved.
        assert sent == ["evalsha"] * (5 if single_slot else 3)
        # Across teams: one pipelined ZRANGE of each head (each team's channels' indexes),
        # then the script on the best.
        heads = ["zrange"] * 2 * len(READY_CHANNELS)
        assert await commands_sent(redis_url, admin, across_teams) == [*heads, "evalsha"]


async def test_scripts_are_reloaded_after_script_flush(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    first = await waiting(store, clock, "billing")
    await admin.script_flush()
    second = await waiting(store, clock, "billing")
    claim = await store.claim(["billing"], "ann", lease_s=60)
    assert claim is not None and claim.contact_id == first
    await admin.script_flush()
    await store.ack(first, "ann")
    assert [e.kind for e in await store.events(second)][-1] == "contact_enqueued"
    await assert_consistent(admin)


async def test_keys_carry_a_hash_tag_per_team_and_per_contact_shard(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    cid = await waiting(store, clock, "billing")
    held = await waiting(store, clock, "domains_hosting")
    await store.claim(["domains_hosting"], "ann", lease_s=60)
    keys = {str(key) for key in await admin.keys("*")}
    assert {key for key in keys if key.startswith("{sb:team:")} == {
        "{sb:team:billing}:ready:sms",  # the queue's index of its waiting SMS contacts
        "{sb:team:billing}:queued",
        "{sb:team:billing}:seq",
        "{sb:team:billing}:events",
        f"{{sb:team:billing}}:c:{cid}",
        team_buckets_key("billing", clock()),
        "{sb:team:domains_hosting}:leased",
        "{sb:team:domains_hosting}:held:ann",  # what ann claimed there: her load
        "{sb:team:domains_hosting}:seq",
        "{sb:team:domains_hosting}:events",
        f"{{sb:team:domains_hosting}}:c:{held}",
        team_buckets_key("domains_hosting", clock()),
    }
    assert all(key.startswith(("{sb:team:", "{sb:c:")) for key in keys - {"sb:teams"})
    for contact_id, team in ((cid, "billing"), (held, "domains_hosting")):
        shard = shard_of(contact_id)
        contact_keys = [flow_key(contact_id), history_key(contact_id), all_key(shard)]
        contact_keys += [contact_events_key(contact_id), contact_buckets_key(contact_id, clock())]
        assert len({key_slot(key.encode()) for key in contact_keys}) == 1
        queue_keys = [entry_key(team, contact_id), *ready_keys(team), team_events_key(team)]
        queue_keys.append(team_buckets_key(team, clock()))
        assert len({key_slot(key.encode()) for key in queue_keys}) == 1
        assert await admin.object("encoding", flow_key(contact_id)) == "listpack"
        assert await admin.object("encoding", entry_key(team, contact_id)) == "listpack"


async def test_fifo_on_ties_holds_past_nine_and_ninety_nine(
    store: RedisStore, clock: FakeClock
) -> None:
    ids = [await waiting(store, clock, "billing") for _ in range(105)]
    claimed = []
    for _ in ids:
        claim = await store.claim(["billing"], "ann", lease_s=60)
        assert claim is not None
        claimed.append(claim.contact_id)
    assert claimed == ids


async def test_a_stale_team_in_another_process_is_corrected(
    admin: aioredis.Redis, redis_url: str, store: RedisStore, clock: FakeClock
) -> None:
    cid = await waiting(store, clock, "billing")  # this store now believes "billing"
    async with await RedisStore.open(redis_url, clock=clock) as other:
        await other.transfer(cid, "technical", delay_s=30)
    clock.advance(5)
    await store.remove(cid)
    gone = await store.get_contact(cid)
    assert gone.state is ContactState.ABANDONED and gone.team == "technical"
    assert await admin.zcard(ready_key("technical")) == 0
    await assert_consistent(admin)


async def test_requeue_expired_across_teams_in_lease_order(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    billing = await waiting(store, clock, "billing")
    technical = await waiting(store, clock, "technical")
    kept = await waiting(store, clock, "technical")
    await store.claim(["billing"], "ann", lease_s=30)
    await store.claim(["technical"], "bob", lease_s=20)
    await store.claim(["technical"], "cid", lease_s=300)
    clock.advance(31)
    assert await store.requeue_expired() == [technical, billing]
    assert (await store.get_contact(kept)).agent == "cid"
    events = await store.list_events(kinds=["lease_expired"])
    # Each team records its own; at the same time, their order between teams is open.
    assert sorted((e.contact_id, e.team, e.agent) for e in events) == sorted(
        [(technical, "technical", "bob"), (billing, "billing", "ann")]
    )
    assert await store.requeue_expired() == []
    await assert_consistent(admin)


async def test_a_clock_running_behind_keeps_each_tags_events_in_recorded_order(
    store: RedisStore, clock: FakeClock
) -> None:
    cid = await waiting(store, clock, "billing")
    await store.claim(["billing"], "ann", lease_s=60)
    clock.advance(-30)  # another process with a slower clock
    await store.add_event(Event(cid, "note", at=clock(), data={"why": "behind"}))
    await store.release(cid, "ann")
    await store.remove(cid)
    # The contact's shard and its team each keep their order; between them, time decides.
    kinds = ["contact_created", "message_received", "note", "contact_enqueued"]
    kinds += ["contact_claimed", "contact_released", "contact_abandoned"]
    assert [e.kind for e in await store.events(cid)] == kinds
    logged = [k for k in kinds if k != "message_received"]  # the day's log has no messages
    assert [e.kind for e in await store.list_events(since=clock())] == logged
    later = await store.list_events(since=clock() + 1)
    assert [e.kind for e in later] == [kinds[0], kinds[3], kinds[4]]
    assert (await store.events(cid))[2].data == {"why": "behind"}


async def test_list_events_and_contacts_page_through_long_histories(
    store: RedisStore, clock: FakeClock
) -> None:
    for i in range(300):
        clock.advance(1)
        contact, message = contact_and_message(clock, address=f"a{i % 3}")
        await store.intake(contact, message)
    created = await store.list_events(kinds=["contact_created"])
    assert len(created) == 300
    assert [e.at for e in created] == sorted(e.at for e in created)
    assert len(await store.list_events(since=clock() - 9.5)) == 10  # created (no messages)
    mine = await store.list_contacts(address="a1", limit=500)
    assert len(mine) == 100 and all(c.address == "a1" for c in mine)
    assert [c.created_at for c in mine] == sorted((c.created_at for c in mine), reverse=True)
    assert len(await store.list_contacts(channel="sms", limit=280)) == 280


async def test_events_of_some_kinds_are_filtered_by_the_server_page_by_page(
    store: RedisStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("queues.redis.history._FILTERED_PAGE", 7)
    for i in range(40):
        clock.advance(1)
        contact, message = contact_and_message(clock, address=f"a{i}")
        await store.intake(contact, message)
        await store.enqueue(contact.id, "billing" if i % 2 else "technical")
    everything = await store.list_events()
    for kinds, since in ((["contact_enqueued"], None), (["contact_created"], clock() - 9.5)):
        wanted = [e for e in everything if e.kind in kinds and (since is None or e.at >= since)]
        assert wanted and await store.list_events(kinds=kinds, since=since) == wanted
    run = store._scripts.run
    read: list[int] = []

    async def counting(name: str, keys: list[str], args: list[str]) -> Any:
        reply = await run(name, keys, args)
        read.append((len(reply) - 2) // 2)  # an id and the fields each
        return reply

    monkeypatch.setattr(store._scripts, "run", counting)
    assert len(await store.list_events(kinds=["contact_enqueued"])) == 40
    assert sum(read) == 40  # only those crossed the wire


async def test_sessions_carry_a_redis_ttl(
    admin: aioredis.Redis, store: RedisStore, clock: FakeClock
) -> None:
    await store.put_session("chat:1", {"node": "verify"}, ttl_s=600)
    assert 0 < await admin.pttl("sb:session:chat:1") <= 600_000


# -- pub/sub and failures ------------------------------------------------------------------
async def test_publish_reaches_a_subscriber_of_another_store(
    admin: aioredis.Redis, redis_url: str
) -> None:
    async with (
        await RedisStore.open(redis_url) as holder,
        await RedisStore.open(redis_url) as sender,
        holder.subscribe("replies:c1") as first,
        holder.subscribe("replies:c1") as second,
        holder.subscribe("replies:c2") as third,
    ):
        await sender.publish("replies:c1", '{"text": "Dzień dobry"}')
        await sender.publish("replies:c2", "other")
        assert await asyncio.wait_for(anext(first), 5) == '{"text": "Dzień dobry"}'
        assert await asyncio.wait_for(anext(second), 5) == '{"text": "Dzień dobry"}'
        assert await asyncio.wait_for(anext(third), 5) == "other"
        clients = await admin.client_list()
        assert sum("P" in c["flags"] for c in clients) == 1  # one pub/sub connection
    async with await RedisStore.open(redis_url) as again, again.subscribe("replies:c1"):
        assert await admin.pubsub_numsub("sb:pubsub:replies:c1") == [("sb:pubsub:replies:c1", 1)]


async def test_store_unavailable_when_the_server_is_stopped(
    tmp_path: Path, clock: FakeClock
) -> None:
    with redis_server(tmp_path / "redis", appendonly=False) as url:
        store = await RedisStore.open(url, clock=clock)
        cid = await waiting(store, clock, "billing")
        subscription = store.subscribe("replies:x")
        messages = await subscription.__aenter__()
    try:
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(anext(messages), 10)
        await subscription.__aexit__(None, None, None)
        with pytest.raises(StoreUnavailable):
            await store.ping()
        with pytest.raises(StoreUnavailable):
            await store.claim(["billing"], "ann", lease_s=60)
        with pytest.raises(StoreUnavailable):
            await store.get_contact(cid)
        with pytest.raises(StoreUnavailable):
            await store.publish("replies:x", "lost")
        with pytest.raises(StoreUnavailable):
            async with store.subscribe("replies:x"):
                pass
        with pytest.raises(StoreUnavailable):
            await open_store(url)
    finally:
        await store.aclose()


def contacts_read(store: RedisStore) -> list[int]:
    """From now on, the size of each batch of contacts ``store`` reads (appended)."""
    read: list[int] = []
    history = store._history
    fetch = history.contacts

    async def counting(ids: Any) -> Any:
        read.append(len(ids))
        return await fetch(ids)

    history.contacts = counting  # type: ignore[method-assign]
    return read


async def test_listing_waiting_contacts_reads_the_queues_not_every_contact(
    store: RedisStore, clock: FakeClock
) -> None:
    """300 contacts of the day are resolved, 3 wait: the list of those waiting reads 3."""
    for _ in range(300):
        cid = await waiting(store, clock, "billing")
        await store.claim(["billing"], "ann", lease_s=60)
        await store.ack(cid, "ann")
        clock.advance(0.001)
    waiting_ids = []
    for team in ("billing", "technical", "billing"):
        waiting_ids.append(await waiting(store, clock, team))
        clock.advance(1)
    read = contacts_read(store)
    listed = await store.list_contacts(state=ContactState.WAITING, limit=10)
    assert [c.id for c in listed] == waiting_ids[::-1]  # newest first
    assert sum(read) == 3
    billing = await store.list_contacts(state=ContactState.WAITING, team="billing", limit=1)
    assert [c.id for c in billing] == [waiting_ids[2]]
    assert not await store.list_contacts(state=ContactState.WAITING, channel="voice", limit=10)


async def test_listing_by_channel_or_assigned_reads_only_those_contacts(
    store: RedisStore, clock: FakeClock
) -> None:
    """300 SMS contacts of the day are resolved; a voice call and a chat come, the chat
    is claimed: a list by channel reads that channel's index, assigned ones the leases."""
    for _ in range(300):
        cid = await waiting(store, clock, "billing")
        await store.claim(["billing"], "ann", lease_s=60)
        await store.ack(cid, "ann")
        clock.advance(0.001)
    voice = Contact(channel=Channel.VOICE, address="+48500", created_at=clock())
    chat = Contact(channel=Channel.CHAT, address="s-1", created_at=clock())
    for contact in (voice, chat):
        await store.intake(contact, Message(Direction.IN, "hi", clock()))
        await store.enqueue(contact.id, "technical")
    await store.claim(["technical"], "bob", lease_s=60)
    read = contacts_read(store)
    assert [c.id for c in await store.list_contacts(channel="voice", limit=5)] == [voice.id]
    assert sum(read) == 1
    assigned = await store.list_contacts(state=ContactState.ASSIGNED, limit=5)
    assert [c.id for c in assigned] == [voice.id] and sum(read) == 2
    assert len(await store.list_contacts(channel="sms", limit=280)) == 280


async def test_a_short_list_at_a_busy_address_reads_about_as_many_contacts(
    store: RedisStore, clock: FakeClock
) -> None:
    """A caller who rang 300 times: the 21 newest contacts at the number (what a join after
    a verification asks for) read 21 contacts and 21 ids from each shard, not 256 of each;
    a filter that drops some reads on until the list is full."""
    made = []
    for n in range(300):
        contact = Contact(
            channel=Channel.VOICE if n % 2 else Channel.SMS, address="+48501", created_at=clock()
        )
        await store.intake(contact, Message(Direction.IN, "hi", clock()))
        made.append(contact.id)
        clock.advance(1)
    read = contacts_read(store)
    newest = await store.list_contacts(address="+48501", limit=21)
    assert [c.id for c in newest] == made[::-1][:21] and sum(read) == 21
    read.clear()
    calls = await store.list_contacts(address="+48501", channel="voice", limit=21)
    assert [c.id for c in calls] == made[1::2][::-1][:21]
    assert 42 <= sum(read) <= 64  # about twice as many as wanted: every other is an SMS
