"""The outbox of the SQLite store (table ``parcels``).

A pending parcel has a payload; only the first pending one of its group (``grp``) has a
``due_at``, the others wait with none until the one before them is settled. A settled
parcel keeps only its id until ``forget_at``, so posting it again within that time is
refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from queues.models import Parcel
from queues.sqlite import db
from queues.sqlite.worker import Conn, OnDatabase, reads, writes

__all__ = ["OutboxRows"]

_TAKE = "SELECT id, payload, attempts, posted_at FROM parcels WHERE due_at <= ?"


class OutboxRows(OnDatabase):
    """The outbox half of ``SqliteStore``."""

    @writes
    def post_parcel(
        self,
        conn: Conn,
        parcel_id: str,
        payload: dict[str, Any],
        *,
        group: str,
        keep_s: float = 7 * 86_400,
    ) -> bool:
        now = self._clock()
        conn.execute("DELETE FROM parcels WHERE forget_at <= ? AND payload IS NULL", (now,))
        if conn.execute("SELECT 1 FROM parcels WHERE id = ?", (parcel_id,)).fetchone():
            return False
        behind = conn.execute(
            "SELECT 1 FROM parcels WHERE grp = ? AND payload IS NOT NULL LIMIT 1", (group,)
        ).fetchone()
        conn.execute(
            "INSERT INTO parcels (id, grp, payload, attempts, due_at, posted_at, forget_at) "
            "VALUES (?, ?, ?, 0, ?, ?, ?)",
            (parcel_id, group, db.dumps(payload), None if behind else now, now, now + keep_s),
        )
        return True

    @writes
    def take_parcels(
        self, conn: Conn, *, lease_s: float, limit: int, ids: Sequence[str] = ()
    ) -> list[Parcel]:
        now = self._clock()
        if ids:
            marks = ", ".join("?" * len(ids))
            sql = f"{_TAKE} AND id IN ({marks}) ORDER BY due_at, n LIMIT ?"
            rows = conn.execute(sql, (now, *ids, limit)).fetchall()
        else:
            rows = conn.execute(f"{_TAKE} ORDER BY due_at, n LIMIT ?", (now, limit)).fetchall()
        taken = []
        for parcel_id, payload, attempts, posted_at in rows:
            conn.execute(
                "UPDATE parcels SET attempts = ?, due_at = ? WHERE id = ?",
                (attempts + 1, now + lease_s, parcel_id),
            )
            taken.append(
                Parcel(parcel_id, json.loads(payload), attempts + 1, now + lease_s, posted_at)
            )
        return taken

    @writes
    def settle_parcel(self, conn: Conn, parcel_id: str, attempts: int) -> bool:
        row = conn.execute(
            "SELECT grp FROM parcels WHERE id = ? AND attempts = ? AND payload IS NOT NULL",
            (parcel_id, attempts),
        ).fetchone()
        if row is None:
            return False
        conn.execute("UPDATE parcels SET payload = NULL, due_at = NULL WHERE id = ?", (parcel_id,))
        conn.execute(
            "UPDATE parcels SET due_at = ? WHERE n = (SELECT min(n) FROM parcels "
            "WHERE grp = ? AND payload IS NOT NULL)",
            (self._clock(), row[0]),
        )
        return True

    @writes
    def defer_parcel(self, conn: Conn, parcel_id: str, attempts: int, *, delay_s: float) -> bool:
        cursor = conn.execute(
            "UPDATE parcels SET due_at = ? WHERE id = ? AND attempts = ? AND due_at IS NOT NULL",
            (self._clock() + delay_s, parcel_id, attempts),
        )
        return cursor.rowcount == 1

    @reads
    def parcels_pending(self, conn: Conn) -> int:
        count: int = conn.execute(
            "SELECT count(*) FROM parcels WHERE payload IS NOT NULL"
        ).fetchone()[0]
        return count
