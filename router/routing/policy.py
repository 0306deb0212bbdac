"""Routing policy: priority delays, SLA due times, incidents and the wait estimate.

Pure functions and records; the app maps config.yaml onto them and persists incidents.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from queues import from_iso, new_id, to_iso
from router.errors import UnknownIncident
from router.routing.hours import BusinessHours

__all__ = [
    "ALL_TEAMS",
    "COLD_START_SAMPLES",
    "Incident",
    "Incidents",
    "PriorityRules",
    "SlaRules",
    "UnknownIncident",
    "estimate_wait_s",
    "negative_balance_offer",
    "round_wait_min",
]

#: ``Incident.team`` for an incident that affects every team.
ALL_TEAMS = "*"
#: Fewer recent handle times than this and ``estimate_wait_s`` uses its cold-start value.
COLD_START_SAMPLES = 5


@dataclass(frozen=True, slots=True)
class PriorityRules:
    """Priority delays in seconds: a contact is served as if it had arrived that much earlier."""

    channel: Mapping[str, int]
    tier: Mapping[str, int]
    incident: int
    complaint: int

    def priority_delay(
        self,
        channel: str,
        *,
        tier: str | None = None,
        incident_open: bool = False,
        complaint: bool = False,
    ) -> int:
        """The sum of the channel's, the tier's, the incident's and the complaint's delays.

        An unknown channel or tier adds 0.
        """
        delay = self.channel.get(channel, 0)
        if tier is not None:
            delay += self.tier.get(tier, 0)
        if incident_open:
            delay += self.incident
        if complaint:
            delay += self.complaint
        return delay


@dataclass(frozen=True, slots=True)
class SlaRules:
    """Service levels: ``answer`` maps a channel to ``(threshold_s, target)``."""

    answer: Mapping[str, tuple[float, float]]
    first_response_business_days: Mapping[str, int]
    complaint_business_days: int

    def sla_due(
        self, channel: str, *, at: float, hours: BusinessHours, complaint: bool = False
    ) -> float | None:
        """When the contact that arrived at ``at`` is due, or None when no SLA applies.

        A complaint is due resolved ``complaint_business_days`` business days later; a
        channel with a first-response rule (email, Telegram) that many business days later;
        a channel with an answer threshold (voice, chat, SMS) ``threshold_s`` after arrival,
        or after the next opening when it arrives out of hours, since nobody answers then.
        """
        if complaint:
            return hours.add_business_days(at, self.complaint_business_days)
        days = self.first_response_business_days.get(channel)
        if days is not None:
            return hours.add_business_days(at, days)
        answer = self.answer.get(channel)
        if answer is not None:
            return hours.next_open(at) + answer[0]
        return None


@dataclass(frozen=True, slots=True)
class Incident:
    """An outage announced to customers; ``team`` is a team name or ``"*"`` for all.

    ``text`` is the announcement in the default language and ``texts`` the announcement
    per language (may be empty: ``text`` then serves every language). An incident opened
    from a suggestion (``router.outages``) keeps the suggestion's id and ``topic``; contacts
    whose first message is about that topic are linked to it.
    """

    id: str
    team: str
    text: str
    opened_at: float
    closed_at: float | None = None
    texts: Mapping[str, str] = dataclasses.field(default_factory=dict)
    topic: str | None = None
    suggestion: str | None = None

    def is_open(self, at: float | None = None) -> bool:
        """Open now (``at`` None) or at time ``at``."""
        if at is None:
            return self.closed_at is None
        return self.opened_at <= at and (self.closed_at is None or at < self.closed_at)

    def text_in(self, language: str | None) -> str:
        """The announcement in ``language``, else ``text``."""
        return self.texts.get(language or "", "") or self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team": self.team,
            "text": self.text,
            "texts": dict(self.texts),
            "topic": self.topic,
            "suggestion": self.suggestion,
            "opened_at": to_iso(self.opened_at),
            "closed_at": to_iso(self.closed_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Incident:
        opened_at = from_iso(data.get("opened_at"))
        if opened_at is None:
            raise ValueError(f"incident {data.get('id')!r} has no opened_at")
        return cls(
            id=str(data["id"]),
            team=str(data["team"]),
            text=str(data["text"]),
            opened_at=opened_at,
            closed_at=from_iso(data.get("closed_at")),
            texts={str(k): str(v) for k, v in (data.get("texts") or {}).items()},
            topic=data.get("topic"),
            suggestion=data.get("suggestion"),
        )


@dataclass(frozen=True, slots=True)
class Incidents:
    """An immutable set of incidents; changes return a new ``Incidents`` to persist."""

    items: tuple[Incident, ...] = ()

    def open(
        self,
        team: str,
        text: str,
        *,
        at: float,
        texts: Mapping[str, str] | None = None,
        topic: str | None = None,
        suggestion: str | None = None,
        incident_id: str | None = None,
    ) -> tuple[Incidents, Incident]:
        """Open an incident on ``team`` (or ``"*"``); returns the new set and the incident.

        ``incident_id`` (default: a new one) lets a caller retry the same opening: an
        incident with that id already in the set is returned as it is.
        """
        if incident_id is not None:
            for existing in self.items:
                if existing.id == incident_id:
                    return self, existing
        incident = Incident(
            id=incident_id or new_id(),
            team=team,
            text=text,
            opened_at=at,
            texts=dict(texts or {}),
            topic=topic,
            suggestion=suggestion,
        )
        return Incidents((*self.items, incident)), incident

    def close(self, incident_id: str, *, at: float) -> Incidents:
        """Close an incident; closing a closed one changes nothing."""
        incident = self.get(incident_id)
        if incident.closed_at is not None:
            return self
        closed = dataclasses.replace(incident, closed_at=at)
        return Incidents(tuple(closed if i.id == incident_id else i for i in self.items))

    def get(self, incident_id: str) -> Incident:
        for incident in self.items:
            if incident.id == incident_id:
                return incident
        raise UnknownIncident(incident_id)

    def open_for(self, team: str, *, at: float | None = None) -> list[Incident]:
        """Incidents open on ``team`` (including ``"*"`` ones), oldest first."""
        return [
            i
            for i in sorted(self.items, key=lambda i: (i.opened_at, i.id))
            if i.team in (team, ALL_TEAMS) and i.is_open(at)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"incidents": [i.to_dict() for i in self.items]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Incidents:
        return cls(tuple(Incident.from_dict(i) for i in data.get("incidents") or ()))


def _typical_handle_s(samples: Sequence[float], cold_start_handle_s: float) -> float:
    valid = sorted(s for s in samples if math.isfinite(s) and s > 0)
    if len(valid) < COLD_START_SAMPLES:
        return cold_start_handle_s
    cut = max(1, len(valid) // 10)
    kept = valid[cut:-cut]
    return sum(kept) / len(kept)


def estimate_wait_s(
    ahead: int,
    agents_available: int,
    recent_handle_s: Sequence[float],
    *,
    cold_start_handle_s: float = 300.0,
) -> float:
    """Expected wait of a contact with ``ahead`` contacts before it.

    ``(ahead + 1) * handle / max(agents_available, 1)``: with every agent busy, the
    contact is taken at the ``ahead + 1``-th time an agent frees up, and agents free up
    every ``handle / agents`` seconds on average (exact for exponential handle times).
    ``handle`` is the trimmed mean of ``recent_handle_s`` (the shortest and longest 10 %,
    at least one each, are dropped, as are non-positive values); with fewer than
    ``COLD_START_SAMPLES`` samples it is ``cold_start_handle_s``. With no agents the
    estimate assumes one will come, rather than promising nothing.
    """
    if ahead < 0:
        raise ValueError(f"ahead must be 0 or more, not {ahead}")
    handle = _typical_handle_s(recent_handle_s, cold_start_handle_s)
    return (ahead + 1) * handle / max(agents_available, 1)


def round_wait_min(seconds: float) -> int:
    """Minutes to tell the customer: rounded up, at least 1."""
    if not math.isfinite(seconds) or seconds <= 60:
        return 1
    return math.ceil(round(seconds, 6) / 60)


def negative_balance_offer(
    team: str, balance: Decimal | float | None, *, technical_team: str = "technical"
) -> bool:
    """Whether to offer billing first: the customer asks for technical with a debt."""
    return team == technical_team and balance is not None and balance < 0
