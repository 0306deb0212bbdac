"""The last hour as time series, derived from the store's minute buckets (the ``*_from_buckets``
functions the dashboard draws) or from its events; pure, no I/O.

Derived from the store rather than sampled in memory, so every router process draws the same
history and a restart loses nothing. Waiting over time is walked back from the queues' depth
now: each minute's change (or each event that put a contact in a queue or took one out) is
undone in turn, so contacts queued before the window count too. Buckets count by the minute,
so from them the waiting at an earlier time is the waiting at the start of its minute.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from queues import NO_TEAM, Bucket, Event, minute_of
from router.stats.kpi import compute_kpis, overall_kpi
from router.stats.rollup import count_buckets

__all__ = [
    "Buckets",
    "arrivals_by_channel",
    "arrivals_from_buckets",
    "service_level",
    "service_level_from_buckets",
    "waiting_deltas",
    "waiting_from_buckets",
    "waiting_over_time",
]

CHANNELS = ("voice", "sms", "email", "chat", "telegram")


@dataclass(frozen=True, slots=True)
class Buckets:
    """``count`` intervals of ``step_s`` ending at ``end`` (a multiple of ``step_s``)."""

    end: float
    step_s: float
    count: int

    @classmethod
    def covering(cls, now: float, *, window_s: float, step_s: float) -> Buckets:
        """Wall-clock aligned buckets (12:00, 12:05, ...) whose last one holds ``now``."""
        end = (math.floor(now / step_s) + 1) * step_s
        return cls(end, step_s, max(1, round(window_s / step_s)))

    @property
    def start(self) -> float:
        return self.end - self.step_s * self.count

    @property
    def starts(self) -> list[float]:
        return [self.start + i * self.step_s for i in range(self.count)]

    def index(self, at: float) -> int | None:
        if not self.start <= at < self.end:
            return None
        return min(self.count - 1, int((at - self.start) // self.step_s))


def clock_labels(times: Iterable[float], timezone: str) -> list[str]:
    """``HH:MM`` in the supervisor's time zone."""
    zone = ZoneInfo(timezone)
    return [datetime.fromtimestamp(t, UTC).astimezone(zone).strftime("%H:%M") for t in times]


def arrivals_by_channel(events: Sequence[Event], buckets: Buckets) -> dict[str, list[int]]:
    """New contacts per bucket and channel (``contact_created``); every channel listed."""
    counts: dict[str, list[int]] = {ch: [0] * buckets.count for ch in CHANNELS}
    for event in events:
        if event.kind != "contact_created":
            continue
        i = buckets.index(event.at)
        if i is None:
            continue
        channel = str(event.data.get("channel") or "other")
        counts.setdefault(channel, [0] * buckets.count)[i] += 1
    return counts


def waiting_deltas(event: Event) -> list[tuple[str, int]]:
    """How an event changed the teams' waiting counts: (team, +1 or -1) pairs."""
    team = event.team
    if team is None:
        return []
    if event.kind in ("contact_enqueued", "contact_released", "lease_expired"):
        return [(team, +1)]
    if event.kind == "contact_claimed":
        return [(team, -1)]
    if event.kind == "contact_abandoned" and "wait_s" in event.data:
        return [(team, -1)]  # without wait_s it left during the flow, never queued
    if event.kind == "contact_transferred":
        if event.agent is not None:
            return [(team, +1)]  # from an agent's hands into the new queue
        source = event.data.get("from")
        return [(team, +1), *([(str(source), -1)] if source else [])]
    return []


