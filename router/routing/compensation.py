"""Outage compensation under Polish telecom law: pure arithmetic on interruptions and fees.

The rules (DOMAIN.md "Outages"; Prawo telekomunikacyjne, art. 105):

- **universal** service: 1/15 of the average monthly fee of the last three billing periods
  (at most 12 months back) for each day of interruption, nothing when the interruptions in
  the billing period total under 36 hours;
- **telephone** (subscription) service interrupted over 12 hours: 1/30 of the monthly fee
  for each day;
- **internet** service: likewise, 1/30 over 12 hours.

How this module reads them (the README's "Outage compensation" says the same):

- A **billing period** is a calendar month in the operator's time zone (``YYYY-MM``). An
  interruption across a period boundary is split there; each period is judged on its own.
- The interruptions of one account in one period are **merged and summed** (two incidents
  at the same time count once), and both thresholds apply to that total: "in the billing
  period total" says so for the universal service, and for telephone and internet
  "interrupted over 12 hours" is read the same way, per period, so that two 7-hour
  outages in a month are 14 hours of interruption, not two short ones.
- **Days**: each started 24 hours of the period's total is one day, ``ceil(total / 24 h)``
  ("za każdy dzień przerwy" read as each started day, "za każdą rozpoczętą dobę"). Whole
  days only (floor) would pay nothing for 13 hours, which makes the 12-hour threshold
  meaningless; calendar days touched would make a 10-minute outage at midnight two days.
- **Thresholds**: universal pays from exactly 36:00:00 ("nothing ... under 36 hours");
  telephone and internet pay from 12:00:00 plus any time ("over 12 hours"): 12:00:00 pays
  nothing, 12:00:01 one day.
- **Fees**: universal takes the average of the (up to) three latest billing periods with a
  fee on record, at or before the interrupted period and at most 12 months before it
  (2025-11 counts for an outage in 2026-11, 2025-10 does not); fewer than three on record:
  the average of those there are. Telephone and internet take the fee of the interrupted
  period, else the latest one before it within those 12 months (the bill may not be out).
- **Amounts** are exact until the end, then rounded half-up to the grosz once per period.
- **An incident's share**: an account's interruptions in a period are taken in order of
  start; an incident is due what the period's total with it is due minus what the total
  before it was. The shares of a period's incidents add up to what the period is due, and an
  incident that crosses a threshold is due the days that crossing brought.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from router.identity import ServiceType, period_bounds, period_index, period_name, period_of

__all__ = [
    "DAY_S",
    "FEE_WINDOW_MONTHS",
    "RULES",
    "Compensation",
    "Interruption",
    "PeriodShare",
    "Rule",
    "compensate",
    "days_due",
    "duration_text",
    "monthly_fee",
    "round_pln",
]

DAY_S = 86400
HOUR_S = 3600
#: How far back a fee may be: the interrupted period and the 12 before it.
FEE_WINDOW_MONTHS = 12
_GROSZ = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Rule:
    """One service type's rule: ``1/divisor`` of the fee per day, from ``min_s`` of
    interruption in a period (``over``: strictly more than ``min_s``)."""

    name: str
    divisor: int
    min_s: int
    over: bool
    average_of: int  # billing periods averaged for the fee

    def pays(self, seconds: float) -> bool:
        return seconds > self.min_s if self.over else seconds >= self.min_s


RULES: Mapping[ServiceType, Rule] = {
    ServiceType.UNIVERSAL: Rule("universal-1/15", 15, 36 * HOUR_S, over=False, average_of=3),
    ServiceType.TELEPHONE: Rule("telephone-1/30", 30, 12 * HOUR_S, over=True, average_of=1),
    ServiceType.INTERNET: Rule("internet-1/30", 30, 12 * HOUR_S, over=True, average_of=1),
}


@dataclass(frozen=True, slots=True)
class Interruption:
    """An account's service was down from ``start`` to ``end`` (timestamps) in an incident."""

    incident_id: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class PeriodShare:
    """An incident's share of one billing period."""

    period: str
    seconds: float  # the interruption this incident added to the period
    period_seconds: float  # the period's total up to and including this incident
    days: int  # the days this incident made due
    fee_pln: Decimal | None  # the monthly fee (universal: the average) the days are paid at
    fee_periods: tuple[str, ...]  # the periods that fee comes from
    amount_pln: Decimal
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "hours": hours(self.seconds),
            "period_hours": hours(self.period_seconds),
            "days": self.days,
            "fee_pln": None if self.fee_pln is None else str(round_pln(self.fee_pln)),
            "fee_periods": list(self.fee_periods),
            "amount_pln": str(self.amount_pln),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Compensation:
    """What one incident makes due for one service type of one account."""

    service: ServiceType
    rule: str
    periods: tuple[PeriodShare, ...]

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.periods)

    @property
    def days(self) -> int:
        return sum(p.days for p in self.periods)

    @property
    def amount_pln(self) -> Decimal:
        return sum((p.amount_pln for p in self.periods), Decimal("0.00"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": str(self.service),
            "rule": self.rule,
            "hours": hours(self.seconds),
            "duration": duration_text(self.seconds),
            "days": self.days,
            "amount_pln": str(self.amount_pln),
            "periods": [p.to_dict() for p in self.periods],
            "notes": [p.note for p in self.periods if p.note],
        }


def round_pln(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to the grosz."""
    return amount.quantize(_GROSZ, rounding=ROUND_HALF_UP)


def hours(seconds: float) -> float:
    return round(seconds / HOUR_S, 2)


def duration_text(seconds: float) -> str:
    """``H:MM:SS`` (hours may exceed 24), whole seconds."""
    whole = round(seconds)
    return f"{whole // HOUR_S}:{whole % HOUR_S // 60:02d}:{whole % 60:02d}"


def days_due(rule: Rule, seconds: float) -> int:
    """The days a period's total interruption is paid for: each started 24 h, or none
    below the rule's threshold."""
    seconds = round(seconds, 3)  # float sums of timestamps: no day from a microsecond's noise
    return math.ceil(seconds / DAY_S) if rule.pays(seconds) else 0


def monthly_fee(
    rule: Rule, fees: Mapping[str, Decimal], period: str
) -> tuple[Decimal | None, tuple[str, ...]]:
    """The fee the rule pays days at for ``period`` and the periods it comes from: the
    average of the latest ``rule.average_of`` periods on record at or before ``period``
    and at most ``FEE_WINDOW_MONTHS`` before it (None when there is none)."""
    last = period_index(period)
    window = [p for p in fees if _is_period(p) and 0 <= last - period_index(p) <= FEE_WINDOW_MONTHS]
    used = tuple(sorted(window, key=period_index, reverse=True)[: rule.average_of])
    if not used:
        return None, ()
    return sum((fees[p] for p in used), Decimal(0)) / len(used), used


def _is_period(name: str) -> bool:
    try:
        period_index(name)
    except ValueError:
        return False
    return True


def _merged_s(spans: Iterable[tuple[float, float]]) -> float:
    """The length of the union of ``spans``."""
    total, reach = 0.0, -math.inf
    for start, end in sorted(spans):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def _clipped(spans: Iterable[Interruption], start: float, end: float) -> list[tuple[float, float]]:
    inside = [i for i in spans if i.start < end and start < i.end]
    return [(max(i.start, start), min(i.end, end)) for i in inside]


def _periods(spans: Iterable[Interruption], zone: str) -> list[str]:
    found: set[int] = set()
    for span in spans:
        if span.end <= span.start:
            continue
        first = period_index(period_of(span.start, zone))
        last = period_index(period_of(span.end, zone))
        if period_bounds(period_name(last), zone)[0] >= span.end:
            last -= 1  # the end is exclusive: ending at midnight of the 1st is not in that month
        found.update(range(first, last + 1))
    return [period_name(i) for i in sorted(found)]


def compensate(
    service: ServiceType,
    fees: Mapping[str, Decimal],
    interruptions: Iterable[Interruption],
    *,
    incident_id: str,
    zone: str,
) -> Compensation:
    """What incident ``incident_id`` makes due for ``service`` of an account whose fees for
    that service are ``fees`` (billing period -> PLN) and whose known interruptions are
    ``interruptions`` (that incident's, and others that count towards the same periods)."""
    rule = RULES[service]
    spans = [i for i in interruptions if i.end > i.start]
    own = [i for i in spans if i.incident_id == incident_id]
    first = min(((i.start, i.incident_id) for i in own), default=None)
    earlier = [i for i in spans if first is not None and (i.start, i.incident_id) < first]
    earlier = [i for i in earlier if i.incident_id != incident_id]
    shares = [
        _share(rule, service, fees, period, own, earlier, zone) for period in _periods(own, zone)
    ]
    return Compensation(service, rule.name, tuple(shares))


def _share(
    rule: Rule,
    service: ServiceType,
    fees: Mapping[str, Decimal],
    period: str,
    own: list[Interruption],
    earlier: list[Interruption],
    zone: str,
) -> PeriodShare:
    start, end = period_bounds(period, zone)
    before_s = _merged_s(_clipped(earlier, start, end))
    with_s = _merged_s(_clipped([*earlier, *own], start, end))
    days_before, days_with = days_due(rule, before_s), days_due(rule, with_s)
    fee, used = monthly_fee(rule, fees, period)
    note = None
    if days_with == 0:
        threshold = "under 36 h" if not rule.over else "not over 12 h"
        note = f"{duration_text(with_s)} of interruption in {period}, {threshold}: nothing due"
    if fee is None:
        amount = Decimal("0.00")
        if days_with > days_before:
            note = (
                f"no {service} fee on record for {period} or the {FEE_WINDOW_MONTHS} months "
                "before it; add the account's fees to compute the amount"
            )
    else:
        amount = _amount(rule, fee, days_with) - _amount(rule, fee, days_before)
    return PeriodShare(
        period=period,
        seconds=with_s - before_s,
        period_seconds=with_s,
        days=days_with - days_before,
        fee_pln=fee,
        fee_periods=used,
        amount_pln=amount,
        note=note,
    )


def _amount(rule: Rule, fee: Decimal, days: int) -> Decimal:
    return round_pln(fee * days / rule.divisor)
