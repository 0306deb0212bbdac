"""One timeline per customer: a verified contact's account's other contacts on every channel,
and the notes and tags agents leave on a contact.

The timeline is one store read, ``list_contacts(account=...)``, from the index by account
every backend keeps (O(the account's contacts)): each contact comes with its channel, times,
team, disposition and meta, and the meta carries the notes and tags (``queues.timeline``),
so no contact's events or messages are read. Only a verified contact has a timeline: an
unverified customer has not shown who they are, and an agent must not be shown someone
else's history on their word.

Notes are kept in the contact's meta rather than as events because the timeline then reads
them with the contacts (events are one read per contact, and on Redis each is a walk of
the contact's history), and because an erase of the customer's data (``erase_contact``)
clears meta with the rest of what the customer said, while events stay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from queues import NOTES, TAGS, Contact, NotesFull, Store, clean_tags, new_id, to_iso
from router.errors import DeskError

__all__ = ["JOINED_PREFIX", "TIMELINE_LIMIT", "Timeline", "joined_by", "timeline_entry"]

#: The most other contacts a timeline shows (the newest).
TIMELINE_LIMIT = 50
#: ``verify_method`` of a contact joined to an account by its address (``router.contacts``).
JOINED_PREFIX = "joined:"


def joined_by(contact: Contact) -> str | None:
    """The verified contact whose verification joined ``contact`` to its account."""
    method = contact.verify_method or ""
    return method.removeprefix(JOINED_PREFIX) if method.startswith(JOINED_PREFIX) else None


def timeline_entry(contact: Contact) -> dict[str, Any]:
    """What the console shows of one of the customer's contacts."""
    return {
        "id": contact.id,
        "channel": str(contact.channel),
        "state": str(contact.state),
        "team": contact.team,
        "disposition": contact.disposition,
        "agent": contact.agent,
        "subject": contact.subject,
        "verified": contact.verified,
        "joined_by": joined_by(contact),
        "created_at": to_iso(contact.created_at),
        "closed_at": to_iso(contact.closed_at),
        "notes": list(contact.meta.get(NOTES) or []),
        "tags": list(contact.meta.get(TAGS) or []),
    }


class Timeline:
    """The customer's contacts, and agents' notes and tags on one."""

    def __init__(self, store: Store, *, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    async def of(self, contact: Contact, *, limit: int = TIMELINE_LIMIT) -> dict[str, Any]:
        """``{"account", "contacts": [...newest first...], "more"}`` for ``contact``: the
        other contacts of its account when it is verified, else none."""
        if not (contact.verified and contact.account):
            return {"account": None, "contacts": [], "more": False}
        found = await self._store.list_contacts(account=contact.account, limit=limit + 2)
        others = [c for c in found if c.id != contact.id]
        return {
            "account": contact.account,
            "contacts": [timeline_entry(c) for c in others[:limit]],
            "more": len(others) > limit,
        }

    async def add_note(self, contact_id: str, text: str, *, agent: str) -> dict[str, str]:
        """Add ``agent``'s note to the contact; the note as stored."""
        at = to_iso(self._clock()) or ""
        note = {"id": new_id(), "text": text.strip(), "agent": agent, "at": at}
        try:
            await self._store.annotate(contact_id, note=note)
        except NotesFull as exc:
            raise DeskError(str(exc)) from None
        return note

    async def set_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        """Replace the contact's tags (cleaned: lowercase, sorted, once each)."""
        try:
            cleaned = clean_tags(tags)
        except ValueError as exc:
            raise DeskError(str(exc)) from None
        await self._store.annotate(contact_id, tags=cleaned)
        return cleaned
