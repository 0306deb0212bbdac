"""Quiet simulated weeks for measuring the spike tests' false alarms (pure, seeded)."""

from __future__ import annotations

import bisect
import random
from collections import Counter
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from router.outages.profile import Profile, cell_of, rate_windows, rolled
from router.outages.spikes import RATE_WINDOWS_MIN, rate_spike, topic_spike

ZONE = ZoneInfo("Europe/Warsaw")
WEEK_S = 7 * 86400
#: Monday 2026-11-16 00:00 Europe/Warsaw (23:00 UTC the day before).
MONDAY = 1_794_783_600
#: Alarms closer than this to the one before belong to the same episode (one suggestion).
EPISODE_S = 1800.0


def office_rate(cell: int, *, peak: float = 40.0) -> float:
    """A support desk's arrivals per hour: busy on working days 8-20, some in the evening
    and at the weekend, a trickle at night."""
    day, hour = divmod(cell, 24)
    if day < 5:
        if 8 <= hour < 20:
            return peak * (1.3 if hour in (9, 10, 13) else 1.0)
        return peak / 4 if 6 <= hour < 23 else peak / 20
    return peak / 4 if 9 <= hour < 21 else peak / 20


def poisson_arrivals(
    rng: random.Random, start: float, end: float, rate_of: Callable[[int], float]
) -> list[float]:
    """Arrival times of a Poisson process whose rate is constant within each hour."""
    times: list[float] = []
    for hour in range(int(start), int(end), 3600):
        rate = rate_of(cell_of(hour, ZONE))
        t = float(hour)
        while True:
            t += rng.expovariate(rate / 3600) if rate > 0 else 3600.0
            if t >= hour + 3600:
                break
            times.append(t)
    return times


def episodes(alarm_times: Sequence[float]) -> int:
    count, last = 0, None
    for t in alarm_times:
        if last is None or t - last > EPISODE_S:
            count += 1
        last = t
    return count


def learn(profile: Profile, arrivals: Sequence[float], start: int, end: int) -> Profile:
    hourly = Counter(int(t // 3600) * 3600 for t in arrivals)
    return rolled(Profile(profile.counts, profile.hours, profile.upto or start), hourly, end, ZONE)


def rate_alarms(
    seed: int, *, history_weeks: int, peak: float = 40.0, prior_per_hour: float = 10.0
) -> tuple[int, int]:
    """(alarm episodes, arrivals) in one quiet week after ``history_weeks`` weeks learned."""
    rng = random.Random(seed)
    start = MONDAY - history_weeks * WEEK_S

    def rate_of(cell: int) -> float:
        return office_rate(cell, peak=peak)

    history = poisson_arrivals(rng, start, MONDAY, rate_of)
    profile = learn(Profile(), history, start, MONDAY) if history_weeks else Profile()
    week = poisson_arrivals(rng, MONDAY, MONDAY + WEEK_S, rate_of)
    per_minute: Counter[int] = Counter()
    alarms: list[float] = []
    hour_now = MONDAY
    for i, t in enumerate(week):
        hour = int(t // 3600) * 3600
        if hour > hour_now:  # the hours before this one are learned, as the store does
            profile = learn(profile, week[:i], MONDAY, hour)
            hour_now = hour
        per_minute[int(t // 60) * 60] += 1
        windows = rate_windows(
            profile,
            per_minute,
            t,
            widths_min=RATE_WINDOWS_MIN,
            zone=ZONE,
            prior_per_hour=prior_per_hour,
        )
        if rate_spike(windows) is not None:
            alarms.append(t)
    return episodes(alarms), len(week)


def topic_alarms(seed: int, *, topics: int = 40, per_hour: float = 40.0) -> tuple[int, int]:
    """(alarm episodes, messages) in one quiet week of first messages whose topics follow a
    Zipf law, after one week learned; the conditional test as the detector runs it."""
    rng = random.Random(seed)
    weights = [1 / (k + 1) for k in range(topics)]
    cumulative = [sum(weights[: k + 1]) for k in range(topics)]

    def topic() -> int:
        return bisect.bisect_left(cumulative, rng.random() * cumulative[-1])

    def rate_of(cell: int) -> float:
        return office_rate(cell, peak=per_hour)

    times = poisson_arrivals(rng, MONDAY - WEEK_S, MONDAY + WEEK_S, rate_of)
    labels = [topic() for _ in times]
    window_s, days_s = 600.0, 8 * 86400.0
    in_window: Counter[int] = Counter()
    in_days: Counter[int] = Counter()
    lo_window = lo_days = 0
    alarms: list[float] = []
    for i, (t, k) in enumerate(zip(times, labels, strict=True)):
        in_window[k] += 1
        in_days[k] += 1
        while times[lo_window] <= t - window_s:
            in_window[labels[lo_window]] -= 1
            lo_window += 1
        while times[lo_days] <= t - days_s:
            in_days[labels[lo_days]] -= 1
            lo_days += 1
        if t < MONDAY:
            continue
        spike = topic_spike(in_window[k], i + 1 - lo_window, in_days[k], i + 1 - lo_days)
        if spike is not None:
            alarms.append(t)
    return episodes(alarms), sum(1 for t in times if t >= MONDAY)
