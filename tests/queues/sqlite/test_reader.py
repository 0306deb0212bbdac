"""Reads do not wait for writes: a webhook's look at its conversation is answered while a
group of writes holds the writer (waiting for its fsync, say), and sees what was committed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from queues.sqlite import SqliteStore
from tests.conftest import FakeClock


async def test_a_read_is_answered_while_the_writer_is_busy(tmp_path: Path) -> None:
    store = await SqliteStore.open(f"sqlite:///{tmp_path / 'store.db'}", clock=FakeClock())
    try:
        await store.put_session("sms:+48500100200", {"n": 1}, ttl_s=60)
        entered, release = threading.Event(), threading.Event()

        def slow_write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM sessions WHERE key = 'sms:+48500100200'")
            entered.set()
            release.wait(10)  # the writer is held: as by a slow fsync

        write = asyncio.ensure_future(store._db.run(slow_write, write=True))
        await asyncio.get_running_loop().run_in_executor(None, entered.wait, 10)
        # The writer is held inside its transaction; the read still answers, with the
        # last commit (the session the write is deleting is still there).
        sessions = await asyncio.wait_for(store.get_sessions(["sms:+48500100200"]), 5)
        assert sessions[0][0] == {"n": 1} and not write.done()
        release.set()
        await write
        assert await store.get_sessions(["sms:+48500100200"]) == [(None, "")]
    finally:
        await store.aclose()


async def test_a_store_in_memory_reads_on_its_one_connection() -> None:
    store = await SqliteStore.open("sqlite:///:memory:", clock=FakeClock())
    try:
        await store.put_session("a", {"n": 1}, ttl_s=60)
        assert (await store.get_sessions(["a"]))[0][0] == {"n": 1}
    finally:
        await store.aclose()
