"""The hour-of-week profile and the two spike tests, pure."""

from __future__ import annotations

import pytest

from router.outages.profile import HOURS, Profile, cell_of, rate_windows, rolled
from router.outages.spikes import MIN_COUNT, rate_spike, topic_share, topic_spike
from tests.router.outages.quiet import MONDAY, ZONE


def test_cells_are_hours_of_the_week_on_the_desks_clock() -> None:
    assert cell_of(MONDAY, ZONE) == 0  # Monday 00:00 in Warsaw
    assert cell_of(MONDAY + 9 * 3600, ZONE) == 9
    assert cell_of(MONDAY + 6 * 86400 + 23 * 3600, ZONE) == HOURS - 1


def test_a_new_profile_starts_at_the_first_busy_hour() -> None:
    hourly = {MONDAY + 8 * 3600: 3, MONDAY + 10 * 3600: 5}
    profile = rolled(Profile(), hourly, MONDAY + 12 * 3600, ZONE)
    assert profile.upto == MONDAY + 12 * 3600
    assert profile.hours[7] == 0 and profile.hours[8] == 1 and profile.hours[11] == 1
    assert profile.counts[8] == 3 and profile.counts[9] == 0 and profile.counts[10] == 5


def test_old_weeks_weigh_less() -> None:
    profile = Profile()
    for week in range(3):
        profile = profile.add(9, 100 if week == 0 else 10)
    # 100 * 0.75^2 + 10 * 0.75 + 10 over 0.75^2 + 0.75 + 1 hours
    assert profile.counts[9] == pytest.approx(100 * 0.5625 + 7.5 + 10)
    assert profile.hours[9] == pytest.approx(2.3125)


def test_the_posterior_learns_the_hour_and_borrows_from_its_siblings() -> None:
    profile = Profile()
    for _ in range(8):
        profile = profile.add(9, 40)  # Monday 9:00, eight weeks of 40
    shape, rate = profile.posterior(9, prior_per_hour=10.0)
    assert shape / rate == pytest.approx(40, rel=0.05)
    # Tuesday 9:00 was never seen: it borrows Monday's 9:00, with little confidence.
    shape_tue, rate_tue = profile.posterior(24 + 9, prior_per_hour=10.0)
    assert shape_tue / rate_tue == pytest.approx(40, rel=0.2) and rate_tue < 1
    # An hour of the day never seen at all is assumed as busy as the busiest, unsure.
    shape_3, rate_3 = profile.posterior(3, prior_per_hour=10.0)
    assert shape_3 / rate_3 >= 40 * 0.95 and rate_3 < 0.1


def test_a_new_desk_is_judged_by_the_prior_and_forgives_a_lot() -> None:
    shape, rate = Profile().posterior(9, prior_per_hour=10.0)
    assert shape / rate == pytest.approx(10.0)
    windows = [(12, 3 / 60, (shape, rate))]  # 12 in three minutes against 10 an hour
    assert rate_spike(windows) is None
    assert rate_spike([(40, 3 / 60, (shape, rate))]) is not None


def test_windows_count_whole_minutes_and_the_current_part() -> None:
    profile = Profile()
    now = MONDAY + 9 * 3600 + 30 * 60 + 15  # 09:30:15
    per_minute = {now // 60 * 60: 2, now // 60 * 60 - 60: 3, now // 60 * 60 - 600: 7}
    found = rate_windows(
        profile, per_minute, now, widths_min=(3, 10, 30), zone=ZONE, prior_per_hour=10.0
    )
    assert [(n, round(e * 3600)) for n, e, _ in found] == [(5, 135), (5, 555), (12, 1755)]


def test_a_window_reaching_into_a_busier_hour_is_judged_by_it() -> None:
    profile = Profile()
    for _ in range(8):
        profile = profile.add(19, 120).add(20, 6)  # busy until 20:00, quiet after
    now = MONDAY + 20 * 3600 + 5 * 60  # 20:05: the last 30 minutes reach 19:36
    [(_, _, short), (_, _, long)] = rate_windows(
        profile, {}, now, widths_min=(3, 30), zone=ZONE, prior_per_hour=10.0
    )
    assert short[0] / short[1] == pytest.approx(6, rel=0.2)
    assert long[0] / long[1] == pytest.approx(120, rel=0.1)


def test_a_rate_spike_needs_the_minimum_count_and_a_tiny_p_value() -> None:
    sure = (1e6 * 5, 1e6)  # 5 an hour, known for certain
    assert rate_spike([(MIN_COUNT - 1, 0.05, sure)]) is None
    spike = rate_spike([(12, 0.05, sure), (13, 0.5, sure)])
    assert spike is not None and spike.count == 12 and spike.window_s == 180
    assert spike.expected == pytest.approx(0.25) and spike.p_value < 1e-12


def test_the_topic_share_leaves_the_window_out_and_starts_from_the_prior() -> None:
    assert topic_share(0, 0, 0, 0) == pytest.approx(0.1)
    assert topic_share(12, 100, 12, 12) == pytest.approx(1 / 98)  # the burst is not usual
    assert topic_share(300, 1000, 3, 10) == pytest.approx(298 / 1000)


def test_a_topic_crowding_out_the_others_is_a_spike() -> None:
    # 7 of 7 first messages about a topic nobody wrote about before.
    spike = topic_spike(7, 7, 7, 7)
    assert spike is not None and spike.count == 7 and spike.expected == pytest.approx(0.7)
    # A common topic (a third of the days' messages) at its usual share is not.
    assert topic_spike(5, 15, 1000, 3000) is None
    # Nor is a rare one seen less than MIN_COUNT times.
    assert topic_spike(MIN_COUNT - 1, MIN_COUNT - 1, 0, 0) is None
