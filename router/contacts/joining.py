"""Earlier contacts from the same address join the customer's timeline once they verify.

When a contact is verified as an account, the contacts that came earlier from the same
address on the same channel without being verified are given that account too (their
``verified`` stays false, their ``verify_method`` says ``joined:<the verified contact>``),
so the index by account lists them and the timeline shows them, marked as joined.

What joins, and why it is bounded:

- Only the ``JOIN_SCAN`` newest contacts at the address are read (one read from the index
  by address every backend keeps), and only those younger than ``JOIN_WINDOW_S``.
- The walk stops at the first contact verified as (or joined to) another account: the
  address was someone else's then, and what came before it may be anybody's (a family's
  phone, a shared mailbox, a reused number).
- Only finished contacts (resolved or abandoned) join. One still open is a conversation
  whose customer has not shown who they are: an agent must not see an account on it.

So a verification costs one read and at most ``JOIN_SCAN`` writes of two fields (and an
event each), whatever the store holds. A failure to join is logged and does not fail the
verification: the next verification from the address joins what was left.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from queues import Contact, Event, QueueError, Store
from router.desk import JOINED_PREFIX

__all__ = ["JOINED_EVENT", "JOIN_SCAN", "JOIN_WINDOW_S", "AddressJoin"]

log = structlog.get_logger(__name__)

JOIN_SCAN = 20
JOIN_WINDOW_S = 90 * 86_400.0
JOINED_EVENT = "contact_joined"


class AddressJoin:
    """The flow's ``after_verify`` hook: joins earlier contacts to the verified account."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float],
        scan: int = JOIN_SCAN,
        window_s: float = JOIN_WINDOW_S,
    ) -> None:
        self._store = store
        self._clock = clock
        self._scan = scan
        self._window_s = window_s

    async def __call__(self, contact: Contact, login: str) -> list[str]:
        """Join the earlier contacts of ``contact``'s address to ``login``; their ids."""
        try:
            return await self._join(contact, login)
        except QueueError as exc:
            log.warning("address_join_failed", contact_id=contact.id, error=str(exc))
            return []

    async def _join(self, contact: Contact, login: str) -> list[str]:
        now = self._clock()
        earlier = await self._store.list_contacts(
            address=contact.address, channel=str(contact.channel), limit=self._scan + 1
        )
        joined: list[str] = []
        for other in earlier:  # newest first
            if other.id == contact.id or other.created_at > contact.created_at:
                continue
            if other.account is not None:
                if other.account != login:
                    break  # the address was someone else's: nothing older joins
                continue
            if now - other.created_at > self._window_s:
                break
            if not other.state.is_final:
                continue
            method = _method(contact)
            await self._store.update_contact(other.id, account=login, verify_method=method)
            event = Event(other.id, JOINED_EVENT, now, data={"account": login, "by": contact.id})
            await self._store.add_event(event)
            joined.append(other.id)
        if joined:
            log.info("contacts_joined", contact_id=contact.id, joined=len(joined))
        return joined


def _method(contact: Contact) -> str:
    """The ``verify_method`` the timeline reads a join from (``router.desk.timeline``)."""
    return JOINED_PREFIX + contact.id
