"""Reads on a thread and connection of their own, beside the writer.

In WAL mode a reader sees the last commit and never waits for the writer: a read (a
webhook's look at its conversation) is not queued behind a group of writes waiting for
their fsync. Each read is one transaction (``BEGIN``), so it sees every write whose caller
has been answered. A database in memory (``sqlite:///:memory:``) has one connection only,
and reads stay on the writer's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from queues.errors import StoreUnavailable

__all__ = ["Reader"]

T = TypeVar("T")


class Reader:
    """One reading connection to ``path``, used from one thread of its own."""

    def __init__(self, path: Path, *, busy_timeout_s: float) -> None:
        self._path = path
        self._busy_timeout_s = busy_timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-reader")
        self._conn: sqlite3.Connection | None = None  # used only on the reader's thread

    async def open(self) -> None:
        """Connect (after the writer created and upgraded the file)."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._disconnect)
        finally:
            self._executor.shutdown(wait=False)

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """``job(conn)`` on the reader's thread (the caller wraps it in a transaction)."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, lambda: job(self._connection())
        )

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreUnavailable(f"the sqlite store {self._path} is closed; open it again")
        return self._conn

    def _connect(self) -> None:
        conn = sqlite3.connect(self._path, timeout=self._busy_timeout_s, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            conn.execute("PRAGMA query_only = ON")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
