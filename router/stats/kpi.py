"""Contact-centre KPIs computed from queue events and queue stats; pure, no I/O.

Events count in the window ``[now - window_s, now]`` by the time they happened. Events
before the window may be passed too: they are not counted, but they give context (a
contact's channel from ``contact_created``, an earlier claim that makes a later one a
re-claim).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from queues import SATISFIED, Event, QueueStats
from router.stats import csat

__all__ = [
    "OVERALL",
    "AgentLoad",
    "Counts",
    "TeamKpi",
    "compute_kpis",
    "overall_kpi",
    "recent_handle_times",
    "team_kpi",
]

#: ``TeamKpi.team`` of the aggregate over all teams.
OVERALL = "*"

#: The events of surveys and first-contact resolution, by the count each adds to.
_OUTCOMES = {
    "survey_asked": "surveys_asked",
    "survey_answered": "surveys_answered",
    "fcr_counted": "fcr_resolved",
    "fcr_repeat": "fcr_returned",
}
#: Counts an overall KPI adds up over the teams.
_SUMMED = (
    "surveys_asked",
    "surveys_answered",
    "csat_sum",
    "csat_satisfied",
    "fcr_resolved",
    "fcr_returned",
)

# Events after which a claim of the same contact is a re-claim, not a new answer.
_CLAIMED_BEFORE = frozenset({"contact_claimed", "contact_released", "lease_expired"})


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """Agents serving a team now, and their ``busy_s``/``logged_in_s`` over the window."""

    available: int
    busy: int
    busy_s: float | None = None
    logged_in_s: float | None = None

    @property
    def occupancy(self) -> float | None:
        """Time busy / time logged in; None when nobody was logged in or times are unknown."""
        if self.busy_s is None or not self.logged_in_s:
            return None
        return self.busy_s / self.logged_in_s


@dataclass(frozen=True, slots=True)
class TeamKpi:
    """One team's KPIs over the window; ratios are 0..1, None when there is nothing to measure."""

    team: str
    offered: int
    answered: int
    abandoned: int
    answered_in_threshold: int
    abandoned_after_threshold: int
    service_level_base: int
    resolved: int
    service_level: float | None
    asa_s: float | None
    abandonment_rate: float | None
    aht_s: float | None
    occupancy: float | None
    waiting: int
    longest_wait_s: float | None
    agents_available: int
    agents_busy: int
    agents_busy_s: float | None = None
    agents_logged_in_s: float | None = None
    # After-contact work (in aht_s too), CSAT surveys and first-contact resolution
    # (``router.stats.csat``).
    acw_s: float | None = None
    surveys_asked: int = 0
    surveys_answered: int = 0
    csat_satisfied: int = 0
    csat_sum: int = 0
    csat: float | None = None
    csat_mean: float | None = None
    fcr_resolved: int = 0
    fcr_returned: int = 0
    fcr: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class Counts:
    """One team's counts over a window, from events (``compute_kpis``) or from the store's
    buckets (``rollup``); the KPIs are worked out from them alike."""

    offered: int = 0
    answered: int = 0
    wait_s: float = 0.0  # total over the answered
    in_threshold: int = 0
    measured: int = 0  # the service level's base: answered + abandoned after the threshold
    abandoned: int = 0
    abandoned_late: int = 0
    resolved: int = 0
    handle_s: float = 0.0  # total over the resolved
    wrap_s: float = 0.0  # after-contact work, total over the resolved
    surveys_asked: int = 0
    surveys_answered: int = 0
    csat_sum: int = 0
    csat_satisfied: int = 0
    fcr_resolved: int = 0
    fcr_returned: int = 0


