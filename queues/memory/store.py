"""The in-memory store: the reference implementation, for tests and throwaway demos.

Everything lives in dicts of this process; nothing survives it. Each operation runs to
completion without awaiting, so on one event loop every transition is atomic.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from queues.base import UPDATABLE_FIELDS, Clock
from queues.errors import ContactNotFound, InvalidTransition, NotHolder
from queues.memory.keyed import KeyedMemory
from queues.models import (
    Claim,
    Contact,
    ContactState,
    Direction,
    Event,
    Intake,
    Message,
    Position,
    QueueStats,
)

__all__ = ["MemoryStore"]


@dataclass(slots=True)
class _Team:
    heap: list[tuple[float, int, str]] = field(default_factory=list)
    waiting: dict[str, tuple[float, int]] = field(default_factory=dict)
    leased: set[str] = field(default_factory=set)

    def push(self, contact_id: str, score: float, seq: int) -> None:
        self.waiting[contact_id] = (score, seq)
        heapq.heappush(self.heap, (score, seq, contact_id))

    def head(self) -> tuple[float, int, str] | None:
        # Entries removed from `waiting` stay in the heap until they reach the top.
        while self.heap:
            score, seq, cid = self.heap[0]
            if self.waiting.get(cid) == (score, seq):
                return self.heap[0]
            heapq.heappop(self.heap)
        return None


class MemoryStore(KeyedMemory):
    """Store Protocol on plain dicts and heaps."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock=clock)
        self._contacts: dict[str, Contact] = {}
        self._messages: dict[str, list[Message]] = defaultdict(list)
        self._events: list[Event] = []
        self._contact_events: dict[str, list[Event]] = defaultdict(list)
        self._keys: dict[str, tuple[str, str]] = {}
        self._teams: dict[str, _Team] = defaultdict(_Team)
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

    def _event(self, contact: Contact, kind: str, **data: Any) -> None:
        event = Event(
            contact_id=contact.id,
            kind=kind,
            at=self._clock(),
            team=data.pop("team", contact.team),
            agent=data.pop("agent", contact.agent),
            data=data,
        )
        self._events.append(event)
        self._contact_events[contact.id].append(event)

    def _holder(self, contact_id: str, agent: str, operation: str) -> Contact:
        contact = self._get(contact_id)
        if contact.state is not ContactState.ASSIGNED:
            if contact.state is ContactState.WAITING:
                raise NotHolder(contact_id, agent)
            raise InvalidTransition(contact_id, contact.state, operation)
        if contact.agent != agent:
            raise NotHolder(contact_id, agent)
        return contact

    def _requeue(self, contact: Contact) -> Contact:
        assert contact.team is not None and contact.score is not None
        self._teams[contact.team].leased.discard(contact.id)
        back = contact.replace(
            state=ContactState.WAITING, agent=None, assigned_at=None, lease_until=None
        )
        self._contacts[contact.id] = back
        self._teams[contact.team].push(contact.id, contact.score, self._seqs[contact.id])
        return back

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
            self._event(existing, "contact_created", channel=str(contact.channel))
        self._messages[contact.id].append(message)
        self._event(existing, "message_received", message_id=message.id)
        if key is not None:
            self._keys[key] = (contact.id, message.id)
        return Intake(existing, message, duplicate=False)

    async def append_message(self, contact_id: str, message: Message) -> None:
        contact = self._get(contact_id)
        self._messages[contact_id].append(message)
        kind = "message_sent" if message.direction is Direction.OUT else "message_received"
        self._event(contact, kind, message_id=message.id)

    async def get_contact(self, contact_id: str, *, messages: bool = True) -> Contact:
        contact = self._get(contact_id)
        if messages:
            return contact.replace(messages=tuple(self._messages[contact_id]))
        return contact

    async def update_contact(self, contact_id: str, **changes: Any) -> Contact:
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(
                f"cannot update {sorted(unknown)}; only {sorted(UPDATABLE_FIELDS)} change "
                "this way, queue fields change through queue operations"
            )
        contact = self._get(contact_id).replace(**changes)
        self._contacts[contact_id] = contact
        return contact

    async def close(self, contact_id: str, state: ContactState, *, reason: str = "") -> Contact:
        contact = self._get(contact_id)
        if contact.state is not ContactState.IN_FLOW or not ContactState(state).is_final:
            raise InvalidTransition(contact_id, contact.state, f"close as {state}")
        closed = contact.replace(state=ContactState(state), closed_at=self._clock())
        self._contacts[contact_id] = closed
        kind = "contact_resolved" if state is ContactState.RESOLVED else "contact_abandoned"
        self._event(closed, kind, reason=reason)
        return closed

    async def list_contacts(
        self,
        *,
        channel: str | None = None,
        state: str | None = None,
        team: str | None = None,
        address: str | None = None,
        limit: int = 50,
    ) -> list[Contact]:
        found = [
            c
            for c in self._contacts.values()
            if (channel is None or c.channel == channel)
            and (state is None or c.state == state)
            and (team is None or c.team == team)
            and (address is None or c.address == address)
        ]
        found.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        return found[:limit]

    async def add_event(self, event: Event) -> None:
        self._get(event.contact_id)
        self._events.append(event)
        self._contact_events[event.contact_id].append(event)

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
            if (since is None or e.at >= since) and (wanted is None or e.kind in wanted)
        ]

    # -- queues --------------------------------------------------------------------------
    async def enqueue(self, contact_id: str, team: str, *, delay_s: int = 0) -> Contact:
        contact = self._get(contact_id)
        if contact.state is not ContactState.IN_FLOW:
            raise InvalidTransition(contact_id, contact.state, "enqueue")
        queued = contact.replace(
            state=ContactState.WAITING, team=team, priority=int(delay_s), queued_at=self._clock()
        )
        self._contacts[contact_id] = queued
        seq = next(self._seq)
        self._seqs[contact_id] = seq
        assert queued.score is not None
        self._teams[team].push(contact_id, queued.score, seq)
        self._event(queued, "contact_enqueued", delay_s=int(delay_s))
        return queued

    async def claim(self, teams: Sequence[str], agent: str, *, lease_s: float) -> Claim | None:
        best: tuple[float, int, str] | None = None
        for team in dict.fromkeys(teams):
            head = self._teams[team].head() if team in self._teams else None
            if head is not None and (best is None or head[:2] < best[:2]):
                best = head
        if best is None:
            return None
        score, _seq, contact_id = best
        contact = self._contacts[contact_id]
        assert contact.team is not None and contact.queued_at is not None
        queue = self._teams[contact.team]
        del queue.waiting[contact_id]
        heapq.heappop(queue.heap)
        queue.leased.add(contact_id)
        now = self._clock()
        held = contact.replace(
            state=ContactState.ASSIGNED, agent=agent, assigned_at=now, lease_until=now + lease_s
        )
        self._contacts[contact_id] = held
        self._event(held, "contact_claimed", wait_s=round(now - contact.queued_at, 6))
        return Claim(contact_id, contact.team, agent, now + lease_s, score)

    async def heartbeat(self, contact_id: str, agent: str, *, lease_s: float) -> Claim:
        contact = self._holder(contact_id, agent, "heartbeat")
        assert contact.team is not None and contact.score is not None
        renewed = contact.replace(lease_until=self._clock() + lease_s)
        self._contacts[contact_id] = renewed
        assert renewed.lease_until is not None
        return Claim(contact_id, contact.team, agent, renewed.lease_until, contact.score)

    async def ack(self, contact_id: str, agent: str, *, disposition: str | None = None) -> None:
        contact = self._holder(contact_id, agent, "resolve")
        assert contact.team is not None and contact.assigned_at is not None
        now = self._clock()
        self._teams[contact.team].leased.discard(contact_id)
        done = contact.replace(
            state=ContactState.RESOLVED, disposition=disposition, lease_until=None, closed_at=now
        )
        self._contacts[contact_id] = done
        handle_s = round(now - contact.assigned_at, 6)
        self._event(done, "contact_resolved", disposition=disposition, handle_s=handle_s)

    async def release(self, contact_id: str, agent: str) -> None:
        contact = self._holder(contact_id, agent, "release")
        back = self._requeue(contact)
        self._event(back, "contact_released", agent=agent)

    async def transfer(
        self,
        contact_id: str,
        team: str,
        *,
        agent: str | None = None,
        delay_s: int | None = None,
    ) -> None:
        contact = self._get(contact_id)
        if contact.state is ContactState.ASSIGNED:
            if agent is None:
                raise NotHolder(contact_id, "")
            contact = self._holder(contact_id, agent, "transfer")
        elif contact.state is not ContactState.WAITING:
            raise InvalidTransition(contact_id, contact.state, "transfer")
        elif agent is not None:
            raise NotHolder(contact_id, agent)
        old = contact.team
        assert old is not None
        self._teams[old].waiting.pop(contact_id, None)
        self._teams[old].leased.discard(contact_id)
        moved = contact.replace(
            state=ContactState.WAITING,
            team=team,
            priority=contact.priority if delay_s is None else int(delay_s),
            agent=None,
            assigned_at=None,
            lease_until=None,
        )
        self._contacts[contact_id] = moved
        assert moved.score is not None
        self._teams[team].push(contact_id, moved.score, self._seqs[contact_id])
        self._event(moved, "contact_transferred", agent=agent, **{"from": old})

    async def remove(self, contact_id: str) -> None:
        contact = self._get(contact_id)
        if contact.state is ContactState.IN_FLOW:
            await self.close(contact_id, ContactState.ABANDONED, reason="left in flow")
            return
        if contact.state is not ContactState.WAITING:
            raise InvalidTransition(contact_id, contact.state, "remove")
        assert contact.team is not None and contact.queued_at is not None
        self._teams[contact.team].waiting.pop(contact_id, None)
        now = self._clock()
        gone = contact.replace(state=ContactState.ABANDONED, closed_at=now)
        self._contacts[contact_id] = gone
        self._event(gone, "contact_abandoned", wait_s=round(now - contact.queued_at, 6))

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
            back = self._requeue(contact)
            self._event(back, "lease_expired", agent=contact.agent)
        return [c.id for c in expired]

    async def position(self, contact_id: str) -> Position | None:
        contact = self._get(contact_id)
        if contact.state is not ContactState.WAITING or contact.team is None:
            return None
        queue = self._teams[contact.team]
        mine = queue.waiting[contact_id]
        ahead = sum(1 for entry in queue.waiting.values() if entry < mine)
        return Position(contact.team, ahead=ahead, waiting=len(queue.waiting))

    async def queue_stats(self, teams: Sequence[str]) -> list[QueueStats]:
        now = self._clock()
        stats = []
        for team in teams:
            queue = self._teams.get(team) or _Team()
            queued = [self._contacts[cid].queued_at or now for cid in queue.waiting]
            oldest = round(now - min(queued), 6) if queued else None
            stats.append(QueueStats(team, len(queue.waiting), len(queue.leased), oldest))
        return stats
