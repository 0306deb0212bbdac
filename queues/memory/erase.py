"""A customer's erase request in the in-memory store (``queues/erase.py``)."""

from __future__ import annotations

from collections.abc import Collection

from queues.erase import changed, check_erase, erased_contact, erased_message
from queues.errors import ContactNotFound
from queues.models import Contact, Message

__all__ = ["MemoryErase"]


class MemoryErase:
    """The erase part of ``MemoryStore``: the contact and its messages are replaced in one
    step (nothing awaits in between, so nothing else runs meanwhile)."""

    _contacts: dict[str, Contact]
    _messages: dict[str, list[Message]]

    async def erase_contact(
        self, contact_id: str, *, address: str, text: str, keep_meta: Collection[str] = ()
    ) -> int:
        check_erase(address, text)
        contact = self._contacts.get(contact_id)
        if contact is None:
            raise ContactNotFound(contact_id)
        self._contacts[contact_id] = erased_contact(contact, address, keep_meta)
        before = self._messages.get(contact_id, [])
        after = [erased_message(message, text, keep_meta) for message in before]
        if before:
            self._messages[contact_id] = after
        return sum(changed(old, new) for old, new in zip(before, after, strict=True))