@dataclass(slots=True)
class _Tally:
    offered: set[str] = dataclasses.field(default_factory=set)
    answered: set[str] = dataclasses.field(default_factory=set)
    waits: list[float] = dataclasses.field(default_factory=list)
    in_threshold: int = 0
    measured: int = 0
    abandoned: int = 0
    abandoned_late: int = 0
    handles: list[float] = dataclasses.field(default_factory=list)
    wraps: list[float] = dataclasses.field(default_factory=list)
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)

    def count(self, event: Event, threshold: float | None, *, reclaim: bool) -> None:
        """Count one event of the window; ``reclaim``: the contact was claimed before."""
        wait_s = _number(event.data, "wait_s")
        if event.kind == "contact_enqueued":
            self.offered.add(event.contact_id)
        elif event.kind == "contact_claimed" and not reclaim:
            self.answered.add(event.contact_id)
            if wait_s is not None:
                self.waits.append(wait_s)
                if threshold is not None:
                    self.measured += 1
                    self.in_threshold += wait_s <= threshold
        elif event.kind == "contact_abandoned" and wait_s is not None:
            self.abandoned += 1
            if threshold is not None and wait_s > threshold:
                self.abandoned_late += 1
                self.measured += 1
        elif event.kind == "contact_resolved":
            handle_s = _number(event.data, "handle_s")
            if handle_s is not None:
                self.handles.append(handle_s)
                self.wraps.append(_number(event.data, "wrap_s") or 0.0)
        elif event.kind in _OUTCOMES:
            score = _number(event.data, "score")
            self.outcomes[_OUTCOMES[event.kind]] += 1
            if event.kind == "survey_answered" and score is not None:
                self.outcomes["csat_sum"] += int(score)
                self.outcomes["csat_satisfied"] += int(score >= SATISFIED)

    def counts(self) -> Counts:
        return Counts(
            offered=len(self.offered),
            answered=len(self.answered),
            wait_s=sum(self.waits),
            in_threshold=self.in_threshold,
            measured=self.measured,
            abandoned=self.abandoned,
            abandoned_late=self.abandoned_late,
            resolved=len(self.handles),
            handle_s=sum(self.handles),
            wrap_s=sum(self.wraps),
            **self.outcomes,
        )


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


def compute_kpis(
    events: Sequence[Event],
    stats: Sequence[QueueStats],
    *,
    now: float,
    window_s: float,
    thresholds_s: Mapping[str, float],
    agents: Mapping[str, AgentLoad],
) -> list[TeamKpi]:
    """Per-team KPIs, teams in ``stats`` order, then any others by name.

    - offered: contacts enqueued in the team.
    - answered: contacts claimed in the team, each once: a claim after a release, an
      expired lease or a transfer by the agent who held it is not a new answer. ASA is
      the mean ``wait_s`` (since queueing) of the answering claims.
    - abandoned: contacts that gave up while waiting (``contact_abandoned`` with
      ``wait_s``); abandonment rate = abandoned / (answered + abandoned).
    - service level = answered within T / (answered + abandoned after T), so customers
      who hang up within T count neither way; ``service_level_base`` is that denominator.
      T is ``thresholds_s`` of the contact's channel when that is known and named, else
      of its team; contacts with neither are left out of the service level only.
    - AHT: mean ``handle_s`` + ``wrap_s`` (after-contact work) of resolved contacts;
      ``acw_s`` the mean ``wrap_s`` alone.
    - CSAT and FCR: from the survey and first-contact events (``router.stats.csat``).
    - occupancy: time the team's agents were busy / logged in, from ``agents`` (see
      ``AgentLoad``, and ``occupancy.agent_time`` for the times); None without them.
    - waiting, longest wait: from ``stats``; agents: from ``agents``.
    """
    tallies = _tally(events, start=now - window_s, now=now, thresholds_s=thresholds_s)
    by_team = {s.team: s for s in stats}
    names = list(by_team) + sorted((set(tallies) | set(agents)) - set(by_team) - {OVERALL})
    return [
        team_kpi(
            team,
            tallies.get(team, _Tally()).counts(),
            by_team.get(team),
            agents.get(team, AgentLoad(0, 0)),
        )
        for team in names
    ]


def _tally(
    events: Sequence[Event], *, start: float, now: float, thresholds_s: Mapping[str, float]
) -> dict[str, _Tally]:
    """Each team's counts from the events in ``[start, now]``, read in time order."""
    channels: dict[str, str] = {}
    claimed_before: set[str] = set()
    tallies: dict[str, _Tally] = {}
    for event in sorted(events, key=lambda e: e.at):
        cid = event.contact_id
        if event.kind == "contact_created" and isinstance(event.data.get("channel"), str):
            channels[cid] = event.data["channel"]
        if start <= event.at <= now and event.team is not None:
            threshold = thresholds_s.get(channels.get(cid, ""), thresholds_s.get(event.team))
            tally = tallies.setdefault(event.team, _Tally())
            tally.count(event, threshold, reclaim=cid in claimed_before)
        if event.kind in _CLAIMED_BEFORE or (
            event.kind == "contact_transferred" and event.agent is not None
        ):
            claimed_before.add(cid)
    return tallies


