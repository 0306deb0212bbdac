"""Who is working: agents' availability, and the recent handle times waits are estimated from."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from queues import Event, Store
from router.routing import estimate_wait_s
from router.stats import AGENT_STATUS, AgentLoad, recent_handle_times

__all__ = ["AgentStatus", "HandleTimes", "Presence"]

#: An agent not seen (claim, heartbeat, console) for this long counts as logged out.
SEEN_TIMEOUT_S = 120.0
#: The status an ``agent_status`` event gives an agent whose presence expired.
OFFLINE = "offline"


class AgentStatus(StrEnum):
    AVAILABLE = "available"
    BREAK = "break"


@dataclass(frozen=True, slots=True)
class _Seen:
    teams: tuple[str, ...]
    status: AgentStatus
    at: float
    holding: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "teams": list(self.teams),
            "status": str(self.status),
            "at": self.at,
            "holding": self.holding,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Seen:
        return cls(
            tuple(str(t) for t in data.get("teams", ())),
            AgentStatus(data.get("status", AgentStatus.AVAILABLE)),
            float(data.get("at", 0.0)),
            int(data.get("holding", 0)),
        )


class Presence:
    """Agents' availability as their clients report it, kept in the store so that every
    router process sees the same: a break set through one is refused claims through all.

    Reads of everyone (queue depths, wait estimates, KPIs) come from a snapshot at most
    ``snapshot_s`` old, a hint the store confirms; an agent's own status is read fresh.
    """

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        *,
        snapshot_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self._monotonic = monotonic
        self._snapshot_s = snapshot_s
        self._snapshot: dict[str, _Seen] = {}
        self._snapshot_at: float | None = None

    async def seen(
        self, agent: str, teams: Sequence[str], *, status: AgentStatus | None = None
    ) -> None:
        previous = await self._get(agent)
        seen = _Seen(
            tuple(teams),
            status or (previous.status if previous else AgentStatus.AVAILABLE),
            self._clock(),
            previous.holding if previous else 0,
        )
        await self._record_change(agent, previous, seen)
        await self._put(agent, seen)

    async def _record_change(self, agent: str, previous: _Seen | None, seen: _Seen) -> None:
        """Record a login, status change or unnoticed expiry as an ``agent_status`` event:
        KPIs take the time agents were logged in from the store's events."""
        if previous is not None and seen.at - previous.at > SEEN_TIMEOUT_S:
            expired_at = previous.at + SEEN_TIMEOUT_S
            await self._store.add_event(_status_event(agent, OFFLINE, expired_at, previous.teams))
            previous = None
        if previous is None or previous.status is not seen.status:
            await self._store.add_event(_status_event(agent, seen.status, seen.at, seen.teams))

    async def present_until(self) -> dict[str, float]:
        """When each agent's presence expires unless they are seen again."""
        return {name: seen.at + SEEN_TIMEOUT_S for name, seen in (await self._records()).items()}

    async def holding(self, agent: str, delta: int) -> None:
        seen = await self._get(agent)
        if seen is not None:
            await self._put(agent, replace(seen, holding=max(0, seen.holding + delta)))

    async def status(self, agent: str) -> AgentStatus | None:
        seen = await self._get(agent)
        return seen.status if seen else None

    async def total(self) -> AgentLoad:
        """Distinct agents available and busy, whatever teams they serve."""
        working = await self._working()
        busy = sum(1 for seen in working if seen.holding)
        return AgentLoad(available=len(working) - busy, busy=busy)

    async def load(self, teams: Sequence[str]) -> dict[str, AgentLoad]:
        """Per team: agents available (on no contact) and busy (holding one)."""
        load = {team: [0, 0] for team in teams}
        for seen in await self._working():
            for team in seen.teams:
                if team in load:
                    load[team][1 if seen.holding else 0] += 1
        return {team: AgentLoad(available=a, busy=b) for team, (a, b) in load.items()}

    async def _records(self) -> dict[str, _Seen]:
        age_at = self._monotonic()
        if self._snapshot_at is None or age_at - self._snapshot_at >= self._snapshot_s:
            records = await self._store.all_presence()
            self._snapshot = {a: _Seen.from_dict(r) for a, r in records.items()}
            self._snapshot_at = age_at
        return self._snapshot

    async def _working(self) -> list[_Seen]:
        now = self._clock()
        return [
            seen
            for seen in (await self._records()).values()
            if now - seen.at <= SEEN_TIMEOUT_S and seen.status is AgentStatus.AVAILABLE
        ]

    async def _get(self, agent: str) -> _Seen | None:
        record = await self._store.get_presence(agent)
        return _Seen.from_dict(record) if record is not None else None

    async def _put(self, agent: str, seen: _Seen) -> None:
        await self._store.put_presence(agent, seen.to_dict())
        self._snapshot[agent] = seen  # this process sees its own change at once


def _status_event(agent: str, status: str, at: float, teams: Sequence[str]) -> Event:
    data = {"status": str(status), "teams": list(teams)}
    return Event(contact_id="", kind=AGENT_STATUS, at=at, agent=agent, data=data)


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
