"""The SQLite store: the embedded default, one durable file used by one process.

Every operation runs on the database's worker thread as one transaction that changes the
contact and writes its events together (``BEGIN IMMEDIATE`` for writes), so a killed
process leaves every committed transition whole and nothing half-done. The file layout and
the worker thread live in ``queues.sqlite.db``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from queues.base import UPDATABLE_FIELDS, Clock
from queues.errors import ContactNotFound, InvalidTransition, NotHolder
from queues.models import (
    Claim,
    Contact,
    ContactState,
    Direction,
    Event,
    Intake,
    Message,
    Position,
    QueueStats,
)
from queues.sqlite import db
from queues.sqlite.keyed import KeyedRows
from queues.sqlite.worker import Conn, reads, writes

__all__ = ["SqliteStore"]

QUEUE_HEAD = (
    "SELECT score, seq, id FROM contacts WHERE team = ? AND state = 'waiting' "
    "ORDER BY score, seq LIMIT 1"
)
POSITION = (
    "SELECT count(*), coalesce(sum(o.score < c.score OR (o.score = c.score AND o.seq < c.seq)), 0)"
    " FROM contacts AS c JOIN contacts AS o ON o.team = c.team AND o.state = 'waiting'"
    " WHERE c.id = ?"
)
QUEUE_STATS = (
    "SELECT count(*) FILTER (WHERE state = 'waiting'), count(*) FILTER (WHERE state = 'assigned'),"
    " min(queued_at) FILTER (WHERE state = 'waiting')"
    " FROM contacts WHERE team = ? AND state IN ('waiting', 'assigned')"
)
EXPIRED = (
    f"{db.SELECT_CONTACT} WHERE state = 'assigned' AND lease_until <= ? ORDER BY lease_until, id"
)


class SqliteStore(KeyedRows):
    """Store Protocol on one SQLite file (WAL, synchronous=FULL) for one process.

    Open with ``await SqliteStore.open("sqlite:////var/lib/switchboard/store.db")``.
    """

    def __init__(self, database: db.Database, *, clock: Clock | None = None) -> None:
        super().__init__(database, clock=clock)

    @property
    def path(self) -> Path:
        return self._db.path

    @classmethod
    async def open(
        cls, url: str, clock: Clock | None = None, *, busy_timeout_s: float = 5.0
    ) -> SqliteStore:
        """Open the database file ``url`` names, creating it and its directories."""
        database = db.Database(db.path_from_url(url), busy_timeout_s=busy_timeout_s)
        await database.open()
        return cls(database, clock=clock)

    async def __aenter__(self) -> SqliteStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._pubsub.close()
        await self._db.aclose()

    @reads
    def ping(self, conn: Conn) -> None:
        conn.execute("SELECT 1").fetchone()

    # -- rows (worker thread, inside a transaction) --------------------------------------
    def _get(self, conn: Conn, contact_id: str) -> Contact:
        row = conn.execute(f"{db.SELECT_CONTACT} WHERE id = ?", (contact_id,)).fetchone()
        if row is None:
            raise ContactNotFound(contact_id)
        return db.contact_from_row(row)

    def _save(self, conn: Conn, contact: Contact, *, seq: int | None = None) -> None:
        conn.execute(db.UPSERT_CONTACT, db.contact_to_row(contact, seq))

    def _event(self, conn: Conn, contact: Contact, kind: str, **data: Any) -> None:
        team = data.pop("team", contact.team)
        agent = data.pop("agent", contact.agent)
        conn.execute(
            db.INSERT_EVENT, (contact.id, kind, self._clock(), team, agent, db.dumps(data))
        )

    def _add_message(self, conn: Conn, contact_id: str, message: Message) -> None:
        conn.execute(db.INSERT_MESSAGE, db.message_to_row(contact_id, message))

    def _holder(self, conn: Conn, contact_id: str, agent: str, operation: str) -> Contact:
        contact = self._get(conn, contact_id)
        if contact.state is ContactState.WAITING:
            raise NotHolder(contact_id, agent)  # its lease expired and it went back
        if contact.state is not ContactState.ASSIGNED:
            raise InvalidTransition(contact_id, contact.state, operation)
        if contact.agent != agent:
            raise NotHolder(contact_id, agent)
        return contact

    def _requeue(self, conn: Conn, contact: Contact) -> Contact:
        # queued_at, priority and seq stay as they were: the original score and place.
        back = contact.replace(
            state=ContactState.WAITING, agent=None, assigned_at=None, lease_until=None
        )
        self._save(conn, back)
        return back

    # -- contacts and history ------------------------------------------------------------
    @writes
    def intake(
        self, conn: Conn, contact: Contact, message: Message, *, key: str | None = None
    ) -> Intake:
        if key is not None:
            sql = "SELECT contact_id, message_id FROM idempotency WHERE key = ?"
            seen = conn.execute(sql, (key,)).fetchone()
            if seen is not None:
                sql = f"{db.SELECT_MESSAGE} WHERE contact_id = ? AND id = ? ORDER BY n LIMIT 1"
                stored = db.message_from_row(conn.execute(sql, seen).fetchone())
                return Intake(self._get(conn, seen[0]), stored, duplicate=True)
        try:
            existing = self._get(conn, contact.id)
        except ContactNotFound:
            existing = contact.replace(messages=())
            self._save(conn, existing)
            self._event(conn, existing, "contact_created", channel=str(contact.channel))
        self._add_message(conn, contact.id, message)
        self._event(conn, existing, "message_received", message_id=message.id)
        if key is not None:
            sql = "INSERT INTO idempotency (key, contact_id, message_id) VALUES (?, ?, ?)"
            conn.execute(sql, (key, contact.id, message.id))
        return Intake(existing, message, duplicate=False)

    @writes
    def append_message(self, conn: Conn, contact_id: str, message: Message) -> None:
        contact = self._get(conn, contact_id)
        self._add_message(conn, contact_id, message)
        kind = "message_sent" if message.direction is Direction.OUT else "message_received"
        self._event(conn, contact, kind, message_id=message.id)

    @reads
    def get_contact(self, conn: Conn, contact_id: str, *, messages: bool = True) -> Contact:
        contact = self._get(conn, contact_id)
        if not messages:
            return contact
        rows = conn.execute(f"{db.SELECT_MESSAGE} WHERE contact_id = ? ORDER BY n", (contact_id,))
        return contact.replace(messages=tuple(db.message_from_row(row) for row in rows))

    @writes
    def update_contact(self, conn: Conn, /, contact_id: str, **changes: Any) -> Contact:
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(
                f"cannot update {sorted(unknown)}; only {sorted(UPDATABLE_FIELDS)} change "
                "this way, queue fields change through queue operations"
            )
        contact = self._get(conn, contact_id).replace(**changes)
        self._save(conn, contact)
        return contact

    def _close(
        self, conn: Conn, contact_id: str, state: ContactState, *, reason: str = ""
    ) -> Contact:
        contact = self._get(conn, contact_id)
        if contact.state is not ContactState.IN_FLOW or not ContactState(state).is_final:
            raise InvalidTransition(contact_id, contact.state, f"close as {state}")
        closed = contact.replace(state=ContactState(state), closed_at=self._clock())
        self._save(conn, closed)
        kind = "contact_resolved" if closed.state is ContactState.RESOLVED else "contact_abandoned"
        self._event(conn, closed, kind, reason=reason)
        return closed

    close = writes(_close)

    @reads
    def list_contacts(
        self,
        conn: Conn,
        *,
        channel: str | None = None,
        state: str | None = None,
        team: str | None = None,
        address: str | None = None,
        limit: int = 50,
    ) -> list[Contact]:
        filters = {"channel": channel, "state": state, "team": team, "address": address}
        given = {name: str(value) for name, value in filters.items() if value is not None}
        where = " AND ".join(f"{name} = ?" for name in given) or "1"
        sql = f"{db.SELECT_CONTACT} WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ?"
        return [
            db.contact_from_row(row) for row in conn.execute(sql, (*given.values(), max(limit, 0)))
        ]

    @writes
    def add_event(self, conn: Conn, event: Event) -> None:
        self._get(conn, event.contact_id)
        conn.execute(
            db.INSERT_EVENT,
            (event.contact_id, event.kind, event.at, event.team, event.agent, db.dumps(event.data)),
        )

    @reads
    def events(self, conn: Conn, contact_id: str) -> list[Event]:
        self._get(conn, contact_id)
        rows = conn.execute(f"{db.SELECT_EVENT} WHERE contact_id = ? ORDER BY id", (contact_id,))
        return [db.event_from_row(row) for row in rows]

    @reads
    def list_events(
        self, conn: Conn, *, since: float | None = None, kinds: Iterable[str] | None = None
    ) -> list[Event]:
        where: list[str] = ["1"]
        params: list[Any] = []
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        if kinds is not None:
            wanted = list(dict.fromkeys(kinds))
            where.append(f"kind IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        sql = f"{db.SELECT_EVENT} WHERE {' AND '.join(where)} ORDER BY id"
        return [db.event_from_row(row) for row in conn.execute(sql, params)]

    # -- queues --------------------------------------------------------------------------
    @writes
    def enqueue(self, conn: Conn, contact_id: str, team: str, *, delay_s: int = 0) -> Contact:
        contact = self._get(conn, contact_id)
        if contact.state is not ContactState.IN_FLOW:
            raise InvalidTransition(contact_id, contact.state, "enqueue")
        queued = contact.replace(
            state=ContactState.WAITING, team=team, priority=int(delay_s), queued_at=self._clock()
        )
        conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'queue_seq'")
        seq = conn.execute("SELECT value FROM counters WHERE name = 'queue_seq'").fetchone()[0]
        self._save(conn, queued, seq=seq)
        self._event(conn, queued, "contact_enqueued", delay_s=int(delay_s))
        return queued

    @writes
    def claim(
        self, conn: Conn, teams: Sequence[str], agent: str, *, lease_s: float
    ) -> Claim | None:
        # One indexed look-up per team beats sorting every waiting contact of all of them.
        heads = [conn.execute(QUEUE_HEAD, (team,)).fetchone() for team in dict.fromkeys(teams)]
        found = [tuple(head) for head in heads if head is not None]
        if not found:
            return None
        score, _seq, contact_id = min(found)
        contact, now = self._get(conn, contact_id), self._clock()
        assert contact.team is not None and contact.queued_at is not None
        held = contact.replace(
            state=ContactState.ASSIGNED, agent=agent, assigned_at=now, lease_until=now + lease_s
        )
        self._save(conn, held)
        self._event(conn, held, "contact_claimed", wait_s=round(now - contact.queued_at, 6))
        return Claim(contact_id, contact.team, agent, now + lease_s, score)

    @writes
    def heartbeat(self, conn: Conn, contact_id: str, agent: str, *, lease_s: float) -> Claim:
        contact = self._holder(conn, contact_id, agent, "heartbeat")
        assert contact.team is not None and contact.score is not None
        lease_until = self._clock() + lease_s
        self._save(conn, contact.replace(lease_until=lease_until))
        return Claim(contact_id, contact.team, agent, lease_until, contact.score)

    @writes
    def ack(
        self, conn: Conn, contact_id: str, agent: str, *, disposition: str | None = None
    ) -> None:
        contact, now = self._holder(conn, contact_id, agent, "resolve"), self._clock()
        assert contact.assigned_at is not None
        done = contact.replace(
            state=ContactState.RESOLVED, disposition=disposition, lease_until=None, closed_at=now
        )
        self._save(conn, done)
        handle_s = round(now - contact.assigned_at, 6)
        self._event(conn, done, "contact_resolved", disposition=disposition, handle_s=handle_s)

    @writes
    def release(self, conn: Conn, contact_id: str, agent: str) -> None:
        back = self._requeue(conn, self._holder(conn, contact_id, agent, "release"))
        self._event(conn, back, "contact_released", agent=agent)

    @writes
    def transfer(
        self,
        conn: Conn,
        contact_id: str,
        team: str,
        *,
        agent: str | None = None,
        delay_s: int | None = None,
    ) -> None:
        contact = self._get(conn, contact_id)
        if contact.state is ContactState.ASSIGNED:
            contact = self._holder(conn, contact_id, agent or "", "transfer")
        elif contact.state is not ContactState.WAITING:
            raise InvalidTransition(contact_id, contact.state, "transfer")
        elif agent is not None:
            raise NotHolder(contact_id, agent)
        moved = contact.replace(
            state=ContactState.WAITING,
            team=team,
            priority=contact.priority if delay_s is None else int(delay_s),
            agent=None,
            assigned_at=None,
            lease_until=None,
        )
        self._save(conn, moved)  # queued_at and seq stay: it does not lose its place
        self._event(conn, moved, "contact_transferred", agent=agent, **{"from": contact.team})

    @writes
    def remove(self, conn: Conn, contact_id: str) -> None:
        contact = self._get(conn, contact_id)
        if contact.state is ContactState.IN_FLOW:
            self._close(conn, contact_id, ContactState.ABANDONED, reason="left in flow")
            return
        if contact.state is not ContactState.WAITING:
            raise InvalidTransition(contact_id, contact.state, "remove")
        assert contact.queued_at is not None
        now = self._clock()
        gone = contact.replace(state=ContactState.ABANDONED, closed_at=now)
        self._save(conn, gone)
        self._event(conn, gone, "contact_abandoned", wait_s=round(now - contact.queued_at, 6))

    @writes
    def requeue_expired(self, conn: Conn) -> list[str]:
        rows = conn.execute(EXPIRED, (self._clock(),)).fetchall()
        expired = [db.contact_from_row(row) for row in rows]
        for contact in expired:
            back = self._requeue(conn, contact)
            self._event(conn, back, "lease_expired", agent=contact.agent)
        return [contact.id for contact in expired]

    @reads
    def position(self, conn: Conn, contact_id: str) -> Position | None:
        contact = self._get(conn, contact_id)
        if contact.state is not ContactState.WAITING or contact.team is None:
            return None
        waiting, ahead = conn.execute(POSITION, (contact_id,)).fetchone()
        return Position(contact.team, ahead=ahead, waiting=waiting)

    @reads
    def queue_stats(self, conn: Conn, teams: Sequence[str]) -> list[QueueStats]:
        now, stats = self._clock(), []
        for team in teams:
            waiting, assigned, oldest = conn.execute(QUEUE_STATS, (team,)).fetchone()
            wait_s = None if oldest is None else round(now - oldest, 6)
            stats.append(QueueStats(team, waiting, assigned, wait_s))
        return stats
