"""Channel adapters: provider input in, replies out.

The adapters live in subpackages (``email``, ``twilio``, ``telegram``, ``webchat``); this
package offers what they share with the router: the ``Inbox`` the router implements, the
``Outbox`` and ``ChannelAdapter`` Protocols, the records that cross between them, the retrying
outbox (``courier``), and the layer's exception tree (``channels/errors.py``).
"""

from channels.base import (
    CLAIMED,
    MOVED_CHANNEL,
    RELEASED,
    RESOLVED,
    TRANSFERRED,
    WAKE_CHANNEL,
    AgentTarget,
    Answer,
    ChannelAdapter,
    ContactListener,
    HoldStatus,
    InboundMessage,
    Inbox,
    Outbox,
    Reply,
    Spoken,
    Standing,
)
from channels.courier import Courier, Delivery
from channels.errors import ChannelError, FrameError, SendFailed, TelegramSendFailed

__all__ = [
    "CLAIMED",
    "MOVED_CHANNEL",
    "RELEASED",
    "RESOLVED",
    "TRANSFERRED",
    "WAKE_CHANNEL",
    "AgentTarget",
    "Answer",
    "ChannelAdapter",
    "ChannelError",
    "ContactListener",
    "Courier",
    "Delivery",
    "FrameError",
    "HoldStatus",
    "InboundMessage",
    "Inbox",
    "Outbox",
    "Reply",
    "SendFailed",
    "Spoken",
    "Standing",
    "TelegramSendFailed",
]
