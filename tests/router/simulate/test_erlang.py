"""A steady simulated day against queueing theory: M/M/N matches Erlang C, and with patience
(M/M/N+M) Erlang A (``router.staffing``), in two links that each can fail on their own.

1. The simulated day is a first-come-first-served queue, exactly: every contact of a steady
   day through the real store waits (or gives up) to the microsecond as in ``helpers.fifo``,
   a ten-line multi-server recursion fed the same draws, and the day's report (from the
   store's buckets, through the dashboard's KPI code) gives that queue's numbers. No
   statistical error: any mistake in queueing, claiming, giving up or counting shows on the
   contacts it touches.
2. Those draws, served so, match Erlang C and Erlang A. This is where the sampling error is,
   and why it runs on the fast recursion rather than the store. A day's ASA is a mean of
   strongly correlated waits (a busy spell delays everyone in it), so its standard error
   falls like 1/sqrt(contacts) with a large constant: for M/M/2 at 50% load, days of 60,000
   contacts through the store spread ±3.3% around Erlang C's ASA (10 seeds), and days of
   400,000 served here ±1.1% (8 seeds; the service level ±0.001). So the 5% and 0.02
   tolerances are 4.5 and 20 standard errors. For the overloaded M/M/3+M below, 300,000
   contacts spread ±0.6% (ASA), ±0.0014 (service level) and ±0.0011 (abandonment), against
   5%, 0.02 and 0.02. The seeds are fixed, so each run gives the same answer; the margins say
   that another seed (or another draw order after a change) passes too, with probability
   above 99.99%. A contact costs about 4 µs here and 130 µs through the store: holding ASA
   to 5% at 4 standard errors takes some 400,000 contacts, a minute through the store and
   3 s this way.
"""

from __future__ import annotations

import math
import statistics
from datetime import date

import pytest

from router.simulate import Outcome, build_report, draw_arrivals, run, steady_scenario
from router.staffing import asa_s, erlang_a, erlang_c, service_level
from tests.router.simulate.helpers import Served, always_open, fifo

DAY = date(2025, 3, 4)


async def simulated_fates(outcome: Outcome) -> dict[int, Served]:
    """Each contact's fate in the simulation, by its number (arrival order, from 0)."""
    events = await outcome.store.list_events(kinds=["contact_claimed", "contact_abandoned"])
    return {
        int(e.contact_id.removeprefix("sim")) - 1: Served(
            float(e.data["wait_s"]), e.kind == "contact_claimed", e.at
        )
        for e in events
    }


@pytest.mark.parametrize("patience_s", [None, 45.0])
async def test_a_steady_day_is_served_first_come_first_served_exactly(
    patience_s: float | None,
) -> None:
    # The worked example of Erlang C tables: 100 calls in 30 minutes, AHT 180 s, 14 agents.
    routing = always_open(threshold_s=20)
    scenario = steady_scenario(
        routing,
        team="support",
        day=DAY,
        calls_per_hour=200,
        aht_s=180,
        agents=14,
        hours=8,
        patience_s=patience_s,
    )
    outcome = await run(scenario, routing, seed=7)
    report = await build_report(outcome, routing, seed=7)

    arrivals = draw_arrivals(scenario, 7)
    fates = fifo(arrivals, 14, scenario.start)
    decided = {n: f for n, f in enumerate(fates) if f.at <= scenario.end}
    assert await simulated_fates(outcome) == decided
    waited = [f for f in decided.values() if f.wait_s > 0]
    gave_up = [f for f in decided.values() if not f.answered]
    assert len(decided) > 1500 and len(waited) > 150  # a queue forms: the order is tested
    assert (len(gave_up) > 20) is (patience_s is not None)

    answered = [f.wait_s for f in decided.values() if f.answered]
    late = sum(1 for f in gave_up if f.wait_s > 20)
    day = report.day.desk
    assert day.contacts == len(arrivals)
    assert (day.answered, day.abandoned) == (len(answered), len(gave_up))
    assert day.asa_s == pytest.approx(statistics.fmean(answered), abs=1e-6)
    within = sum(1 for w in answered if w <= 20)
    assert day.answered_within == within
    assert day.service_level == pytest.approx(within / (len(answered) + late))
    assert day.abandon_rate == pytest.approx(len(gave_up) / len(decided))
    ages = [scenario.end - a.at for n, a in enumerate(arrivals) if n not in decided]
    longest = max([f.wait_s for f in decided.values()] + ages)
    assert day.longest_wait_s == pytest.approx(longest, abs=1e-6)


def served(agents: int, cph: float, aht_s: float, hours: float, patience_s: float | None,
           seed: int) -> list[Served]:  # fmt: skip
    """A steady day's draws served first come, first served (what the simulator does)."""
    routing = always_open()
    scenario = steady_scenario(
        routing,
        team="support",
        day=DAY,
        calls_per_hour=cph,
        aht_s=aht_s,
        agents=agents,
        hours=hours,
        patience_s=patience_s,
    )
    return fifo(draw_arrivals(scenario, seed), agents, scenario.start)


def test_a_steady_m_m_2_day_matches_erlang_c() -> None:
    agents, aht_s, traffic = 2, 60.0, 1.0  # 60 calls an hour, 50% load
    fates = served(agents, traffic * 3600 / aht_s, aht_s, hours=6700, patience_s=None, seed=1)

    waits = [f.wait_s for f in fates]
    assert len(waits) > 395_000 and all(f.answered for f in fates)
    asa = statistics.fmean(waits)
    assert asa / asa_s(agents, traffic, aht_s) == pytest.approx(1, abs=0.05)  # 20 s
    sl = sum(1 for w in waits if w <= 20) / len(waits)
    assert sl == pytest.approx(service_level(agents, traffic, aht_s, 20), abs=0.02)  # 0.761
    p_wait = sum(1 for w in waits if w > 0) / len(waits)
    assert p_wait == pytest.approx(erlang_c(agents, traffic), abs=0.02)  # 1/3


def test_a_steady_day_with_patience_matches_erlang_a() -> None:
    agents, aht_s, patience_s = 3, 120.0, 60.0
    rate = 4 / aht_s  # 120 calls an hour for 3 agents: overloaded, patience keeps it stable
    fates = served(agents, rate * 3600, aht_s, hours=2500, patience_s=patience_s, seed=1)

    expected = erlang_a(agents, rate, aht_s, patience_s, 20)
    assert len(fates) > 295_000
    answered = [f.wait_s for f in fates if f.answered]
    assert statistics.fmean(answered) / expected.asa_s == pytest.approx(1, abs=0.05)
    within = sum(1 for w in answered if w <= 20)
    assert within / len(fates) == pytest.approx(expected.service_level, abs=0.02)
    abandoned = len(fates) - len(answered)
    assert abandoned / len(fates) == pytest.approx(expected.abandon_rate, abs=0.02)
    assert not math.isclose(expected.abandon_rate, 0)  # about 0.37: patience matters here
