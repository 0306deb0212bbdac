"""The sqlite store's index by account: a version 4 file gains it when opened, and a list by
account reads it rather than the table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from queues import Channel, Contact, Direction, Message
from queues.sqlite import SqliteStore
from queues.sqlite.db import SCHEMA_VERSION
from tests.conftest import FakeClock


async def test_a_version_4_file_gains_the_index_by_account(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    made = []
    async with await SqliteStore.open(url, clock) as store:
        for n in range(6):
            clock.advance(1)
            contact = Contact(channel=Channel.SMS, address=f"+4850000000{n}", created_at=clock())
            await store.intake(contact, Message(Direction.IN, "hello", clock()))
            await store.update_contact(contact.id, account=("jan", "anna")[n % 2], verified=True)
            made.append(contact.id)
    with sqlite3.connect(path) as raw:  # as version 4 left it: no index by account
        raw.execute("DROP INDEX contacts_account")
        raw.execute("PRAGMA user_version = 4")
    raw.close()
    async with await SqliteStore.open(url, clock) as store:
        assert [c.id for c in await store.list_contacts(account="jan")] == made[::2][::-1]
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        plan = raw.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM contacts WHERE account = ? "
            "ORDER BY created_at DESC, id DESC LIMIT 50",
            ("jan",),
        ).fetchall()
    raw.close()
    assert any("contacts_account" in str(row[-1]) for row in plan), plan
