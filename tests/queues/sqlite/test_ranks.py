"""The sqlite store's count tree (``queues/sqlite/ranks.py``): positions and queue stats
equal a recount after random traffic, a position reads as much with thousands waiting as
with a few dozen, and a version 6 file's waiting contacts are counted when it is opened."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from queues import Channel, Contact, ContactState, Direction, Message, Position, QueueStats
from queues.sqlite import ranks
from queues.sqlite.db import SCHEMA_VERSION
from queues.sqlite.store import SqliteStore
from tests.conftest import FakeClock

TEAMS = ("billing", "technical")
#: What earlier versions ran: every waiting contact of the team read for one position.
RECOUNT = (
    "SELECT c.team, count(*), coalesce(sum(o.score < c.score OR (o.score = c.score "
    "AND o.seq < c.seq)), 0) FROM contacts AS c JOIN contacts AS o ON o.team = c.team "
    "AND o.state = 'waiting' WHERE c.id = ? AND c.state = 'waiting'"
)
COUNTS = "SELECT team, level, node, n FROM queue_counts ORDER BY 1, 2, 3"


def recounted(conn: sqlite3.Connection) -> list[tuple[str, int, int, int]]:
    """The tree as counted afresh from the contacts (``ranks.backfill`` on a copy)."""
    conn.execute("SAVEPOINT recount")
    try:
        ranks.backfill(conn)
        return conn.execute(COUNTS).fetchall()
    finally:
        conn.execute("ROLLBACK TO recount")
        conn.execute("RELEASE recount")


async def check(store: SqliteStore, path: Path, clock: FakeClock) -> int:
    """Every waiting contact's position, and each team's stats, as a recount gives them;
    the tree as counted afresh. Returns how many wait."""
    with sqlite3.connect(path) as raw:
        assert raw.execute(COUNTS).fetchall() == recounted(raw)
        ids = [row[0] for row in raw.execute("SELECT id FROM contacts")]
        waiting = 0
        for contact_id in ids:
            found = raw.execute(RECOUNT, (contact_id,)).fetchone()
            want = None if found[0] is None else Position(found[0], found[2], found[1])
            assert await store.position(contact_id) == want
            waiting += want is not None
        for stats in await store.queue_stats(TEAMS):
            rows = raw.execute(
                "SELECT state, queued_at FROM contacts WHERE team = ?", (stats.team,)
            ).fetchall()
            queued = [at for state, at in rows if state == "waiting"]
            oldest = None if not queued else round(clock() - min(queued), 6)
            assert stats == QueueStats(
                stats.team, len(queued), sum(s == "assigned" for s, _ in rows), oldest
            )
    return waiting


@pytest.mark.parametrize("start", [1_795_000_000.0, 200.0])  # 200: scores on both sides of 0
async def test_positions_and_stats_equal_a_recount_after_random_traffic(
    tmp_path: Path, start: float
) -> None:
    rng, clock, path = random.Random(f"ranks-{start}"), FakeClock(start), tmp_path / "s.db"
    async with await SqliteStore.open(f"sqlite:///{path}", clock) as store:
        held: list[str] = []
        waited = shared = 0
        for step in range(400):
            roll = rng.random()
            waiting = [q[0] for q in [await store.waiting_order(t) for t in TEAMS] if q]
            if roll < 0.45 or (not waiting and not held):
                contact = Contact(channel=Channel.SMS, address=f"+48{step}", created_at=clock())
                await store.intake(contact, Message(Direction.IN, "hi", clock()))
                # The clock often stands still: contacts share a millisecond (a slot).
                delay = rng.choice([0, 0, 1, 30, 120, 600, 86_400 * 30])
                await store.enqueue(contact.id, rng.choice(TEAMS), delay_s=delay)
            elif roll < 0.65 and waiting:
                claim = await store.claim(list(TEAMS), "ania", lease_s=1e9)
                assert claim is not None
                held.append(claim.contact_id)
            elif roll < 0.75 and held:
                await store.release(held.pop(rng.randrange(len(held))), "ania")
            elif roll < 0.8 and held:
                await store.ack(held.pop(rng.randrange(len(held))), "ania")
            elif roll < 0.9 and waiting:  # a waiting contact moves, maybe with a new delay
                team, moved_delay = rng.choice(TEAMS), rng.choice([None, 0, 45, 3_600])
                await store.transfer(rng.choice(waiting), team, delay_s=moved_delay)
            elif waiting:
                ids = await store.waiting_order(rng.choice(TEAMS)) or waiting
                await store.remove(rng.choice(ids))
            clock.advance(rng.choice([0, 0, 0.25, 1, 17, 4_000, 86_400]))
            if step % 20 == 19:
                waited = max(waited, await check(store, path, clock))
                with sqlite3.connect(path) as raw:  # contacts in one slot, counted by index
                    row = raw.execute("SELECT max(n) FROM queue_counts WHERE level = 0")
                    shared = max(shared, row.fetchone()[0] or 0)
        assert waited > 20 and shared > 1  # the queues were not trivially short


def vm_steps(path: Path, read: Callable[[sqlite3.Connection], object]) -> tuple[int, object]:
    """SQLite VM instructions (in steps of 100) that ``read`` runs on a connection to the
    file, and what it returned."""
    with sqlite3.connect(path) as raw:
        steps = 0

        def tick() -> int:
            nonlocal steps
            steps += 1
            return 0

        raw.set_progress_handler(tick, 100)
        found = read(raw)
        raw.set_progress_handler(None, 100)
    return steps, found


def steps_of_a_position(path: Path, contact_id: str) -> int:
    """SQLite VM instructions (in steps of 100) that ``ranks.position`` runs for one contact."""
    steps, found = vm_steps(path, lambda raw: ranks.position(raw, contact_id))
    assert found is not None
    return steps


async def fill(path: Path, clock: FakeClock, count: int) -> list[str]:
    """``count`` contacts waiting in technical, 100 a second; their ids in serving order."""
    async with await SqliteStore.open(f"sqlite:///{path}", clock) as store:
        # Concurrent writes commit in groups: the fill takes a few dozen transactions.
        for group in range(0, count, 100):
            contacts = [
                Contact(channel=Channel.EMAIL, address=f"c{n}@example.net", created_at=clock())
                for n in range(group, min(count, group + 100))
            ]
            intakes = [store.intake(c, Message(Direction.IN, "hi", clock())) for c in contacts]
            await asyncio.gather(*intakes)
            await asyncio.gather(*(store.enqueue(c.id, "technical") for c in contacts))
            clock.advance(1)
        return await store.waiting_order("technical")


async def test_a_position_reads_as_much_with_5000_waiting_as_with_50(tmp_path: Path) -> None:
    few = await fill(tmp_path / "few.db", FakeClock(), 50)
    many = await fill(tmp_path / "many.db", FakeClock(), 5_000)
    with sqlite3.connect(tmp_path / "many.db") as raw:  # the last one has 4,999 ahead
        assert ranks.position(raw, many[-1]) == Position("technical", 4_999, 5_000)
    steps_few = steps_of_a_position(tmp_path / "few.db", few[-1])
    steps_many = steps_of_a_position(tmp_path / "many.db", many[-1])
    # Counting the queue (earlier versions) takes ~100 times as many steps with 100 times
    # the contacts; the tree a few more nodes.
    assert steps_many <= 2 * steps_few + 2, (steps_few, steps_many)
    slow, _ = vm_steps(
        tmp_path / "many.db", lambda raw: raw.execute(RECOUNT, (many[-1],)).fetchone()
    )
    assert slow > 20 * steps_many  # the measure sees a walk of the queue


async def test_a_version_6_file_has_its_waiting_contacts_counted_when_opened(
    tmp_path: Path,
) -> None:
    path, clock = tmp_path / "old.db", FakeClock()
    ids = await fill(path, clock, 300)
    with sqlite3.connect(path) as raw:  # as version 6 left it: no tree, no triggers
        for name in ("insert", "delete", "out", "in"):
            raw.execute(f"DROP TRIGGER queue_counts_{name}")
        raw.execute("DROP TABLE queue_counts")
        raw.execute("PRAGMA user_version = 6")
    async with await SqliteStore.open(f"sqlite:///{path}", clock) as store:
        assert await store.position(ids[-1]) == Position("technical", 299, 300)
        claim = await store.claim(["technical"], "ania", lease_s=60)
        assert claim is not None and claim.contact_id == ids[0]
        assert await store.position(ids[-1]) == Position("technical", 298, 299)
        assert (await store.get_contact(ids[0])).state is ContactState.ASSIGNED
        assert await check(store, path, clock) == 299
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
