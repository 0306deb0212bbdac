"""What only the sqlite backend promises: a durable file, WAL, and a free event loop."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from queues import (
    NO_TEAM,
    Channel,
    Contact,
    ContactState,
    Direction,
    InvalidTransition,
    Message,
    StoreUnavailable,
    open_store,
)
from queues.sqlite.db import SCHEMA_VERSION, Database
from queues.sqlite.store import SqliteStore
from tests.conftest import FakeClock
from tests.queues.test_buckets import check_against_events, random_day

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "store.db"  # the directory does not exist yet


@pytest.fixture
def url(path: Path) -> str:
    return f"sqlite:///{path}"  # an absolute path: four slashes


@pytest.fixture
async def store(url: str, clock: FakeClock) -> AsyncIterator[SqliteStore]:
    async with await SqliteStore.open(url, clock) as opened:
        yield opened


async def new_contact(store: SqliteStore, clock: FakeClock, key: str | None = None) -> str:
    contact = Contact(channel=Channel.SMS, address="+48500100200", created_at=clock())
    await store.intake(contact, Message(Direction.IN, "hello", clock()), key=key)
    return contact.id


async def test_everything_survives_close_and_reopen(url: str, clock: FakeClock) -> None:
    async with await SqliteStore.open(url, clock) as store:
        first, second, third = [await new_contact(store, clock, key=f"k{i}") for i in range(3)]
        for cid in (first, second, third):
            await store.enqueue(cid, "billing", delay_s=60)
        claim = await store.claim(["billing"], "ann", lease_s=60)
        assert claim is not None and claim.contact_id == first
        await store.put_session("sms:+48500100200", {"node": "menu"}, ttl_s=600)
        events_before = await store.list_events()

    async with await SqliteStore.open(url, clock) as store:
        held = await store.get_contact(first)
        assert (held.state, held.agent, held.lease_until) == ("assigned", "ann", claim.lease_until)
        assert [m.text for m in held.messages] == ["hello"]
        assert await store.list_events() == events_before
        assert await store.get_session("sms:+48500100200") == {"node": "menu"}
        dup = await store.intake(held, Message(Direction.IN, "again", clock()), key="k0")
        assert dup.duplicate and dup.message.text == "hello"
        # Same time, same delay: FIFO goes on from where the file left off.
        fourth = await new_contact(store, clock)
        await store.enqueue(fourth, "billing", delay_s=60)
        claims = [await store.claim(["billing"], "bob", lease_s=60) for _ in range(3)]
        assert [c.contact_id for c in claims if c] == [second, third, fourth]


CHILD = """
import asyncio, sys
from queues import Channel, Contact, Direction, Message, now_s
from queues.sqlite.store import SqliteStore

def report(state, contact_id):
    sys.stdout.write(f"{state} {contact_id}\\n")  # one write: a kill cannot split it
    sys.stdout.flush()

async def main(url, run):
    store = await SqliteStore.open(url)
    for i in range(100_000):
        contact = Contact(channel=Channel.SMS, address=f"+48{i}", created_at=now_s())
        await store.intake(contact, Message(Direction.IN, "hi", now_s()), key=f"{run}:{i}")
        await store.enqueue(contact.id, "billing")
        report("waiting", contact.id)
        if i % 2:
            claim = await store.claim(["billing"], "ann", lease_s=600)
            report("assigned", claim.contact_id)

asyncio.run(main(*sys.argv[1:]))
"""


async def run_and_kill(url: str, run: int, after_lines: int) -> list[tuple[str, str]]:
    """Run CHILD until it has printed ``after_lines`` commits, SIGKILL it, return them all."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, url, str(run), stdout=asyncio.subprocess.PIPE, env=env
    )
    assert child.stdout is not None
    lines = [await asyncio.wait_for(child.stdout.readline(), 30) for _ in range(after_lines)]
    await asyncio.sleep(random.uniform(0, 0.005))  # land anywhere in a transition
    child.send_signal(signal.SIGKILL)
    # Whatever it printed before dying it printed after the commit returned.
    lines += (await child.stdout.read()).splitlines(keepends=True)
    assert await child.wait() == -signal.SIGKILL
    commits = []
    for line in lines:
        if line.endswith(b"\n"):  # a line cut short was never fully reported
            state, cid = line.decode().split()
            commits.append((state, cid))
    return commits


