"""Outage compensation: the rules' edge cases as tables (thresholds, days, fees, periods)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from router.identity import ServiceType
from router.routing.compensation import (
    RULES,
    Compensation,
    Interruption,
    compensate,
    days_due,
    duration_text,
    monthly_fee,
    round_pln,
)

ZONE = "Europe/Warsaw"
H = 3600
UNIVERSAL, TELEPHONE, INTERNET = ServiceType.UNIVERSAL, ServiceType.TELEPHONE, ServiceType.INTERNET


def at(day: str, clock: str = "00:00:00") -> float:
    """A Warsaw wall-clock time as a timestamp."""
    local = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZoneInfo(ZONE))
    return local.timestamp()


def fees(**by_period: str) -> dict[str, Decimal]:
    """``fees(p2026_11="59.99")`` -> {"2026-11": Decimal("59.99")}."""
    return {k[1:].replace("_", "-"): Decimal(v) for k, v in by_period.items()}


def outage(seconds: float, incident: str = "inc-1", start: str = "2026-11-10") -> Interruption:
    begin = at(start, "08:00:00")
    return Interruption(incident, begin, begin + seconds)


def one(
    service: ServiceType, fee: dict[str, Decimal], *spans: Interruption, of: str = "inc-1"
) -> Compensation:
    return compensate(service, fee, spans, incident_id=of, zone=ZONE)


THREE = fees(p2026_09="45.00", p2026_10="45.00", p2026_11="45.00")
PHONE = fees(p2026_11="59.99")


# -- thresholds and days -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("service", "seconds", "days", "amount"),
    [
        # universal: nothing under 36 h in the period; from 36:00:00 each started 24 h
        (UNIVERSAL, 35 * H + 59 * 60, 0, "0.00"),
        (UNIVERSAL, 36 * H - 1, 0, "0.00"),
        (UNIVERSAL, 36 * H, 2, "6.00"),  # 2 x 45.00 / 15
        (UNIVERSAL, 48 * H, 2, "6.00"),
        (UNIVERSAL, 48 * H + 1, 3, "9.00"),
        # telephone and internet: over 12 h; 12:00:00 is not over it
        (TELEPHONE, 12 * H, 0, "0.00"),
        (TELEPHONE, 12 * H + 1, 1, "2.00"),  # 59.99 / 30 = 1.9997 -> 2.00
        (TELEPHONE, 24 * H, 1, "2.00"),
        (TELEPHONE, 24 * H + 1, 2, "4.00"),  # 3.9993 -> 4.00
        (INTERNET, 12 * H, 0, "0.00"),
        (INTERNET, 12 * H + 1, 1, "2.00"),
        (INTERNET, 72 * H, 3, "6.00"),  # 5.999 -> 6.00
    ],
    ids=lambda v: str(v),
)
def test_thresholds_and_days_of_one_incident(
    service: ServiceType, seconds: float, days: int, amount: str
) -> None:
    got = one(service, THREE if service is UNIVERSAL else PHONE, outage(seconds))
    assert (got.days, str(got.amount_pln)) == (days, amount)
    assert got.seconds == seconds
    assert got.rule == RULES[service].name


def test_a_period_below_the_threshold_says_so() -> None:
    got = one(UNIVERSAL, THREE, outage(35 * H + 59 * 60))
    assert got.to_dict()["notes"] == [
        "35:59:00 of interruption in 2026-11, under 36 h: nothing due"
    ]
    phone = one(TELEPHONE, PHONE, outage(12 * H)).to_dict()
    assert phone["notes"] == ["12:00:00 of interruption in 2026-11, not over 12 h: nothing due"]
    assert phone["duration"] == "12:00:00" and phone["hours"] == 12.0


@pytest.mark.parametrize(
    ("seconds", "days"),
    [(0, 0), (1, 0), (12 * H, 0), (12 * H + 1, 1), (24 * H, 1), (24 * H + 0.0004, 1)],
)
def test_days_are_started_24_hours_above_the_threshold(seconds: float, days: int) -> None:
    assert days_due(RULES[INTERNET], seconds) == days


# -- the fee -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("service", "fee", "expected", "periods"),
    [
        # the last three periods at or before the interrupted one, averaged
        (UNIVERSAL, THREE, "45.00", ["2026-11", "2026-10", "2026-09"]),
        (
            UNIVERSAL,
            fees(p2026_08="10", p2026_09="20", p2026_10="30", p2026_11="40"),
            "30.00",
            ["2026-11", "2026-10", "2026-09"],
        ),
        # fewer than three billing periods: the average of those there are
        (UNIVERSAL, fees(p2026_10="40.00", p2026_11="50.00"), "45.00", ["2026-11", "2026-10"]),
        (UNIVERSAL, fees(p2026_11="50.00"), "50.00", ["2026-11"]),
        # at most 12 months back: 2025-11 counts for 2026-11, 2025-10 does not
        (UNIVERSAL, fees(p2025_10="300.00", p2025_11="30.00"), "30.00", ["2025-11"]),
        (UNIVERSAL, fees(p2025_10="300.00"), None, []),
        # a later period's bill does not count
        (UNIVERSAL, fees(p2026_11="30.00", p2026_12="999.00"), "30.00", ["2026-11"]),
        # telephone / internet: the period's own fee, else the latest before it
        (TELEPHONE, fees(p2026_10="30.00", p2026_11="60.00"), "60.00", ["2026-11"]),
        (TELEPHONE, fees(p2026_09="30.00", p2026_10="45.00"), "45.00", ["2026-10"]),
        (INTERNET, fees(p2025_11="45.00"), "45.00", ["2025-11"]),
        (INTERNET, fees(p2025_10="45.00"), None, []),
        (INTERNET, {}, None, []),
    ],
)
def test_the_fee_the_days_are_paid_at(
    service: ServiceType, fee: dict[str, Decimal], expected: str | None, periods: list[str]
) -> None:
    got, used = monthly_fee(RULES[service], fee, "2026-11")
    assert (None if got is None else str(round_pln(got))) == expected
    assert list(used) == periods


def test_fewer_than_three_periods_pay_at_their_average() -> None:
    got = one(UNIVERSAL, fees(p2026_10="40.00", p2026_11="50.00"), outage(36 * H))
    assert (got.days, str(got.amount_pln)) == (2, "6.00")  # 2 x 45 / 15
    assert got.periods[0].fee_periods == ("2026-11", "2026-10")


def test_fees_older_than_12_months_are_ignored() -> None:
    got = one(UNIVERSAL, fees(p2025_10="300.00", p2025_11="30.00"), outage(36 * H))
    assert (got.days, str(got.amount_pln)) == (2, "4.00")  # 2 x 30 / 15, not 2 x 165 / 15
    none = one(INTERNET, fees(p2025_10="45.00"), outage(13 * H))
    assert (none.days, str(none.amount_pln)) == (1, "0.00")
    assert none.to_dict()["notes"] == [
        "no internet fee on record for 2026-11 or the 12 months before it; add the "
        "account's fees to compute the amount"
    ]


@pytest.mark.parametrize(
    ("fee", "days", "divisor_service", "amount"),
    [
        ("1.35", 1, INTERNET, "0.05"),  # 0.045 rounds half-up, not to even (0.04)
        ("1.05", 1, INTERNET, "0.04"),  # 0.035 -> 0.04
        ("0.29", 1, INTERNET, "0.01"),  # 0.00966 -> 0.01
        ("0.14", 1, INTERNET, "0.00"),  # 0.00466 -> 0.00
    ],
)
def test_amounts_round_half_up_to_the_grosz(
    fee: str, days: int, divisor_service: ServiceType, amount: str
) -> None:
    got = one(divisor_service, {"2026-11": Decimal(fee)}, outage(days * 24 * H))
    assert str(got.amount_pln) == amount


def test_the_universal_average_stays_exact_until_the_amount() -> None:
    # (10.00 + 10.00 + 10.01) / 3 = 10.00333...; x 2 / 15 = 1.33377... -> 1.33
    got = one(UNIVERSAL, fees(p2026_09="10.00", p2026_10="10.00", p2026_11="10.01"), outage(36 * H))
    assert str(got.amount_pln) == "1.33"
    assert got.to_dict()["periods"][0]["fee_pln"] == "10.00"


# -- several incidents -------------------------------------------------------------------------
def test_several_incidents_in_one_period_are_summed() -> None:
    a = outage(7 * H, "inc-a", "2026-11-03")
    b = outage(7 * H, "inc-b", "2026-11-17")
    first, second = (one(INTERNET, PHONE, a, b, of=i) for i in ("inc-a", "inc-b"))
    # 7 h is not over 12 h; with the second incident the month has 14 h: one day, due to it
    assert (first.days, str(first.amount_pln)) == (0, "0.00")
    assert (second.days, str(second.amount_pln)) == (1, "2.00")
    assert second.periods[0].seconds == 7 * H and second.periods[0].period_seconds == 14 * H


def test_universal_incidents_share_the_36_hours_and_add_up() -> None:
    spans = [outage(20 * H, f"inc-{n}", f"2026-11-{n:02d}") for n in (2, 9, 16)]
    shares = [one(UNIVERSAL, THREE, *spans, of=f"inc-{n}") for n in (2, 9, 16)]
    # 20 h, then 40 h (2 days), then 60 h (3 days): 0 + 2 + 1 days
    assert [s.days for s in shares] == [0, 2, 1]
    assert [str(s.amount_pln) for s in shares] == ["0.00", "6.00", "3.00"]
    alone = one(UNIVERSAL, THREE, Interruption("inc-1", spans[0].start, spans[0].start + 60 * H))
    assert sum(s.amount_pln for s in shares) == alone.amount_pln == Decimal("9.00")


def test_later_incidents_do_not_change_an_earlier_ones_share() -> None:
    a = outage(13 * H, "inc-a", "2026-11-03")
    b = outage(30 * H, "inc-b", "2026-11-20")
    assert one(INTERNET, PHONE, a, of="inc-a") == one(INTERNET, PHONE, a, b, of="inc-a")


def test_overlapping_incidents_count_the_shared_time_once() -> None:
    a = Interruption("inc-a", at("2026-11-10", "10:00:00"), at("2026-11-10", "22:00:00"))
    b = Interruption("inc-b", at("2026-11-10", "20:00:00"), at("2026-11-11", "02:00:00"))
    got = one(INTERNET, PHONE, a, b, of="inc-b")
    assert got.periods[0].seconds == 4 * H  # 20:00-22:00 was already down
    assert got.periods[0].period_seconds == 16 * H
    assert (got.days, str(got.amount_pln)) == (1, "2.00")
    assert one(INTERNET, PHONE, a, b, of="inc-a").days == 0  # 12:00:00 is not over 12 h


def test_other_accounts_incidents_in_other_periods_do_not_count() -> None:
    october = outage(30 * H, "inc-a", "2026-10-05")
    november = outage(7 * H, "inc-b", "2026-11-05")
    assert one(INTERNET, PHONE, october, november, of="inc-b").days == 0


# -- an incident across two billing periods ----------------------------------------------------
def test_an_incident_across_two_periods_is_judged_in_each() -> None:
    # 31 Oct 20:00 -> 1 Nov 14:00 Warsaw: 4 h in October, 14 h in November
    span = Interruption("inc-1", at("2026-10-31", "20:00:00"), at("2026-11-01", "14:00:00"))
    phone = one(TELEPHONE, fees(p2026_10="30.00", p2026_11="60.00"), span)
    assert [(p.period, p.seconds, p.days, str(p.amount_pln)) for p in phone.periods] == [
        ("2026-10", 4 * H, 0, "0.00"),
        ("2026-11", 14 * H, 1, "2.00"),  # at November's fee: 60 / 30
    ]
    assert (phone.seconds, phone.days, str(phone.amount_pln)) == (18 * H, 1, "2.00")


def test_a_long_incident_across_two_periods_under_36_hours_in_each_pays_nothing_universal() -> None:
    span = Interruption("inc-1", at("2026-10-31", "00:00:00"), at("2026-11-01", "20:00:00"))
    got = one(UNIVERSAL, THREE, span)
    assert [(p.period, p.seconds) for p in got.periods] == [
        ("2026-10", 24 * H),
        ("2026-11", 20 * H),
    ]
    assert (got.days, str(got.amount_pln)) == (0, "0.00")  # 44 h in all, never 36 in one


def test_an_incident_ending_at_midnight_of_the_first_stays_in_its_month() -> None:
    span = Interruption("inc-1", at("2026-10-31", "06:00:00"), at("2026-11-01", "00:00:00"))
    got = one(INTERNET, fees(p2026_10="30.00"), span)
    assert [p.period for p in got.periods] == ["2026-10"]
    assert (got.days, str(got.amount_pln)) == (1, "1.00")


def test_periods_are_local_months_across_a_clock_change() -> None:
    # 25 Oct 2026 02:00 CEST -> 01:00 CET... the day has 25 hours; an outage of that whole
    # local day is 25 real hours: over 24, so two started days
    span = Interruption("inc-1", at("2026-10-25"), at("2026-10-26"))
    got = one(INTERNET, fees(p2026_10="30.00"), span)
    assert got.seconds == 25 * H and got.days == 2


def test_an_incident_the_account_was_not_in_is_due_nothing() -> None:
    got = one(INTERNET, PHONE, outage(30 * H, "inc-a"), of="inc-other")
    assert got.periods == () and got.days == 0 and str(got.amount_pln) == "0.00"


def test_duration_text_shows_hours_past_a_day() -> None:
    assert duration_text(36 * H + 61) == "36:01:01"
    assert duration_text(0) == "0:00:00"
