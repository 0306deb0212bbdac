"""Surveys and first-contact resolution in the in-memory store (``queues/outcomes.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from queues import outcomes
from queues.base import Clock
from queues.errors import ContactNotFound
from queues.models import Contact, Event

__all__ = ["MemoryOutcomes"]


class MemoryOutcomes:
    """The surveys and FCR half of ``MemoryStore``."""

    _contacts: dict[str, Contact]
    _contact_events: dict[str, list[Event]]
    _clock: Clock

    def __init__(self) -> None:
        self._watches: dict[tuple[str, str], tuple[str, float]] = {}  # (team, account) -> watch

    def _kinds(self, contact_id: str) -> set[str]:
        return {e.kind for e in self._contact_events.get(contact_id, ())}

    def _contact(self, contact_id: str) -> Contact:
        try:
            return self._contacts[contact_id]
        except KeyError:
            raise ContactNotFound(contact_id) from None

    def _counted(self, event: Event | None) -> bool:
        if event is None:
            return False
        self._record(event)
        self._count(event, str(self._contacts[event.contact_id].channel))
        return True

    async def record_survey(self, contact_id: str, *, score: int | None = None) -> bool:
        contact = self._contact(contact_id)
        event = outcomes.survey(contact, self._kinds(contact_id), score, self._clock())
        return self._counted(event)

    async def fcr_resolved(self, contact_id: str, account: str, *, within_s: float) -> bool:
        contact = self._contact(contact_id)
        now = self._clock()
        event = outcomes.fcr_resolved(contact, self._kinds(contact_id), now)
        if event is None:
            return False
        assert contact.team is not None
        self._watches[(contact.team, account)] = (contact_id, now)
        return self._counted(event)

    async def fcr_arrived(self, contact_id: str, account: str, *, within_s: float) -> bool:
        contact = self._contact(contact_id)
        watch = self._watches.get((contact.team or "", account))
        kinds = self._kinds(contact_id)
        event = outcomes.fcr_arrived(contact, kinds, watch, self._clock(), within_s)
        if event is None:
            return False
        del self._watches[(contact.team or "", account)]
        return self._counted(event)

    if TYPE_CHECKING:  # MemoryStore's and MemoryBuckets'

        def _record(self, event: Event) -> None: ...
        def _count(self, event: Event, channel: str) -> None: ...