async def test_kill_9_keeps_every_committed_transition_whole(path: Path, url: str) -> None:
    runs = 3  # killed at different points; each may commit one step it never printed
    reported: dict[str, str] = {}
    for run in range(runs):
        for state, cid in await run_and_kill(url, run, after_lines=25 + 15 * run):
            reported[cid] = state

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    raw.close()
    async with await SqliteStore.open(url) as store:
        contacts = await store.list_contacts(limit=1_000_000)
        for contact in contacts:
            kinds = [e.kind for e in await store.events(contact.id)]
            assert len((await store.get_contact(contact.id)).messages) == 1
            # Exactly one state, and its fields and history agree: no half transition.
            if contact.state is ContactState.IN_FLOW:
                assert kinds == ["contact_created", "message_received"]
                assert contact.queued_at is None
            elif contact.state is ContactState.WAITING:
                assert kinds[2:] == ["contact_enqueued"]
                assert contact.queued_at is not None and contact.agent is None
            else:
                assert contact.state is ContactState.ASSIGNED
                assert kinds[2:] == ["contact_enqueued", "contact_claimed"]
                assert contact.agent == "ann" and contact.lease_until is not None
    states = {c.id: str(c.state) for c in contacts}
    for cid, state in reported.items():
        assert states[cid] == state or (state, states[cid]) == ("waiting", "assigned")
    assert len(set(states) - set(reported)) <= runs
    assigned = {cid for cid, state in states.items() if state == "assigned"}
    assert len(assigned - {c for c, s in reported.items() if s == "assigned"}) <= runs


async def test_file_is_in_wal_mode_with_full_sync(store: SqliteStore, path: Path) -> None:
    await store.ping()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    raw.close()
    database = Database(path)
    await database.open()
    try:
        pragma = await database.run(
            lambda c: c.execute("PRAGMA synchronous").fetchone(), write=False
        )
        assert pragma == (2,)  # FULL
    finally:
        await database.aclose()


async def test_loop_keeps_running_while_a_write_waits_for_the_lock(
    store: SqliteStore, clock: FakeClock, path: Path
) -> None:
    cid = await new_contact(store, clock)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        enqueue = asyncio.create_task(store.enqueue(cid, "billing"))
        await asyncio.sleep(0.1)  # a store that blocked the loop would not let this return
        assert not enqueue.done()
        other.execute("COMMIT")
        await asyncio.wait_for(enqueue, 5)
    finally:
        other.close()
    assert (await store.get_contact(cid)).state is ContactState.WAITING


async def test_loop_keeps_ticking_during_a_burst_of_writes(
    store: SqliteStore, clock: FakeClock
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    for _ in range(50):
        await store.enqueue(await new_contact(store, clock), "technical")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ticks - before >= 100  # at least one tick while each of the 100 writes ran


async def test_lock_held_past_busy_timeout_is_unavailable_and_changes_nothing(
    url: str, path: Path, clock: FakeClock
) -> None:
    async with await SqliteStore.open(url, clock, busy_timeout_s=0.05) as store:
        cid = await new_contact(store, clock)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreUnavailable, match="database is locked"):
                await store.enqueue(cid, "billing")
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert (await store.get_contact(cid)).state is ContactState.IN_FLOW
        await store.enqueue(cid, "billing")


