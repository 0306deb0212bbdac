"""What an account pays, for outage compensation: its service types and its monthly fees by
billing period.

A billing period is a calendar month in the operator's time zone, written ``YYYY-MM``. An
account's fees are what it was billed per period and service type (a bill history, not a
tariff): ``{"internet": {"2026-10": "59.99", "2026-11": "59.99"}}`` in JSON; in a CSV cell or
on the command line ``internet:2026-10=59.99;internet:2026-11=59.99``.

The service types the compensation rules know are ``universal`` (the universal service),
``telephone`` and ``internet``. An account that does not name its types gets those its
``services`` imply (``internet-300`` is internet, ``voip-home`` is telephone; a domain or a
server is none of them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from zoneinfo import ZoneInfo

from router.errors import AccountError

__all__ = [
    "DEMO_MONTHLY_FEES",
    "MonthlyFee",
    "ServiceType",
    "demo_fees",
    "fee_table",
    "fees_record",
    "parse_fees",
    "parse_service_types",
    "period_bounds",
    "period_index",
    "period_name",
    "period_of",
    "service_types_of",
]

_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_GROSZ = Decimal("0.01")


class ServiceType(StrEnum):
    """A kind of service the compensation rules treat differently."""

    UNIVERSAL = "universal"
    TELEPHONE = "telephone"
    INTERNET = "internet"


#: The first word of a ``services`` entry (before ``-``, ``_`` or a space) -> its type.
_IMPLIED = {
    "internet": ServiceType.INTERNET,
    "fibre": ServiceType.INTERNET,
    "fiber": ServiceType.INTERNET,
    "dsl": ServiceType.INTERNET,
    "adsl": ServiceType.INTERNET,
    "vdsl": ServiceType.INTERNET,
    "lte": ServiceType.INTERNET,
    "phone": ServiceType.TELEPHONE,
    "telephone": ServiceType.TELEPHONE,
    "telefon": ServiceType.TELEPHONE,
    "voip": ServiceType.TELEPHONE,
    "universal": ServiceType.UNIVERSAL,
}

#: Monthly fees (PLN) of the demo accounts, billed for the last three periods at start.
DEMO_MONTHLY_FEES: dict[str, dict[str, str]] = {
    "jan.kowalski": {"internet": "59.99"},
    "anna.dluzna": {"internet": "39.99"},
}


@dataclass(frozen=True, slots=True, order=True)
class MonthlyFee:
    """What an account was billed for one service type in one billing period."""

    service: ServiceType
    period: str  # YYYY-MM
    amount: Decimal


# -- billing periods ---------------------------------------------------------------------------
def period_of(at: float, zone: str) -> str:
    """The billing period (``YYYY-MM``, local to ``zone``) that holds time ``at``."""
    local = datetime.fromtimestamp(at, ZoneInfo(zone))
    return f"{local.year:04d}-{local.month:02d}"


def period_index(period: str) -> int:
    """Months since year 0: consecutive periods differ by one."""
    found = _PERIOD.fullmatch(period)
    if found is None:
        raise ValueError(f"billing period {period!r} is not YYYY-MM")
    return int(found[1]) * 12 + int(found[2]) - 1


def period_name(index: int) -> str:
    """The inverse of ``period_index``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def period_bounds(period: str, zone: str) -> tuple[float, float]:
    """Start (local midnight of the 1st) and end (the next period's start) as timestamps."""
    tz = ZoneInfo(zone)
    first = period_index(period)

    def start(index: int) -> float:
        return datetime(index // 12, index % 12 + 1, 1, tzinfo=tz).timestamp()

    return start(first), start(first + 1)


# -- parsing -----------------------------------------------------------------------------------
def service_types_of(services: Iterable[str]) -> tuple[ServiceType, ...]:
    """The service types an account's ``services`` entries imply, in rule order."""
    found = set()
    for entry in services:
        first = re.split(r"[-_ ]", str(entry).strip().lower(), maxsplit=1)[0]
        if first in _IMPLIED:
            found.add(_IMPLIED[first])
    return tuple(t for t in ServiceType if t in found)


def parse_service_types(value: object, login: str) -> tuple[ServiceType, ...]:
    """Service types from a list or a ``;``- or ``,``-separated string."""
    items = re.split(r"[;,]", value) if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        raise AccountError(f"service types {value!r} of login {login!r} are not a list")
    found = set()
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        try:
            found.add(ServiceType(name))
        except ValueError:
            raise AccountError(
                f"service type {name!r} of login {login!r} is not known; use "
                f"{', '.join(ServiceType)}"
            ) from None
    return tuple(t for t in ServiceType if t in found)


def _fee(service: object, period: object, amount: object, login: str) -> MonthlyFee:
    where = f"the fee {service}:{period}={amount} of login {login!r}"
    try:
        kind = ServiceType(str(service).strip().lower())
    except ValueError:
        raise AccountError(
            f"{where} names no known service type; use {', '.join(ServiceType)}"
        ) from None
    name = str(period).strip()
    if _PERIOD.fullmatch(name) is None:
        raise AccountError(f"{where} has no billing period YYYY-MM (e.g. 2026-11)")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or value != value.quantize(_GROSZ):
        raise AccountError(f"{where} is not an amount in PLN; write it like 59.99")
    return MonthlyFee(kind, name, value.quantize(_GROSZ))


def parse_fees(value: object, login: str) -> tuple[MonthlyFee, ...]:
    """Fees from JSON (``{service: {period: amount}}``), a string or strings of
    ``service:YYYY-MM=amount`` (``;``-separated), or ``MonthlyFee`` records; sorted, one per
    service and period (a later one wins)."""
    found: dict[tuple[ServiceType, str], MonthlyFee] = {}
    if isinstance(value, Mapping):
        for service, periods in value.items():
            if not isinstance(periods, Mapping):
                raise AccountError(
                    f"the fees of {service!r} of login {login!r} are not a mapping of "
                    "billing period to amount"
                )
            for period, amount in periods.items():
                fee = _fee(service, period, amount, login)
                found[fee.service, fee.period] = fee
        return tuple(sorted(found.values()))
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        raise AccountError(f"fees {value!r} of login {login!r} are not a list")
    for item in items:
        if isinstance(item, MonthlyFee):
            found[item.service, item.period] = item
            continue
        for part in str(item).split(";"):
            if not part.strip():
                continue
            service, _, rest = part.partition(":")
            period, _, amount = rest.partition("=")
            fee = _fee(service, period, amount, login)
            found[fee.service, fee.period] = fee
    return tuple(sorted(found.values()))


def fees_record(fees: Iterable[MonthlyFee]) -> dict[str, dict[str, str]]:
    """Fees as JSON: ``{service: {period: "59.99"}}``."""
    record: dict[str, dict[str, str]] = {}
    for fee in sorted(fees):
        record.setdefault(str(fee.service), {})[fee.period] = str(fee.amount)
    return record


def fee_table(fees: Iterable[MonthlyFee]) -> dict[ServiceType, dict[str, Decimal]]:
    """Fees by service type, then billing period."""
    table: dict[ServiceType, dict[str, Decimal]] = {}
    for fee in fees:
        table.setdefault(fee.service, {})[fee.period] = fee.amount
    return table


def demo_fees(
    monthly: Mapping[str, str], *, now: float, zone: str, periods: int = 3
) -> tuple[MonthlyFee, ...]:
    """``monthly`` (service type -> fee) billed for the ``periods`` billing periods up to the
    one holding ``now``: a demo account's bill history, recent whenever the demo starts."""
    last = period_index(period_of(now, zone))
    return parse_fees(
        [
            f"{service}:{period_name(index)}={amount}"
            for service, amount in monthly.items()
            for index in range(last - periods + 1, last + 1)
        ],
        "demo",
    )
