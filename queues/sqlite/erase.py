"""A customer's erase request in the sqlite store (``queues/erase.py``).

The rows are rewritten in one transaction with ``secure_delete`` on, so the bytes of the old
text and address are zeroed in the pages rather than left in their free space; then the WAL
is checkpointed into the file and truncated, so no earlier image of those pages stays there.
(Text a page split moved before the erase may still sit on a free page: ``VACUUM`` rebuilds
the file without any.)
"""

from __future__ import annotations

from collections.abc import Collection

import structlog

from queues.erase import changed, check_erase, erased_contact, erased_message
from queues.errors import ContactNotFound
from queues.sqlite import db
from queues.sqlite.worker import Conn, OnDatabase, writes

__all__ = ["EraseRows"]

log = structlog.get_logger(__name__)

_MESSAGES = "SELECT n, id, direction, text, at, author, meta FROM messages WHERE contact_id = ?"


class EraseRows(OnDatabase):
    """The erase part of ``SqliteStore``."""

    async def erase_contact(
        self, contact_id: str, *, address: str, text: str, keep_meta: Collection[str] = ()
    ) -> int:
        check_erase(address, text)
        rewritten = await self._erase_rows(contact_id, address, text, tuple(keep_meta))
        if not await self._db.checkpoint():
            log.warning("sqlite_checkpoint_incomplete", reason="another process reads the file")
        return rewritten

    @writes
    def _erase_rows(
        self, conn: Conn, contact_id: str, address: str, text: str, keep: tuple[str, ...]
    ) -> int:
        row = conn.execute(f"{db.SELECT_CONTACT} WHERE id = ?", (contact_id,)).fetchone()
        if row is None:
            raise ContactNotFound(contact_id)
        contact = db.contact_from_row(row)
        erased = erased_contact(contact, address, keep)
        secure = conn.execute("PRAGMA secure_delete").fetchone()[0]
        conn.execute("PRAGMA secure_delete = ON")
        try:
            conn.execute(
                "UPDATE contacts SET address = ?, subject = NULL, meta = ? WHERE id = ?",
                (erased.address, db.dumps(erased.meta), contact_id),
            )
            rewritten = 0
            for n, *stored in conn.execute(_MESSAGES, (contact_id,)).fetchall():
                before = db.message_from_row(stored)
                after = erased_message(before, text, keep)
                if changed(before, after):
                    sql = "UPDATE messages SET text = ?, meta = ? WHERE n = ?"
                    conn.execute(sql, (after.text, db.dumps(after.meta), n))
                    rewritten += 1
            # A settled outbox row keeps its line's name, ``<channel>:<address>``, while its
            # id is remembered (a repost is refused for a week): it names the new address.
            # (Memory and Redis drop the line of a settled parcel at once.)
            n = len(contact.address)
            conn.execute(
                "UPDATE parcels SET grp = substr(grp, 1, length(grp) - ?) || ? "
                "WHERE payload IS NULL AND substr(grp, -?) = ?",
                (n, address, n + 1, ":" + contact.address),
            )
        finally:
            conn.execute(f"PRAGMA secure_delete = {int(secure)}")
        return rewritten
