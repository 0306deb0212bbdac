"""Which contacts are a customer's: those verified as their account, or joined to it
(``contact.account``), read from the store's index by account.

Contacts from the same address that were never joined to the account are not included: an
address (a family's phone, a shared mailbox) is not a person, and exporting or erasing them
could hand one customer another's words.
"""

from __future__ import annotations

from queues import Contact, Store

__all__ = ["MOST_CONTACTS", "contacts_of"]

#: The most contacts one customer's export or erase takes (a lifetime of contacts is some
#: hundreds; past this something else is wrong, and the export says how many it has).
MOST_CONTACTS = 100_000


async def contacts_of(store: Store, login: str) -> list[Contact]:
    """Every contact of the account ``login``, oldest first, without messages: O(the
    account's contacts), however many the store keeps."""
    found = await store.list_contacts(account=login, limit=MOST_CONTACTS)
    return sorted(found, key=lambda c: (c.created_at, c.id))
