"""The simulated day's numbers, per interval and for the day, per team and for the desk.

Contacts' numbers come from the store's minute buckets through the router's own KPI code
(``router.stats.team_kpis``): ``contacts`` are those enqueued in the interval, the service
level, ASA and abandonment those of the contacts answered or abandoned in it, each contact
against its channel's SLA threshold, exactly as the supervisor's dashboard counts them.
Occupancy is busy time / logged-in time of the agents serving the team (of every agent, once
each, for the desk); ``agents`` the agents logged in on average; ``waiting`` the contacts
still waiting at the interval's end; ``longest_wait_s`` the longest wait of a contact answered
or abandoned in the interval, or still waiting at its end.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from queues import to_iso
from router.routing import Routing
from router.simulate.engine import Outcome, run
from router.simulate.scenario import Scenario
from router.stats import overall_kpi, team_kpis

__all__ = ["Figures", "Report", "Row", "build_report", "simulate", "to_json"]


@dataclass(frozen=True, slots=True)
class Figures:
    contacts: int
    answered: int
    abandoned: int
    answered_within: int  # answered within the channel's SLA threshold
    service_level: float | None
    asa_s: float | None
    abandon_rate: float | None
    aht_s: float | None
    occupancy: float | None
    longest_wait_s: float | None
    waiting: int
    agents: float


@dataclass(frozen=True, slots=True)
class Row:
    """One interval (or the whole day): the desk's figures and each team's."""

    start: float
    end: float
    label: str  # local time of the start, HH:MM
    desk: Figures
    teams: Mapping[str, Figures]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": to_iso(self.start),
            "end": to_iso(self.end),
            "label": self.label,
            **_rounded(asdict(self.desk)),
            "teams": {team: _rounded(asdict(f)) for team, f in self.teams.items()},
        }


@dataclass(frozen=True, slots=True)
class Report:
    seed: int
    timezone: str
    interval_s: int
    sla: Mapping[str, tuple[float, float]]  # channel -> the SLA's (threshold_s, target)
    day: Row
    intervals: tuple[Row, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "timezone": self.timezone,
            "start": to_iso(self.day.start),
            "end": to_iso(self.day.end),
            "interval_s": self.interval_s,
            "sla": {ch: {"threshold_s": t, "target": g} for ch, (t, g) in self.sla.items()},
            "day": self.day.to_dict(),
            "intervals": [row.to_dict() for row in self.intervals],
        }


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


Times = Mapping[str | None, tuple[list[float], list[float]]]  # team -> busy, logged per interval


async def _row(
    outcome: Outcome,
    thresholds_s: Mapping[str, float],
    times: Times,
    start: float,
    end: float,
    intervals: Sequence[int],
) -> Row:
    """Figures of ``[start, end)``, which spans the report intervals ``intervals``."""
    scenario, teams = outcome.scenario, outcome.scenario.teams
    buckets = await outcome.store.minute_buckets(teams, since=start, until=end - 1e-6)
    kpis = {k.team: k for k in team_kpis(buckets, [], thresholds_s=thresholds_s, agents={})}
    length = (end - start) or 1.0
    last = intervals[-1]

    def figures(team: str | None) -> Figures:
        kpi = overall_kpi(kpis.values()) if team is None else kpis.get(team)
        busy, logged = times[team]
        busy_s = sum(busy[k] for k in intervals)
        logged_s = sum(logged[k] for k in intervals)
        longest = [
            wait_s
            for k in intervals
            for name, wait_s in outcome.longest_s[k].items()
            if team is None or name == team
        ]
        left = outcome.waiting[last] if last < len(outcome.waiting) else {}
        return Figures(
            contacts=kpi.offered if kpi else 0,
            answered=kpi.answered if kpi else 0,
            abandoned=kpi.abandoned if kpi else 0,
            answered_within=kpi.answered_in_threshold if kpi else 0,
            service_level=kpi.service_level if kpi else None,
            asa_s=kpi.asa_s if kpi else None,
            abandon_rate=kpi.abandonment_rate if kpi else None,
            aht_s=kpi.aht_s if kpi else None,
            occupancy=_ratio(busy_s, logged_s),
            longest_wait_s=max(longest, default=None),
            waiting=sum(n for name, n in left.items() if team is None or name == team),
            agents=logged_s / length,
        )

    label = datetime.fromtimestamp(start, ZoneInfo(scenario.timezone)).strftime("%H:%M")
    by_team = {team: figures(team) for team in teams}
    return Row(start, end, label, figures(None), by_team)


async def build_report(outcome: Outcome, routing: Routing, *, seed: int) -> Report:
    """The report of a run; ``routing`` gives each channel's SLA threshold."""
    scenario = outcome.scenario
    sla = {channel: (float(t), float(g)) for channel, (t, g) in routing.sla.answer.items()}
    thresholds_s = {channel: t for channel, (t, _) in sla.items()}
    spans = scenario.grid.spans
    times: Times = {team: outcome.roster.time(team) for team in (None, *scenario.teams)}
    rows = [
        await _row(outcome, thresholds_s, times, start, end, [k])
        for k, (start, end) in enumerate(spans)
    ]
    every = range(len(spans))
    day = await _row(outcome, thresholds_s, times, scenario.start, scenario.end, every)
    return Report(seed, scenario.timezone, scenario.interval_s, sla, day, tuple(rows))


async def simulate(scenario: Scenario, routing: Routing, *, seed: int) -> Report:
    """Run ``scenario`` through the real queue and routing (``engine.run``) and report it."""
    return await build_report(await run(scenario, routing, seed=seed), routing, seed=seed)
