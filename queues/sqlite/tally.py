"""The running aggregates of the sqlite store (``queues/buckets.py``), on a connection inside
the transaction of the transition they count.

Tables (created by ``queues/sqlite/db.py``)::

    buckets    (team, minute, channel) -> one column per count of ``queues.buckets.COUNTS``
    handles    n, team, at, handle_s: each team's last RECENT_HANDLES handle times
    contacts.answered   1 once the contact was claimed (its later claims are no answers)
"""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from collections.abc import Sequence

from queues.buckets import COUNTS, RECENT_HANDLES, Bucket, deltas, handled_s, minutes
from queues.models import Event

__all__ = ["SCHEMA", "add_columns", "backfill", "count", "handle_times", "minute_buckets"]

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS buckets (
    team TEXT NOT NULL, minute INTEGER NOT NULL, channel TEXT NOT NULL,
    {", ".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name in COUNTS)},
    PRIMARY KEY (team, minute, channel)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS handles (
    n INTEGER PRIMARY KEY, team TEXT NOT NULL, at REAL NOT NULL, handle_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS handles_team ON handles (team, n);
"""
_ADD = (
    f"INSERT INTO buckets (team, minute, channel, {', '.join(COUNTS)}) "
    f"VALUES (?, ?, ?, {', '.join('?' * len(COUNTS))}) "
    "ON CONFLICT (team, minute, channel) DO UPDATE SET "
    + ", ".join(f"{name} = {name} + excluded.{name}" for name in COUNTS)
)
_SELECT = f"SELECT minute, channel, {', '.join(COUNTS)} FROM buckets"
_ADD_HANDLE = "INSERT INTO handles (team, at, handle_s) VALUES (?, ?, ?)"
# Keep the team's newest RECENT_HANDLES rows (n grows with every insert).
_TRIM_HANDLES = (
    "DELETE FROM handles WHERE team = ?1 AND n < "
    f"(SELECT n FROM handles WHERE team = ?1 ORDER BY n DESC LIMIT 1 OFFSET {RECENT_HANDLES - 1})"
)


def add_columns(conn: sqlite3.Connection) -> None:
    """Add the counts a file made before them lacks (``queues.buckets.EXTRAS``), as 0."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(buckets)")}
    for name in COUNTS:
        if name not in have:
            conn.execute(f"ALTER TABLE buckets ADD COLUMN {name} INTEGER NOT NULL DEFAULT 0")


def count(conn: sqlite3.Connection, event: Event, channel: str) -> None:
    """Add a transition's event (of a contact on ``channel``) to the aggregates."""
    first = False
    if event.kind == "contact_claimed":
        sql = "UPDATE contacts SET answered = 1 WHERE id = ? AND answered = 0"
        first = conn.execute(sql, (event.contact_id,)).rowcount == 1
    _add(conn, event, channel, first)


def _add(conn: sqlite3.Connection, event: Event, channel: str, first: bool) -> None:
    for delta in deltas(event, channel, first_claim=first):
        conn.execute(_ADD, (delta.team, delta.minute, delta.channel, *delta.counts()))
    handle_s = handled_s(event)
    if handle_s is not None and event.team:
        conn.execute(_ADD_HANDLE, (event.team, event.at, handle_s))
        conn.execute(_TRIM_HANDLES, (event.team,))


def minute_buckets(
    conn: sqlite3.Connection, teams: Sequence[str], since: float, until: float
) -> list[Bucket]:
    span = minutes(since, until)
    found: list[Bucket] = []
    sql = f"{_SELECT} WHERE team = ? AND minute BETWEEN ? AND ? ORDER BY minute, channel"
    for team in dict.fromkeys(teams):
        for minute, channel, *counts in conn.execute(sql, (team, span.start, span[-1])):
            bucket = Bucket.from_counts(team, minute, channel, counts)
            if not bucket.empty:
                found.append(bucket)
    return found


def handle_times(conn: sqlite3.Connection, team: str, since: float, limit: int) -> list[float]:
    sql = "SELECT handle_s FROM handles WHERE team = ? AND at >= ? ORDER BY n DESC LIMIT ?"
    rows = conn.execute(sql, (team, since, max(0, min(limit, RECENT_HANDLES)))).fetchall()
    return [float(h) for (h,) in reversed(rows)]


def backfill(conn: sqlite3.Connection) -> None:
    """Count every stored event again, in recording order: the upgrade to schema 4 of a
    store that kept events but no aggregates."""
    channels = dict(conn.execute("SELECT id, channel FROM contacts"))
    answered: set[str] = set()
    totals: dict[tuple[str, int, str], Bucket] = {}
    handles: dict[str, deque[tuple[float, float]]] = {}
    sql = "SELECT contact_id, kind, at, team, agent, data FROM events ORDER BY id"
    for contact_id, kind, at, team, agent, data in conn.execute(sql):
        channel = channels.get(contact_id)
        if channel is None:
            continue  # an agent's status, or an event of no stored contact
        event = Event(contact_id, kind, at, team=team, agent=agent, data=json.loads(data))
        first = kind == "contact_claimed" and contact_id not in answered
        if first:
            answered.add(contact_id)
        for delta in deltas(event, channel, first_claim=first):
            key = (delta.team, delta.minute, delta.channel)
            totals[key] = totals[key] + delta if key in totals else delta
        handle_s = event.data.get("handle_s")
        if kind == "contact_resolved" and team and isinstance(handle_s, float | int):
            kept = handles.setdefault(team, deque(maxlen=RECENT_HANDLES))
            kept.append((at, float(handle_s)))
    conn.execute("DELETE FROM buckets")
    conn.executemany(_ADD, ((*key, *b.counts()) for key, b in totals.items()))
    conn.execute("DELETE FROM handles")
    rows = ((team, at, h) for team, kept in handles.items() for at, h in kept)
    conn.executemany(_ADD_HANDLE, rows)
    conn.execute("UPDATE contacts SET answered = 0")
    conn.executemany("UPDATE contacts SET answered = 1 WHERE id = ?", ((i,) for i in answered))