async def test_failure_inside_a_transition_rolls_all_of_it_back(
    store: SqliteStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = await new_contact(store, clock)
    events = await store.events(cid)

    def disk_fails(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "_record", disk_fails)  # after the contact row is written
    with pytest.raises(StoreUnavailable, match="disk I/O error"):
        await store.enqueue(cid, "billing")
    monkeypatch.undo()
    assert (await store.get_contact(cid)).state is ContactState.IN_FLOW
    assert await store.events(cid) == events
    assert await store.claim(["billing"], "ann", lease_s=60) is None


async def test_concurrent_duplicates_across_two_connections_store_one_message(
    url: str, clock: FakeClock
) -> None:
    async with (
        await SqliteStore.open(url, clock) as one,
        await SqliteStore.open(url, clock) as two,
    ):
        contact = Contact(channel=Channel.EMAIL, address="jan@example.com", created_at=clock())
        results = await asyncio.gather(
            *(
                (one, two)[i % 2].intake(contact, Message(Direction.IN, f"{i}", clock()), key="M1")
                for i in range(20)
            )
        )
        assert sum(not r.duplicate for r in results) == 1
        assert len({r.message.id for r in results}) == 1
        assert len((await two.get_contact(contact.id)).messages) == 1


async def test_closed_or_deleted_store_is_unavailable(url: str, path: Path) -> None:
    store = await SqliteStore.open(url)
    await asyncio.to_thread(path.unlink)
    with pytest.raises(StoreUnavailable, match="was deleted or replaced"):
        await store.ping()
    await store.aclose()
    await store.aclose()  # twice is fine
    with pytest.raises(StoreUnavailable, match="is closed; open it again"):
        await store.ping()


async def test_close_ends_subscriptions(store: SqliteStore) -> None:
    async with store.subscribe("replies:x") as messages:
        await store.aclose()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(messages), 5)


async def test_unopenable_file_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("not a directory")
    with pytest.raises(StoreUnavailable):
        await SqliteStore.open(f"sqlite:///{tmp_path / 'plain-file' / 'store.db'}")
    (tmp_path / "garbage.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreUnavailable):
        await SqliteStore.open(f"sqlite:///{tmp_path / 'garbage.db'}")


async def test_file_from_a_newer_schema_is_refused(url: str, path: Path) -> None:
    await (await SqliteStore.open(url)).aclose()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreUnavailable, match="newer than this Switchboard"):
        await SqliteStore.open(url)


async def test_a_version_1_file_is_upgraded_keeping_its_sessions(
    url: str, path: Path, clock: FakeClock
) -> None:
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as raw:  # sessions as version 1 made them: no tag column
        raw.execute(
            "CREATE TABLE sessions (key TEXT PRIMARY KEY, data TEXT NOT NULL, "
            "expires_at REAL NOT NULL) WITHOUT ROWID"
        )
        raw.execute("INSERT INTO sessions VALUES ('sms:+48500', '{\"n\": 1}', ?)", (clock() + 60,))
        raw.execute("PRAGMA user_version = 1")
    raw.close()
    async with await SqliteStore.open(url, clock) as store:
        assert await store.get_session_tagged("sms:+48500") == ({"n": 1}, "")
        assert await store.put_session_if("sms:+48500", {"n": 2}, tag="", ttl_s=60)
        assert await store.get_session("sms:+48500") == {"n": 2}
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
    raw.close()


async def test_a_version_5_files_hits_are_kept_and_named_hits_count_once(
    url: str, path: Path, clock: FakeClock
) -> None:
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as raw:  # hits as version 5 kept them: no tag column
        raw.execute(
            "CREATE TABLE hits (n INTEGER PRIMARY KEY, key TEXT NOT NULL, at REAL NOT NULL, "
            "expires_at REAL NOT NULL)"
        )
        raw.execute("INSERT INTO hits (key, at, expires_at) VALUES ('k', ?, ?)", (clock(), 1e12))
        raw.execute("PRAGMA user_version = 5")
    raw.close()
    async with await SqliteStore.open(url, clock) as store:
        assert await store.record_hit("k", window_s=60, ttl_s=60, tag="voice:CA1:3") == 2
        assert await store.record_hit("k", window_s=60, ttl_s=60, tag="voice:CA1:3") == 2
        assert await store.record_hit("k", window_s=60, ttl_s=60) == 3
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()


