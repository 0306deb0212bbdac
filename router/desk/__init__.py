"""The agents' side: presence, claims under a lease, replies, resolve, transfer, release."""

from router.desk.claims import AgentDesk, DeskError, sent_key
from router.desk.presence import AgentStatus, HandleTimes, Presence

__all__ = ["AgentDesk", "AgentStatus", "DeskError", "HandleTimes", "Presence", "sent_key"]
