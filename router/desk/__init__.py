"""The agents' side: presence, claims under a lease, replies, resolve, transfer, release;
a customer's timeline with notes and tags (timeline.py); canned replies (canned.py)."""

from router.desk.canned import CannedReplies, CannedReply, fill_params
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
from router.desk.timeline import JOINED_PREFIX, TIMELINE_LIMIT, Timeline, timeline_entry

__all__ = [
    "CALL_ENDED",
    "ENDED_CALL_LEASE_S",
    "JOINED_PREFIX",
    "TIMELINE_LIMIT",
    "AgentDesk",
    "AgentStatus",
    "CannedReplies",
    "CannedReply",
    "DeskError",
    "HandleTimes",
    "Presence",
    "Timeline",
    "announce_change",
    "contact_channel",
    "fill_params",
    "sent_key",
    "timeline_entry",
]