async def test_a_version_3_file_is_upgraded_with_buckets_counted_from_its_events(
    url: str, path: Path, clock: FakeClock
) -> None:
    teams = ["billing", "technical", "sales", NO_TEAM]
    async with await SqliteStore.open(url, clock) as store:
        start = clock()
        day = await random_day(store, clock, random.Random(3), 300)
        kept = await store.minute_buckets(teams, since=start, until=clock())
        handles = await store.handle_times("billing", since=start)
    assert kept and handles
    with sqlite3.connect(path) as raw:  # the file as version 3 left it: events, no aggregates
        raw.execute("DROP TABLE buckets")
        raw.execute("DROP TABLE handles")
        raw.execute("ALTER TABLE contacts DROP COLUMN answered")
        raw.execute("PRAGMA user_version = 3")
    raw.close()
    async with await SqliteStore.open(url, clock) as store:
        assert await store.minute_buckets(teams, since=start, until=clock()) == kept
        assert await store.handle_times("billing", since=start) == handles
        # The answered marks came back too: a claim after a release is no new answer.
        await random_day(store, clock, random.Random(4), 100, day)
        await check_against_events(store, start, clock())
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()


async def test_relative_absolute_and_memory_urls(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = await open_store("sqlite:///data/relative.db")
    await relative.aclose()
    assert (tmp_path / "data" / "relative.db").is_file()
    absolute = await open_store(f"sqlite:///{tmp_path / 'abs.db'}")
    assert isinstance(absolute, SqliteStore) and absolute.path == tmp_path / "abs.db"
    await absolute.aclose()
    async with await SqliteStore.open("sqlite:///:memory:", clock) as in_memory:
        cid = await new_contact(in_memory, clock)
        assert (await in_memory.get_contact(cid)).state is ContactState.IN_FLOW
    assert sorted(await asyncio.to_thread(os.listdir, tmp_path)) == ["abs.db", "data"]
    for bad in ("sqlite://", "sqlite:///", "sqlite://host/x.db"):
        with pytest.raises(ValueError, match="sqlite"):
            await SqliteStore.open(bad)


async def test_concurrent_writes_commit_in_groups_each_durable_before_it_returns(
    store: SqliteStore, clock: FakeClock, path: Path
) -> None:
    """50 intakes at once: fewer commits than writes, and each contact is in the file (seen
    from another connection) by the time its intake returns."""
    group = store._db._group
    commits0, writes0 = group.commits, group.writes
    other = sqlite3.connect(path)

    async def one(n: int) -> None:
        contact = Contact(channel=Channel.SMS, address=f"+48500{n:06d}", created_at=clock())
        await store.intake(contact, Message(Direction.IN, "hello", clock()))
        row = other.execute("SELECT count(*) FROM contacts WHERE id = ?", (contact.id,))
        assert row.fetchone() == (1,)

    # The worker wakes the loop once a group, not once a write.
    loop = asyncio.get_running_loop()
    wake, wakes = loop.call_soon_threadsafe, []

    def counted(callback: Any, *args: Any, context: Any = None) -> asyncio.Handle:
        wakes.append(callback)
        return wake(callback, *args, context=context)

    with patch.object(loop, "call_soon_threadsafe", counted):
        await asyncio.gather(*(one(n) for n in range(50)))
    other.close()
    assert group.writes - writes0 == 50
    assert group.commits - commits0 < 25  # writes that waited together committed together
    grouped = [c for c in wakes if getattr(c, "__module__", "") == "queues.sqlite.commits"]
    assert len(grouped) == group.commits - commits0


async def test_a_failing_write_in_a_group_is_undone_alone(
    store: SqliteStore, clock: FakeClock
) -> None:
    cids = [await new_contact(store, clock) for _ in range(3)]
    await store.enqueue(cids[0], "billing")
    results = await asyncio.gather(
        store.enqueue(cids[1], "billing"),
        store.enqueue(cids[0], "billing"),  # queued already: refused
        store.enqueue(cids[2], "technical"),
        return_exceptions=True,
    )
    assert isinstance(results[1], InvalidTransition)
    queued = [r for r in results if isinstance(r, Contact)]
    assert [c.state for c in queued] == ["waiting", "waiting"]
    assert {s.team: s.waiting for s in await store.queue_stats(["billing", "technical"])} == {
        "billing": 2,
        "technical": 1,
    }
