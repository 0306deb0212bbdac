"""A customer's timeline in the sqlite store: notes and tags (``queues/timeline.py``).

Contacts by account are an index of the contacts table (``contacts_account`` in
``db.SCHEMA``, schema version 5), which ``list_contacts`` uses when given an account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from queues.errors import ContactNotFound
from queues.models import Contact
from queues.sqlite import db
from queues.sqlite.worker import Conn, OnDatabase, writes
from queues.timeline import annotated, check_note

__all__ = ["TimelineRows"]


class TimelineRows(OnDatabase):
    """The notes and tags part of ``SqliteStore``: read, change and write the meta in one
    write transaction (``BEGIN IMMEDIATE``), so no other write comes in between."""

    async def annotate(
        self,
        contact_id: str,
        *,
        note: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Contact:
        if note is not None:
            check_note(note)
        return await self._annotate(contact_id, note, None if tags is None else list(tags))

    @writes
    def _annotate(
        self,
        conn: Conn,
        contact_id: str,
        note: Mapping[str, Any] | None,
        tags: list[str] | None,
    ) -> Contact:
        row = conn.execute(f"{db.SELECT_CONTACT} WHERE id = ?", (contact_id,)).fetchone()
        if row is None:
            raise ContactNotFound(contact_id)
        contact = db.contact_from_row(row)
        changed = contact.replace(meta=annotated(contact_id, contact.meta, note, tags))
        conn.execute(
            "UPDATE contacts SET meta = ? WHERE id = ?", (db.dumps(changed.meta), contact_id)
        )
        return changed
