"""Where a waiting contact stands in the sqlite store, without counting the queue: a count
tree over the teams' waiting contacts, kept by triggers in the same transaction as every
write of a contact row.

Tables, triggers and indexes (created by ``queues/sqlite/db.py`` with the rest)::

    queue_counts             (team, level, node) -> how many of the team's waiting contacts
                             have their slot (the score's whole milliseconds, CAST to
                             INTEGER) under that node: at level k a node is slot >> 6k, so
                             it spans 64**k ms of scores; a node back at 0 is dropped
    queue_counts_*           triggers on contacts: a contact that starts or stops waiting
                             in a team, or waits on with a score of another millisecond,
                             adds 1 to (takes 1 from) each of its LEVELS nodes
    contacts_waiting_since   each team's waiting contacts by queued_at (the longest wait)

The contacts served before one of score s and seq q: those of a lower slot (at each level,
the at most 63 nodes before its own under the same parent, and at the top level every
node before its own), then those of its own slot served first (an index range over one
millisecond of scores). So a position reads about the same with 10^2 or 10^5 contacts
waiting (``tests/queues/sqlite/test_ranks.py`` counts the SQLite VM's steps), while
counting the queue, as earlier versions did, read every waiting contact; an enqueue or a
claim pays LEVELS upserts (~40 µs a write of a contact row, measured in-process).
Everything a trigger does is rolled back with the write that fired it, and a version 6
file's waiting contacts are counted once when it is upgraded (``backfill``).
"""

from __future__ import annotations

import sqlite3

from queues.errors import ContactNotFound
from queues.models import ContactState, Position, QueueStats

__all__ = ["SCHEMA", "backfill", "position", "queue_stats"]

#: Levels of the tree: the top one's nodes span 64**5 ms (12.4 days) of scores each, and a
#: position reads every one before its own (scores rarely span more than a few weeks).
LEVELS = 6
_BITS = 6  # a node has 64 children
#: A slot is a millisecond of scores: contacts that share one are counted in the index.
_SLOT = "CAST({row}.score * 1000 AS INTEGER)"


def _add(row: str) -> str:
    slot = _SLOT.format(row=row)
    return "".join(
        f"INSERT INTO queue_counts (team, level, node, n) VALUES ({row}.team, {k}, "
        f"{slot} >> {_BITS * k}, 1) ON CONFLICT (team, level, node) DO UPDATE SET n = n + 1;\n"
        for k in range(LEVELS)
    )


def _take(row: str) -> str:
    slot = _SLOT.format(row=row)
    where = [
        f"team = {row}.team AND level = {k} AND node = {slot} >> {_BITS * k}" for k in range(LEVELS)
    ]
    return "".join(f"UPDATE queue_counts SET n = n - 1 WHERE {w};\n" for w in where) + "".join(
        f"DELETE FROM queue_counts WHERE {w} AND n <= 0;\n" for w in where
    )


def _waits(row: str) -> str:
    return f"{row}.state = 'waiting' AND {row}.team IS NOT NULL"


