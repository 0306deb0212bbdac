"""The SQLite file under the sqlite store: its layout, its pragmas, and the one thread that
talks to it.

``Database`` owns one connection on one worker thread; every call runs there as one
transaction, so the event loop never waits on SQLite, and sqlite3 failures that mean the
file cannot be used come out as ``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from queues.errors import StoreUnavailable
from queues.models import Channel, Contact, ContactState, Direction, Event, Message
from queues.sqlite import capacity, ranks, tally, windows
from queues.sqlite.commits import GroupCommit
from queues.sqlite.reader import Reader

__all__ = ["SCHEMA_VERSION", "Database", "path_from_url"]

T = TypeVar("T")

SCHEMA_VERSION = 7
SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, address TEXT NOT NULL, state TEXT NOT NULL,
    team TEXT, priority INTEGER NOT NULL, language TEXT, verified INTEGER NOT NULL,
    verify_method TEXT, account TEXT, subject TEXT, queued_at REAL, sla_due REAL, agent TEXT,
    assigned_at REAL, lease_until REAL, disposition TEXT, closed_at REAL,
    created_at REAL NOT NULL, meta TEXT NOT NULL,
    score REAL, seq INTEGER, answered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS contacts_queue ON contacts (team, state, score, seq);
CREATE INDEX IF NOT EXISTS contacts_lease ON contacts (lease_until);
CREATE INDEX IF NOT EXISTS contacts_created ON contacts (created_at, id);
CREATE INDEX IF NOT EXISTS contacts_channel ON contacts (channel, created_at, id);
CREATE INDEX IF NOT EXISTS contacts_state ON contacts (state, created_at, id);
CREATE INDEX IF NOT EXISTS contacts_team ON contacts (team, created_at, id);
CREATE INDEX IF NOT EXISTS contacts_address ON contacts (address, created_at, id);
CREATE INDEX IF NOT EXISTS contacts_account ON contacts (account, created_at, id)
    WHERE account IS NOT NULL;
CREATE TABLE IF NOT EXISTS messages (
    n INTEGER PRIMARY KEY, contact_id TEXT NOT NULL, id TEXT NOT NULL,
    direction TEXT NOT NULL, text TEXT NOT NULL, at REAL NOT NULL, author TEXT,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_contact ON messages (contact_id, n);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, contact_id TEXT NOT NULL, kind TEXT NOT NULL, at REAL NOT NULL,
    team TEXT, agent TEXT, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_contact ON events (contact_id, id);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, contact_id TEXT NOT NULL, message_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    key TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at REAL NOT NULL,
    tag TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS hits (
    n INTEGER PRIMARY KEY, key TEXT NOT NULL, at REAL NOT NULL, expires_at REAL NOT NULL,
    tag TEXT
);
CREATE INDEX IF NOT EXISTS hits_key ON hits (key, at);
CREATE INDEX IF NOT EXISTS hits_expiry ON hits (expires_at);
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, tag TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parcels (
    n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, grp TEXT NOT NULL, payload TEXT,
    attempts INTEGER NOT NULL, due_at REAL, posted_at REAL NOT NULL, forget_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS parcels_due ON parcels (due_at, n) WHERE due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS parcels_line ON parcels (grp, n) WHERE payload IS NOT NULL;
CREATE INDEX IF NOT EXISTS parcels_forget ON parcels (forget_at) WHERE payload IS NULL;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters (name, value) VALUES ('queue_seq', 0);
"""
    + tally.SCHEMA
    + windows.SCHEMA
    + capacity.SCHEMA
    + ranks.SCHEMA
)

