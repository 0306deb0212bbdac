"""Routing policy: priority delays, SLA due times, incidents, wait estimates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise

import pytest

from queues.models import Channel, Contact
from router.routing.hours import BusinessHours
from router.routing.policy import (
    Incident,
    Incidents,
    PriorityRules,
    SlaRules,
    UnknownIncident,
    estimate_wait_s,
    negative_balance_offer,
    round_wait_min,
)

# The shipped default (config.yaml).
PRIORITY = PriorityRules(
    channel={"voice": 120, "chat": 90, "telegram": 60, "sms": 60, "email": 0},
    tier={"residential": 0, "business": 300},
    incident=60,
    complaint=0,
)
SLA = SlaRules(
    answer={"voice": (20, 0.8), "chat": (20, 0.8), "sms": (3600, 0.8)},
    first_response_business_days={"email": 1, "telegram": 1},
    complaint_business_days=14,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> float:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC).timestamp()


@pytest.fixture
def hours() -> BusinessHours:
    office = {day: "10:00-18:00" for day in ("mon", "tue", "wed", "thu", "fri")}
    return BusinessHours.from_spec("Europe/Warsaw", office, country="PL")


# -- priority ----------------------------------------------------------------------------
def test_priority_sums_channel_tier_and_incident() -> None:
    delay = PRIORITY.priority_delay("voice", tier="business", incident_open=True)
    assert delay == 120 + 300 + 60


@pytest.mark.parametrize(
    ("channel", "kwargs", "expected"),
    [
        ("email", {}, 0),
        ("chat", {"tier": "residential"}, 90),
        ("telegram", {"tier": "gold"}, 60),  # unknown tier adds nothing
        ("sms", {"tier": None, "incident_open": True}, 120),
        ("carrier-pigeon", {}, 0),
    ],
)
def test_priority_delay_per_channel(channel: str, kwargs: dict[str, object], expected: int) -> None:
    assert PRIORITY.priority_delay(channel, **kwargs) == expected  # type: ignore[arg-type]


def test_complaint_delay_is_added() -> None:
    rules = PriorityRules(channel={"email": 0}, tier={}, incident=60, complaint=45)
    assert rules.priority_delay("email", complaint=True) == 45


def test_priority_ages_low_priority_contacts_without_starving_them() -> None:
    def queued(channel: Channel, at: float, **kw: object) -> Contact:
        delay = PRIORITY.priority_delay(str(channel), **kw)  # type: ignore[arg-type]
        return Contact(channel, "addr", created_at=at, queued_at=at, priority=delay)

    email = queued(Channel.EMAIL, 1000.0)
    voice_soon = queued(Channel.VOICE, 1100.0)  # 100 s later but 120 s of priority
    voice_late = queued(Channel.VOICE, 1130.0)  # 130 s later: the email has aged past it
    business = queued(Channel.EMAIL, 1250.0, tier="business")
    order = sorted([email, voice_soon, voice_late, business], key=lambda c: c.score or 0.0)
    assert order == [business, voice_soon, email, voice_late]


# -- SLA ---------------------------------------------------------------------------------
def test_voice_and_chat_are_due_threshold_seconds_after_arrival(hours: BusinessHours) -> None:
    at = utc(2026, 11, 10, 11, 0)  # Tue 12:00 CET
    assert SLA.sla_due("voice", at=at, hours=hours) == at + 20
    assert SLA.sla_due("chat", at=at, hours=hours) == at + 20
    assert SLA.sla_due("sms", at=at, hours=hours) == at + 3600


def test_out_of_hours_answer_sla_starts_at_the_opening(hours: BusinessHours) -> None:
    at = utc(2026, 11, 10, 20, 0)  # Tue 21:00 CET
    assert SLA.sla_due("voice", at=at, hours=hours) == utc(2026, 11, 12, 9, 0, 20)  # 11th shut


@pytest.mark.parametrize("channel", ["email", "telegram"])
def test_email_and_telegram_are_due_one_business_day_later(
    hours: BusinessHours, channel: str
) -> None:
    at = utc(2026, 3, 27, 19, 0)  # Fri 20:00 CET: counts from Mon 10:00 CEST
    assert SLA.sla_due(channel, at=at, hours=hours) == utc(2026, 3, 31, 8, 0)  # Tue 10:00


def test_complaints_are_due_in_fourteen_business_days(hours: BusinessHours) -> None:
    at = utc(2026, 11, 2, 9, 0)  # Mon 2 Nov 10:00 CET; Wed 11 Nov is a holiday
    due = utc(2026, 11, 23, 9, 0)  # Mon 23 Nov 10:00 CET
    assert SLA.sla_due("voice", at=at, hours=hours, complaint=True) == due
    assert SLA.sla_due("email", at=at, hours=hours, complaint=True) == due


def test_no_sla_for_a_channel_without_rules(hours: BusinessHours) -> None:
    assert SLA.sla_due("fax", at=utc(2026, 11, 10, 11, 0), hours=hours) is None


# -- incidents ---------------------------------------------------------------------------
def test_incidents_open_for_a_team_include_those_for_all() -> None:
    incidents, fibre = Incidents().open("technical", "Fibre cut in Kraków", at=100.0)
    incidents, mail = incidents.open("*", "Mail delayed", at=200.0)
    incidents, _ = incidents.open("billing", "Invoices late", at=300.0)
    assert incidents.open_for("technical") == [fibre, mail]
    assert [i.text for i in incidents.open_for("domains_hosting")] == ["Mail delayed"]


def test_closed_incidents_are_not_open() -> None:
    incidents, fibre = Incidents().open("technical", "Fibre cut", at=100.0)
    closed = incidents.close(fibre.id, at=500.0)
    assert closed.open_for("technical") == []
    assert incidents.open_for("technical") == [fibre]  # the old set is unchanged
    assert closed.open_for("technical", at=499.0)[0].closed_at == 500.0
    assert closed.open_for("technical", at=500.0) == []
    assert closed.close(fibre.id, at=900.0) is closed


def test_closing_an_unknown_incident_names_it() -> None:
    with pytest.raises(UnknownIncident, match="'nope'"):
        Incidents().close("nope", at=1.0)


def test_incidents_round_trip_through_dicts() -> None:
    incidents, fibre = Incidents().open("technical", "Awaria światłowodu", at=1_795_000_000.5)
    incidents, _ = incidents.open("*", "Mail", at=1_795_000_100.0)
    incidents = incidents.close(fibre.id, at=1_795_003_600.25)
    data = incidents.to_dict()
    assert data["incidents"][0]["opened_at"] == "2026-11-18T11:06:40.500000Z"
    assert Incidents.from_dict(data) == incidents
    assert Incident.from_dict(fibre.to_dict()) == fibre


# -- wait estimate -----------------------------------------------------------------------
def test_cold_start_uses_the_default_handle_time() -> None:
    assert estimate_wait_s(0, 1, []) == 300.0
    assert estimate_wait_s(2, 3, [60.0] * 4) == 3 * 300.0 / 3
    assert estimate_wait_s(0, 1, [], cold_start_handle_s=120.0) == 120.0


def test_estimate_uses_a_trimmed_mean_of_recent_handle_times() -> None:
    # Ten samples: the shortest and longest (10 % each side) are dropped.
    samples = [1.0, 100.0, 100.0, 110.0, 120.0, 130.0, 140.0, 100.0, 100.0, 7200.0]
    assert estimate_wait_s(0, 1, samples) == 900.0 / 8
    assert estimate_wait_s(3, 2, samples) == 4 * 112.5 / 2


def test_estimate_ignores_bad_samples() -> None:
    assert estimate_wait_s(0, 1, [0.0, -5.0, float("nan"), 60.0, 60.0]) == 300.0


def test_no_agents_counts_as_one() -> None:
    assert estimate_wait_s(1, 0, []) == estimate_wait_s(1, 1, []) == 600.0


def test_estimate_grows_with_the_queue_ahead() -> None:
    samples = [200.0, 240.0, 180.0, 300.0, 260.0, 220.0]
    waits = [estimate_wait_s(ahead, 3, samples) for ahead in range(20)]
    assert all(a < b for a, b in pairwise(waits))


def test_estimate_rejects_a_negative_position() -> None:
    with pytest.raises(ValueError, match="-1"):
        estimate_wait_s(-1, 1, [])


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(0.0, 1), (1.0, 1), (60.0, 1), (60.5, 2), (120.0, 2), (121.0, 3), (3599.0, 60)],
)
def test_round_wait_min_rounds_up_to_at_least_a_minute(seconds: float, minutes: int) -> None:
    assert round_wait_min(seconds) == minutes


# -- negative balance --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("team", "balance", "offer"),
    [
        ("technical", Decimal("-120.00"), True),
        ("technical", -0.01, True),
        ("technical", Decimal("0.00"), False),
        ("technical", None, False),
        ("billing", Decimal("-120.00"), False),
    ],
)
def test_negative_balance_on_technical_offers_billing_first(
    team: str, balance: Decimal | float | None, offer: bool
) -> None:
    assert negative_balance_offer(team, balance) is offer
