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
from channels.clients import ClientAddresses
from channels.courier import Courier, Delivery
from channels.deadline import DEFAULT_DEADLINE_S, Deadline
from channels.errors import ChannelError, FrameError, SendFailed, TelegramSendFailed
from channels.floods import RefusalLog
from channels.inputs import BadInput, load_json

__all__ = [
    "CLAIMED",
    "DEFAULT_DEADLINE_S",
    "MOVED_CHANNEL",
    "RELEASED",
    "RESOLVED",
    "TRANSFERRED",
    "WAKE_CHANNEL",
    "AgentTarget",
    "Answer",
    "BadInput",
    "ChannelAdapter",
    "ChannelError",
    "ClientAddresses",
    "ContactListener",
    "Courier",
    "Deadline",
    "Delivery",
    "FrameError",
    "HoldStatus",
    "InboundMessage",
    "Inbox",
    "Outbox",
    "RefusalLog",
    "Reply",
    "SendFailed",
    "Spoken",
    "Standing",
    "TelegramSendFailed",
    "load_json",
]
