"""The shipped simulated day through the real routing: business hours, shifts, the outage spike
with its incident, forecasts, and the same seed giving the same day."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from router.app import routing_from_config
from router.config import Config, Simulate
from router.routing import Routing
from router.simulate import (
    Scenario,
    build_report,
    day_scenario,
    handle_draw,
    run,
    simulate,
    steady_scenario,
    to_json,
)
from tests.router.conftest import repo_config

DAY = date(2025, 3, 4)  # a Tuesday, no holiday in Poland
WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return repo_config(tmp_path)


@pytest.fixture
def sim(config: Config) -> Simulate:
    assert config.simulate is not None
    return config.simulate


@pytest.fixture
def routing(config: Config) -> Routing:
    return routing_from_config(config)


def shipped_day(config: Config, routing: Routing, *, outage: bool = False) -> Scenario:
    assert config.simulate is not None
    return day_scenario(config.simulate, routing, day=DAY, timezone="Europe/Warsaw", outage=outage)


def local(at: float) -> str:
    return datetime.fromtimestamp(at, WARSAW).strftime("%H:%M")


async def test_out_of_hours_contacts_are_taken_and_answered_from_the_opening(
    config: Config, routing: Routing
) -> None:
    scenario = shipped_day(config, routing)
    outcome = await run(scenario, routing, seed=1)

    claimed = await outcome.store.list_events(kinds=["contact_claimed"])
    assert claimed and min(local(e.at) for e in claimed) == "10:00"
    assert max(local(e.at) for e in claimed) < "18:00"
    enqueued = await outcome.store.list_events(kinds=["contact_enqueued"])
    assert min(local(e.at) for e in enqueued) < "08:10"  # intake works out of hours
    report = await build_report(outcome, routing, seed=1)
    by_label = {row.label: row for row in report.intervals}
    for label in ("08:00", "08:30", "09:00", "09:30", "18:30", "19:00", "19:30"):
        assert by_label[label].desk.answered == 0 and by_label[label].desk.contacts > 0
    morning = by_label["10:00"].desk
    assert morning.answered > morning.contacts  # the night's and the morning's backlog
    assert morning.longest_wait_s is not None and morning.longest_wait_s > 7000  # since 08:0x


async def test_agents_follow_their_shifts(config: Config, routing: Routing) -> None:
    report = await simulate(shipped_day(config, routing), routing, seed=1)

    agents = {row.label: row.desk.agents for row in report.intervals}
    assert {agents[t] for t in ("08:00", "08:30", "09:00", "09:30")} == {0.0}
    assert {agents[t] for t in ("10:00", "10:30", "11:00", "11:30")} == {17.0}  # 5 + 9 + 3
    assert {agents[t] for t in ("12:00", "14:00", "17:30")} == {19.0}  # + 2 from 12:00
    assert agents["19:30"] == 0.0
    billing = report.day.teams["billing"]
    assert billing.agents == pytest.approx((5 * 8 + 2 * 6) / 12, abs=0.2)  # some finish late
    for row in report.intervals:
        if row.desk.occupancy is not None:
            assert 0 < row.desk.occupancy <= 1


async def test_the_outage_adds_contacts_on_its_team_with_the_incident_priority(
    config: Config, routing: Routing
) -> None:
    normal = await simulate(shipped_day(config, routing), routing, seed=3)
    scenario = shipped_day(config, routing, outage=True)
    outcome = await run(scenario, routing, seed=3)
    outage = await build_report(outcome, routing, seed=3)

    for team in ("billing", "domains_hosting"):  # their contacts are drawn alike
        assert outage.day.teams[team].contacts == normal.day.teams[team].contacts
    extra = outage.day.teams["technical"].contacts - normal.day.teams["technical"].contacts
    assert abs(extra - 480) < 4 * 480**0.5  # 240 an hour for two hours, Poisson
    during = [r for r in outage.intervals if "11:00" <= r.label < "13:00"]
    before = [r for r in normal.intervals if "11:00" <= r.label < "13:00"]
    assert all(o.teams["technical"].contacts > n.teams["technical"].contacts + 50
               for o, n in zip(during, before, strict=True))  # fmt: skip
    sl_normal = normal.day.teams["technical"].service_level
    sl_outage = outage.day.teams["technical"].service_level
    assert sl_normal is not None and sl_outage is not None and sl_outage < sl_normal - 0.2
    assert outage.day.desk.abandon_rate is not None and normal.day.desk.abandon_rate is not None
    assert outage.day.desk.abandon_rate > normal.day.desk.abandon_rate

    delays = {
        (local(e.at) >= "11:00" and local(e.at) < "13:00", e.data["delay_s"])
        for e in await outcome.store.list_events(kinds=["contact_enqueued"])
        if e.team == "technical"
        and (await outcome.store.get_contact(e.contact_id, messages=False)).channel == "voice"
    }
    assert delays == {(False, 120), (True, 180)}  # voice 120, +60 while the incident is open


async def test_the_same_seed_gives_the_same_day_and_another_seed_another(
    config: Config, routing: Routing
) -> None:
    assert config.simulate is not None
    scenario = day_scenario(  # the outage and the hours around it
        config.simulate.model_copy(update={"start": 10 * 60}),
        routing,
        day=DAY,
        timezone="Europe/Warsaw",
        outage=True,
        hours=4,
    )

    first = to_json(await simulate(scenario, routing, seed=11))
    again = to_json(await simulate(scenario, routing, seed=11))
    other = to_json(await simulate(scenario, routing, seed=12))

    assert first == again
    assert first != other


@dataclass(frozen=True)
class Interval:
    interval_start: str
    team: str
    calls: float
    aht_s: float


async def test_a_forecast_gives_each_interval_its_calls(sim: Simulate, routing: Routing) -> None:
    forecast = [Interval(f"{h:02d}:{m:02d}", "billing", 80.0, 200.0)
                for h in range(10, 14) for m in (0, 30)]  # fmt: skip
    forecast.append(Interval("2025-03-04T15:00:00+01:00", "technical", 100.0, 300.0))
    scenario = day_scenario(
        sim, routing, day=DAY, timezone="Europe/Warsaw", forecast=forecast, interval_s=1800
    )

    report = await simulate(scenario, routing, seed=5)

    for row in report.intervals:
        billing = row.teams["billing"].contacts
        technical = row.teams["technical"].contacts
        if "10:00" <= row.label < "14:00":
            assert abs(billing - 80) < 4 * 80**0.5
        else:
            assert billing == 0
        assert technical == 0 if row.label != "15:00" else abs(technical - 100) < 40
    assert report.day.teams["domains_hosting"].contacts == 0


def test_log_normal_handle_times_have_the_mean_and_spread_asked_for() -> None:
    rng = random.Random(1)
    draws = [handle_draw("lognormal", 300.0, 0.8, rng) for _ in range(40_000)]
    mean = statistics.fmean(draws)
    # SE of the mean: 0.8 * 300 / sqrt(40,000) = 1.2 s; of the cv about 0.01.
    assert mean == pytest.approx(300.0, abs=6)
    assert statistics.stdev(draws) / mean == pytest.approx(0.8, abs=0.05)
    exponential = [handle_draw("exponential", 300.0, 0.8, rng) for _ in range(40_000)]
    assert statistics.stdev(exponential) / statistics.fmean(exponential) == pytest.approx(
        1.0, abs=0.05
    )


def test_scenarios_refuse_what_cannot_be_simulated(routing: Routing) -> None:
    with pytest.raises(ValueError, match="'sales' does not exist"):
        steady_scenario(
            routing, team="sales", day=DAY, calls_per_hour=10, aht_s=60, agents=1, hours=1
        )
    good = steady_scenario(
        routing, team="billing", day=DAY, calls_per_hour=10, aht_s=60, agents=1, hours=1
    )
    with pytest.raises(ValueError, match=r"ends .* before it starts"):
        Scenario(start=good.start, end=good.start, timezone="UTC", streams=(), shifts=())
    assert local(good.start) == "10:00"  # a steady day starts when the team opens