# Contact fields; score (queued_at - priority) and seq (FIFO on equal scores) ride along.
CONTACT_COLUMNS = [f.name for f in dataclasses.fields(Contact) if f.name != "messages"]
SELECT_CONTACT = f"SELECT {', '.join(CONTACT_COLUMNS)} FROM contacts"
_ALL = [*CONTACT_COLUMNS, "score", "seq"]
UPSERT_CONTACT = (
    f"INSERT INTO contacts ({', '.join(_ALL)}) VALUES ({', '.join('?' * len(_ALL))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _ALL if c not in ("id", "seq"))
    + ", seq = coalesce(excluded.seq, contacts.seq)"
)
SELECT_MESSAGE = "SELECT id, direction, text, at, author, meta FROM messages"
INSERT_MESSAGE = (
    "INSERT INTO messages (contact_id, id, direction, text, at, author, meta) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SELECT_EVENT = "SELECT contact_id, kind, at, team, agent, data FROM events"
INSERT_EVENT = "INSERT INTO events (contact_id, kind, at, team, agent, data) VALUES (?,?,?,?,?,?)"


def path_from_url(url: str) -> Path:
    """The file a ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` URL names.

    As in SQLAlchemy: three slashes then a relative path (to the working directory), or
    four slashes for an absolute one; ``sqlite:///:memory:`` keeps nothing on disk.
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ValueError(
            f"store URL {url!r} is not a sqlite file URL; use sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db"
        )
    return Path(url[len(prefix) :])


def dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(dict(data), ensure_ascii=False, separators=(",", ":"))


def contact_from_row(row: Sequence[Any]) -> Contact:
    values = dict(zip(CONTACT_COLUMNS, row, strict=True))
    values["channel"] = Channel(values["channel"])
    values["state"] = ContactState(values["state"])
    values["verified"] = bool(values["verified"])
    values["meta"] = json.loads(values["meta"])
    return Contact(**values)


def contact_to_row(contact: Contact, seq: int | None) -> tuple[Any, ...]:
    """Values for ``UPSERT_CONTACT``; a None ``seq`` keeps the stored one."""
    values = [getattr(contact, name) for name in CONTACT_COLUMNS]
    values[CONTACT_COLUMNS.index("verified")] = int(contact.verified)
    values[CONTACT_COLUMNS.index("meta")] = dumps(contact.meta)
    return (*values, contact.score, seq)


def message_from_row(row: Sequence[Any]) -> Message:
    mid, direction, text, at, author, meta = row
    return Message(Direction(direction), text, at, id=mid, author=author, meta=json.loads(meta))


def message_to_row(contact_id: str, m: Message) -> tuple[Any, ...]:
    return (contact_id, m.id, str(m.direction), m.text, m.at, m.author, dumps(m.meta))


def event_from_row(row: Sequence[Any]) -> Event:
    contact_id, kind, at, team, agent, data = row
    return Event(contact_id, kind, at, team=team, agent=agent, data=json.loads(data))


def event_to_row(e: Event) -> tuple[Any, ...]:
    return (e.contact_id, e.kind, e.at, e.team, e.agent, dumps(e.data))


def _transaction(conn: sqlite3.Connection, begin: str, fn: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute(begin)
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return result


def _undurable(conn: sqlite3.Connection, begin: str, fn: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("PRAGMA synchronous = OFF")
    try:
        return _transaction(conn, begin, fn)
    finally:
        conn.execute("PRAGMA synchronous = FULL")


def _create_or_upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Create the tables when missing and upgrade an older file, in one transaction.

    Version 2 tags each session write (compare-and-set of shared records); version 3 adds
    tables (docs, locks, parcels), which SCHEMA creates when missing, and keeps presence as
    documents (version 2's presence table held nothing lasting); version 4 keeps running
    aggregates (buckets, handles, contacts.answered), counted from the stored events when
    a file that has events is upgraded; version 5 indexes contacts by account (a
    customer's timeline), built from the rows when an older file is upgraded; version 6
    names hits (``hits.tag``, unique per key: a retried attempt counts once); version 7
    keeps the teams' count trees (``ranks.py``), counted from the waiting contacts.
    """
    upgrade = ""
    if version == 1:
        upgrade += "ALTER TABLE sessions ADD COLUMN tag TEXT NOT NULL DEFAULT '';"
    if version in (1, 2):
        upgrade += " DROP TABLE IF EXISTS presence;"
    # executescript would commit an open transaction first: BEGIN is part of the script,
    # and the transaction stays open for the backfill.
    conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA}; {upgrade}")
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(contacts)")}
        if "answered" not in columns:  # SCHEMA made the table only when it was missing
            conn.execute("ALTER TABLE contacts ADD COLUMN answered INTEGER NOT NULL DEFAULT 0")
        if "tag" not in {row[1] for row in conn.execute("PRAGMA table_info(hits)")}:
            conn.execute("ALTER TABLE hits ADD COLUMN tag TEXT")
        conn.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS hits_tag ON hits (key, tag) WHERE tag IS NOT NULL"
        )
        tally.add_columns(conn)
        if version in (1, 2, 3):
            tally.backfill(conn)
        if 1 <= version < 7:
            ranks.backfill(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class Database:
    """One SQLite file in WAL mode, used from one dedicated worker thread."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = path
        self._in_memory = str(path) == ":memory:"  # sqlite:///:memory:, gone with the process
        self._busy_timeout_s = busy_timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._group = GroupCommit(self._executor, self._connection)
        self._conn: sqlite3.Connection | None = None  # used only on the worker thread
        #: Reads beside the writer (reader.py); None in memory (one connection only).
        self._reader = None if self._in_memory else Reader(path, busy_timeout_s=busy_timeout_s)
        self._inode: int | None = None
        self._closed = False

    async def open(self) -> None:
        """Create the file, its directories and its tables when missing, and connect."""
        try:
            await self._submit(self._connect)
            if self._reader is not None:
                await self._translated(self._reader.open)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            await self._reader.aclose()
        try:
            # The executor is FIFO: work already submitted finishes before the connection closes.
            await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        finally:
            self._executor.shutdown(wait=False)

    async def run(
        self, fn: Callable[[sqlite3.Connection], T], *, write: bool, durable: bool = True
    ) -> T:
        """Run ``fn(conn)`` on the worker thread in one transaction, committed on return.

        Writes begin IMMEDIATE: they take the write lock first, so two writers never
        deadlock upgrading a read lock, and the busy timeout covers the wait. A write that
        need not survive a power cut (``durable=False``: locks that expire anyway) commits
        without waiting for the disk.
        """
        if write and durable:
            # Durable writes waiting together commit together (commits.py): one fsync.
            return await self._translated(lambda: self._group.run(fn))
        if not write and self._reader is not None:
            reader = self._reader
            return await self._translated(
                lambda: reader.run(lambda conn: _transaction(self._checked(conn), "BEGIN", fn))
            )
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"
        if durable:
            return await self._submit(lambda: _transaction(self._connection(), begin, fn))
        return await self._submit(lambda: _undurable(self._connection(), begin, fn))

    async def checkpoint(self) -> bool:
        """Copy the WAL into the file and truncate it, so that no earlier image of a page
        stays in either (after an erase); False when a reader in another process kept it
        from finishing (the next checkpoint does)."""

        def job() -> bool:
            busy = self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            return not busy

        return await self._submit(job)

    async def _submit(self, job: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await self._translated(lambda: loop.run_in_executor(self._executor, job))

    async def _translated(self, start: Callable[[], Awaitable[T]]) -> T:
        """Await ``start()``, with the backend's failures as ``StoreUnavailable``."""
        if self._closed:
            raise StoreUnavailable(f"the sqlite store {self.path} is closed; open it again")
        try:
            return await start()
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # a bug here, not the backend's health
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(
                f"the sqlite store {self.path} failed ({exc}); check the disk and the file, "
                "then retry"
            ) from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreUnavailable(f"the sqlite store {self.path} is closed; open it again")
        return self._checked(self._conn)

    def _checked(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        """``conn``, when the file it was opened on is still the database's path."""
        if self._in_memory:
            return conn
        # Commits into a deleted or replaced file would vanish when the process exits.
        try:
            inode: int | None = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        if inode != self._inode:
            raise StoreUnavailable(
                f"the sqlite file {self.path} was deleted or replaced; restore it and restart"
            )
        return conn

    def _connect(self) -> None:
        if not self._in_memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != ("memory" if self._in_memory else "wal"):
                raise StoreUnavailable(f"{self.path} cannot use WAL (journal_mode is {mode})")
            # FULL fsyncs the WAL at every commit. NORMAL survives kill -9 as well, but a power
            # cut could drop the last commits, and channels acknowledge the provider (HTTP 200,
            # SMTP 250) as soon as intake/enqueue commit: those must be on disk by then.
            conn.execute("PRAGMA synchronous = FULL")
            # Deleted or rewritten rows (settled parcels, expired sessions, erased
            # messages) are zeroed where the page is written anyway, so a customer's erase
            # leaves no copy in a page's free space. Builds that zero always are left so.
            if not conn.execute("PRAGMA secure_delete").fetchone()[0]:
                conn.execute("PRAGMA secure_delete = FAST")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"{self.path} has schema version {version}, newer than this Switchboard's "
                    f"({SCHEMA_VERSION}); upgrade Switchboard"
                )
            _create_or_upgrade(conn, version)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._inode = None if self._in_memory else os.stat(self.path).st_ino

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