def team_kpi(team: str, counts: Counts, queue: QueueStats | None, load: AgentLoad) -> TeamKpi:
    """The team's KPIs from its counts, its queue now and its agents."""
    c = counts
    return TeamKpi(
        team=team,
        offered=c.offered,
        answered=c.answered,
        abandoned=c.abandoned,
        answered_in_threshold=c.in_threshold,
        abandoned_after_threshold=c.abandoned_late,
        service_level_base=c.measured,
        resolved=c.resolved,
        service_level=_ratio(c.in_threshold, c.measured),
        asa_s=_mean(c.wait_s, c.answered),
        abandonment_rate=_ratio(c.abandoned, c.answered + c.abandoned),
        aht_s=_mean(c.handle_s + c.wrap_s, c.resolved),
        occupancy=load.occupancy,
        waiting=queue.waiting if queue else 0,
        longest_wait_s=queue.oldest_wait_s if queue else None,
        agents_available=load.available,
        agents_busy=load.busy,
        agents_busy_s=load.busy_s,
        agents_logged_in_s=load.logged_in_s,
        **_outcomes(c, _mean(c.wrap_s, c.resolved)),
    )


def _outcomes(c: Counts, acw_s: float | None) -> dict[str, Any]:
    """The after-contact work, CSAT and FCR fields of a ``TeamKpi``."""
    return {
        "acw_s": acw_s,
        "surveys_asked": c.surveys_asked,
        "surveys_answered": c.surveys_answered,
        "csat_satisfied": c.csat_satisfied,
        "csat_sum": c.csat_sum,
        "csat": csat.csat(c.surveys_answered, c.csat_satisfied),
        "csat_mean": csat.csat_mean(c.surveys_answered, c.csat_sum),
        "fcr_resolved": c.fcr_resolved,
        "fcr_returned": c.fcr_returned,
        "fcr": csat.fcr(c.fcr_resolved, c.fcr_returned),
    }


def overall_kpi(kpis: Iterable[TeamKpi], *, agents: AgentLoad | None = None) -> TeamKpi:
    """The aggregate of team KPIs, with team ``"*"``.

    Agents serving several teams appear in each; pass ``agents`` (distinct agents) to
    count them once, otherwise the teams' agent counts and times are summed.
    """
    teams = list(kpis)
    answered = sum(k.answered for k in teams)
    abandoned = sum(k.abandoned for k in teams)
    in_threshold = sum(k.answered_in_threshold for k in teams)
    late = sum(k.abandoned_after_threshold for k in teams)
    base = sum(k.service_level_base for k in teams)
    resolved = sum(k.resolved for k in teams)
    waits = [(k.asa_s, k.answered) for k in teams if k.asa_s is not None]
    handles = [(k.aht_s, k.resolved) for k in teams if k.aht_s is not None]
    wraps = [(k.acw_s, k.resolved) for k in teams if k.acw_s is not None]
    counts = Counts(**{name: sum(getattr(k, name) for k in teams) for name in _SUMMED})
    longest = [k.longest_wait_s for k in teams if k.longest_wait_s is not None]
    load = agents or AgentLoad(
        sum(k.agents_available for k in teams),
        sum(k.agents_busy for k in teams),
        _sum_known(k.agents_busy_s for k in teams),
        _sum_known(k.agents_logged_in_s for k in teams),
    )
    return TeamKpi(
        team=OVERALL,
        offered=sum(k.offered for k in teams),
        answered=answered,
        abandoned=abandoned,
        answered_in_threshold=in_threshold,
        abandoned_after_threshold=late,
        service_level_base=base,
        resolved=resolved,
        service_level=_ratio(in_threshold, base),
        asa_s=_mean(sum(a * n for a, n in waits), sum(n for _, n in waits)),
        abandonment_rate=_ratio(abandoned, answered + abandoned),
        aht_s=_mean(sum(a * n for a, n in handles), sum(n for _, n in handles)),
        occupancy=load.occupancy,
        waiting=sum(k.waiting for k in teams),
        longest_wait_s=max(longest, default=None),
        agents_available=load.available,
        agents_busy=load.busy,
        agents_busy_s=load.busy_s,
        agents_logged_in_s=load.logged_in_s,
        **_outcomes(counts, _mean(sum(a * n for a, n in wraps), sum(n for _, n in wraps))),
    )


def _sum_known(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def recent_handle_times(events: Sequence[Event], team: str, limit: int = 50) -> list[float]:
    """``handle_s`` of the team's last ``limit`` resolved contacts, oldest first."""
    handles = [
        h
        for e in sorted(events, key=lambda e: e.at)
        if e.kind == "contact_resolved"
        and e.team == team
        and (h := _number(e.data, "handle_s")) is not None
    ]
    return handles[-limit:] if limit > 0 else []
