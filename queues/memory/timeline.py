"""A customer's timeline in the in-memory store: contacts by account, notes and tags
(``queues/timeline.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from queues.errors import ContactNotFound
from queues.models import Contact
from queues.timeline import annotated, check_note

__all__ = ["MemoryTimeline"]


class MemoryTimeline:
    """The timeline part of ``MemoryStore``: an index login -> contact ids, kept by
    ``_index_account`` wherever a contact is stored with another account."""

    _contacts: dict[str, Contact]

    def __init__(self) -> None:
        self._by_account: dict[str, set[str]] = {}

    def _index_account(self, before: Contact | None, after: Contact) -> None:
        """Keep the index when ``after`` replaces ``before`` (None: a new contact)."""
        old = before.account if before is not None else None
        if old == after.account:
            return
        if old is not None:
            self._by_account.get(old, set()).discard(after.id)
        if after.account is not None:
            self._by_account.setdefault(after.account, set()).add(after.id)

    def _of_account(self, account: str) -> list[Contact]:
        """The account's contacts, in no order."""
        return [self._contacts[cid] for cid in self._by_account.get(account, ())]

    async def annotate(
        self,
        contact_id: str,
        *,
        note: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Contact:
        if note is not None:
            check_note(note)
        contact = self._contacts.get(contact_id)
        if contact is None:
            raise ContactNotFound(contact_id)
        changed = contact.replace(meta=annotated(contact_id, contact.meta, note, tags))
        self._contacts[contact_id] = changed
        return changed
