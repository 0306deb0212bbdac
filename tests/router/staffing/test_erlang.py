"""Erlang B, C and A: published worked examples, properties, and independent computations."""

from __future__ import annotations

import itertools
import math

import pytest

from router.staffing import (
    MAX_TRAFFIC_ERL,
    agents_needed,
    asa_s,
    erlang_a,
    erlang_b,
    erlang_c,
    occupancy,
    service_level,
)

# 100 calls in 30 minutes of 180 s each: 10 erlangs.
TRAFFIC = 100 * 180 / 1800


def test_erlang_b_matches_the_table() -> None:
    # Erlang B tables: 10 erlangs on 10 lines block 21.46%, on 15 lines 3.65%.
    assert erlang_b(10, 10.0) == pytest.approx(0.2146, abs=5e-5)
    assert erlang_b(15, 10.0) == pytest.approx(0.0365, abs=5e-5)
    assert erlang_b(0, 3.0) == 1.0


def test_fourteen_agents_reproduce_the_published_example() -> None:
    assert erlang_c(14, TRAFFIC) == pytest.approx(0.1741, abs=5e-5)
    assert service_level(14, TRAFFIC, 180, 20) == pytest.approx(0.8884, abs=5e-5)
    assert asa_s(14, TRAFFIC, 180) == pytest.approx(7.84, abs=5e-3)
    assert occupancy(14, TRAFFIC) == pytest.approx(10 / 14)


def test_eleven_agents_reproduce_the_published_example() -> None:
    assert erlang_c(11, TRAFFIC) == pytest.approx(0.6821, abs=5e-5)
    assert service_level(11, TRAFFIC, 180, 20) == pytest.approx(0.3896, abs=5e-5)


def test_250_calls_an_hour_of_330_s_need_28_agents_for_80_in_20() -> None:
    staffing = agents_needed(250, 3600, 330, 0.8, 20)
    assert staffing.agents == 28
    assert staffing.service_level >= 0.8
    # 27 would not do: the answer is the smallest.
    assert service_level(27, 250 * 330 / 3600, 330, 20) < 0.8


def test_agents_needed_for_the_30_minute_example_is_the_smallest_meeting_the_target() -> None:
    staffing = agents_needed(100, 1800, 180, 0.8, 20)
    assert staffing.agents == 14
    assert service_level(13, TRAFFIC, 180, 20) < 0.8
    assert (staffing.p_wait, staffing.asa_s) == (erlang_c(14, TRAFFIC), asa_s(14, TRAFFIC, 180))
    assert staffing.abandon_rate is None and staffing.service_level_waiting is None


def test_no_more_agents_than_traffic_means_everyone_waits_for_ever() -> None:
    assert erlang_c(10, TRAFFIC) == 1.0
    assert erlang_c(3, TRAFFIC) == 1.0
    assert service_level(10, TRAFFIC, 180, 20) == 0.0
    assert asa_s(10, TRAFFIC, 180) == math.inf
    assert occupancy(8, TRAFFIC) == 1.0


def test_occupancy_cap_adds_agents() -> None:
    # 14 agents meet 80/20 at 71% occupancy; a 70% cap needs ceil(10 / 0.7) = 15.
    capped = agents_needed(100, 1800, 180, 0.8, 20, max_occupancy=0.7)
    assert capped.agents == 15 and capped.occupancy <= 0.7
    assert agents_needed(100, 1800, 180, 0.8, 20, max_occupancy=0.85).agents == 14


def test_shrinkage_schedules_more_people_than_the_phones_need() -> None:
    # 14 / 0.7 is 20.000000000000004 in floats: still 20 people, not 21.
    assert agents_needed(100, 1800, 180, 0.8, 20, shrinkage=0.3).scheduled == 20
    assert agents_needed(100, 1800, 180, 0.8, 20, shrinkage=0.35).scheduled == 22


def test_no_calls_need_no_agents() -> None:
    staffing = agents_needed(0, 1800, 180, 0.8, 20)
    assert (staffing.agents, staffing.scheduled, staffing.service_level) == (0, 0, 1.0)
    patient = agents_needed(0, 1800, 180, 0.8, 20, patience_s=60)
    assert (patient.agents, patient.abandon_rate, patient.service_level_waiting) == (0, 0.0, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"target": 1.0}, "target"),
        ({"target": 0.0}, "target"),
        ({"max_occupancy": 1.5}, "max_occupancy"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"patience_s": 0.0}, "patience_s"),
        ({"aht_s": -1.0}, "aht_s"),
        ({"calls": math.nan}, "calls"),
        ({"interval_s": 0.0}, "interval_s"),
    ],
)
def test_agents_needed_refuses_values_it_cannot_meet(kwargs: dict[str, float], names: str) -> None:
    args: dict[str, float] = {
        "calls": 100, "interval_s": 1800, "aht_s": 180, "target": 0.8, "within_s": 20
    }  # fmt: skip
    with pytest.raises(ValueError, match=names):
        agents_needed(**{**args, **kwargs})


def test_traffic_beyond_the_limit_is_refused_not_computed_for_ever() -> None:
    with pytest.raises(ValueError, match="erlangs"):
        agents_needed(MAX_TRAFFIC_ERL * 10 + 1, 10, 1, 0.8, 20)


@pytest.mark.parametrize("traffic", [0.5, 10.0, 97.3, 950.0])
def test_service_level_rises_with_every_agent(traffic: float) -> None:
    first = math.floor(traffic) + 1
    levels = [service_level(n, traffic, 180, 20) for n in range(first, first + 60)]
    assert all(b > a for a, b in itertools.pairwise(levels) if a < 1.0 - 1e-12)
    waits = [erlang_c(n, traffic) for n in range(first, first + 60)]
    assert all(b < a for a, b in itertools.pairwise(waits) if a > 1e-300)


