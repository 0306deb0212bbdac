"""A contact's transitions as pure steps, for the stores that run them in Python.

``MemoryStore`` and ``SqliteStore`` share these; the Redis store runs the same transitions
as Lua scripts (``queues/redis/lua/``). A step checks that the operation applies to the
contact as it stands, raising ``InvalidTransition`` or ``NotHolder`` when it does not, and
returns the changed record with the event that records it; the store keeps both in one
step and does its own queue bookkeeping (heap, ``seq``) around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from queues.errors import InvalidTransition, NotHolder
from queues.models import Claim, Contact, ContactState, Event

__all__ = [
    "Step",
    "ack",
    "claim",
    "close",
    "enqueue",
    "event",
    "expire",
    "heartbeat",
    "lease",
    "release",
    "remove",
    "transfer",
]


@dataclass(frozen=True, slots=True)
class Step:
    """The contact after a transition, and the event that records the transition."""

    contact: Contact
    event: Event


def event(contact: Contact, kind: str, at: float, **data: Any) -> Event:
    """An event on ``contact``; ``team`` or ``agent`` in ``data`` stand for the contact's."""
    team = data.pop("team", contact.team)
    agent = data.pop("agent", contact.agent)
    return Event(contact_id=contact.id, kind=kind, at=at, team=team, agent=agent, data=data)


def _step(contact: Contact, kind: str, at: float, **data: Any) -> Step:
    return Step(contact, event(contact, kind, at, **data))


def _held(contact: Contact, agent: str, operation: str) -> Contact:
    if contact.state is ContactState.WAITING:
        raise NotHolder(contact.id, agent)  # its lease expired and it went back
    if contact.state is not ContactState.ASSIGNED:
        raise InvalidTransition(contact.id, contact.state, operation)
    if contact.agent != agent:
        raise NotHolder(contact.id, agent)
    return contact


def lease(contact: Contact) -> Claim:
    """The claim an assigned contact stands for."""
    assert contact.team is not None and contact.agent is not None
    assert contact.lease_until is not None and contact.score is not None
    return Claim(contact.id, contact.team, contact.agent, contact.lease_until, contact.score)


def close(contact: Contact, state: ContactState, now: float, *, reason: str) -> Step:
    if contact.state is not ContactState.IN_FLOW or not ContactState(state).is_final:
        raise InvalidTransition(contact.id, contact.state, f"close as {state}")
    closed = contact.replace(state=ContactState(state), closed_at=now)
    kind = "contact_resolved" if closed.state is ContactState.RESOLVED else "contact_abandoned"
    return _step(closed, kind, now, reason=reason)


def enqueue(contact: Contact, team: str, delay_s: int, now: float) -> Step:
    if contact.state is not ContactState.IN_FLOW:
        raise InvalidTransition(contact.id, contact.state, "enqueue")
    queued = contact.replace(
        state=ContactState.WAITING, team=team, priority=int(delay_s), queued_at=now
    )
    return _step(queued, "contact_enqueued", now, delay_s=int(delay_s))


def claim(contact: Contact, agent: str, now: float, lease_s: float) -> Step:
    """``contact``, the head of its queue, leased to ``agent``."""
    assert contact.queued_at is not None
    held = contact.replace(
        state=ContactState.ASSIGNED, agent=agent, assigned_at=now, lease_until=now + lease_s
    )
    return _step(held, "contact_claimed", now, wait_s=round(now - contact.queued_at, 6))


def heartbeat(contact: Contact, agent: str, now: float, lease_s: float) -> Contact:
    """The lease renewed; no event records it."""
    return _held(contact, agent, "heartbeat").replace(lease_until=now + lease_s)


def ack(
    contact: Contact, agent: str, disposition: str | None, now: float, wrap_s: float = 0.0
) -> Step:
    """Resolved by its holder; ``wrap_s`` of after-contact work follow (recorded when > 0)."""
    held = _held(contact, agent, "resolve")
    assert held.assigned_at is not None
    done = held.replace(
        state=ContactState.RESOLVED, disposition=disposition, lease_until=None, closed_at=now
    )
    handle_s = round(now - held.assigned_at, 6)
    wrap = {"wrap_s": round(float(wrap_s), 6)} if wrap_s > 0 else {}
    return _step(done, "contact_resolved", now, disposition=disposition, handle_s=handle_s, **wrap)


def _requeue(contact: Contact, kind: str, now: float) -> Step:
    # queued_at and priority stay (and the store keeps seq): the original score and place.
    back = contact.replace(
        state=ContactState.WAITING, agent=None, assigned_at=None, lease_until=None
    )
    return _step(back, kind, now, agent=contact.agent)


def release(contact: Contact, agent: str, now: float) -> Step:
    return _requeue(_held(contact, agent, "release"), "contact_released", now)


def expire(contact: Contact, now: float) -> Step:
    """An assigned contact whose lease ran out goes back to its place in the queue."""
    return _requeue(contact, "lease_expired", now)


def transfer(
    contact: Contact, team: str, agent: str | None, delay_s: int | None, now: float
) -> Step:
    """A waiting contact, or one ``agent`` holds, moves to ``team``'s queue."""
    if contact.state is ContactState.ASSIGNED:
        contact = _held(contact, agent or "", "transfer")
    elif contact.state is not ContactState.WAITING:
        raise InvalidTransition(contact.id, contact.state, "transfer")
    elif agent is not None:
        raise NotHolder(contact.id, agent)
    moved = contact.replace(
        state=ContactState.WAITING,
        team=team,
        priority=contact.priority if delay_s is None else int(delay_s),
        agent=None,
        assigned_at=None,
        lease_until=None,
    )
    # queued_at (and the store's seq) stay: the contact does not lose its place.
    return _step(moved, "contact_transferred", now, agent=agent, **{"from": contact.team})


def remove(contact: Contact, now: float) -> Step:
    """The customer gave up: a waiting contact, or one still in its flow, is abandoned."""
    if contact.state is ContactState.IN_FLOW:
        return close(contact, ContactState.ABANDONED, now, reason="left in flow")
    if contact.state is not ContactState.WAITING:
        raise InvalidTransition(contact.id, contact.state, "remove")
    assert contact.queued_at is not None
    gone = contact.replace(state=ContactState.ABANDONED, closed_at=now)
    return _step(gone, "contact_abandoned", now, wait_s=round(now - contact.queued_at, 6))
