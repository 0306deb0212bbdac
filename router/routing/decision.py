"""Routing decisions: facts for the flow engine, and team, priority and SLA for a contact."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ivr import Facts
from queues import Store
from router.identity import Account
from router.routing.hours import BusinessHours
from router.routing.policy import Incidents, PriorityRules, SlaRules

__all__ = ["Decision", "IncidentBook", "Routing"]

INCIDENTS_KEY = "router:incidents"
INCIDENTS_TTL_S = 10 * 365 * 86400.0


class IncidentBook:
    """Open and closed incidents, kept in the store so every router process sees them."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def load(self) -> Incidents:
        data = await self._store.get_session(INCIDENTS_KEY)
        return Incidents.from_dict(data) if data else Incidents()

    async def save(self, incidents: Incidents) -> None:
        await self._store.put_session(INCIDENTS_KEY, incidents.to_dict(), ttl_s=INCIDENTS_TTL_S)


@dataclass(frozen=True, slots=True)
class Decision:
    team: str
    delay_s: int
    sla_due: float | None
    opens_at: float  # the team's next opening; ``at`` itself when open


@dataclass(frozen=True, slots=True)
class Routing:
    """The routing policy of the configured desk."""

    teams: tuple[str, ...]
    default_team: str
    hours: Mapping[str, BusinessHours]
    priority: PriorityRules
    sla: SlaRules

    def facts(self, incidents: Incidents, *, at: float, language: str) -> Facts:
        """What the flow engine needs to know now: open teams, incidents, opening hours."""
        open_teams = frozenset(t for t in self.teams if self.hours[t].is_open(at))
        announced: dict[str, str] = {}
        for team in ("*", *self.teams):
            texts = [i.text for i in incidents.open_for(team, at=at) if i.team == team]
            if texts:
                announced[team] = " ".join(texts)
        hours = {t: self.hours[t].describe(language) for t in self.teams}
        return Facts(open_teams=open_teams, incidents=announced, hours=hours)

    def decide(
        self,
        channel: str,
        team: str,
        *,
        at: float,
        account: Account | None,
        incidents: Incidents,
        complaint: bool,
    ) -> Decision:
        """Team (the default when unknown), priority delay and SLA due time."""
        if team not in self.teams:
            team = self.default_team
        delay = self.priority.priority_delay(
            channel,
            tier=account.tier if account else None,
            incident_open=bool(incidents.open_for(team, at=at)),
            complaint=complaint,
        )
        hours = self.hours[team]
        due = self.sla.sla_due(channel, at=at, hours=hours, complaint=complaint)
        return Decision(team, delay, due, hours.next_open(at))
