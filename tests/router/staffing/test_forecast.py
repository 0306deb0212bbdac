"""Reading a day's forecast CSV and staffing each interval and team."""

from __future__ import annotations

import pytest

from router.staffing import ForecastError, agents_needed, parse_forecast, staff_rows


def lines(text: str) -> list[str]:
    return text.strip().splitlines(keepends=True)


def test_rows_keep_file_order_and_normalise_times() -> None:
    rows = parse_forecast(
        lines(
            """
team,interval_start,calls,aht_s,note
billing,9:00,100,180,the example
technical, 09:30 ,42.5,240,

billing,2025-03-03T10:00:00+01:00,0,200,night
"""
        )
    )
    assert [(r.line, r.interval_start, r.team, r.calls, r.aht_s) for r in rows] == [
        (2, "09:00", "billing", 100.0, 180.0),
        (3, "09:30", "technical", 42.5, 240.0),
        (5, "2025-03-03T10:00:00+01:00", "billing", 0.0, 200.0),
    ]


def test_every_bad_line_is_named_by_its_number() -> None:
    with pytest.raises(ForecastError) as caught:
        parse_forecast(
            lines(
                """
interval_start,team,calls,aht_s
09:00,billing,100,180
25:00,billing,100,180
09:30,,100,180
10:00,billing,many,180
10:30,billing,-1,180
11:00,billing,10,0
09:00,billing,7,180
11:30,billing
"""
            )
        )
    problems = dict(caught.value.problems)
    assert set(problems) == {3, 4, 5, 6, 7, 8, 9}
    assert "'25:00' is neither HH:MM nor an ISO" in problems[3]
    assert "team is empty" in problems[4]
    assert "calls 'many' is not a number" in problems[5]
    assert "negative" in problems[6]
    assert "aht_s '0' must be more than 0" in problems[7]
    assert "billing at 09:00 is on line 2 too" in problems[8]
    assert "has 2 columns" in problems[9]
    assert str(caught.value).startswith("line 3: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("start,team,calls,aht\n09:00,billing,1,1\n", "lacks interval_start, aht_s"),
        ("interval_start,team,calls,aht_s\n", "no intervals"),
    ],
)
def test_a_file_without_intervals_is_refused(text: str, message: str) -> None:
    with pytest.raises(ForecastError, match=message):
        parse_forecast(lines(text) if text else [])


def test_each_row_gets_the_agents_its_calls_need() -> None:
    rows = parse_forecast(
        lines("interval_start,team,calls,aht_s\n09:00,billing,100,180\n09:00,technical,0,240\n")
    )
    staffed = staff_rows(rows, interval_s=1800, target=0.8, within_s=20, shrinkage=0.3)
    assert [(s.row.team, s.staffing.agents, s.staffing.scheduled) for s in staffed] == [
        ("billing", 14, 20),
        ("technical", 0, 0),
    ]
    assert staffed[0].staffing == agents_needed(100, 1800, 180, 0.8, 20, shrinkage=0.3)
