"""Channel adapters: provider input in, replies out.

The adapters live in subpackages (``email``, ``twilio``, ``telegram``, ``webchat``); this
package offers what they share with the router: the ``Inbox`` the router implements, the
``Outbox`` and ``ChannelAdapter`` Protocols, the records that cross between them, the retrying
outbox (``courier``), and the layer's exception tree (``channels/errors.py``).
"""

from channels.base import (
    AgentTarget,
    Answer,
    ChannelAdapter,
    ClaimListener,
    HoldStatus,
    InboundMessage,
    Inbox,
    Outbox,
    Reply,
    Spoken,
)
from channels.courier import Courier, Delivery
from channels.errors import ChannelError, FrameError, SendFailed, TelegramSendFailed

__all__ = [
    "AgentTarget",
    "Answer",
    "ChannelAdapter",
    "ChannelError",
    "ClaimListener",
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
    "TelegramSendFailed",
]
