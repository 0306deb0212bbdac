"""Agents' loads in the in-memory store (``queues/capacity.py``): the contacts each agent
claimed, checked against the contacts themselves when counted, so a resolve, a release or
an expired lease needs no bookkeeping here."""

from __future__ import annotations

from collections import defaultdict

from queues.base import Clock
from queues.capacity import MAX_WRAP_UP_S
from queues.models import Contact, ContactState

__all__ = ["MemoryLoads", "counts_in_load"]


class MemoryLoads:
    """The loads half of ``MemoryStore``."""

    _contacts: dict[str, Contact]
    _clock: Clock

    def __init__(self) -> None:
        self._held: dict[str, set[str]] = defaultdict(set)  # agent -> contacts claimed

    def _hold(self, agent: str, contact_id: str) -> None:
        self._held[agent].add(contact_id)

    def _load(self, agent: str, wrap_up_s: float) -> dict[str, int]:
        """Per channel, what ``agent`` holds or wrapped up less than ``wrap_up_s`` ago;
        contacts that can count no longer are forgotten."""
        now = self._clock()
        load: dict[str, int] = {}
        held = self._held.get(agent, set())
        for contact_id in list(held):
            contact = self._contacts.get(contact_id)
            if contact is None or not counts_in_load(contact, agent, now, MAX_WRAP_UP_S):
                held.discard(contact_id)
            elif counts_in_load(contact, agent, now, wrap_up_s):
                channel = str(contact.channel)
                load[channel] = load.get(channel, 0) + 1
        return load


def counts_in_load(contact: Contact, agent: str, now: float, wrap_up_s: float) -> bool:
    """Whether ``contact`` takes a slot of ``agent`` now: held by them, or resolved by them
    less than ``wrap_up_s`` ago."""
    if contact.agent != agent:
        return False
    if contact.state is ContactState.ASSIGNED:
        return True
    closed_at = contact.closed_at
    return (
        contact.state is ContactState.RESOLVED
        and closed_at is not None
        and now < closed_at + wrap_up_s
    )
