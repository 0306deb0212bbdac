"""The KPI board: the numbers of the last hour, computed on demand, the last kept for scrapes.

Contacts' numbers (offered, answered, service level, ASA, abandonment, AHT) come from the
store's minute buckets, and occupancy from the ledger of time each agent's presence record
keeps (``router.stats.occupancy``), so they cost the same however busy the day was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from queues import Store, StoreUnavailable, minute_of, to_iso
from router.staffing import ServiceGoal, staffing_now
from router.stats.kpi import OVERALL, AgentLoad, TeamKpi, overall_kpi
from router.stats.metrics import Snapshot
from router.stats.occupancy import AgentTime
from router.stats.rollup import check_thresholds, team_kpis

__all__ = ["AgentCounts", "KpiBoard"]


class AgentCounts(Protocol):
    """Agents available and busy (the desk's presence)."""

    async def load(self, teams: Sequence[str]) -> dict[str, AgentLoad]: ...
    async def total(self) -> AgentLoad: ...
    async def agent_time(
        self, teams: Sequence[str], *, start: float, now: float
    ) -> tuple[dict[str, AgentTime], AgentTime]:
        """Agents' busy and logged-in time in the window, per team and overall."""


class KpiBoard:
    """``/api/stats`` and ``/metrics``: per-team and overall KPIs over ``window_s``, counted
    in whole minutes (from the one holding now - ``window_s`` through the one holding now).

    Every value of ``thresholds_s`` must be an edge of the store's wait bins
    (``queues.WAIT_EDGES_S``); another raises ValueError here. With a ``goal``, each team
    and the overall carry ``staffing``: the agents the window's arrivals and AHT need now
    (``router.staffing.staffing_now``, Erlang C) against the agents logged in.
    """

    def __init__(
        self,
        store: Store,
        agents: AgentCounts,
        *,
        teams: Sequence[str],
        thresholds_s: Mapping[str, float],
        clock: Callable[[], float],
        window_s: float,
        goal: ServiceGoal | None = None,
    ) -> None:
        check_thresholds(thresholds_s)
        self._goal = goal
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
            buckets = await self._store.minute_buckets(
                self._teams, since=now - self.window_s, until=now
            )
            stats = await self._store.queue_stats(self._teams)
            # Occupancy from the agents' ledgers in the store: every process agrees on it.
            times, overall = await self._agents.agent_time(
                self._teams, start=now - self.window_s, now=now
            )
        except StoreUnavailable:
            self._latest = Snapshot(self._latest.kpis, False)
            raise
        loads = await self._agents.load(self._teams)
        teams = team_kpis(
            buckets,
            stats,
            thresholds_s=self._thresholds_s,
            agents={t: _timed(load, times.get(t, AgentTime())) for t, load in loads.items()},
        )
        self._latest = Snapshot(teams, True)
        total = overall_kpi(teams, agents=_timed(await self._agents.total(), overall))
        views = [t.to_dict() for t in teams]
        whole = {**total.to_dict(), "team": OVERALL}
        if self._goal is not None:
            # The buckets run from the minute holding the window's start: that is the span.
            span_s = now - minute_of(now - self.window_s)
            for view, kpi in zip(views, teams, strict=True):
                view["staffing"] = _staffing(kpi, span_s, self._goal)
            whole["staffing"] = _overall_staffing(views, total, span_s, self._goal)
        return {"at": to_iso(now), "window_s": self.window_s, "teams": views, "overall": whole}


def _staffing(kpi: TeamKpi, span_s: float, goal: ServiceGoal) -> dict[str, Any]:
    return staffing_now(
        arrivals=kpi.offered,
        span_s=span_s,
        aht_s=kpi.aht_s,
        agents_logged_in=kpi.agents_available + kpi.agents_busy,
        goal=goal,
    )


def _overall_staffing(
    views: Sequence[Mapping[str, Any]], total: TeamKpi, span_s: float, goal: ServiceGoal
) -> dict[str, Any]:
    """The teams' needs added up (their agents are not pooled), against distinct agents."""
    figure = _staffing(total, span_s, goal)
    needs = [view["staffing"]["agents_needed"] for view in views]
    needed = None if None in needs else sum(needs)
    figure["agents_needed"] = needed
    figure["shortfall"] = None if needed is None else needed - figure["agents_logged_in"]
    return figure


def _timed(load: AgentLoad, time: AgentTime) -> AgentLoad:
    return replace(load, busy_s=time.busy_s, logged_in_s=time.logged_in_s)
