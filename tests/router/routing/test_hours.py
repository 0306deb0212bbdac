"""Business hours on the Warsaw clock: DST changes, Polish holidays, due times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from router.routing.hours import BusinessHours

WARSAW = ZoneInfo("Europe/Warsaw")
OFFICE = {day: "10:00-18:00" for day in ("mon", "tue", "wed", "thu", "fri")}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> float:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC).timestamp()


@pytest.fixture
def hours() -> BusinessHours:
    return BusinessHours.from_spec(
        "Europe/Warsaw", {**OFFICE, "sat": None, "sun": None}, country="PL"
    )


# 2026: summer time starts Sun 29 March (CET +1 -> CEST +2), ends Sun 25 October.
@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 3, 27, 9, 0), True),  # Fri 10:00 CET, before the spring change
        (utc(2026, 3, 27, 8, 59, 59), False),  # Fri 09:59:59 CET
        (utc(2026, 3, 27, 16, 59, 59), True),  # Fri 17:59:59 CET
        (utc(2026, 3, 27, 17, 0), False),  # Fri 18:00 CET
        (utc(2026, 3, 30, 8, 0), True),  # Mon 10:00 CEST, after it
        (utc(2026, 3, 30, 7, 59, 59), False),  # Mon 09:59:59 CEST (08:59:59 CET would be)
        (utc(2026, 3, 30, 16, 0), False),  # Mon 18:00 CEST
        (utc(2026, 10, 23, 8, 0), True),  # Fri 10:00 CEST, before the autumn change
        (utc(2026, 10, 23, 16, 0), False),  # Fri 18:00 CEST
        (utc(2026, 10, 26, 9, 0), True),  # Mon 10:00 CET, after it
        (utc(2026, 10, 26, 8, 0), False),  # Mon 09:00 CET
        (utc(2026, 10, 26, 16, 59), True),  # Mon 17:59 CET
    ],
)
def test_is_open_follows_the_local_clock_across_dst(
    hours: BusinessHours, at: float, expected: bool
) -> None:
    assert hours.is_open(at) is expected


@pytest.mark.parametrize(
    "day",
    [date(2026, 11, 11), date(2026, 4, 6), date(2026, 12, 24), date(2026, 1, 6)],
    ids=["independence-day", "easter-monday", "christmas-eve", "epiphany"],
)
def test_polish_public_holidays_are_closed(hours: BusinessHours, day: date) -> None:
    assert day.weekday() < 5
    noon = datetime.combine(day, time(12), tzinfo=WARSAW).timestamp()
    assert hours.is_holiday(day)
    assert not hours.is_open(noon)
    assert hours.is_open(noon - 7 * 86_400)  # the same weekday a week earlier is ordinary


def test_an_ordinary_working_day_is_open(hours: BusinessHours) -> None:
    assert not hours.is_holiday(date(2026, 11, 10))
    assert hours.is_open(utc(2026, 11, 10, 11, 0))


def test_next_open_is_now_when_open(hours: BusinessHours) -> None:
    at = utc(2026, 3, 27, 12, 34, 56)
    assert hours.next_open(at) == at


def test_next_open_before_opening_is_the_same_morning(hours: BusinessHours) -> None:
    assert hours.next_open(utc(2026, 11, 10, 6, 0)) == utc(2026, 11, 10, 9, 0)


def test_next_open_over_the_spring_weekend(hours: BusinessHours) -> None:
    # Fri 18:00 CET -> Mon 10:00 CEST: 2 days 16 hours on the wall clock, one hour less.
    at = utc(2026, 3, 27, 17, 0)
    assert hours.next_open(at) == utc(2026, 3, 30, 8, 0)
    assert hours.next_open(at) - at == (2 * 24 + 15) * 3600


def test_next_open_over_the_autumn_weekend(hours: BusinessHours) -> None:
    at = utc(2026, 10, 24, 10, 0)  # Sat 12:00 CEST
    assert hours.next_open(at) == utc(2026, 10, 26, 9, 0)  # Mon 10:00 CET


def test_next_open_skips_easter_monday(hours: BusinessHours) -> None:
    at = utc(2026, 4, 3, 17, 0)  # Fri 19:00 CEST
    assert hours.next_open(at) == utc(2026, 4, 7, 8, 0)  # Tue 10:00 CEST


def test_next_open_skips_christmas(hours: BusinessHours) -> None:
    at = utc(2026, 12, 23, 17, 0)  # Wed 18:00 CET; 24, 25, 26 Dec are holidays
    assert hours.next_open(at) == utc(2026, 12, 28, 9, 0)  # Mon 10:00 CET


def test_add_business_days_keeps_the_local_time_over_the_spring_change(
    hours: BusinessHours,
) -> None:
    at = utc(2026, 3, 27, 10, 0)  # Fri 11:00 CET
    assert hours.add_business_days(at, 1) == utc(2026, 3, 30, 9, 0)  # Mon 11:00 CEST


def test_add_business_days_keeps_the_local_time_over_the_autumn_change(
    hours: BusinessHours,
) -> None:
    at = utc(2026, 10, 23, 9, 0)  # Fri 11:00 CEST
    assert hours.add_business_days(at, 1) == utc(2026, 10, 26, 10, 0)  # Mon 11:00 CET


def test_add_business_days_skips_a_holiday(hours: BusinessHours) -> None:
    at = utc(2026, 11, 10, 14, 0)  # Tue 15:00 CET; Wed 11 Nov is a holiday
    assert hours.add_business_days(at, 1) == utc(2026, 11, 12, 14, 0)
    assert hours.add_business_days(at, 3) == utc(2026, 11, 16, 14, 0)  # Thu, Fri, Mon


def test_add_business_days_out_of_hours_counts_from_the_next_opening(
    hours: BusinessHours,
) -> None:
    at = utc(2026, 3, 27, 19, 0)  # Fri 20:00 CET -> opens Mon 30 10:00 CEST
    assert hours.add_business_days(at, 0) == utc(2026, 3, 30, 8, 0)
    assert hours.add_business_days(at, 1) == utc(2026, 3, 31, 8, 0)  # Tue 10:00 CEST


def test_add_business_days_rejects_a_negative_count(hours: BusinessHours) -> None:
    with pytest.raises(ValueError, match="-1"):
        hours.add_business_days(utc(2026, 3, 27, 10, 0), -1)


def test_add_business_days_on_a_shorter_day_stops_at_its_close() -> None:
    hours = BusinessHours.from_spec("Europe/Warsaw", {"thu": "10:00-18:00", "fri": "10:00-14:00"})
    at = utc(2026, 11, 12, 15, 0)  # Thu 16:00 CET
    assert hours.add_business_days(at, 1) == utc(2026, 11, 13, 13, 0)  # Fri 14:00 CET


def test_split_hours_close_over_lunch() -> None:
    hours = BusinessHours.from_spec("Europe/Warsaw", {"mon": ["08:00-12:00", "13:00-17:00"]})
    assert hours.is_open(utc(2026, 11, 9, 10, 59))  # 11:59
    assert not hours.is_open(utc(2026, 11, 9, 11, 0))  # 12:00
    assert hours.next_open(utc(2026, 11, 9, 11, 30)) == utc(2026, 11, 9, 12, 0)  # 13:00


def test_an_opening_inside_the_spring_gap_opens_when_the_clock_jumps() -> None:
    # On 29 March 2026 Warsaw clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC):
    # 02:30 never happens, and 03:00 is already past the opening.
    hours = BusinessHours.from_spec("Europe/Warsaw", {"sun": "02:30-05:00"})
    assert hours.next_open(utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 1, 0)
    assert hours.is_open(utc(2026, 3, 29, 1, 0))
    assert not hours.is_open(utc(2026, 3, 29, 0, 59, 59))


def test_company_holidays_and_closed_dates() -> None:
    hours = BusinessHours.from_spec(
        "Europe/Warsaw", OFFICE, country="PL", extra=["12-31"], closed_dates=["2026-11-13"]
    )
    assert hours.is_holiday(date(2026, 12, 31))
    assert hours.is_holiday(date(2027, 12, 31))
    assert hours.is_holiday(date(2026, 11, 13))
    assert not hours.is_holiday(date(2027, 11, 12))
    # Thu 12 Nov 16:00 + 1 business day: Fri 13 is closed, so Mon 16 Nov.
    assert hours.add_business_days(utc(2026, 11, 12, 15, 0), 1) == utc(2026, 11, 16, 15, 0)


def test_no_country_means_no_public_holidays() -> None:
    hours = BusinessHours.from_spec("Europe/Warsaw", OFFICE)
    assert hours.is_open(utc(2026, 11, 11, 11, 0))


def test_holidays_may_be_a_plain_set() -> None:
    hours = BusinessHours("UTC", {"mon": [(time(9), time(17))]}, {date(2026, 11, 9)})
    assert not hours.is_open(utc(2026, 11, 9, 10, 0))
    assert hours.is_open(utc(2026, 11, 16, 10, 0))


def test_open_until_midnight() -> None:
    hours = BusinessHours.from_spec("UTC", {"mon": "20:00-24:00"})
    assert hours.is_open(utc(2026, 11, 9, 23, 59, 59))
    assert not hours.is_open(utc(2026, 11, 10, 0, 0))
    assert hours.describe() == "Mon 20:00–24:00"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (None, "Mon–Fri 10:00–18:00"),
        ("en", "Mon–Fri 10:00–18:00"),
        ("pl", "pon.–pt. 10:00–18:00"),
        ("ru", "пн–пт 10:00–18:00"),
        ("he", "ב׳–ו׳ 10:00–18:00"),
        ("de", "Mon–Fri 10:00–18:00"),
    ],
)
def test_describe_groups_equal_days(hours: BusinessHours, lang: str | None, expected: str) -> None:
    assert hours.describe(lang) == expected


def test_describe_lists_differing_days_and_split_hours() -> None:
    hours = BusinessHours.from_spec(
        "Europe/Warsaw",
        {
            "mon": ["08:00-12:00", "13:00-17:00"],
            "tue": ["08:00-12:00", "13:00-17:00"],
            "wed": "10:00-18:00",
            "fri": "10:00-18:00",
            "sat": "10:00-14:00",
        },
    )
    assert hours.describe() == (
        "Mon–Tue 08:00–12:00, 13:00–17:00; Wed 10:00–18:00; Fri 10:00–18:00; Sat 10:00–14:00"
    )


def test_describe_when_never_open() -> None:
    hours = BusinessHours.from_spec("Europe/Warsaw", {})
    assert hours.describe() == "closed"
    assert hours.describe("pl") == "nieczynne"
    with pytest.raises(ValueError, match="does not open"):
        hours.next_open(utc(2026, 11, 9, 10, 0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tz": "Mars/Olympus"}, "Mars/Olympus"),
        ({"spec": {"monday": "10:00-18:00"}}, "monday"),
        ({"spec": {"mon": "10-18"}}, "'10-18' is not a range"),
        ({"spec": {"mon": "18:00-10:00"}}, "ends before it starts"),
        ({"spec": {"mon": "25:00-26:00"}}, "impossible time"),
        ({"spec": {"mon": ["10:00-14:00", "13:00-18:00"]}}, "overlap"),
        ({"country": "XX"}, "'XX'"),
        ({"extra": ["02-30"]}, "'02-30'"),
        ({"closed_dates": ["next friday"]}, "'next friday'"),
    ],
)
def test_bad_specs_name_the_bad_value(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"tz": "Europe/Warsaw", "spec": OFFICE, **kwargs}
    with pytest.raises(ValueError, match=message):
        BusinessHours.from_spec(**args)  # type: ignore[arg-type]
