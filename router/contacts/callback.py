"""The router's side of callbacks keeping the place (``channels.twilio.CallbackHost``).

A caller who books a callback leaves the call, yet the contact keeps its place: the call's
session is forgotten (under the conversation's lock, as ``ContactService.hang_up`` takes it),
so the call's end finds nothing to abandon. The call back gets a session of its own that
points at the same contact, so its hold and its end act on it like any call's. Hours come
from the team's business hours. The contact JSON shows the callback (``callback_view``).
"""

from __future__ import annotations

from typing import Any

import structlog

from channels.twilio import CallbackBook
from queues import Channel, Contact, Store
from router.contacts.replay import session_record
from router.locks import KeyLocks
from router.routing import Routing

__all__ = ["CallbackDesk", "callback_view"]

log = structlog.get_logger(__name__)


class CallbackDesk:
    """Sessions and hours for the voice channel's callbacks."""

    def __init__(
        self,
        *,
        store: Store,
        routing: Routing,
        session_ttl_s: float = 86400.0,
    ) -> None:
        self._store = store
        self._routing = routing
        self._session_ttl_s = session_ttl_s
        # The same store locks as the flow host's: one conversation at a time, everywhere.
        self._conversations = KeyLocks(store, prefix="conversation:")

    async def keep_place(self, channel: Channel, conversation: str) -> Contact | None:
        key = f"{channel}:{conversation}"
        async with self._conversations.hold(key):
            session = await self._store.get_session(key)
            if session is None:
                return None
            await self._store.delete_session(key)
            contact = await self._store.get_contact(session["contact_id"], messages=False)
        log.info("callback_keeps_place", contact_id=contact.id, state=str(contact.state))
        return contact

    async def attach(self, channel: Channel, conversation: str, contact_id: str) -> None:
        key = f"{channel}:{conversation}"
        record = session_record(contact_id, key=f"{key}:callback", spoken=(), queue_prompt="queued")
        async with self._conversations.hold(key):
            await self._store.put_session(key, record, ttl_s=self._session_ttl_s)

    def opens_at(self, team: str, at: float) -> float:
        hours = self._routing.hours.get(team)
        return at if hours is None else hours.next_open(at)

    def opening_label(self, team: str, at: float, language: str) -> str:
        hours = self._routing.hours.get(team)
        return "" if hours is None else hours.local_label(at, language)


async def callback_view(
    store: Store, contact: Contact, *, max_attempts: int | None = None
) -> dict[str, Any] | None:
    """A voice contact's callback as the API shows it (number, state, attempts, ...); None
    for a contact without one (one store read, voice contacts only)."""
    if contact.channel is not Channel.VOICE:
        return None
    callback = await CallbackBook(store).get(contact.id)
    return None if callback is None else callback.public(max_attempts=max_attempts)
