"""Scenarios from what the user gives: a steady load (``--calls-per-hour``), the config's
``simulate:`` day, or a forecast CSV's intervals, on a given date in the desk's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from router.config import Simulate
from router.routing import Routing
from router.simulate.scenario import (
    Handle,
    IncidentWindow,
    Scenario,
    Segment,
    Shift,
    Span,
    Stream,
)

__all__ = ["ForecastRow", "day_scenario", "first_working_day", "local_time", "steady_scenario"]

DAY_MIN = 1440
#: The handle time of an outage's contacts on a team the day does not describe.
OUTAGE_AHT_S = 300.0


class ForecastRow(Protocol):
    """An interval of a forecast (``router.staffing``'s CSV): its start, ``HH:MM`` (every day)
    or an ISO date and time, the team, the calls expected in it and their handle time."""

    @property
    def interval_start(self) -> str: ...
    @property
    def team(self) -> str: ...
    @property
    def calls(self) -> float: ...
    @property
    def aht_s(self) -> float: ...


def local_time(day: date, minute: int, zone: ZoneInfo) -> float:
    """POSIX time of ``minute`` minutes after local midnight of ``day`` (1440: the next day)."""
    day += timedelta(days=minute // DAY_MIN)
    minute %= DAY_MIN
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone).timestamp()


def first_working_day(routing: Routing, team: str, since: date) -> date:
    """The first day from ``since`` on which ``team`` opens."""
    hours = routing.hours[team]
    day = since
    for _ in range(3 * 366):
        if hours.is_working_day(day):
            return day
        day += timedelta(days=1)
    raise ValueError(f"team {team!r} does not open within three years of {since}")


def _days(start: float, end: float, zone: ZoneInfo) -> list[date]:
    """Every local date that ``[start, end)`` touches, and the one before (for the spans
    that cross midnight into it)."""
    first = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _clip(spans: Iterable[Span], start: float, end: float) -> tuple[Span, ...]:
    return tuple((max(a, start), min(b, end)) for a, b in spans if min(b, end) > max(a, start))


def steady_scenario(
    routing: Routing,
    *,
    team: str,
    day: date,
    calls_per_hour: float,
    aht_s: float,
    agents: int,
    hours: float,
    channel: str = "voice",
    interval_s: int = 1800,
    handle: Handle = "exponential",
    handle_cv: float = 1.0,
    patience_s: float | None = None,
    warmup_s: float = 0.0,
    lease_s: float = 60.0,
) -> Scenario:
    """``calls_per_hour`` Poisson arrivals on ``team`` and ``channel`` from the team's first
    opening on ``day`` for ``hours`` hours, ``agents`` agents all along (M/M/N, with
    ``patience_s`` M/M/N+M)."""
    if team not in routing.teams:
        raise ValueError(f"team {team!r} does not exist; teams are {', '.join(routing.teams)}")
    zone = ZoneInfo(routing.hours[team].tz)
    start = routing.hours[team].next_open(local_time(day, 0, zone))
    end = start + hours * 3600.0
    first = start - warmup_s
    segment = Segment(first, end, calls_per_hour / 3600.0, aht_s)
    return Scenario(
        start=start,
        end=end,
        timezone=routing.hours[team].tz,
        streams=(Stream(team, channel, (segment,)),),
        shifts=(Shift(agents, (team,), ((first, end),)),) if agents else (),
        interval_s=interval_s,
        handle=handle,
        handle_cv=handle_cv,
        patience_s={channel: patience_s} if patience_s else {},
        warmup_s=warmup_s,
        lease_s=lease_s,
    )


def _profile(
    weights: Mapping[int, float], day: date, zone: ZoneInfo
) -> list[tuple[float, float, float]]:
    """(start, end, share of the day's contacts per second) of ``day``'s profile steps; the
    last step runs into the next day until the first one's time."""
    steps = sorted(weights.items())
    norm_s = 60.0 * sum(
        w * ((steps[(i + 1) % len(steps)][0] - m) % DAY_MIN or DAY_MIN)
        for i, (m, w) in enumerate(steps)
    )
    found = []
    for i, (minute, weight) in enumerate(steps):
        following = steps[(i + 1) % len(steps)][0]
        until = following if following > minute else following + DAY_MIN
        found.append((local_time(day, minute, zone), local_time(day, until, zone), weight / norm_s))
    return found


def _split(shares: Mapping[str, float]) -> dict[str, float]:
    total = sum(shares.values())
    return {channel: share / total for channel, share in shares.items()}


def _streams(
    sim: Simulate, days: Sequence[date], zone: ZoneInfo, scale: float
) -> dict[tuple[str, str], list[Segment]]:
    found: dict[tuple[str, str], list[Segment]] = {}
    for team, spec in sim.teams.items():
        for channel, share in _split(spec.channels).items():
            segments = found.setdefault((team, channel), [])
            for day in days:
                for start, end, per_s in _profile(sim.profile, day, zone):
                    rate = spec.contacts * scale * share * per_s
                    segments.append(Segment(start, end, rate, spec.aht_s))
    return found


def _forecast_streams(
    sim: Simulate | None,
    rows: Iterable[ForecastRow],
    days: Sequence[date],
    zone: ZoneInfo,
    interval_s: int,
    scale: float,
) -> dict[tuple[str, str], list[Segment]]:
    found: dict[tuple[str, str], list[Segment]] = {}
    for row in rows:
        spec = sim.teams.get(row.team) if sim else None
        shares = _split(spec.channels) if spec else {"voice": 1.0}
        if ":" in row.interval_start and len(row.interval_start) == 5:
            minute = int(row.interval_start[:2]) * 60 + int(row.interval_start[3:])
            starts = [local_time(day, minute, zone) for day in days]
        else:  # one interval on one day; without an offset, the desk's local time
            at = datetime.fromisoformat(row.interval_start)
            starts = [(at if at.tzinfo else at.replace(tzinfo=zone)).timestamp()]
        for channel, share in shares.items():
            rate = row.calls * scale * share / interval_s
            segments = found.setdefault((row.team, channel), [])
            segments += [Segment(s, s + interval_s, rate, row.aht_s) for s in starts]
    return found


def day_scenario(
    sim: Simulate,
    routing: Routing,
    *,
    day: date,
    timezone: str,
    outage: bool = False,
    forecast: Sequence[ForecastRow] | None = None,
    interval_s: int | None = None,
    hours: float | None = None,
    handle: Handle | None = None,
    patience_s: float | None = None,
    scale: float = 1.0,
    lease_s: float = 60.0,
) -> Scenario:
    """The config's simulated day on ``day`` (its ``start``, for its ``hours``), arrivals from
    its profile or from ``forecast``; with ``outage``, its outage on the first day. ``scale``
    multiplies the contacts and the agents (a bigger desk on the same day)."""
    zone = ZoneInfo(timezone)
    interval_s = interval_s or sim.interval_s
    start = local_time(day, sim.start, zone)
    end = start + (hours or sim.hours) * 3600.0
    days = _days(start, end, zone)
    if forecast is not None:
        unknown = sorted({row.team for row in forecast} - set(routing.teams))
        if unknown:
            raise ValueError(
                f"the forecast names teams {', '.join(unknown)} that do not exist; "
                f"teams are {', '.join(routing.teams)}"
            )
        found = _forecast_streams(sim, forecast, days, zone, interval_s, scale)
    else:
        found = _streams(sim, days, zone, scale)
    incidents = _outage(sim, found, day, zone, scale) if outage else []
    streams = tuple(
        Stream(team, channel.removeprefix("outage:"), tuple(_clip_segments(segments, start, end)))
        for (team, channel), segments in found.items()
    )
    return Scenario(
        start=start,
        end=end,
        timezone=timezone,
        streams=streams,
        shifts=_shifts(sim, days, zone, scale, start, end),
        interval_s=interval_s,
        handle=handle or sim.handle,
        handle_cv=sim.handle_cv,
        patience_s=dict(sim.patience_s)
        if patience_s is None
        else {s.channel: patience_s for s in streams},
        incidents=tuple(incidents),
        lease_s=lease_s,
    )


def _outage(
    sim: Simulate,
    found: dict[tuple[str, str], list[Segment]],
    day: date,
    zone: ZoneInfo,
    scale: float,
) -> list[IncidentWindow]:
    """Add the outage's streams to ``found`` (streams of their own, with their own draws:
    the day's other contacts stay the same); the incidents it opens."""
    spike = sim.outage
    if spike is None:
        return []
    windows = [
        (local_time(day, r.start_min, zone), local_time(day, r.end_min, zone)) for r in spike.hours
    ]
    aht_s = sim.teams[spike.team].aht_s if spike.team in sim.teams else OUTAGE_AHT_S
    for channel, share in _split(spike.channels).items():
        rate = spike.contacts_per_hour * scale * share / 3600.0
        segments = found.setdefault((spike.team, f"outage:{channel}"), [])
        segments += [Segment(a, b, rate, aht_s) for a, b in windows]
    return [IncidentWindow(spike.team, a, b) for a, b in windows] if spike.incident else []


def _shifts(
    sim: Simulate, days: Sequence[date], zone: ZoneInfo, scale: float, start: float, end: float
) -> tuple[Shift, ...]:
    return tuple(
        Shift(
            max(1, round(shift.agents * scale)),
            shift.teams,
            _clip(
                [
                    (local_time(d, r.start_min, zone), local_time(d, r.end_min, zone))
                    for d in days
                    for r in shift.hours
                ],
                start,
                end,
            ),
        )
        for shift in sim.shifts
    )


def _clip_segments(segments: Iterable[Segment], start: float, end: float) -> list[Segment]:
    return [
        Segment(max(s.start, start), min(s.end, end), s.rate_per_s, s.aht_s)
        for s in segments
        if min(s.end, end) > max(s.start, start)
    ]
