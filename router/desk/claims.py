"""The agent side: claim (with long-poll), work a contact under a lease, and finish it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import structlog

from channels import (
    CLAIMED,
    MOVED_CHANNEL,
    RELEASED,
    RESOLVED,
    TRANSFERRED,
    WAKE_CHANNEL,
    Courier,
    Delivery,
    Outbox,
    Reply,
    SendFailed,
)
from queues import (
    Capacity,
    Channel,
    Claim,
    Contact,
    Direction,
    Message,
    NotHolder,
    Store,
    StoreUnavailable,
    new_id,
    stop_task,
)
from router.desk.presence import AgentStatus, Presence
from router.errors import DeskError
from router.identity import Agent
from router.stats import Metrics

__all__ = [
    "CALL_ENDED",
    "ENDED_CALL_LEASE_S",
    "AgentDesk",
    "DeskError",
    "announce_change",
    "contact_channel",
    "sent_key",
]


def sent_key(channel: Channel | str, provider_id: str) -> str:
    """Session key mapping a provider's id of a sent reply to its contact and message."""
    return f"sent:{channel}:{provider_id}"


log = structlog.get_logger(__name__)

#: The lease of a contact whose call ended while an agent held it: it stays with the agent
#: until they write the disposition, and is never put back in a queue for another.
ENDED_CALL_LEASE_S = 7 * 86400.0
#: Contact meta key set when the customer's call ended (the provider's status callback).
CALL_ENDED = "call_ended_at"

#: How long a provider's delivery report for a reply is matched to it.
SENT_TTL_S = 7 * 86400.0
# Store pub/sub channels (``channels.base``), the payload a team: WAKE_CHANNEL "a contact
# may be claimable now" (the queue moved too), MOVED_CHANNEL "the queue moved, nothing new
# to claim" (a claim, an abandon). Waiting customers' positions are pushed on both.
#: Long-polling claims are woken over pub/sub; they look again at least this often anyway,
#: in case a wake-up was lost (a pub/sub reconnect).
POLL_S = 5.0


def contact_channel(contact_id: str) -> str:
    """The store pub/sub channel saying "this contact changed" (a message, a reply, a
    delivery report, a state): consoles showing it read it again then."""
    return f"contact:{contact_id}"


async def announce_change(store: Store, contact_id: str) -> None:
    """Tell every process's consoles that ``contact_id`` changed (best effort)."""
    with contextlib.suppress(StoreUnavailable):
        await store.publish(contact_channel(contact_id), contact_id)


def reply_message(delivery: Delivery) -> Message:
    """An agent's reply as the history keeps it (its id is the parcel's)."""
    if delivery.sent:
        meta: dict[str, object] = {"delivery": "sent", "provider_id": delivery.provider_id}
    else:
        meta = {"delivery": "failed", "reason": delivery.reason}
    return Message(
        direction=Direction.OUT,
        text=delivery.reply.text,
        at=delivery.at,
        id=delivery.parcel_id,
        author=delivery.reply.author,
        meta=meta,
    )


