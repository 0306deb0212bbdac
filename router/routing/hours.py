"""Business hours: when a team is open, when it opens next, and business-day due times.

Everything is computed on the team's local wall clock (zoneinfo), so an office that opens
at 10:00 opens at 10:00 on both sides of a DST change. Public holidays come from the
``holidays`` package for a country, plus a company's own closed days.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_pkg

__all__ = ["WEEKDAYS", "BusinessHours"]

#: Keys of ``BusinessHours.week``, Monday first (``date.weekday()`` order).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_DAY_NAMES = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "pl": ("pon.", "wt.", "śr.", "czw.", "pt.", "sob.", "niedz."),
    "ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
    "he": ("ב׳", "ג׳", "ד׳", "ה׳", "ו׳", "ש׳", "א׳"),
}
_CLOSED = {"en": "closed", "pl": "nieczynne", "ru": "закрыто", "he": "סגור"}
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
_MAX_SEARCH_DAYS = 3 * 366

Interval = tuple[time, time]
Holidays = Set[date] | Callable[[date], bool]


def _parse_time(hours: str, minutes: str, text: str) -> time:
    h, m = int(hours), int(minutes)
    if (h, m) == (24, 0):
        return time.max  # "24:00": open until midnight
    if h > 23 or m > 59:
        raise ValueError(f"business hours {text!r} name an impossible time; use HH:MM")
    return time(h, m)


def _parse_day(day: str, value: str | Sequence[str] | None) -> tuple[Interval, ...]:
    if value is None or value == "" or value == "closed":
        return ()
    texts = [value] if isinstance(value, str) else list(value)
    intervals: list[Interval] = []
    for text in texts:
        match = _RANGE.match(text)
        if match is None:
            raise ValueError(
                f"business hours for {day!r}: {text!r} is not a range; write it as "
                "'10:00-18:00', a list of ranges, or null for closed"
            )
        start = _parse_time(match[1], match[2], text)
        end = _parse_time(match[3], match[4], text)
        intervals.append((start, end))
    return tuple(intervals)


def _parse_date(value: str | date, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD") from None


def _fmt(t: time) -> str:
    return "24:00" if t == time.max else t.strftime("%H:%M")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Opening hours of one team on its local clock.

    ``week`` maps ``mon``..``sun`` to ``(start, end)`` pairs of local times (a missing
    or empty day is closed; ``time.max`` as an end means midnight). ``holidays`` is a set
    of closed dates or a callable that says whether a date is a holiday.
    """

    tz: str
    week: Mapping[str, Sequence[Interval]]
    holidays: Holidays = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _days: tuple[tuple[Interval, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"time zone {self.tz!r} is unknown; use an IANA name such as 'Europe/Warsaw'"
            ) from None
        unknown = sorted(set(self.week) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"business hours name unknown days {unknown}; use {WEEKDAYS}")
        days = []
        for day in WEEKDAYS:
            intervals = tuple(sorted(self.week.get(day, ())))
            for start, end in intervals:
                if start >= end:
                    raise ValueError(
                        f"business hours for {day!r}: {_fmt(start)}-{_fmt(end)} ends before "
                        "it starts; a range cannot cross midnight, split it over two days"
                    )
            if any(b[0] < a[1] for a, b in pairwise(intervals)):
                raise ValueError(f"business hours for {day!r} overlap; merge the ranges")
            days.append(intervals)
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_days", tuple(days))

    @classmethod
    def from_spec(
        cls,
        tz: str,
        spec: Mapping[str, str | Sequence[str] | None],
        *,
        country: str | None = None,
        extra: Iterable[str | date] = (),
        closed_dates: Iterable[str | date] = (),
    ) -> BusinessHours:
        """Build from config: ``{"mon": "10:00-18:00" | [ranges] | None, ...}``.

        ``country`` (ISO code, e.g. ``"PL"``) adds its public holidays; ``extra`` adds
        company holidays, ``"MM-DD"`` every year or ``"YYYY-MM-DD"`` once; ``closed_dates``
        adds single closed dates.
        """
        week = {day: _parse_day(day, value) for day, value in spec.items()}
        yearly: set[tuple[int, int]] = set()
        dates: set[date] = set()
        for item in extra:
            if isinstance(item, str) and re.fullmatch(r"\d{2}-\d{2}", item):
                month, day = int(item[:2]), int(item[3:])
                try:
                    date(2000, month, day)  # a leap year: 02-29 is allowed, 02-30 is not
                except ValueError:
                    raise ValueError(f"holiday {item!r} is not a day of the year") from None
                yearly.add((month, day))
            else:
                dates.add(_parse_date(item, "holiday"))
        dates.update(_parse_date(item, "closed date") for item in closed_dates)
        if country is None:
            if not yearly:
                return cls(tz, week, frozenset(dates))
            public: Mapping[date, str] = {}
        else:
            try:
                public = holidays_pkg.country_holidays(country)
            except NotImplementedError:
                raise ValueError(
                    f"holidays country {country!r} is unknown; use an ISO 3166 code such as 'PL'"
                ) from None

        def is_holiday(d: date) -> bool:
            return d in dates or (d.month, d.day) in yearly or d in public

        return cls(tz, week, is_holiday)

    # -- calendar ------------------------------------------------------------------------
    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` is a public or company holiday."""
        if callable(self.holidays):
            return self.holidays(day)
        return day in self.holidays

    def is_working_day(self, day: date) -> bool:
        """Whether the team opens at all on ``day``."""
        return bool(self._days[day.weekday()]) and not self.is_holiday(day)

    def _local(self, at: float) -> datetime:
        return datetime.fromtimestamp(at, self._zone)

    def _instant(self, day: date, wall: time) -> float:
        # The first instant at which the local clock on ``day`` reads ``wall`` or later.
        naive = datetime.combine(day, wall)
        first = naive.replace(tzinfo=self._zone).timestamp()
        if self._local(first).replace(tzinfo=None) == naive:
            return first  # fold=0 is the earlier of two readings in an autumn overlap
        # ``wall`` falls in a spring-forward gap: the answer is the jump itself, between
        # the two offsets' readings of ``wall``; find it to the second.
        lo, hi = int(naive.replace(tzinfo=self._zone, fold=1).timestamp()), int(first) + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self._local(mid).replace(tzinfo=None) >= naive:
                hi = mid
            else:
                lo = mid + 1
        return float(lo)

    def local_label(self, at: float, lang: str | None = None) -> str:
        """The local weekday and time of ``at``, e.g. ``"pon. 10:00"`` or ``"Mon 10:00"``."""
        local = self._local(at)
        names = _DAY_NAMES.get(lang or "en", _DAY_NAMES["en"])
        return f"{names[local.weekday()]} {local:%H:%M}"

    # -- questions -----------------------------------------------------------------------
    def is_open(self, at: float) -> bool:
        """Whether the team is open at POSIX time ``at``."""
        local = self._local(at)
        if self.is_holiday(local.date()):
            return False
        now = local.time()
        return any(start <= now < end for start, end in self._days[local.weekday()])

    def next_open(self, at: float) -> float:
        """POSIX time of the next opening at or after ``at`` (``at`` itself when open)."""
        if self.is_open(at):
            return at
        day = self._local(at).date()
        for _ in range(_MAX_SEARCH_DAYS):
            if not self.is_holiday(day):
                for start, _end in self._days[day.weekday()]:
                    candidate = self._instant(day, start)
                    if candidate >= at and self.is_open(candidate):
                        return candidate
            day += timedelta(days=1)
        raise ValueError(
            f"the team does not open within {_MAX_SEARCH_DAYS} days of "
            f"{datetime.fromtimestamp(at, UTC).isoformat()}; check its hours and holidays"
        )

    def add_business_days(self, at: float, days: int) -> float:
        """Due time ``days`` working days after ``at``, at the same local time of day.

        A contact that arrives out of hours counts from the next opening. The time of day
        is kept within the due day's hours (a shorter day moves it to that day's close).
        """
        if days < 0:
            raise ValueError(f"days must be 0 or more, not {days}")
        start = self.next_open(at)
        if days == 0:
            return start
        local = self._local(start)
        day = local.date()
        left = days
        while left:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        intervals = self._days[day.weekday()]
        wall = min(max(local.time(), intervals[0][0]), intervals[-1][1])
        return self._instant(day, wall)

    def describe(self, lang: str | None = None) -> str:
        """Compact hours such as ``"Mon–Fri 10:00–18:00"``; weekday names for pl/en/ru/he.

        Without ``lang`` (or for a language without names) the English abbreviations are
        used. Holidays are not listed.
        """
        names = _DAY_NAMES.get(lang or "en", _DAY_NAMES["en"])
        groups: list[tuple[int, int, tuple[Interval, ...]]] = []
        for index, intervals in enumerate(self._days):
            if groups and groups[-1][2] == intervals and groups[-1][1] == index - 1:
                groups[-1] = (groups[-1][0], index, intervals)
            else:
                groups.append((index, index, intervals))
        parts = []
        for first, last, intervals in groups:
            if not intervals:
                continue
            days = names[first] if first == last else f"{names[first]}–{names[last]}"
            ranges = ", ".join(f"{_fmt(s)}–{_fmt(e)}" for s, e in intervals)
            parts.append(f"{days} {ranges}")
        return "; ".join(parts) if parts else _CLOSED.get(lang or "en", _CLOSED["en"])