def waiting_over_time(
    events: Sequence[Event],
    waiting_now: Mapping[str, int],
    *,
    now: float,
    times: Sequence[float],
) -> dict[str, list[int]]:
    """Contacts waiting per team at each of ``times`` (ascending, none after ``now``)."""
    counts = dict(waiting_now)
    later = sorted((e for e in events if e.at <= now), key=lambda e: e.at, reverse=True)
    series: dict[str, list[int]] = {team: [0] * len(times) for team in waiting_now}
    k = 0
    for i in range(len(times) - 1, -1, -1):
        t = times[i]
        while k < len(later) and later[k].at > t:
            for team, delta in waiting_deltas(later[k]):
                counts[team] = counts.get(team, 0) - delta
            k += 1
        for team in series:
            series[team][i] = max(0, counts.get(team, 0))
    return series


def service_level(
    events: Sequence[Event],
    buckets: Buckets,
    *,
    now: float,
    thresholds_s: Mapping[str, float],
) -> list[float | None]:
    """Service level of the contacts answered (or abandoned) in each bucket, as KPIs count it."""
    values: list[float | None] = []
    for start in buckets.starts:
        end = min(start + buckets.step_s, now)
        if end < start:
            values.append(None)
            continue
        # The KPI window is closed at both ends; stop just short of the next bucket.
        upto = end if end == now else end - 1e-6
        teams = compute_kpis(
            events,
            [],
            now=upto,
            window_s=upto - start,
            thresholds_s=thresholds_s,
            agents={},
        )
        values.append(overall_kpi(teams).service_level)
    return values


def arrivals_from_buckets(buckets: Sequence[Bucket], bars: Buckets) -> dict[str, list[int]]:
    """New contacts per bar and channel (``created``, in ``NO_TEAM``'s buckets); every
    channel listed."""
    counts: dict[str, list[int]] = {ch: [0] * bars.count for ch in CHANNELS}
    for bucket in buckets:
        i = bars.index(bucket.minute)
        if bucket.team != NO_TEAM or not bucket.created or i is None:
            continue
        counts.setdefault(bucket.channel or "other", [0] * bars.count)[i] += bucket.created
    return counts


def waiting_from_buckets(
    buckets: Sequence[Bucket],
    waiting_now: Mapping[str, int],
    *,
    now: float,
    times: Sequence[float],
) -> dict[str, list[int]]:
    """Contacts waiting per team at each of ``times`` (ascending, none after ``now``): at a
    time in the minute holding ``now`` the depth now, at an earlier one the depth at the
    start of its minute. ``buckets`` must cover the minutes from the first time to now."""
    changes: dict[str, dict[int, int]] = {team: {} for team in waiting_now}
    for bucket in buckets:
        if bucket.team in changes and bucket.waiting_delta:
            by_minute = changes[bucket.team]
            by_minute[bucket.minute] = by_minute.get(bucket.minute, 0) + bucket.waiting_delta
    current = minute_of(now)
    series: dict[str, list[int]] = {}
    for team, by_minute in changes.items():
        later = sorted(by_minute.items(), reverse=True)  # undone from now backwards
        count, k, values = waiting_now[team], 0, [0] * len(times)
        for i in range(len(times) - 1, -1, -1):
            start = minute_of(times[i])
            while start < current and k < len(later) and later[k][0] >= start:
                count -= later[k][1]
                k += 1
            values[i] = max(0, count)
        series[team] = values
    return series


def service_level_from_buckets(
    buckets: Sequence[Bucket],
    bars: Buckets,
    *,
    thresholds_s: Mapping[str, float],
) -> list[float | None]:
    """Service level of the contacts answered (or abandoned) in each bar, as KPIs count it;
    None for a bar without any."""
    by_bar: list[list[Bucket]] = [[] for _ in range(bars.count)]
    for bucket in buckets:
        i = bars.index(bucket.minute)
        if i is not None:
            by_bar[i].append(bucket)
    values: list[float | None] = []
    for in_bar in by_bar:
        counts = count_buckets(in_bar, thresholds_s).values()
        measured = sum(c.measured for c in counts)
        values.append(sum(c.in_threshold for c in counts) / measured if measured else None)
    return values


def to_json(labels: Sequence[str], series: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    return {"labels": list(labels), "series": {k: list(v) for k, v in series.items()}}