# Waiting in the same team with a score of the same second: its nodes stay as they were.
_SAME_NODES = (
    "new.state = 'waiting' AND old.state = 'waiting' AND new.team IS old.team "
    f"AND {_SLOT.format(row='new')} IS {_SLOT.format(row='old')}"
)
_UPDATE = "AFTER UPDATE OF state, team, score ON contacts"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS queue_counts (
    team TEXT NOT NULL, level INTEGER NOT NULL, node INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (team, level, node)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contacts_waiting_since ON contacts (team, queued_at)
    WHERE state = 'waiting';
CREATE TRIGGER IF NOT EXISTS queue_counts_insert AFTER INSERT ON contacts
    WHEN {_waits("new")} BEGIN
{_add("new")}END;
CREATE TRIGGER IF NOT EXISTS queue_counts_delete AFTER DELETE ON contacts
    WHEN {_waits("old")} BEGIN
{_take("old")}END;
CREATE TRIGGER IF NOT EXISTS queue_counts_out {_UPDATE}
    WHEN {_waits("old")} AND NOT ({_SAME_NODES}) BEGIN
{_take("old")}END;
CREATE TRIGGER IF NOT EXISTS queue_counts_in {_UPDATE}
    WHEN {_waits("new")} AND NOT ({_SAME_NODES}) BEGIN
{_add("new")}END;
"""

_BEFORE = " UNION ALL ".join(
    [
        f"SELECT n FROM queue_counts WHERE team = :team AND level = {k} "
        f"AND node >= :first{k} AND node < :node{k}"
        for k in range(LEVELS - 1)
    ]
    + [
        f"SELECT n FROM queue_counts WHERE team = :team AND level = {LEVELS - 1} "
        f"AND node < :node{LEVELS - 1}"
    ]
)
_POSITION = (
    f"SELECT (SELECT coalesce(sum(n), 0) FROM ({_BEFORE})) + ("
    "SELECT count(*) FROM contacts WHERE team = :team AND state = 'waiting' "
    "AND score > (:slot - 1) / 1000.0 AND score < (:slot + 1) / 1000.0 "
    "AND CAST(score * 1000 AS INTEGER) = :slot "
    "AND (score < :score OR (score = :score AND seq < :seq))), "
    f"(SELECT coalesce(sum(n), 0) FROM queue_counts WHERE team = :team AND level = {LEVELS - 1})"
)
_SPOT = "SELECT state, team, score, seq FROM contacts WHERE id = ?"
_QUEUE_STATS = (
    "SELECT (SELECT coalesce(sum(n), 0) FROM queue_counts WHERE team = :team "
    f"AND level = {LEVELS - 1}), "
    "(SELECT count(*) FROM contacts WHERE team = :team AND state = 'assigned'), "
    "(SELECT min(queued_at) FROM contacts WHERE team = :team AND state = 'waiting')"
)


def position(conn: sqlite3.Connection, contact_id: str) -> Position | None:
    """Where ``contact_id`` stands in its team's queue; None when it does not wait.
    Raises ContactNotFound."""
    spot = conn.execute(_SPOT, (contact_id,)).fetchone()
    if spot is None:
        raise ContactNotFound(contact_id)
    state, team, score, seq = spot
    if state != ContactState.WAITING or team is None:
        return None
    slot = int(score * 1000)  # as the triggers' CAST(score * 1000 AS INTEGER): towards 0
    params: dict[str, object] = {"team": team, "score": score, "seq": seq, "slot": slot}
    for k in range(LEVELS):
        node = slot >> (_BITS * k)
        params[f"node{k}"] = node
        params[f"first{k}"] = node & ~((1 << _BITS) - 1)
    ahead, waiting = conn.execute(_POSITION, params).fetchone()
    return Position(team, ahead=ahead, waiting=waiting)


def queue_stats(conn: sqlite3.Connection, team: str, now: float) -> QueueStats:
    """A team's waiting and assigned contacts and its longest wait, each from an index."""
    waiting, assigned, oldest = conn.execute(_QUEUE_STATS, {"team": team}).fetchone()
    wait_s = None if oldest is None else round(now - oldest, 6)
    return QueueStats(team, waiting, assigned, wait_s)


def backfill(conn: sqlite3.Connection) -> None:
    """Count the waiting contacts of a file the triggers did not yet keep (version < 7)."""
    conn.execute("DELETE FROM queue_counts")
    for k in range(LEVELS):
        conn.execute(
            "INSERT INTO queue_counts (team, level, node, n) "
            f"SELECT team, {k}, CAST(score * 1000 AS INTEGER) >> {_BITS * k}, count(*) "
            "FROM contacts "
            "WHERE state = 'waiting' AND team IS NOT NULL GROUP BY 1, 2, 3"
        )