@pytest.mark.parametrize("patience_s", [30.0, 300.0])
def test_erlang_a_service_level_rises_with_every_agent(patience_s: float) -> None:
    rate = 20 / 180  # 20 erlangs of 180 s calls
    results = [erlang_a(n, rate, 180, patience_s, 20) for n in range(1, 45)]
    levels = [r.service_level for r in results]
    assert all(b > a for a, b in itertools.pairwise(levels))
    abandons = [r.abandon_rate for r in results]
    assert all(b < a for a, b in itertools.pairwise(abandons))


def test_erlang_c_is_stable_at_a_thousand_agents() -> None:
    # A factorial of 1000 overflows a float; the recurrence does not.
    p_wait = erlang_c(1000, 950.0)
    assert 0.0 < p_wait < 1.0
    assert 0.0 < service_level(1000, 950.0, 180, 20) < 1.0
    assert erlang_c(5000, 10.0) == 0.0  # underflows to nothing, no error
    staffing = agents_needed(20_000, 1800, 180, 0.8, 20)  # 2,000 erlangs
    assert 2000 < staffing.agents < 2100
    assert staffing.service_level >= 0.8
    assert service_level(staffing.agents - 1, 2000.0, 180, 20) < 0.8


def test_erlang_a_is_stable_at_a_thousand_agents() -> None:
    a = erlang_a(1000, 950 / 180, 180, 300, 20)
    assert 0.0 < a.p_wait < erlang_c(1000, 950.0)  # patience shortens the queue
    assert 0.0 < a.abandon_rate < 0.01 and 0.99 < a.service_level < 1.0
    # Overloaded (1,200 erlangs on 1,000 agents): abandonment keeps the queue finite.
    over = erlang_a(1000, 1200 / 180, 180, 120, 20)
    assert over.p_wait > 0.99 and over.abandon_rate == pytest.approx(1 - 1000 / 1200, abs=0.01)
    assert over.occupancy > 0.99
    lots = erlang_a(3000, 10 / 180, 180, 60, 20)  # nobody waits, in floats
    assert (lots.p_wait, lots.service_level) == (0.0, 1.0)


@pytest.mark.parametrize(("agents", "traffic"), [(14, 10.0), (11, 10.0), (120, 110.0)])
def test_erlang_a_tends_to_erlang_c_as_patience_grows(agents: int, traffic: float) -> None:
    rate = traffic / 180
    far = erlang_a(agents, rate, 180, 1e9, 20)
    assert far.p_wait == pytest.approx(erlang_c(agents, traffic), abs=1e-6)
    assert far.service_level == pytest.approx(service_level(agents, traffic, 180, 20), abs=1e-6)
    assert far.asa_s == pytest.approx(asa_s(agents, traffic, 180), rel=1e-5)
    assert far.abandon_rate < 1e-6
    # ... and approaches it from the side of shorter queues.
    near = [erlang_a(agents, rate, 180, p, 20).p_wait for p in (60, 600, 6000, 60000)]
    assert near == sorted(near) and near[-1] < erlang_c(agents, traffic)
    limit = erlang_a(agents, rate, 180, math.inf, 20)
    assert limit.p_wait == pytest.approx(erlang_c(agents, traffic), rel=1e-12)


def test_agents_needed_with_patience_uses_erlang_a() -> None:
    staffing = agents_needed(250, 3600, 330, 0.8, 20, patience_s=120)
    # Callers who give up leave the queue: fewer agents meet the same target than in Erlang C.
    assert staffing.agents < 28
    figures = erlang_a(staffing.agents, 250 / 3600, 330, 120, 20)
    assert staffing.service_level == figures.service_level >= 0.8
    assert staffing.abandon_rate == figures.abandon_rate > 0
    assert erlang_a(staffing.agents - 1, 250 / 3600, 330, 120, 20).service_level < 0.8


def _birth_death(agents: int, rate: float, aht_s: float, patience_s: float) -> tuple[float, ...]:
    """P(wait), P(abandon) and occupancy from the M/M/N+M chain itself, truncated where its
    terms stop mattering: an independent route to the same numbers (PASTA: an arrival sees
    the time-stationary distribution)."""
    mu, theta = 1 / aht_s, 1 / patience_s
    log_p = [0.0]
    n = 0
    while n < agents or log_p[-1] > max(log_p) - 80:
        n += 1
        death = min(n, agents) * mu + max(n - agents, 0) * theta
        log_p.append(log_p[-1] + math.log(rate / death))
    top = max(log_p)
    weights = [math.exp(x - top) for x in log_p]
    total = sum(weights)
    p = [w / total for w in weights]
    p_wait = sum(p[agents:])
    queue = sum((k - agents) * pk for k, pk in enumerate(p) if k > agents)
    busy = sum(min(k, agents) * pk for k, pk in enumerate(p))
    return p_wait, theta * queue / rate, busy / agents


@pytest.mark.parametrize(
    ("agents", "traffic", "patience_s"),
    [(14, 10.0, 60.0), (5, 10.0, 60.0), (11, 10.0, 1800.0), (300, 310.0, 90.0), (1, 0.3, 5.0)],
)
def test_erlang_a_matches_the_birth_death_chain(
    agents: int, traffic: float, patience_s: float
) -> None:
    rate = traffic / 180
    a = erlang_a(agents, rate, 180, patience_s, 20)
    p_wait, abandon, busy = _birth_death(agents, rate, 180, patience_s)
    assert a.p_wait == pytest.approx(p_wait, abs=1e-9)
    assert a.abandon_rate == pytest.approx(abandon, abs=1e-9)
    assert a.occupancy == pytest.approx(busy, abs=1e-9)
