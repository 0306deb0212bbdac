"""KPIs from the store's minute buckets (``queues.Bucket``); pure, no I/O.

The numbers ``kpi.compute_kpis`` works out from a window's events, from the running
aggregates the store keeps instead: reading them costs the same however many events the
window holds. The window is whole minutes, from the one holding its start through the one
holding now. A contact's service-level threshold is its channel's when named, else its
team's; every threshold must be an edge of the wait bins (``queues.WAIT_EDGES_S``),
since a bucket can tell exactly which waits are within an edge and no other time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from queues import NO_TEAM, Bucket, QueueStats, edge_index
from router.stats.kpi import OVERALL, AgentLoad, Counts, TeamKpi, team_kpi

__all__ = ["check_thresholds", "count_buckets", "team_kpis"]


def check_thresholds(thresholds_s: Mapping[str, float]) -> None:
    """Refuse (ValueError, naming it and the edges) a threshold that is not a bin edge."""
    for name, threshold_s in thresholds_s.items():
        try:
            edge_index(threshold_s)
        except ValueError as exc:
            raise ValueError(f"sla threshold of {name!r}: {exc}") from None


def count_buckets(
    buckets: Iterable[Bucket], thresholds_s: Mapping[str, float]
) -> dict[str, Counts]:
    """Each team's counts from its buckets (``NO_TEAM``'s, which count arrivals, left out)."""
    counts: dict[str, Counts] = {}
    micros: dict[str, list[int]] = {}  # wait, handle: summed exactly, then made seconds
    for b in buckets:
        if b.team == NO_TEAM:
            continue
        c = counts.setdefault(b.team, Counts())
        c.offered += b.offered
        c.answered += b.answered
        c.abandoned += b.abandoned
        c.resolved += b.resolved
        total = micros.setdefault(b.team, [0, 0, 0])
        total[0] += b.answered_wait_us
        total[1] += b.handle_us
        total[2] += b.wrap_us
        c.surveys_asked += b.surveys_asked
        c.surveys_answered += b.surveys_answered
        c.csat_sum += b.csat_sum
        c.csat_satisfied += b.csat_satisfied
        c.fcr_resolved += b.fcr_resolved
        c.fcr_returned += b.fcr_returned
        threshold_s = thresholds_s.get(b.channel, thresholds_s.get(b.team))
        if threshold_s is not None:
            late = b.abandoned_after(threshold_s)
            c.in_threshold += b.answered_within(threshold_s)
            c.abandoned_late += late
            c.measured += b.answered + late
    for team, (wait_us, handle_us, wrap_us) in micros.items():
        counts[team].wait_s, counts[team].handle_s = wait_us / 1e6, handle_us / 1e6
        counts[team].wrap_s = wrap_us / 1e6
    return counts


def team_kpis(
    buckets: Sequence[Bucket],
    stats: Sequence[QueueStats],
    *,
    thresholds_s: Mapping[str, float],
    agents: Mapping[str, AgentLoad],
) -> list[TeamKpi]:
    """Per-team KPIs from the window's buckets, teams in ``stats`` order, then any others by
    name (as ``compute_kpis``)."""
    counts = count_buckets(buckets, thresholds_s)
    by_team = {s.team: s for s in stats}
    names = list(by_team) + sorted((set(counts) | set(agents)) - set(by_team) - {OVERALL})
    return [
        team_kpi(team, counts.get(team, Counts()), by_team.get(team), agents.get(team, _NOBODY))
        for team in names
    ]


_NOBODY = AgentLoad(0, 0)
