"""Sessions, hit counters and pub/sub of the SQLite store (tables ``sessions``, ``hits``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from queues.base import Clock
from queues.pubsub import InProcessPubSub, LocalPubSub
from queues.sqlite import db
from queues.sqlite.worker import Conn, OnDatabase, light_writes, reads, writes

__all__ = ["KeyedRows"]


class KeyedRows(OnDatabase, InProcessPubSub):
    """The keyed half of ``SqliteStore``: sessions with expiry, sliding-window counters, and
    pub/sub inside the one process the file serves."""

    def __init__(self, database: db.Database, *, clock: Clock | None = None) -> None:
        super().__init__(database, clock=clock)
        self._pubsub = LocalPubSub()  # one process, so pub/sub stays in it

    # -- sessions ------------------------------------------------------------------------
    async def get_session(self, key: str) -> dict[str, Any] | None:
        return (await self.get_session_tagged(key))[0]

    @writes
    def get_session_tagged(self, conn: Conn, key: str) -> tuple[dict[str, Any] | None, str]:
        return self._tagged(conn, key)

    def _tagged(self, conn: Conn, key: str) -> tuple[dict[str, Any] | None, str]:
        sql = "SELECT data, expires_at, tag FROM sessions WHERE key = ?"
        row = conn.execute(sql, (key,)).fetchone()
        if row is None:
            return None, ""
        if row[1] <= self._clock():
            conn.execute("DELETE FROM sessions WHERE key = ?", (key,))
            return None, ""
        data: dict[str, Any] = json.loads(row[0])
        return data, row[2]

    @reads
    def get_sessions(
        self, conn: Conn, keys: Sequence[str]
    ) -> list[tuple[dict[str, Any] | None, str]]:
        marks = ", ".join("?" * len(keys))
        sql = f"SELECT key, data, tag FROM sessions WHERE key IN ({marks}) AND expires_at > ?"
        found = {
            row[0]: (json.loads(row[1]), row[2])
            for row in conn.execute(sql, (*keys, self._clock()))
        }
        return [found.get(key, (None, "")) for key in keys]

    @writes
    def put_session(self, conn: Conn, key: str, data: dict[str, Any], *, ttl_s: float) -> None:
        self._put(conn, key, data, ttl_s)

    @writes
    def put_session_if(
        self, conn: Conn, key: str, data: dict[str, Any], *, tag: str, ttl_s: float
    ) -> bool:
        if self._tagged(conn, key)[1] != tag:
            return False
        self._put(conn, key, data, ttl_s)
        return True

    def _put(self, conn: Conn, key: str, data: dict[str, Any], ttl_s: float) -> str:
        """Store the session with a new tag; the tag."""
        now = self._clock()
        tag = uuid.uuid4().hex
        # Sessions nobody reads again would pile up; drop the expired ones on the way.
        conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
        conn.execute(
            "INSERT INTO sessions (key, data, expires_at, tag) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET data = excluded.data, "
            "expires_at = excluded.expires_at, tag = excluded.tag",
            (key, db.dumps(data), now + ttl_s, tag),
        )
        return tag

    @writes
    def delete_session(self, conn: Conn, key: str) -> None:
        conn.execute("DELETE FROM sessions WHERE key = ?", (key,))

    # -- documents (table docs) -----------------------------------------------------------
    @reads
    def get_doc(self, conn: Conn, kind: str, key: str) -> tuple[dict[str, Any] | None, str]:
        sql = "SELECT data, tag FROM docs WHERE kind = ? AND key = ?"
        row = conn.execute(sql, (kind, key)).fetchone()
        return (json.loads(row[0]), row[1]) if row else (None, "")

    @writes
    def put_doc(
        self, conn: Conn, kind: str, key: str, data: dict[str, Any], *, tag: str | None = None
    ) -> str | None:
        if tag is not None:
            row = conn.execute(
                "SELECT tag FROM docs WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
            if (row[0] if row else "") != tag:
                return None
        new_tag = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO docs (kind, key, data, tag) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data, tag = excluded.tag",
            (kind, key, db.dumps(data), new_tag),
        )
        return new_tag

    @writes
    def delete_doc(self, conn: Conn, kind: str, key: str) -> None:
        conn.execute("DELETE FROM docs WHERE kind = ? AND key = ?", (kind, key))

    @reads
    def all_docs(self, conn: Conn, kind: str) -> dict[str, dict[str, Any]]:
        rows = conn.execute("SELECT key, data FROM docs WHERE kind = ?", (kind,)).fetchall()
        return {key: json.loads(data) for key, data in rows}

    # -- locks (table locks) -------------------------------------------------------------
    @light_writes
    def acquire_lock(self, conn: Conn, name: str, owner: str, *, ttl_s: float) -> bool:
        now = self._clock()
        row = conn.execute("SELECT owner, expires_at FROM locks WHERE name = ?", (name,)).fetchone()
        if row is not None and row[0] != owner and row[1] > now:
            return False
        conn.execute(
            "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) "
            "DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at",
            (name, owner, now + ttl_s),
        )
        return True

    @light_writes
    def release_lock(self, conn: Conn, name: str, owner: str) -> None:
        conn.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))

    # -- hit counters (table hits: one row per hit; expires_at is the key's) -------------
    @writes
    def record_hit(
        self, conn: Conn, key: str, *, window_s: float, ttl_s: float, tag: str | None = None
    ) -> int:
        now = self._clock()
        conn.execute("DELETE FROM hits WHERE expires_at <= ?", (now,))
        conn.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (key, now - window_s))
        # A tag the window holds is not counted again (the unique index hits_tag).
        conn.execute(
            "INSERT OR IGNORE INTO hits (key, at, expires_at, tag) VALUES (?, ?, ?, ?)",
            (key, now, now + ttl_s, tag),
        )
        conn.execute("UPDATE hits SET expires_at = ? WHERE key = ?", (now + ttl_s, key))
        count: int = conn.execute("SELECT count(*) FROM hits WHERE key = ?", (key,)).fetchone()[0]
        return count

    @reads
    def hits(self, conn: Conn, key: str, *, window_s: float) -> list[float]:
        now = self._clock()
        sql = "SELECT at FROM hits WHERE key = ? AND at > ? AND expires_at > ? ORDER BY at, n"
        return [row[0] for row in conn.execute(sql, (key, now - window_s, now))]

    @writes
    def clear_hits(self, conn: Conn, key: str) -> None:
        conn.execute("DELETE FROM hits WHERE key = ?", (key,))
