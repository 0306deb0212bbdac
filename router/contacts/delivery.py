"""What a provider reports after the fact: the delivery of a message the router sent (an SMS
status callback), and a call that ended while an agent held it."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from queues import Channel, Contact, ContactState, Event, Store
from router.desk import CALL_ENDED, ENDED_CALL_LEASE_S, announce_change, sent_key

__all__ = ["keep_ended_call", "record_delivery"]

log = structlog.get_logger(__name__)


async def record_delivery(
    store: Store,
    clock: Callable[[], float],
    channel: Channel,
    provider_id: str,
    status: str,
    *,
    detail: str | None = None,
) -> bool:
    """Record the report on the message's contact; False when the message is not known."""
    sent = await store.get_session(sent_key(channel, provider_id))
    if sent is None:
        return False
    data = {
        "message_id": sent["message_id"],
        "provider_id": provider_id,
        "status": status,
        "detail": detail,
    }
    await store.add_event(Event(sent["contact_id"], "delivery_status", clock(), data=data))
    log.info("delivery_status", contact_id=sent["contact_id"], status=status)
    await announce_change(store, sent["contact_id"])
    return True


async def keep_ended_call(store: Store, clock: Callable[[], float], contact: Contact) -> None:
    """A call that ended while an agent held it stays with that agent until they write
    the disposition, and is never queued again (the desk refuses release and transfer,
    and the long lease keeps the reaper away)."""
    agent = contact.agent
    held = contact.state is ContactState.ASSIGNED and agent is not None
    if contact.channel is not Channel.VOICE or not held or agent is None:
        return
    await store.update_contact(contact.id, meta_merge={CALL_ENDED: clock()})
    await store.heartbeat(contact.id, agent, lease_s=ENDED_CALL_LEASE_S)
    log.info("call_ended_while_held", contact_id=contact.id, agent=agent)
