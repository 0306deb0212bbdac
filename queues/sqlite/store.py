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

from queues import transitions
from queues.base import MESSAGE_EVENT_KINDS, Clock, message_event_kind
from queues.buckets import RECENT_HANDLES, Bucket
from queues.capacity import Capacity
from queues.errors import ContactNotFound
from queues.models import (
    Claim,
    Contact,
    ContactState,
    Event,
    Intake,
    Message,
    Position,
    QueueStats,
)
from queues.sqlite import capacity as loads
from queues.sqlite import db, ranks, tally
from queues.sqlite.erase import EraseRows
from queues.sqlite.keyed import KeyedRows
from queues.sqlite.outbox import OutboxRows
from queues.sqlite.outcomes import OutcomeRows
from queues.sqlite.timeline import TimelineRows
from queues.sqlite.windows import WindowRows
from queues.sqlite.worker import Conn, reads, writes
from queues.transitions import Step
from queues.turns import Turn, TurnOutcome, TurnResult
from queues.updates import updated

__all__ = ["SqliteStore"]

EXPIRED = (
    f"{db.SELECT_CONTACT} WHERE state = 'assigned' AND lease_until <= ? ORDER BY lease_until, id"
)


class SqliteStore(KeyedRows, OutboxRows, WindowRows, OutcomeRows, EraseRows, TimelineRows):
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

    def _record(self, conn: Conn, event: Event) -> None:
        conn.execute(db.INSERT_EVENT, db.event_to_row(event))

    def _event(self, conn: Conn, contact: Contact, kind: str, **data: Any) -> None:
        self._record(conn, transitions.event(contact, kind, self._clock(), **data))

    def _apply(self, conn: Conn, step: Step, *, seq: int | None = None) -> Contact:
        # seq stays as it was unless given: a contact back in its queue keeps its place.
        self._save(conn, step.contact, seq=seq)
        self._record(conn, step.event)
        tally.count(conn, step.event, step.contact.channel)
        return step.contact

    def _add_message(self, conn: Conn, contact_id: str, message: Message) -> None:
        conn.execute(db.INSERT_MESSAGE, db.message_to_row(contact_id, message))

    # -- contacts and history ------------------------------------------------------------
    @writes
    def intake(
        self, conn: Conn, contact: Contact, message: Message, *, key: str | None = None
    ) -> Intake:
        return self._intake(conn, contact, message, key)

    def _intake(self, conn: Conn, contact: Contact, message: Message, key: str | None) -> Intake:
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
            channel = str(contact.channel)
            created = transitions.event(existing, "contact_created", self._clock(), channel=channel)
            self._record(conn, created)
            tally.count(conn, created, channel)
        self._add_message(conn, contact.id, message)
        self._event(conn, existing, "message_received", message_id=message.id)
        if key is not None:
            sql = "INSERT INTO idempotency (key, contact_id, message_id) VALUES (?, ?, ?)"
            conn.execute(sql, (key, contact.id, message.id))
        return Intake(existing, message, duplicate=False)

    @writes
    def append_message(self, conn: Conn, contact_id: str, message: Message) -> None:
        self._append(conn, self._get(conn, contact_id), message)

    def _append(self, conn: Conn, contact: Contact, message: Message) -> None:
        self._add_message(conn, contact.id, message)
        self._event(conn, contact, message_event_kind(message), message_id=message.id)

    @writes
    def apply_turn(self, conn: Conn, turn: Turn) -> TurnResult:
        expected = [(turn.session_key, turn.session_tag), *turn.unchanged]
        if any(self._tagged(conn, key)[1] != tag for key, tag in expected):
            return TurnResult(TurnOutcome.CHANGED)
        if turn.lock is not None:
            sql = "SELECT 1 FROM locks WHERE name = ? AND expires_at > ?"
            if conn.execute(sql, (turn.lock, self._clock())).fetchone() is not None:
                return TurnResult(TurnOutcome.CHANGED)
        if not turn.new:
            row = conn.execute("SELECT state FROM contacts WHERE id = ?", (turn.contact.id,))
            if (row.fetchone() or (None,))[0] != ContactState.IN_FLOW:
                return TurnResult(TurnOutcome.CHANGED)
        intake = self._intake(conn, turn.contact, turn.message, turn.key)
        if intake.duplicate:
            return TurnResult(TurnOutcome.SEEN)
        contact = intake.contact
        for said in turn.said:
            self._append(conn, contact, said)
        if turn.language is not None and turn.language != contact.language:
            contact = contact.replace(language=turn.language)
            self._save(conn, contact)
        tag = ""
        if turn.session is not None:
            tag = self._put(conn, turn.session_key, turn.session, turn.session_ttl_s)
        if turn.enqueue is None:
            return TurnResult(TurnOutcome.APPLIED, contact, tag)
        queue = turn.enqueue
        # The update and the enqueue write the row once (the enqueue's step carries both).
        contact = self._enqueue(conn, updated(contact, queue.changes()), queue.team, queue.delay_s)
        return TurnResult(TurnOutcome.APPLIED, contact, tag, self._position(conn, contact))

    @reads
    def get_contact(self, conn: Conn, contact_id: str, *, messages: bool = True) -> Contact:
        contact = self._get(conn, contact_id)
        if not messages:
            return contact
        rows = conn.execute(f"{db.SELECT_MESSAGE} WHERE contact_id = ? ORDER BY n", (contact_id,))
        return contact.replace(messages=tuple(db.message_from_row(row) for row in rows))

    @writes
    def update_contact(self, conn: Conn, /, contact_id: str, **changes: Any) -> Contact:
        contact = updated(self._get(conn, contact_id), changes)
        self._save(conn, contact)
        return contact

    @writes
    def close(
        self, conn: Conn, contact_id: str, state: ContactState, *, reason: str = ""
    ) -> Contact:
        step = transitions.close(self._get(conn, contact_id), state, self._clock(), reason=reason)
        return self._apply(conn, step)

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
        account: str | None = None,
    ) -> list[Contact]:
        filters = {"channel": channel, "state": state, "team": team, "address": address}
        filters["account"] = account  # contacts_account (partial: rows with an account)
        given = {name: str(value) for name, value in filters.items() if value is not None}
        where = " AND ".join(f"{name} = ?" for name in given) or "1"
        sql = f"{db.SELECT_CONTACT} WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ?"
        return [
            db.contact_from_row(row) for row in conn.execute(sql, (*given.values(), max(limit, 0)))
        ]

    @writes
    def add_event(self, conn: Conn, event: Event) -> None:
        if event.contact_id:  # else an agent's status, on no contact's history
            self._get(conn, event.contact_id)
        self._record(conn, event)

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
            wanted = [k for k in dict.fromkeys(kinds) if k not in MESSAGE_EVENT_KINDS]
            where.append(f"kind IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        else:
            where.append(f"kind NOT IN ({', '.join('?' * len(MESSAGE_EVENT_KINDS))})")
            params.extend(sorted(MESSAGE_EVENT_KINDS))
        sql = f"{db.SELECT_EVENT} WHERE {' AND '.join(where)} ORDER BY id"
        return [db.event_from_row(row) for row in conn.execute(sql, params)]

    # -- queues --------------------------------------------------------------------------
    @writes
    def enqueue(self, conn: Conn, contact_id: str, team: str, *, delay_s: int = 0) -> Contact:
        return self._enqueue(conn, self._get(conn, contact_id), team, delay_s)

    def _enqueue(self, conn: Conn, contact: Contact, team: str, delay_s: int) -> Contact:
        step = transitions.enqueue(contact, team, delay_s, self._clock())
        conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'queue_seq'")
        seq = conn.execute("SELECT value FROM counters WHERE name = 'queue_seq'").fetchone()[0]
        return self._apply(conn, step, seq=seq)

    @writes
    def claim(
        self,
        conn: Conn,
        teams: Sequence[str],
        agent: str,
        *,
        lease_s: float,
        capacity: Capacity | None = None,
    ) -> Claim | None:
        now = self._clock()
        contact_id = loads.head(conn, teams, agent, now, capacity)
        if contact_id is None:
            return None
        step = transitions.claim(self._get(conn, contact_id), agent, now, lease_s)
        return transitions.lease(self._apply(conn, step))

    @reads
    def agent_load(self, conn: Conn, agent: str, *, wrap_up_s: float = 0.0) -> dict[str, int]:
        return loads.load(conn, agent, self._clock(), wrap_up_s)

    @writes
    def heartbeat(self, conn: Conn, contact_id: str, agent: str, *, lease_s: float) -> Claim:
        contact = self._get(conn, contact_id)
        renewed = transitions.heartbeat(contact, agent, self._clock(), lease_s)
        self._save(conn, renewed)
        return transitions.lease(renewed)

    @writes
    def ack(
        self,
        conn: Conn,
        contact_id: str,
        agent: str,
        *,
        disposition: str | None = None,
        wrap_s: float = 0.0,
    ) -> None:
        contact = self._get(conn, contact_id)
        self._apply(conn, transitions.ack(contact, agent, disposition, self._clock(), wrap_s))

    @writes
    def release(self, conn: Conn, contact_id: str, agent: str) -> None:
        contact = self._get(conn, contact_id)
        self._apply(conn, transitions.release(contact, agent, self._clock()))

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
        self._apply(conn, transitions.transfer(contact, team, agent, delay_s, self._clock()))

    @writes
    def remove(self, conn: Conn, contact_id: str) -> None:
        contact = self._get(conn, contact_id)
        self._apply(conn, transitions.remove(contact, self._clock()))

    @writes
    def requeue_expired(self, conn: Conn) -> list[str]:
        now = self._clock()
        expired = [db.contact_from_row(row) for row in conn.execute(EXPIRED, (now,)).fetchall()]
        for contact in expired:
            self._apply(conn, transitions.expire(contact, now))
        return [contact.id for contact in expired]

    @reads
    def position(self, conn: Conn, contact_id: str) -> Position | None:
        return ranks.position(conn, contact_id)

    def _position(self, conn: Conn, contact: Contact) -> Position | None:
        if contact.state is not ContactState.WAITING or contact.team is None:
            return None
        return ranks.position(conn, contact.id)

    @reads
    def waiting_order(self, conn: Conn, team: str) -> list[str]:
        sql = "SELECT id FROM contacts WHERE team = ? AND state = 'waiting' ORDER BY score, seq"
        return [row[0] for row in conn.execute(sql, (team,))]

    @reads
    def queue_stats(self, conn: Conn, teams: Sequence[str]) -> list[QueueStats]:
        now = self._clock()
        return [ranks.queue_stats(conn, team, now) for team in teams]

    # -- running aggregates ----------------------------------------------------------------
    @reads
    def minute_buckets(
        self, conn: Conn, teams: Sequence[str], *, since: float, until: float
    ) -> list[Bucket]:
        return tally.minute_buckets(conn, teams, since, until)

    @reads
    def handle_times(
        self, conn: Conn, team: str, *, since: float, limit: int = RECENT_HANDLES
    ) -> list[float]:
        return tally.handle_times(conn, team, since, limit)
