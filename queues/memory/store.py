"""The in-memory store: the reference implementation, for tests and throwaway demos.

Everything lives in dicts of this process; nothing survives it. Each operation runs to
completion without awaiting, so on one event loop every transition is atomic.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from queues import transitions
from queues.base import MESSAGE_EVENT_KINDS, Clock, message_event_kind
from queues.capacity import ALL_CHANNELS, Capacity
from queues.errors import ContactNotFound
from queues.memory.buckets import MemoryBuckets
from queues.memory.capacity import MemoryLoads
from queues.memory.erase import MemoryErase
from queues.memory.keyed import KeyedMemory
from queues.memory.outbox import MemoryOutbox
from queues.memory.outcomes import MemoryOutcomes
from queues.memory.team import Entry, TeamQueue
from queues.memory.timeline import MemoryTimeline
from queues.memory.windows import MemoryWindows
from queues.models import (
    Claim,
    Contact,
    ContactState,
    Event,
    Intake,
    Message,
    Position,
    QueueStats,
)
from queues.transitions import Step
from queues.turns import Turn, TurnResult, apply_in_steps
from queues.updates import updated

__all__ = ["MemoryStore"]

_EMPTY = TeamQueue()  # what a team nothing was ever queued in holds (never written)


class MemoryStore(
    KeyedMemory,
    MemoryOutbox,
    MemoryBuckets,
    MemoryWindows,
    MemoryOutcomes,
    MemoryLoads,
    MemoryErase,
    MemoryTimeline,
):
    """Store Protocol on plain dicts and sorted lists."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        KeyedMemory.__init__(self, clock=clock)
        MemoryOutbox.__init__(self, clock=clock)
        MemoryBuckets.__init__(self)
        MemoryWindows.__init__(self)
        MemoryOutcomes.__init__(self)
        MemoryLoads.__init__(self)
        MemoryTimeline.__init__(self)
        self._contacts: dict[str, Contact] = {}
        self._messages: dict[str, list[Message]] = defaultdict(list)
        self._events: list[Event] = []
        self._contact_events: dict[str, list[Event]] = defaultdict(list)
        self._keys: dict[str, tuple[str, str]] = {}
        self._teams: dict[str, TeamQueue] = defaultdict(TeamQueue)
        self._seqs: dict[str, int] = {}
        self._seq = itertools.count(1)

    async def __aenter__(self) -> MemoryStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- helpers -------------------------------------------------------------------------
    def _get(self, contact_id: str) -> Contact:
        try:
            return self._contacts[contact_id]
        except KeyError:
            raise ContactNotFound(contact_id) from None

    def _record(self, event: Event) -> None:
        self._events.append(event)
        self._contact_events[event.contact_id].append(event)

    def _event(self, contact: Contact, kind: str, **data: Any) -> None:
        self._record(transitions.event(contact, kind, self._clock(), **data))

    def _apply(self, step: Step) -> Contact:
        self._contacts[step.contact.id] = step.contact
        self._record(step.event)
        self._count(step.event, step.contact.channel)
        return step.contact

    def _leave(self, contact: Contact) -> None:
        """Take ``contact`` out of its team's queue, waiting or leased."""
        if contact.team is not None and contact.team in self._teams:
            self._teams[contact.team].pop(contact.id)
            self._teams[contact.team].leased.discard(contact.id)

    def _wait(self, contact: Contact) -> None:
        """Put a waiting ``contact`` in its team's queue at its score and first ``seq``."""
        assert contact.team is not None and contact.score is not None
        assert contact.queued_at is not None
        seq = self._seqs[contact.id]
        queue = self._teams[contact.team]
        queue.push(contact.id, contact.score, seq, contact.queued_at, str(contact.channel))

    # -- contacts and history ------------------------------------------------------------
    async def intake(self, contact: Contact, message: Message, *, key: str | None = None) -> Intake:
        if key is not None and key in self._keys:
            contact_id, message_id = self._keys[key]
            stored = next(m for m in self._messages[contact_id] if m.id == message_id)
            return Intake(self._contacts[contact_id], stored, duplicate=True)
        existing = self._contacts.get(contact.id)
        if existing is None:
            existing = contact.replace(messages=())
            self._contacts[contact.id] = existing
            self._index_account(None, existing)
            channel = str(contact.channel)
            created = transitions.event(existing, "contact_created", self._clock(), channel=channel)
            self._record(created)
            self._count(created, channel)
        self._messages[contact.id].append(message)
        self._event(existing, "message_received", message_id=message.id)
        if key is not None:
            self._keys[key] = (contact.id, message.id)
        return Intake(existing, message, duplicate=False)

    async def apply_turn(self, turn: Turn) -> TurnResult:
        return await apply_in_steps(self, turn)  # no step yields: atomic on the event loop

    async def append_message(self, contact_id: str, message: Message) -> None:
        contact = self._get(contact_id)
        self._messages[contact_id].append(message)
        self._event(contact, message_event_kind(message), message_id=message.id)

    async def get_contact(self, contact_id: str, *, messages: bool = True) -> Contact:
        contact = self._get(contact_id)
        if messages:
            return contact.replace(messages=tuple(self._messages[contact_id]))
        return contact

    async def update_contact(self, contact_id: str, **changes: Any) -> Contact:
        before = self._get(contact_id)
        contact = updated(before, changes)
        self._contacts[contact_id] = contact
        self._index_account(before, contact)
        return contact

    async def close(self, contact_id: str, state: ContactState, *, reason: str = "") -> Contact:
        step = transitions.close(self._get(contact_id), state, self._clock(), reason=reason)
        return self._apply(step)

    async def list_contacts(
        self,
        *,
        channel: str | None = None,
        state: str | None = None,
        team: str | None = None,
        address: str | None = None,
        limit: int = 50,
        account: str | None = None,
    ) -> list[Contact]:
        candidates = self._contacts.values() if account is None else self._of_account(account)
        found = [
            c
            for c in candidates
            if (channel is None or c.channel == channel)
            and (state is None or c.state == state)
            and (team is None or c.team == team)
            and (address is None or c.address == address)
        ]
        found.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        return found[:limit]

    async def add_event(self, event: Event) -> None:
        if not event.contact_id:  # an agent's status: no contact's history
            self._events.append(event)
            return
        self._get(event.contact_id)
        self._record(event)

    async def events(self, contact_id: str) -> list[Event]:
        self._get(contact_id)
        return list(self._contact_events[contact_id])

    async def list_events(
        self, *, since: float | None = None, kinds: Iterable[str] | None = None
    ) -> list[Event]:
        wanted = set(kinds) if kinds is not None else None
        return [
            e
            for e in self._events
            if (since is None or e.at >= since)
            and e.kind not in MESSAGE_EVENT_KINDS
            and (wanted is None or e.kind in wanted)
        ]

    # -- queues --------------------------------------------------------------------------
    async def enqueue(self, contact_id: str, team: str, *, delay_s: int = 0) -> Contact:
        step = transitions.enqueue(self._get(contact_id), team, delay_s, self._clock())
        self._seqs[contact_id] = next(self._seq)
        self._wait(step.contact)
        return self._apply(step)

    async def claim(
        self,
        teams: Sequence[str],
        agent: str,
        *,
        lease_s: float,
        capacity: Capacity | None = None,
    ) -> Claim | None:
        channels: list[str] | None = None  # None: any channel
        if capacity is not None:
            closed = capacity.closed(self._load(agent, capacity.wrap_up_s))
            if closed >= ALL_CHANNELS:
                return None
            channels = sorted(ALL_CHANNELS - closed) if closed else None
        best: Entry | None = None
        for team in dict.fromkeys(teams):
            queue = self._teams.get(team)
            if queue is None:
                continue
            head = queue.head() if channels is None else queue.head_of(channels)
            if head is not None and (best is None or head[:2] < best[:2]):
                best = head
        if best is None:
            return None
        contact = self._contacts[best[2]]
        assert contact.team is not None
        queue = self._teams[contact.team]
        queue.pop(contact.id)
        queue.leased.add(contact.id)
        self._hold(agent, contact.id)
        step = transitions.claim(contact, agent, self._clock(), lease_s)
        return transitions.lease(self._apply(step))

    async def agent_load(self, agent: str, *, wrap_up_s: float = 0.0) -> dict[str, int]:
        return self._load(agent, wrap_up_s)

    async def heartbeat(self, contact_id: str, agent: str, *, lease_s: float) -> Claim:
        renewed = transitions.heartbeat(self._get(contact_id), agent, self._clock(), lease_s)
        self._contacts[contact_id] = renewed
        return transitions.lease(renewed)

    async def ack(
        self,
        contact_id: str,
        agent: str,
        *,
        disposition: str | None = None,
        wrap_s: float = 0.0,
    ) -> None:
        contact = self._get(contact_id)
        step = transitions.ack(contact, agent, disposition, self._clock(), wrap_s)
        self._leave(contact)
        self._apply(step)

    async def release(self, contact_id: str, agent: str) -> None:
        contact = self._get(contact_id)
        step = transitions.release(contact, agent, self._clock())
        self._leave(contact)
        self._wait(self._apply(step))

    async def transfer(
        self,
        contact_id: str,
        team: str,
        *,
        agent: str | None = None,
        delay_s: int | None = None,
    ) -> None:
        contact = self._get(contact_id)
        step = transitions.transfer(contact, team, agent, delay_s, self._clock())
        self._leave(contact)
        self._wait(self._apply(step))

    async def remove(self, contact_id: str) -> None:
        contact = self._get(contact_id)
        step = transitions.remove(contact, self._clock())
        self._leave(contact)
        self._apply(step)

    async def requeue_expired(self) -> list[str]:
        now = self._clock()
        expired = [
            c
            for team in self._teams.values()
            for cid in team.leased
            if (c := self._contacts[cid]).lease_until is not None and c.lease_until <= now
        ]
        expired.sort(key=lambda c: (c.lease_until or 0.0, c.id))
        for contact in expired:
            self._leave(contact)
            self._wait(self._apply(transitions.expire(contact, now)))
        return [c.id for c in expired]

    async def position(self, contact_id: str) -> Position | None:
        contact = self._get(contact_id)
        if contact.state is not ContactState.WAITING or contact.team is None:
            return None
        queue = self._teams[contact.team]
        return Position(contact.team, ahead=queue.ahead(contact_id), waiting=len(queue))

    async def waiting_order(self, team: str) -> list[str]:
        queue = self._teams.get(team)
        return queue.ids() if queue is not None else []

    async def queue_stats(self, teams: Sequence[str]) -> list[QueueStats]:
        now = self._clock()
        stats = []
        for team in teams:
            queue = self._teams.get(team, _EMPTY)
            first = queue.oldest_queued_at()
            oldest = round(now - first, 6) if first is not None else None
            stats.append(QueueStats(team, len(queue), len(queue.leased), oldest))
        return stats
