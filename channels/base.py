"""What every channel adapter shares: the message it hands in, and the Protocols around it.

A channel turns provider input into an ``InboundMessage`` and hands it to an injected
``Inbox`` (the router implements it); the ``Answer`` says what to tell the customer now.
Agent replies leave through the channel's ``Outbox``; its failures are the ``SendFailed`` of
the layer's exception tree (``channels.errors``), re-exported here for older imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from channels.errors import ChannelError, SendFailed
from ivr import Expect
from queues import Channel, Contact, Position

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
    "HoldStatus",
    "InboundMessage",
    "Inbox",
    "Outbox",
    "Reply",
    "SendFailed",
    "Spoken",
    "Standing",
]


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer input, normalised.

    ``key`` is the idempotency key (CallSid+step, MessageSid, Message-ID, update_id, chat
    frame id): the same key twice is one message. ``conversation`` groups the inputs of one
    conversation (a CallSid, a chat session); the address is used when it is None.
    ``text`` is None when the customer gave no input (a Gather that timed out).
    """

    channel: Channel
    address: str
    text: str | None
    key: str
    conversation: str | None = None
    language: str | None = None
    contact_id: str | None = None
    subject: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def session_key(self) -> str:
        return f"{self.channel}:{self.conversation or self.address}"


@dataclass(frozen=True, slots=True)
class Spoken:
    """A prompt rendered for the customer in their language (from ``template`` and
    ``params``, when known: the history may keep those rather than the text)."""

    text: str
    language: str
    template: str | None = field(default=None, compare=False, repr=False)
    params: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the router says back: prompts to give now, and what input comes next.

    ``expect`` is None once the flow is over (queued or ended); ``position`` and
    ``wait_s`` are set when the contact waits in a queue. ``stored_text`` is the message
    as the history keeps it (an auth code masked), for channels that echo it back.
    """

    contact: Contact
    prompts: tuple[Spoken, ...]
    expect: Expect | None
    duplicate: bool = False
    position: Position | None = None
    wait_s: float | None = None
    stored_text: str | None = None


@dataclass(frozen=True, slots=True)
class AgentTarget:
    """Where a voice call goes when an agent takes it: a phone number or a Client identity."""

    name: str
    phone: str | None = None
    client_identity: str | None = None


@dataclass(frozen=True, slots=True)
class HoldStatus:
    """A contact's standing while the customer waits (voice hold loop, chat updates).

    ``prompt`` is the position-and-wait announcement in the customer's language, set while
    the contact waits; ``agent`` is set once an agent holds the contact.
    """

    contact: Contact
    position: Position | None = None
    wait_s: float | None = None
    prompt: Spoken | None = None
    agent: AgentTarget | None = None


@dataclass(frozen=True, slots=True)
class Standing:
    """A waiting contact's place: its team, its position (1 = next) and the wait."""

    team: str
    position: int
    wait_s: float


@dataclass(frozen=True, slots=True)
class Reply:
    """An outbound message to a contact, sent through the channel it came from.

    ``author`` is the agent (None for the flow's own messages); ``auto`` marks a message
    the router sent by itself where the channel says so (email: Auto-Submitted).
    """

    contact_id: str
    channel: Channel
    address: str
    text: str
    language: str
    author: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    auto: bool = False


@runtime_checkable
class Inbox(Protocol):
    """The router side a channel talks to."""

    async def receive(self, message: InboundMessage) -> Answer:
        """Store the message durably, advance the contact's flow, and say what to answer.

        Raises ``queues.StoreUnavailable`` when it could not be stored: the channel then
        answers the provider so that it retries (HTTP 503, SMTP 451).
        """

    async def hang_up(self, channel: Channel, conversation: str) -> Contact | None:
        """The customer left: an in-flow contact closes, a waiting one is abandoned."""

    async def hold(self, channel: Channel, conversation: str) -> HoldStatus | None:
        """Where the conversation's contact stands now; None when there is none."""

    async def let_in(self, channel: Channel, conversation: str, *, undo: bool = False) -> bool:
        """A caller waiting in a lobby is let in once: True for the first process to ask,
        False once another did (in the store: every process agrees); ``undo`` forgets it
        (the caller could not be told)."""

    def agent_target(self, agent: str) -> AgentTarget | None:
        """Where a call for ``agent`` goes (the agents' directory in memory: no store
        call); None for an agent it does not know."""

    async def delivery(
        self, channel: Channel, provider_id: str, status: str, *, detail: str | None = None
    ) -> bool:
        """Record a provider's delivery report for a reply; False when the reply is unknown."""

    async def standings(self, team: str | None = None) -> dict[str, Standing]:
        """Every waiting contact of ``team`` (None: of every team) by id, with its place:
        one read per team, for pushing positions to a crowd of waiting customers."""


@runtime_checkable
class Outbox(Protocol):
    """Sending for one channel; raises ``SendFailed``."""

    channel: Channel

    async def send(self, reply: Reply) -> str | None:
        """Deliver ``reply``; returns the provider's id for it (for delivery reports)."""


#: Store pub/sub channels the router announces queue changes on, the payload a team: "a
#: contact may be claimable now" (enqueued, released, requeued; the queue moved too), and
#: "the queue moved, nothing new to claim" (a claim, a caller who left). Channels push
#: waiting customers their new positions on either.
WAKE_CHANNEL = "desk:wake"
MOVED_CHANNEL = "queue:moved"

#: What an agent did to a contact, as ``ContactListener.changed`` is told.
CLAIMED, RELEASED, TRANSFERRED, RESOLVED = "claimed", "released", "transferred", "resolved"


@runtime_checkable
class ContactListener(Protocol):
    """A channel that acts when an agent claims, releases, transfers or resolves one of its
    contacts (voice: the caller on hold is put through at once; web chat: the page is told
    an agent joined or the chat closed). ``change`` is one of the constants above."""

    channel: Channel

    async def changed(self, contact: Contact, change: str) -> None: ...


@runtime_checkable
class ChannelAdapter(Protocol):
    """A running channel: its HTTP routes, its background work, and its Outbox.

    The router constructs adapters with an ``Inbox`` and calls ``add_routes`` before the
    app starts, ``start`` on startup (servers, workers) and ``aclose`` on shutdown.
    """

    channel: Channel
    outbox: Outbox | None

    def add_routes(self, app: web.Application) -> None: ...
    async def start(self) -> None: ...
    async def aclose(self) -> None: ...
