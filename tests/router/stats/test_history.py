"""The last hour derived from events: arrivals, waiting walked back from now, service level."""

from __future__ import annotations

from typing import Any

import pytest

from queues import Event
from router.stats.history import (
    Buckets,
    arrivals_by_channel,
    clock_labels,
    service_level,
    waiting_over_time,
)

NOW = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC, a Wednesday


def ev(kind: str, at: float, cid: str = "c1", team: str | None = "billing", **kw: Any) -> Event:
    agent = kw.pop("agent", None)
    return Event(contact_id=cid, kind=kind, at=at, team=team, agent=agent, data=kw)


def test_buckets_are_wall_clock_aligned_and_hold_now() -> None:
    b = Buckets.covering(NOW, window_s=3600, step_s=300)
    assert b.count == 12 and b.end % 300 == 0 and b.start <= NOW - 3300
    assert b.index(NOW) == 11
    assert b.index(b.start) == 0 and b.index(b.start - 1) is None and b.index(b.end) is None
    assert clock_labels([b.end - 300], "Europe/Warsaw") == ["12:05"]  # CET is UTC+1 in November


def test_arrivals_count_new_contacts_per_bucket_and_channel() -> None:
    b = Buckets.covering(NOW, window_s=3600, step_s=300)
    events = [
        ev("contact_created", NOW - 10, "a", team=None, channel="chat"),
        ev("contact_created", NOW - 20, "b", team=None, channel="chat"),
        ev("contact_created", NOW - 700, "c", team=None, channel="voice"),
        ev("contact_created", NOW - 4000, "d", team=None, channel="voice"),  # before the window
        ev("contact_enqueued", NOW - 5, "a"),
    ]
    counts = arrivals_by_channel(events, b)
    assert set(counts) >= {"voice", "sms", "email", "chat", "telegram"}
    assert counts["chat"][-1] == 2 and sum(counts["chat"]) == 2
    assert sum(counts["voice"]) == 1 and counts["voice"][b.index(NOW - 700) or 0] == 1
    assert sum(counts["email"]) == 0


def test_waiting_is_walked_back_from_the_depth_now() -> None:
    events = [
        # queued before the window and still waiting: counts all along
        ev("contact_enqueued", NOW - 7200, "old"),
        ev("contact_enqueued", NOW - 500, "a"),
        ev("contact_enqueued", NOW - 400, "b", team="technical"),
        ev("contact_claimed", NOW - 300, "a", agent="ania", wait_s=200),
        ev("contact_released", NOW - 250, "a", agent="ania"),
        ev("contact_claimed", NOW - 200, "a", agent="ania", wait_s=300),
        # moved from an agent into technical, then abandoned there
        ev(
            "contact_transferred",
            NOW - 150,
            "a",
            team="technical",
            agent="ania",
            **{"from": "billing"},
        ),
        ev("contact_abandoned", NOW - 100, "a", team="technical", wait_s=400),
        # a waiting contact moved between queues: one less in technical, one more in billing
        ev("contact_transferred", NOW - 50, "b", team="billing", **{"from": "technical"}),
        # left during the flow: it never waited
        ev("contact_abandoned", NOW - 40, "z", team=None, reason="left in flow"),
    ]
    times = [NOW - 600, NOW - 450, NOW - 350, NOW - 275, NOW - 225, NOW - 125, NOW - 75, NOW]
    series = waiting_over_time(events, {"billing": 2, "technical": 0}, now=NOW, times=times)
    assert series["billing"] == [1, 2, 2, 1, 2, 1, 1, 2]
    assert series["technical"] == [0, 0, 1, 1, 1, 2, 1, 0]


def test_waiting_never_goes_negative_when_history_is_missing() -> None:
    events = [ev("contact_enqueued", NOW - 10, "a")]
    series = waiting_over_time(events, {"billing": 0}, now=NOW, times=[NOW - 20, NOW])
    assert series == {"billing": [0, 0]}


def test_service_level_per_bucket_uses_the_channel_threshold() -> None:
    b = Buckets.covering(NOW, window_s=900, step_s=300)
    last = b.starts[-1]
    events = [
        ev("contact_created", last - 400, "fast", team=None, channel="chat"),
        ev("contact_created", last - 400, "slow", team=None, channel="chat"),
        ev("contact_created", last - 400, "mail", team=None, channel="sms"),
        ev("contact_claimed", last + 1, "fast", agent="ania", wait_s=10),
        ev("contact_claimed", last + 2, "slow", agent="ania", wait_s=30),
        ev("contact_claimed", last + 3, "mail", agent="ania", wait_s=600),  # within sms' hour
        ev("contact_created", last - 400, "earlier", team=None, channel="voice"),
        ev("contact_claimed", last - 100, "earlier", agent="ania", wait_s=5),
        # no channel known and no threshold for the team: left out of the service level
        ev("contact_claimed", last - 50, "unknown", agent="ania", wait_s=500),
    ]
    values = service_level(events, b, now=NOW, thresholds_s={"chat": 20, "voice": 20, "sms": 3600})
    assert values[0] is None
    assert values[1] == pytest.approx(1.0)
    assert values[2] == pytest.approx(2 / 3)
