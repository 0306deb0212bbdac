"""A customer's data: all their contacts and messages as JSON, or erased; both audited.

The audit log is the store's event log: an event on no contact (``contact_id`` "", as an
agent's status is), kind ``privacy_export`` or ``privacy_erase``, naming who asked (an
agent, or ``cli:<user>``), how (``api`` or ``cli``), the login, and how many contacts and
messages. It lives in the store rather than in a file under data_dir because every router
process on every host then writes to and reads one log, as durable as the contacts it speaks
of; it names the login and counts, never what was erased. Each erased contact also gets a
``contact_erased`` event in its own history, so its timeline says why its texts are gone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from queues import Contact, Event, Store, to_iso
from router.errors import NoSuchCustomer, OpenContacts
from router.identity import AccountDirectory
from router.privacy.find import contacts_of

__all__ = [
    "AUDIT_KINDS",
    "ERASED_EVENT",
    "ERASED_TEXT",
    "ERASE_KIND",
    "EXPORT_KIND",
    "KEEP_META",
    "Erased",
    "Privacy",
]

log = structlog.get_logger(__name__)

EXPORT_KIND = "privacy_export"
ERASE_KIND = "privacy_erase"
AUDIT_KINDS = (EXPORT_KIND, ERASE_KIND)
ERASED_EVENT = "contact_erased"
#: What an erased message says instead of what it said.
ERASED_TEXT = "[erased]"
#: Meta keys an erase keeps (on the contact and its messages): the desk's own marks, never
#: what the customer wrote or who they are (names, numbers, mail headers, attachments).
KEEP_META = (
    "complaint",
    "complaint_no",
    "follow_up_of",
    "call_ended_at",
    "flow",
    "delivery",
    "timeout",
)


@dataclass(frozen=True, slots=True)
class Erased:
    """What an erase did: how many contacts and messages it rewrote."""

    login: str
    contacts: int
    messages: int
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "contacts": self.contacts,
            "messages": self.messages,
            "erased_at": to_iso(self.at),
        }


class Privacy:
    """Exports and erases a customer's contacts; every one is written to the audit log."""

    def __init__(
        self, store: Store, accounts: AccountDirectory, *, clock: Callable[[], float]
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._clock = clock

    async def _contacts(self, login: str) -> list[Contact]:
        found = await contacts_of(self._store, login)
        if not found and self._accounts.find(login) is None:
            raise NoSuchCustomer(login)
        return found

    async def export(self, login: str, *, by: str, via: str) -> dict[str, Any]:
        """Everything kept of the customer: the account (without the code's HMAC) and
        every contact with its messages and events, oldest first."""
        contacts = await self._contacts(login)
        full = [await self._store.get_contact(c.id) for c in contacts]
        account = self._accounts.find(login)
        now = self._clock()
        document = {
            "login": login,
            "exported_at": to_iso(now),
            "account": account.public() if account is not None else None,
            "contacts": [
                {**c.to_dict(), "events": [e.to_dict() for e in await self._store.events(c.id)]}
                for c in full
            ],
        }
        messages = sum(len(c.messages) for c in full)
        await self._audit(EXPORT_KIND, login, by, via, len(full), messages, now)
        return document

    async def erase(self, login: str, *, by: str, via: str) -> Erased:
        """Erase the customer's contacts: texts replaced by ``ERASED_TEXT``, addresses by a
        placeholder (one per address, so the contacts from one address still read as one
        conversation partner), subjects and meta cleared but for ``KEEP_META``. Refused
        (``OpenContacts``) while any of them is still open."""
        contacts = await self._contacts(login)
        still_open = [c.id for c in contacts if not c.state.is_final]
        if still_open:
            raise OpenContacts(login, still_open)
        placeholders: dict[str, str] = {}
        messages = 0
        now = self._clock()
        for contact in contacts:
            placeholder = placeholders.setdefault(contact.address, f"erased:{secrets.token_hex(6)}")
            await self._forget_sessions(contact)  # first: the erase then cleans the files
            messages += await self._store.erase_contact(
                contact.id, address=placeholder, text=ERASED_TEXT, keep_meta=KEEP_META
            )
            await self._store.add_event(
                Event(contact.id, ERASED_EVENT, now, agent=by, data={"via": via})
            )
        await self._audit(ERASE_KIND, login, by, via, len(contacts), messages, now)
        log.info("customer_erased", account=login, contacts=len(contacts), messages=messages)
        return Erased(login, len(contacts), messages, now)

    async def _forget_sessions(self, contact: Contact) -> None:
        """Sessions kept under the contact's address while they still name it (its
        conversation's flow state, ``<channel>:<address>``; its satisfaction question,
        ``survey:<channel>:<address>``) and under its id (the mail thread, what it was last
        told). Lockout counters under the address stay: they expire within minutes."""
        for key in (
            f"{contact.channel}:{contact.address}",
            f"survey:{contact.channel}:{contact.address}",
        ):
            session = await self._store.get_session(key)
            if session is not None and session.get("contact_id") == contact.id:
                await self._store.delete_session(key)
        for key in (f"email-thread:{contact.id}", f"standing:{contact.id}"):
            await self._store.delete_session(key)

    async def _audit(
        self, kind: str, login: str, by: str, via: str, contacts: int, messages: int, at: float
    ) -> None:
        data = {"account": login, "by": by, "via": via, "contacts": contacts, "messages": messages}
        await self._store.add_event(Event("", kind, at, agent=by, data=data))

    async def audit_log(self, *, since: float | None = None) -> Sequence[dict[str, Any]]:
        """The exports and erases, oldest first (``since``: from then on)."""
        events = await self._store.list_events(since=since, kinds=AUDIT_KINDS)
        return [e.to_dict() for e in events]
