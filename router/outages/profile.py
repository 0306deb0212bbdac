"""A team's usual arrival rate by hour of the week, learned from the store's minute buckets.

A *stream* is a team's arrivals: its contacts queued (the buckets' ``offered``). Its
``Profile`` keeps, for each of the 168 hours of the week on the desk's clock, a decayed
count of arrivals and a decayed number of hours observed: each week's hour multiplies both
by ``DECAY`` before adding itself, so the last few weeks weigh most (and an outage's hour
fades). The rate of an hour of the week is a Gamma posterior whose prior is the same hour
of the other days of its kind (working days or the weekend), itself shrunk towards the
stream's overall rate, itself shrunk towards ``prior_per_hour``: a new desk starts from the
prior, borrows from yesterday's same hour after a day, and stands on its own hours after a
few weeks. An hour of the day never seen is assumed as busy as the busiest seen and hardly
trusted. The spike test uses the whole posterior (``spikes.rate_spike``), so little history
means wide predictions, not alarms.

The profile is a store document (kind ``outages:profile``, key the stream) brought up to
date once an hour from the buckets (Redis keeps them two days, so the document is what
remembers the weeks), compare-and-set, by whichever process first needs it; every process
reads the same one, so all agree on what is usual.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from queues import Store

__all__ = [
    "Profile",
    "cell_of",
    "hourly_arrivals",
    "learned",
    "minute_arrivals",
    "rate_windows",
    "rolled",
]

HOURS = 168
DECAY = 0.75
#: Weight in hours of each prior level: the stream's rate, the pooled hour, the cell's.
PRIOR_HOURS = 0.5
POOL_HOURS = 0.5
CELL_HOURS = 0.5
VAGUE_HOURS = 0.05
#: Hours read back from the buckets when a stream has no profile yet.
BACKFILL_HOURS = 7 * 24
KIND = "outages:profile"
_UPDATE_TRIES = 10


def cell_of(hour_start: float, zone: ZoneInfo) -> int:
    """The hour of the week (0 = Monday 00:00 on the desk's clock) of an hour."""
    local = datetime.fromtimestamp(hour_start, UTC).astimezone(zone)
    return local.weekday() * 24 + local.hour


@dataclass(frozen=True, slots=True)
class Profile:
    """Decayed arrivals and hours observed per hour of the week, through hour ``upto``."""

    counts: tuple[float, ...] = (0.0,) * HOURS
    hours: tuple[float, ...] = (0.0,) * HOURS
    upto: int = 0  # the start of the first hour not yet added (POSIX seconds)

    def add(self, cell: int, arrivals: int) -> Profile:
        counts, hours = list(self.counts), list(self.hours)
        counts[cell] = counts[cell] * DECAY + arrivals
        hours[cell] = hours[cell] * DECAY + 1.0
        return Profile(tuple(counts), tuple(hours), self.upto)

    def posterior(self, cell: int, prior_per_hour: float) -> tuple[float, float]:
        """(shape, rate) of the Gamma posterior of the arrivals per hour in ``cell``."""
        overall = (prior_per_hour * PRIOR_HOURS + sum(self.counts)) / (
            PRIOR_HOURS + sum(self.hours)
        )
        pool = _pool(cell)
        pool_hours = sum(self.hours[c] for c in pool)
        pooled = (POOL_HOURS * overall + sum(self.counts[c] for c in pool)) / (
            POOL_HOURS + pool_hours
        )
        # The pooled rate is only as good as the hours behind it: an hour of the day never
        # seen (a new desk's first morning) is assumed as busy as the busiest seen, and
        # hardly trusted.
        if pool_hours == 0:
            seen = [c / h for c, h in zip(self.counts, self.hours, strict=True) if h > 0]
            pooled = max([pooled, *seen])
        weight = CELL_HOURS * pool_hours / (pool_hours + 1.0) + VAGUE_HOURS
        return weight * pooled + self.counts[cell], weight + self.hours[cell]

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": [round(c, 6) for c in self.counts],
            "hours": [round(h, 6) for h in self.hours],
            "upto": self.upto,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        counts = tuple(float(c) for c in data.get("counts") or ())
        hours = tuple(float(h) for h in data.get("hours") or ())
        if len(counts) != HOURS or len(hours) != HOURS:
            return cls(upto=int(data.get("upto") or 0))
        return cls(counts, hours, int(data.get("upto") or 0))


def _pool(cell: int) -> list[int]:
    """The same hour on every day of the cell's kind (working days, or the weekend)."""
    hour, weekend = cell % 24, cell >= 5 * 24
    days = (5, 6) if weekend else (0, 1, 2, 3, 4)
    return [day * 24 + hour for day in days]


def rolled(profile: Profile, hourly: dict[int, int], until: int, zone: ZoneInfo) -> Profile:
    """``profile`` with every hour from its ``upto`` to ``until`` added (``hourly``: the
    arrivals by hour start; a missing hour had none). A new profile starts at the first
    hour that had arrivals: the hours before the desk had any are not quiet hours."""
    start = profile.upto
    if start == 0:
        busy = [h for h, n in hourly.items() if n > 0]
        start = min(busy) if busy else until
    for hour in range(start, until, 3600):
        profile = profile.add(cell_of(hour, zone), hourly.get(hour, 0))
    return Profile(profile.counts, profile.hours, until)


async def hourly_arrivals(store: Store, stream: str, *, since: int, until: int) -> dict[int, int]:
    """Arrivals of ``stream`` by hour start, for the hours in [since, until)."""
    if until <= since:
        return {}
    found: Counter[int] = Counter()
    for bucket in await store.minute_buckets([stream], since=since, until=until - 1):
        found[bucket.minute - bucket.minute % 3600] += bucket.offered
    return dict(found)


async def minute_arrivals(
    store: Store, stream: str, *, since: float, until: float
) -> dict[int, int]:
    """Arrivals of ``stream`` by minute start, for the minutes from ``since`` to ``until``."""
    found: Counter[int] = Counter()
    for bucket in await store.minute_buckets([stream], since=since, until=until):
        found[bucket.minute] += bucket.offered
    return dict(found)


async def learned(store: Store, stream: str, *, now: float, zone: ZoneInfo) -> Profile:
    """The stream's profile through the last whole hour before ``now``, brought up to date
    in the store when it is behind (one process does it; the others read its result)."""
    hour = int(now // 3600) * 3600
    for _ in range(_UPDATE_TRIES):
        data, tag = await store.get_doc(KIND, stream)
        profile = Profile.from_dict(data) if data else Profile()
        if profile.upto >= hour:
            return profile
        since = profile.upto or hour - BACKFILL_HOURS * 3600
        hourly = await hourly_arrivals(store, stream, since=since, until=hour)
        updated = rolled(profile, hourly, hour, zone)
        if await store.put_doc(KIND, stream, updated.to_dict(), tag=tag) is not None:
            return updated
    return updated  # others keep writing it: this one is as good as theirs


def _busier(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """A posterior no more sure than either with the higher mean of the two."""
    rate = min(a[1], b[1])
    return max(a[0] / a[1], b[0] / b[1]) * rate, rate


def rate_windows(
    profile: Profile,
    per_minute: dict[int, int],
    now: float,
    *,
    widths_min: Sequence[int],
    zone: ZoneInfo,
    prior_per_hour: float,
) -> list[tuple[int, float, tuple[float, float]]]:
    """Each window of whole minutes ending with the current, partial, one: (arrivals,
    exposure in hours, the posterior to test it against). A window reaching into the hour
    before is tested against the busier of the two hours, as unsure as the less known: a
    desk that quiets down at 20:00 still had its 19:50 crowd in the window, and a new
    desk's first 08:00 is not judged by the 07:00 it has seen."""
    minute = int(now // 60) * 60
    current = profile.posterior(cell_of(now, zone), prior_per_hour)
    found = []
    for width in widths_min:
        n = sum(per_minute.get(minute - 60 * i, 0) for i in range(width))
        exposure_h = ((width - 1) * 60 + (now - minute)) / 3600
        posterior = current
        earliest = minute - 60 * (width - 1)
        if earliest // 3600 != int(now // 3600):
            posterior = _busier(current, profile.posterior(cell_of(earliest, zone), prior_per_hour))
        found.append((n, exposure_h, posterior))
    return found
