"""Surveys and first-contact resolution in the sqlite store (``queues/outcomes.py``): each
one transaction that records the event and counts it."""

from __future__ import annotations

from queues import outcomes
from queues.errors import ContactNotFound
from queues.models import Contact, Event
from queues.sqlite import db, tally
from queues.sqlite.worker import Conn, OnDatabase, writes

__all__ = ["OutcomeRows"]


def _contact(conn: Conn, contact_id: str) -> Contact:
    row = conn.execute(f"{db.SELECT_CONTACT} WHERE id = ?", (contact_id,)).fetchone()
    if row is None:
        raise ContactNotFound(contact_id)
    return db.contact_from_row(row)


def _kinds(conn: Conn, contact_id: str) -> set[str]:
    sql = "SELECT DISTINCT kind FROM events WHERE contact_id = ?"
    return {str(kind) for (kind,) in conn.execute(sql, (contact_id,))}


def _record(conn: Conn, contact: Contact, event: Event | None) -> bool:
    if event is None:
        return False
    conn.execute(db.INSERT_EVENT, db.event_to_row(event))
    tally.count(conn, event, str(contact.channel))
    return True


def _watched(conn: Conn, team: str, account: str) -> tuple[str, float] | None:
    sql = "SELECT contact_id, at FROM fcr_watch WHERE team = ? AND account = ?"
    row = conn.execute(sql, (team, account)).fetchone()
    return None if row is None else (str(row[0]), float(row[1]))


_WATCH = (
    "INSERT INTO fcr_watch (team, account, contact_id, at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (team, account) DO UPDATE SET contact_id = excluded.contact_id, at = excluded.at"
)


class OutcomeRows(OnDatabase):
    """The surveys and FCR half of ``SqliteStore``."""

    @writes
    def record_survey(self, conn: Conn, contact_id: str, *, score: int | None = None) -> bool:
        contact = _contact(conn, contact_id)
        event = outcomes.survey(contact, _kinds(conn, contact_id), score, self._clock())
        return _record(conn, contact, event)

    @writes
    def fcr_resolved(self, conn: Conn, contact_id: str, account: str, *, within_s: float) -> bool:
        contact = _contact(conn, contact_id)
        now = self._clock()
        event = outcomes.fcr_resolved(contact, _kinds(conn, contact_id), now)
        if event is not None:
            conn.execute(_WATCH, (contact.team, account, contact_id, now))
        return _record(conn, contact, event)

    @writes
    def fcr_arrived(self, conn: Conn, contact_id: str, account: str, *, within_s: float) -> bool:
        contact = _contact(conn, contact_id)
        watch = _watched(conn, contact.team or "", account)
        kinds = _kinds(conn, contact_id)
        event = outcomes.fcr_arrived(contact, kinds, watch, self._clock(), within_s)
        if event is not None:
            sql = "DELETE FROM fcr_watch WHERE team = ? AND account = ?"
            conn.execute(sql, (contact.team, account))
        return _record(conn, contact, event)
