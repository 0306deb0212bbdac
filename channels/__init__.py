"""Channel adapters: provider input in, replies out.

The adapters live in subpackages (``email``, ``twilio``, ``telegram``, ``webchat``); this
package offers what they share with the router: the Inbox and Outbox Protocols and records.
"""

from channels.base import (
    AgentTarget,
    Answer,
    ChannelAdapter,
    HoldStatus,
    InboundMessage,
    Outbox,
    Reply,
    SendFailed,
    Spoken,
)
from channels.retry import RetryingOutbox

__all__ = [
    "AgentTarget",
    "Answer",
    "ChannelAdapter",
    "HoldStatus",
    "InboundMessage",
    "Outbox",
    "Reply",
    "RetryingOutbox",
    "SendFailed",
    "Spoken",
]
