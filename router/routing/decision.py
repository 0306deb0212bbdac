"""Routing decisions: facts for the flow engine, and team, priority and SLA for a contact."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from ivr import Facts
from queues import Store, StoreUnavailable
from router.identity import Account
from router.routing.hours import BusinessHours
from router.routing.policy import Incidents, PriorityRules, SlaRules

__all__ = ["Decision", "IncidentBook", "Routing"]

INCIDENTS_KEY = "router:incidents"
INCIDENTS_TTL_S = 10 * 365 * 86400.0
#: Compare-and-set attempts before a change of the incident book gives up (503).
UPDATE_TRIES = 20

T = TypeVar("T")


class IncidentBook:
    """Open and closed incidents, kept in the store so every router process sees them.

    Changes are compare-and-set: two processes changing the book at once both land, the
    later one retried on what the first wrote.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    async def load(self) -> Incidents:
        data = await self._store.get_session(INCIDENTS_KEY)
        return Incidents.from_dict(data) if data else Incidents()

    async def update(self, change: Callable[[Incidents], tuple[Incidents, T]]) -> T:
        """Apply ``change`` to the current book and store the result; returns what
        ``change`` returned. ``change`` may run more than once: keep it pure."""
        for _ in range(UPDATE_TRIES):
            data, tag = await self._store.get_session_tagged(INCIDENTS_KEY)
            changed, result = change(Incidents.from_dict(data) if data else Incidents())
            stored = await self._store.put_session_if(
                INCIDENTS_KEY, changed.to_dict(), tag=tag, ttl_s=INCIDENTS_TTL_S
            )
            if stored:
                return result
        raise StoreUnavailable(
            f"the incidents changed {UPDATE_TRIES} times while this change was made; try again"
        )


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
    #: The teams' hours described per language, made at the first need.
    described: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)
    #: The open teams of the last whole second asked for: messages arriving together
    #: share them (opening hours, holidays and time zone changes fall on whole seconds).
    _open: list[tuple[int, frozenset[str]]] = field(
        default_factory=lambda: [(-1, frozenset())], compare=False, repr=False
    )

    def facts(self, incidents: Incidents, *, at: float, language: str) -> Facts:
        """What the flow engine needs to know now: open teams, incidents, opening hours."""
        announced: dict[str, str] = {}
        if incidents.items:
            for team in ("*", *self.teams):
                texts = [
                    i.text_in(language) for i in incidents.open_for(team, at=at) if i.team == team
                ]
                if texts:
                    announced[team] = " ".join(texts)
        return Facts(
            open_teams=self.open_teams(at), incidents=announced, hours=self._hours_in(language)
        )

    def open_teams(self, at: float) -> frozenset[str]:
        """The teams open at ``at``."""
        second = int(at // 1)
        last_second, last = self._open[0]
        if second != last_second:
            last = frozenset(t for t in self.teams if self.hours[t].is_open(second))
            self._open[0] = (second, last)
        return last

    def _hours_in(self, language: str) -> dict[str, str]:
        """Each team's hours described in ``language`` (the config's: made once)."""
        described = self.described.get(language)
        if described is None:
            described = {team: self.hours[team].describe(language) for team in self.teams}
            self.described[language] = described
        return described

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