class AgentDesk:
    """What agents do with contacts; every operation checks the agent's right to do it."""

    def __init__(
        self,
        *,
        store: Store,
        presence: Presence,
        courier: Courier,
        clock: Callable[[], float],
        teams: Sequence[str],
        dispositions: Sequence[str],
        lease_s: float = 60.0,
        metrics: Metrics | None = None,
        capacity: Capacity | None = None,
    ) -> None:
        self.store = store
        self.presence = presence
        self.metrics = metrics
        #: How many contacts of each channel an agent holds at once, and the wrap-up after
        #: a resolve (``queues.Capacity``); the store's claim enforces it.
        self.capacity = capacity
        #: Told of every contact an agent resolves (surveys, first-contact resolution).
        self.on_resolved: list[Callable[[Contact], Awaitable[None]]] = []
        #: Told of every claim, after the channel (queue standings: the queue moved).
        self.on_claimed: list[Callable[[Claim], Awaitable[None]]] = []
        self.courier = courier
        self.teams = tuple(teams)
        self.dispositions = tuple(dispositions)
        self.lease_s = lease_s
        self._clock = clock
        self._arrived = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        #: Channels told what agents do to their contacts (``ContactListener``).
        self.listeners: dict[Channel, Callable[[Contact, str], Coroutine[Any, Any, None]]] = {}
        self._told: set[asyncio.Task[None]] = set()

    @property
    def outboxes(self) -> dict[Channel, Outbox]:
        """The running channels' senders (the courier sends through them)."""
        return self.courier.senders

    async def aclose(self) -> None:
        """Let the channels finish acting on claims; stop listening for other processes'
        wake-ups."""
        if self._told:
            await asyncio.wait(list(self._told), timeout=5.0)
        listener, self._listener = self._listener, None
        await stop_task(listener)

    async def notify(self, team: str) -> None:
        """A contact may be claimable now (enqueued, released, back from a lease): wake the
        long-polling claims of this process, and of every other one through the store."""
        self._wake()
        with contextlib.suppress(StoreUnavailable):
            await self.store.publish(WAKE_CHANNEL, team)

    async def moved(self, team: str) -> None:
        """``team``'s queue moved with nothing new to claim (a claim, a caller who left):
        every process pushes the new positions to its waiting customers (they listen to
        ``WAKE_CHANNEL`` too)."""
        with contextlib.suppress(StoreUnavailable):
            await self.store.publish(MOVED_CHANNEL, team)

    async def listen(self) -> None:
        """Wake this process's long-polling claims when any process announces work."""
        while True:
            try:
                async with self.store.subscribe(WAKE_CHANNEL) as wakes:
                    async for _ in wakes:
                        self._wake()
            except StoreUnavailable as exc:
                log.warning("desk_wake_unavailable", error=str(exc))
            await asyncio.sleep(1.0)

    def _wake(self) -> None:
        self._arrived.set()
        self._arrived = asyncio.Event()

    def _teams(self, agent: Agent, teams: Sequence[str] | None) -> list[str]:
        wanted = list(teams) if teams else list(agent.teams)
        for team in wanted:
            if team not in self.teams:
                raise DeskError(f"team {team!r} does not exist; teams are {', '.join(self.teams)}")
            if team not in agent.teams:
                raise DeskError(
                    f"agent {agent.name!r} does not serve {team!r}; "
                    f"they serve {', '.join(agent.teams)}"
                )
        return wanted

    async def claim(
        self, agent: Agent, teams: Sequence[str] | None = None, *, wait_s: float = 0.0
    ) -> Claim | None:
        """The best waiting contact of the agent's teams, waiting up to ``wait_s`` for one."""
        serve = self._teams(agent, teams)
        if await self.presence.status(agent.name) is AgentStatus.BREAK:
            raise DeskError(f"agent {agent.name!r} is on a break; set available to claim")
        await self.presence.seen(agent.name, serve)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait_s)
        if wait_s > 0 and self._listener is None:
            # The first long poll starts listening; a process nobody polls never subscribes.
            self._listener = asyncio.create_task(self.listen())
        while True:
            arrived = self._arrived
            claim = await self.store.claim(
                serve, agent.name, lease_s=self.lease_s, capacity=self.capacity
            )
            if claim is not None:
                await self.presence.holding(agent.name, +1)
                log.info("contact_claimed", contact_id=claim.contact_id, agent=agent.name)
                await self._tell_channel(claim.contact_id, CLAIMED)
                await self.moved(claim.team)
                for hook in self.on_claimed:
                    await hook(claim)
                return claim
            left = deadline - loop.time()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, POLL_S)):
                    await arrived.wait()

    async def _tell_channel(self, contact_id: str, change: str) -> None:
        """A channel that acts on what agents do (voice: put the caller on hold through to
        the agent now) is told in the background; the agent does not wait for it. Consoles
        showing the contact are told too."""
        if change != CLAIMED:
            await announce_change(self.store, contact_id)
        if not self.listeners:
            return
        task = asyncio.create_task(self._tell(contact_id, change))
        self._told.add(task)
        task.add_done_callback(self._told.discard)

    async def _tell(self, contact_id: str, change: str) -> None:
        """The contact's channel told of ``change``. Read here, not before the agent's
        answer: what the agent did is done in the store, so a store that fails this read
        must not turn their claim into an error (they would hold a lease they never saw)."""
        try:
            contact = await self.store.get_contact(contact_id, messages=False)
            tell = self.listeners.get(contact.channel)
            if tell is not None:
                await tell(contact, change)
        except StoreUnavailable as exc:
            log.warning("channel_not_told", contact_id=contact_id, change=change, error=str(exc))
        except Exception:  # a channel's bug must not pass unseen
            log.exception("channel_not_told", contact_id=contact_id, change=change)

    async def heartbeat(self, agent: Agent, contact_id: str) -> Claim:
        await self.presence.seen(agent.name, agent.teams)
        contact = await self.store.get_contact(contact_id, messages=False)
        lease_s = ENDED_CALL_LEASE_S if CALL_ENDED in contact.meta else self.lease_s
        return await self.store.heartbeat(contact_id, agent.name, lease_s=lease_s)

    async def reply(self, agent: Agent, contact_id: str, text: str) -> Message:
        """Send ``text`` through the contact's channel; a failed send is recorded and raised."""
        if not text.strip():
            raise DeskError("the reply is empty; write something to send")
        contact = await self._held(agent, contact_id)
        if contact.channel is Channel.VOICE:
            raise DeskError(
                "a voice contact is answered on the call itself; there is no text reply to send"
            )
        if contact.channel not in self.outboxes:
            raise DeskError(f"the {contact.channel} channel is not running; the reply was not sent")
        reply = Reply(
            contact_id=contact.id,
            channel=contact.channel,
            address=contact.address,
            text=text,
            language=contact.language or "pl",
            author=agent.name,
            meta=dict(contact.meta),
        )
        # In the store's outbox first: a process dying now leaves it to another's courier.
        parcel_id = new_id()
        await self.courier.post(parcel_id, reply, kind="reply", retry=False)
        delivery = await self.courier.send_now(parcel_id)
        if delivery is None:  # another process took it in between; it sends and records it
            return Message(Direction.OUT, text, self._clock(), id=parcel_id, author=agent.name)
        if not delivery.sent:
            raise SendFailed(
                str(contact.channel), delivery.reason or "", retryable=delivery.retryable
            )
        return reply_message(delivery)

    async def record(self, delivery: Delivery) -> None:
        """The courier's report: an agent's reply goes in the contact's history, sent (with
        the provider's id, for delivery reports) or failed (with why)."""
        if delivery.kind != "reply":
            return
        message = reply_message(delivery)
        contact_id = delivery.reply.contact_id
        await self.store.append_message(contact_id, message)
        await announce_change(self.store, contact_id)
        if not delivery.sent:
            log.warning("reply_failed", contact_id=contact_id, reason=delivery.reason)
            return
        if self.metrics is not None:
            self.metrics.message(str(delivery.reply.channel), "out")
        if delivery.provider_id is not None:
            await self.store.put_session(
                sent_key(delivery.reply.channel, delivery.provider_id),
                {"contact_id": contact_id, "message_id": message.id},
                ttl_s=SENT_TTL_S,
            )
        log.info("reply_sent", contact_id=contact_id, agent=delivery.reply.author)

    async def resolve(self, agent: Agent, contact_id: str, disposition: str) -> None:
        if disposition not in self.dispositions:
            raise DeskError(
                f"disposition {disposition!r} is unknown; use one of {', '.join(self.dispositions)}"
            )
        wrap_s = self.wrap_up_s
        await self.store.ack(contact_id, agent.name, disposition=disposition, wrap_s=wrap_s)
        # After-contact work: busy (occupancy) until it ends, and the slot stays taken.
        await self.presence.holding(agent.name, -1, wrap_until=self._clock() + wrap_s)
        await self._tell_channel(contact_id, RESOLVED)
        log.info("contact_resolved", contact_id=contact_id, agent=agent.name, wrap_s=wrap_s)
        await self._resolved(contact_id)

    @property
    def wrap_up_s(self) -> float:
        """The after-contact work that follows a resolve."""
        return self.capacity.wrap_up_s if self.capacity is not None else 0.0

    async def load(self, agent: Agent) -> dict[str, int]:
        """Per channel, what the agent holds and is wrapping up (their load)."""
        return await self.store.agent_load(agent.name, wrap_up_s=self.wrap_up_s)

    async def _resolved(self, contact_id: str) -> None:
        """Tell ``on_resolved``; the resolve stands whatever they do."""
        if not self.on_resolved:
            return
        contact = await self.store.get_contact(contact_id, messages=False)
        for hook in self.on_resolved:
            try:
                await hook(contact)
            except (StoreUnavailable, SendFailed) as exc:
                log.warning("after_resolve_failed", contact_id=contact_id, error=str(exc))

    async def transfer(self, agent: Agent, contact_id: str, team: str) -> None:
        if team not in self.teams:
            raise DeskError(f"team {team!r} does not exist; teams are {', '.join(self.teams)}")
        await self._not_ended(agent, contact_id, "transfer")
        await self.store.transfer(contact_id, team, agent=agent.name)
        await self.presence.holding(agent.name, -1)
        await self.notify(team)
        await self._tell_channel(contact_id, TRANSFERRED)
        log.info("contact_transferred", contact_id=contact_id, agent=agent.name, team=team)

    async def release(self, agent: Agent, contact_id: str) -> None:
        await self._not_ended(agent, contact_id, "release")
        await self.store.release(contact_id, agent.name)
        await self.presence.holding(agent.name, -1)
        contact = await self.store.get_contact(contact_id, messages=False)
        await self.notify(contact.team or "")
        await self._tell_channel(contact_id, RELEASED)
        log.info("contact_released", contact_id=contact_id, agent=agent.name)

    async def reap(self) -> list[str]:
        """Put contacts whose lease expired back in their queues."""
        expired = await self.store.requeue_expired()
        for contact_id in expired:
            # The agent no longer holds it: their busy count follows (from the store's event).
            events = await self.store.events(contact_id)
            agent = next((e.agent for e in reversed(events) if e.kind == "lease_expired"), None)
            if agent is not None:
                await self.presence.holding(agent, -1)
            log.info("lease_expired", contact_id=contact_id, agent=agent)
        if expired:
            await self.notify("")
        return expired

    async def _not_ended(self, agent: Agent, contact_id: str, operation: str) -> None:
        """A call that ended is never queued again: another agent would call nobody."""
        contact = await self.store.get_contact(contact_id, messages=False)
        held = contact.agent == agent.name and contact.state == "assigned"
        if held and CALL_ENDED in contact.meta:
            raise DeskError(
                f"the caller of contact {contact_id!r} hung up; {operation} would queue a call "
                "that no longer exists: resolve it with a disposition"
            )

    async def _held(self, agent: Agent, contact_id: str) -> Contact:
        contact = await self.store.get_contact(contact_id, messages=False)
        if contact.agent != agent.name or contact.state != "assigned":
            raise NotHolder(contact_id, agent.name)
        return contact
