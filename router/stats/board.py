"""The KPI board: the numbers of the last hour, computed on demand, the last kept for scrapes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from queues import Store, StoreUnavailable, to_iso
from router.stats.kpi import OVERALL, AgentLoad, compute_kpis, overall_kpi
from router.stats.metrics import Snapshot
from router.stats.occupancy import AgentTime, agent_time

__all__ = ["AgentCounts", "KpiBoard"]

#: Events this far before the window give context (a contact's channel, its arrival).
CONTEXT_S = 86400.0


class AgentCounts(Protocol):
    """Agents available and busy (the desk's presence)."""

    async def load(self, teams: Sequence[str]) -> dict[str, AgentLoad]: ...
    async def total(self) -> AgentLoad: ...
    async def present_until(self) -> dict[str, float]:
        """When each agent's presence expires (last seen + timeout) unless seen again."""


class KpiBoard:
    """``/api/stats`` and ``/metrics``: per-team and overall KPIs over ``window_s``."""

    def __init__(
        self,
        store: Store,
        agents: AgentCounts,
        *,
        teams: Sequence[str],
        thresholds_s: Mapping[str, float],
        clock: Callable[[], float],
        window_s: float,
    ) -> None:
        self._store = store
        self._agents = agents
        self._teams = tuple(teams)
        self._thresholds_s = dict(thresholds_s)
        self._clock = clock
        self.window_s = window_s
        self._latest = Snapshot((), False)

    def snapshot(self) -> Snapshot:
        """The last KPIs computed, and whether the store answered then."""
        return self._latest

    async def current(self) -> dict[str, Any]:
        """The KPIs now; when the store is down the last snapshot stays, marked down."""
        now = self._clock()
        try:
            events = await self._store.list_events(since=now - self.window_s - CONTEXT_S)
            stats = await self._store.queue_stats(self._teams)
        except StoreUnavailable:
            self._latest = Snapshot(self._latest.kpis, False)
            raise
        # Occupancy is agent time from the same events, so every process agrees on it.
        times, overall = agent_time(
            events,
            start=now - self.window_s,
            now=now,
            present_until=await self._agents.present_until(),
        )
        loads = await self._agents.load(self._teams)
        teams = compute_kpis(
            events,
            stats,
            now=now,
            window_s=self.window_s,
            thresholds_s=self._thresholds_s,
            agents={t: _timed(load, times.get(t, AgentTime())) for t, load in loads.items()},
        )
        self._latest = Snapshot(teams, True)
        total = overall_kpi(teams, agents=_timed(await self._agents.total(), overall))
        return {
            "at": to_iso(now),
            "window_s": self.window_s,
            "teams": [t.to_dict() for t in teams],
            "overall": {**total.to_dict(), "team": OVERALL},
        }


def _timed(load: AgentLoad, time: AgentTime) -> AgentLoad:
    return replace(load, busy_s=time.busy_s, logged_in_s=time.logged_in_s)
