"""The agents' side: presence, claims under a lease, replies, resolve, transfer, release."""

from router.desk.claims import (
    CALL_ENDED,
    ENDED_CALL_LEASE_S,
    AgentDesk,
    DeskError,
    announce_change,
    contact_channel,
    sent_key,
)
from router.desk.presence import AgentStatus, HandleTimes, Presence

__all__ = [
    "CALL_ENDED",
    "ENDED_CALL_LEASE_S",
    "AgentDesk",
    "AgentStatus",
    "DeskError",
    "HandleTimes",
    "Presence",
    "announce_change",
    "contact_channel",
    "sent_key",
]
