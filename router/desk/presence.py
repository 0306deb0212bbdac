"""Who is working: agents' availability, and the recent handle times waits are estimated from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from queues import Event, Store
from router.routing import estimate_wait_s
from router.stats import AgentLoad, recent_handle_times

__all__ = ["AgentStatus", "HandleTimes", "Presence"]

#: An agent not seen (claim, heartbeat, console) for this long counts as logged out.
SEEN_TIMEOUT_S = 120.0


class AgentStatus(StrEnum):
    AVAILABLE = "available"
    BREAK = "break"


@dataclass(slots=True)
class _Seen:
    teams: tuple[str, ...]
    status: AgentStatus
    at: float
    holding: int = 0


class Presence:
    """Agents' availability in this process, as their clients report it."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._agents: dict[str, _Seen] = {}

    def seen(self, agent: str, teams: Sequence[str], *, status: AgentStatus | None = None) -> None:
        previous = self._agents.get(agent)
        self._agents[agent] = _Seen(
            tuple(teams),
            status or (previous.status if previous else AgentStatus.AVAILABLE),
            self._clock(),
            previous.holding if previous else 0,
        )

    def holding(self, agent: str, delta: int) -> None:
        if agent in self._agents:
            seen = self._agents[agent]
            seen.holding = max(0, seen.holding + delta)

    def status(self, agent: str) -> AgentStatus | None:
        seen = self._agents.get(agent)
        return seen.status if seen else None

    def total(self) -> AgentLoad:
        """Distinct agents available and busy, whatever teams they serve."""
        now = self._clock()
        working = [
            seen
            for seen in self._agents.values()
            if now - seen.at <= SEEN_TIMEOUT_S and seen.status is AgentStatus.AVAILABLE
        ]
        busy = sum(1 for seen in working if seen.holding)
        return AgentLoad(available=len(working) - busy, busy=busy)

    def load(self, teams: Sequence[str]) -> dict[str, AgentLoad]:
        """Per team: agents available (on no contact) and busy (holding one)."""
        now = self._clock()
        load = {team: [0, 0] for team in teams}
        for seen in self._agents.values():
            if now - seen.at > SEEN_TIMEOUT_S or seen.status is not AgentStatus.AVAILABLE:
                continue
            for team in seen.teams:
                if team in load:
                    load[team][1 if seen.holding else 0] += 1
        return {team: AgentLoad(available=a, busy=b) for team, (a, b) in load.items()}


class HandleTimes:
    """Recent handle times per team from the store's events, refreshed at most every ``ttl_s``."""

    def __init__(self, store: Store, clock: Callable[[], float], *, ttl_s: float = 30.0) -> None:
        self._store = store
        self._clock = clock
        self._ttl_s = ttl_s
        self._loaded_at: float | None = None
        self._events: list[Event] = []

    async def for_team(self, team: str) -> list[float]:
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at > self._ttl_s:
            self._events = await self._store.list_events(
                since=now - 3600, kinds=["contact_resolved"]
            )
            self._loaded_at = now
        return recent_handle_times(self._events, team)

    async def estimate_s(self, team: str, ahead: int, agents_available: int) -> float:
        return estimate_wait_s(ahead, agents_available, await self.for_team(team))
