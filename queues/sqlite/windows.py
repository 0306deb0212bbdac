"""The windowed counters of the SQLite store (``queues/windows.py``): table ``windows``,
one row per key and slot, with the time it is forgotten."""

from __future__ import annotations

from collections.abc import Sequence

from queues.sqlite.worker import Conn, OnDatabase, writes
from queues.windows import check_window, window_slots

__all__ = ["SCHEMA", "WindowRows"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS windows (
    key TEXT NOT NULL, slot INTEGER NOT NULL, n INTEGER NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (key, slot)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS windows_expiry ON windows (expires_at);
"""
_ADD = (
    "INSERT INTO windows (key, slot, n, expires_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key, slot) DO UPDATE SET n = n + excluded.n, expires_at = excluded.expires_at"
)
_SUM = (
    "SELECT coalesce(sum(n), 0) FROM windows "
    "WHERE key = ? AND slot BETWEEN ? AND ? AND expires_at > ?"
)


class WindowRows(OnDatabase):
    """The windowed-counter part of ``SqliteStore``: one transaction per call."""

    @writes
    def count_window(
        self,
        conn: Conn,
        keys: Sequence[str],
        *,
        slot_s: int,
        slots: int,
        add: int = 1,
        keep_s: float,
    ) -> list[int]:
        check_window(slot_s, slots, add, keep_s)
        now = self._clock()
        wanted = window_slots(now, slot_s, slots)
        if add:
            conn.execute("DELETE FROM windows WHERE expires_at <= ?", (now,))
        totals = []
        for key in keys:
            if add:
                conn.execute(_ADD, (key, wanted[0], add, now + keep_s))
            row = conn.execute(_SUM, (key, wanted[-1], wanted[0], now)).fetchone()
            totals.append(int(row[0]))
        return totals
