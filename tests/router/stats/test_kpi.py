"""KPIs from a scripted event list, with every expected number worked out by hand."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from queues.models import Event, QueueStats
from router.stats.kpi import AgentLoad, TeamKpi, compute_kpis, overall_kpi, recent_handle_times

NOW = 10_000.0
WINDOW_S = 3_600.0  # counts events in [6400, 10000]


def ev(cid: str, kind: str, at: float, team: str | None = "billing", **data: Any) -> Event:
    agent = data.pop("agent", None)
    return Event(contact_id=cid, kind=kind, at=at, team=team, agent=agent, data=data)


# Billing, threshold 20 s. Comments give what each contact adds.
EVENTS = [
    # c0: queued and first claimed before the window; its re-claim is not a new answer.
    ev("c0", "contact_enqueued", 6000, delay_s=0),
    ev("c0", "contact_claimed", 6300, wait_s=300, agent="ania"),
    ev("c0", "contact_released", 6450, agent="ania"),
    ev("c0", "contact_claimed", 6500, wait_s=500, agent="ola"),
    ev("c0", "contact_resolved", 6600, disposition="solved", handle_s=100, agent="ola"),
    # c1: answered in 10 s (within), handled 300 s.
    ev("c1", "contact_enqueued", 7000, delay_s=120),
    ev("c1", "contact_claimed", 7010, wait_s=10, agent="ania"),
    ev("c1", "contact_resolved", 7310, disposition="solved", handle_s=300, agent="ania"),
    # c2: answered in 30 s (late), released and claimed again (counted once), 200 s.
    ev("c2", "contact_enqueued", 7100, delay_s=0),
    ev("c2", "contact_claimed", 7130, wait_s=30, agent="ola"),
    ev("c2", "contact_released", 7200, agent="ola"),
    ev("c2", "contact_claimed", 7250, wait_s=150, agent="ania"),
    ev("c2", "contact_resolved", 7450, disposition="solved", handle_s=200, agent="ania"),
    # c3: gave up after 5 s: abandoned, but not against the service level.
    ev("c3", "contact_enqueued", 7200, delay_s=0),
    ev("c3", "contact_abandoned", 7205, wait_s=5),
    # c4: gave up after 60 s: abandoned after the threshold.
    ev("c4", "contact_enqueued", 7300, delay_s=0),
    ev("c4", "contact_abandoned", 7360, wait_s=60),
    # c5: answered in 15 s (within); the lease expired and it was claimed again; 100 s.
    ev("c5", "contact_enqueued", 7400, delay_s=60),
    ev("c5", "contact_claimed", 7415, wait_s=15, agent="ola"),
    ev("c5", "lease_expired", 7500, agent="ola"),
    ev("c5", "contact_claimed", 7600, wait_s=200, agent="ania"),
    ev("c5", "contact_resolved", 7700, disposition="solved", handle_s=100, agent="ania"),
    # c6: still waiting.
    ev("c6", "contact_enqueued", 9990, delay_s=0),
    # c7: left during the flow, never queued: not an abandonment of the queue.
    ev("c7", "contact_abandoned", 8000, team=None, reason="left in flow"),
    ev("c7", "contact_resolved", 8001, team=None, reason="answered by bot"),
    # c8: answered at exactly 20 s (within), then transferred by its agent to technical,
    # where the claim is not a new answer; technical resolves it in 300 s.
    ev("c8", "contact_enqueued", 7000, delay_s=0),
    ev("c8", "contact_claimed", 7020, wait_s=20, agent="ania"),
    ev("c8", "contact_transferred", 7100, team="technical", agent="ania", **{"from": "billing"}),
    ev("c8", "contact_claimed", 7200, team="technical", wait_s=200, agent="tomek"),
    ev("c8", "contact_resolved", 7500, team="technical", handle_s=300, agent="tomek"),
    # c9: after now: not counted.
    ev("c9", "contact_enqueued", 10_001, delay_s=0),
    ev("c9", "contact_abandoned", 10_002, wait_s=1),
]
STATS = [
    QueueStats("billing", waiting=1, assigned=0, oldest_wait_s=10.0),
    QueueStats("technical", waiting=0, assigned=0, oldest_wait_s=None),
    QueueStats("domains_hosting", waiting=0, assigned=0, oldest_wait_s=None),
]
AGENTS = {
    "billing": AgentLoad(available=1, busy=3, busy_s=2700.0, logged_in_s=3600.0),
    "technical": AgentLoad(available=2, busy=2, busy_s=1800.0, logged_in_s=7200.0),
}
THRESHOLDS = {"billing": 20.0, "technical": 30.0, "domains_hosting": 30.0}


def kpis(events: list[Event] = EVENTS) -> dict[str, TeamKpi]:
    found = compute_kpis(
        events, STATS, now=NOW, window_s=WINDOW_S, thresholds_s=THRESHOLDS, agents=AGENTS
    )
    return {k.team: k for k in found}


def test_billing_kpis_match_the_hand_computation() -> None:
    billing = kpis()["billing"]
    assert billing.offered == 7  # c1 c2 c3 c4 c5 c6 c8
    assert billing.answered == 4  # c1 c2 c5 c8
    assert billing.answered_in_threshold == 3  # c1 (10 s), c5 (15 s), c8 (20 s)
    assert billing.abandoned == 2  # c3 c4
    assert billing.abandoned_after_threshold == 1  # c4
    assert billing.service_level_base == 4 + 1
    assert billing.service_level == pytest.approx(3 / (4 + 1))
    assert billing.asa_s == pytest.approx((10 + 30 + 15 + 20) / 4)
    assert billing.abandonment_rate == pytest.approx(2 / (4 + 2))
    assert billing.resolved == 4  # c0 c1 c2 c5
    assert billing.aht_s == pytest.approx((100 + 300 + 200 + 100) / 4)
    assert billing.occupancy == pytest.approx(2700 / 3600)  # agent time, not the counts now
    assert (billing.waiting, billing.longest_wait_s) == (1, 10.0)
    assert (billing.agents_available, billing.agents_busy) == (1, 3)


def test_a_transferred_answered_contact_is_not_answered_again() -> None:
    technical = kpis()["technical"]
    assert (technical.offered, technical.answered, technical.abandoned) == (0, 0, 0)
    assert technical.service_level is None
    assert technical.asa_s is None
    assert technical.abandonment_rate is None
    assert technical.aht_s == 300.0
    assert technical.occupancy == pytest.approx(1800 / 7200)  # from agent time


def test_a_team_with_no_traffic_has_no_ratios() -> None:
    quiet = kpis()["domains_hosting"]
    assert (quiet.offered, quiet.answered, quiet.waiting) == (0, 0, 0)
    assert quiet.service_level is quiet.asa_s is quiet.aht_s is quiet.occupancy is None
    assert quiet.longest_wait_s is None


def test_teams_keep_the_stats_order() -> None:
    assert list(kpis()) == ["billing", "technical", "domains_hosting"]


def test_event_order_does_not_matter() -> None:
    shuffled = list(EVENTS)
    random.Random(7).shuffle(shuffled)
    assert kpis(shuffled) == kpis()


def test_events_outside_the_window_are_not_counted() -> None:
    found = compute_kpis(EVENTS, [], now=NOW, window_s=2_000.0, thresholds_s=THRESHOLDS, agents={})
    billing = {k.team: k for k in found}["billing"]
    # Only [8000, 10000]: c6 enqueued; c7 is not a queue abandonment.
    assert (billing.offered, billing.answered, billing.abandoned, billing.resolved) == (1, 0, 0, 0)


def test_a_contacts_channel_threshold_wins_over_its_teams() -> None:
    events = [
        ev("v", "contact_created", 7000, team=None, channel="voice"),
        ev("v", "contact_enqueued", 7001),
        ev("v", "contact_claimed", 7041, wait_s=40),  # voice: 40 s > 20 s
        ev("e", "contact_created", 7000, team=None, channel="email"),
        ev("e", "contact_enqueued", 7001),
        ev("e", "contact_claimed", 7041, wait_s=40),  # email: team threshold 60 s
        ev("s", "contact_created", 7000, team=None, channel="sms"),
        ev("s", "contact_enqueued", 7001),
        ev("s", "contact_abandoned", 7301, wait_s=300),  # sms: 300 s, under 3600 s
    ]
    found = compute_kpis(
        events,
        [],
        now=NOW,
        window_s=WINDOW_S,
        thresholds_s={"voice": 20.0, "sms": 3600.0, "billing": 60.0},
        agents={},
    )
    (billing,) = found
    assert (billing.answered_in_threshold, billing.abandoned_after_threshold) == (1, 0)
    assert billing.service_level == pytest.approx(1 / 2)


def test_contacts_without_any_threshold_stay_out_of_the_service_level() -> None:
    events = [
        ev("x", "contact_claimed", 7000, wait_s=5),
        ev("y", "contact_abandoned", 7000, wait_s=500),
    ]
    found = compute_kpis(events, [], now=NOW, window_s=WINDOW_S, thresholds_s={}, agents={})
    assert (found[0].answered, found[0].abandoned) == (1, 1)
    assert found[0].service_level_base == 0
    assert found[0].service_level is None


def test_overall_aggregates_teams() -> None:
    total = overall_kpi(kpis().values())
    assert total.team == "*"
    assert (total.offered, total.answered, total.abandoned, total.resolved) == (7, 4, 2, 5)
    assert total.service_level == pytest.approx(3 / 5)
    assert total.asa_s == pytest.approx(75 / 4)
    assert total.aht_s == pytest.approx((4 * 175 + 300) / 5)
    assert total.abandonment_rate == pytest.approx(2 / 6)
    assert total.occupancy == pytest.approx((2700 + 1800) / (3600 + 7200))  # summed times
    assert (total.waiting, total.longest_wait_s) == (1, 10.0)


def test_overall_counts_distinct_agents_when_given() -> None:
    agents = AgentLoad(available=2, busy=3, busy_s=3000.0, logged_in_s=9000.0)
    total = overall_kpi(kpis().values(), agents=agents)
    assert (total.agents_available, total.agents_busy) == (2, 3)
    assert total.occupancy == pytest.approx(3000 / 9000)


def test_occupancy_is_never_made_up_from_the_agents_busy_now() -> None:
    assert AgentLoad(available=1, busy=3).occupancy is None  # no agent time known
    assert AgentLoad(available=1, busy=3, busy_s=0.0, logged_in_s=0.0).occupancy is None


def test_overall_of_nothing_is_empty() -> None:
    total = overall_kpi([])
    assert (total.offered, total.waiting) == (0, 0)
    assert total.service_level is total.asa_s is total.longest_wait_s is None


def test_team_kpi_to_dict_is_json() -> None:
    data = kpis()["billing"].to_dict()
    assert data["team"] == "billing"
    assert data["service_level"] == pytest.approx(0.6)
    assert json.loads(json.dumps(data)) == data


def test_recent_handle_times_are_the_teams_latest_oldest_first() -> None:
    assert recent_handle_times(EVENTS, "billing") == [100.0, 300.0, 200.0, 100.0]
    assert recent_handle_times(EVENTS, "billing", limit=2) == [200.0, 100.0]
    assert recent_handle_times(EVENTS, "technical") == [300.0]
    assert recent_handle_times(EVENTS, "domains_hosting") == []
    assert recent_handle_times(EVENTS, "billing", limit=0) == []
