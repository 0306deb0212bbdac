"""Agents' loads and the claim's pick in the sqlite store (``queues/capacity.py``), on a
connection inside the claim's transaction (one process, one writer thread: the load read
and the lease are one step). Also the tables of ``SqliteStore``'s surveys and first-contact
resolution (``queues/sqlite/outcomes.py``).

Tables and indexes (created by ``queues/sqlite/db.py`` with the rest)::

    contacts_queue_channel   each team's waiting contacts by channel, in serving order: a
                             claim under capacity reads the head of each channel it may take
    contacts_agent           an agent's held and recently resolved contacts: their load
    fcr_watch                (team, account) -> the resolved contact watched, and when
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from queues.capacity import ALL_CHANNELS, Capacity

__all__ = ["SCHEMA", "head", "load"]

SCHEMA = """
CREATE INDEX IF NOT EXISTS contacts_queue_channel ON contacts (team, state, channel, score, seq);
CREATE INDEX IF NOT EXISTS contacts_agent ON contacts (agent, state, closed_at)
    WHERE agent IS NOT NULL;
CREATE TABLE IF NOT EXISTS fcr_watch (
    team TEXT NOT NULL, account TEXT NOT NULL, contact_id TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (team, account)
) WITHOUT ROWID;
"""
_HEAD = (
    "SELECT score, seq, id FROM contacts WHERE team = ? AND state = 'waiting' "
    "ORDER BY score, seq LIMIT 1"
)
_HEAD_OF = (
    "SELECT score, seq, id FROM contacts WHERE team = ? AND state = 'waiting' AND channel = ? "
    "ORDER BY score, seq LIMIT 1"
)
_LOAD = (
    "SELECT channel, count(*) FROM contacts WHERE agent = ?1 AND (state = 'assigned' "
    "OR (state = 'resolved' AND closed_at > ?2)) GROUP BY channel"
)


def load(conn: sqlite3.Connection, agent: str, now: float, wrap_up_s: float) -> dict[str, int]:
    """Per channel, what ``agent`` holds or resolved less than ``wrap_up_s`` before ``now``."""
    rows = conn.execute(_LOAD, (agent, now - wrap_up_s)).fetchall()
    return {str(channel): int(n) for channel, n in rows}


def head(
    conn: sqlite3.Connection,
    teams: Sequence[str],
    agent: str,
    now: float,
    capacity: Capacity | None,
) -> str | None:
    """The contact a claim takes: the lowest (score, seq) across ``teams`` among the
    channels ``capacity`` leaves open to ``agent``; None when there is none."""
    channels: list[str] | None = None
    if capacity is not None:
        closed = capacity.closed(load(conn, agent, now, capacity.wrap_up_s))
        if closed >= ALL_CHANNELS:
            return None
        channels = sorted(ALL_CHANNELS - closed) if closed else None
    found = []
    for team in dict.fromkeys(teams):
        # One indexed look-up per team (and open channel) beats sorting every waiting contact.
        if channels is None:
            found.append(conn.execute(_HEAD, (team,)).fetchone())
        else:
            found += [conn.execute(_HEAD_OF, (team, ch)).fetchone() for ch in channels]
    heads = [tuple(row) for row in found if row is not None]
    return str(min(heads)[2]) if heads else None
