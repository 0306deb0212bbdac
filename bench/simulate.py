"""The traffic simulator's speed: a day of some 20,000 contacts through the real store and
routing (``switchboard simulate``), timed from the first draw to the finished report.

The day is the shipped config's ``simulate:`` day with its volumes and shifts scaled up (a
desk of about 200 agents), so every contact takes the whole path: intake, routing decision,
enqueue, claim, lease renewal and resolve, or giving up; and the report reads the store's
buckets per interval. Figures: contacts simulated per second (the median of ``repeats``
runs), and the day's seconds against the goal (≤ 10 s for 20,000 contacts).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from datetime import date

from bench.procs import ROOT
from bench.report import Figure
from bench.workload import BenchError
from router.app import routing_from_config
from router.config import load_config
from router.simulate import Scenario, day_scenario, simulate

__all__ = ["FULL_SIMULATE", "QUICK_SIMULATE", "SimulateSizes", "run_simulate"]

DAY = date(2025, 3, 4)  # a working Tuesday
#: The goal: a day of this many contacts in at most ``GOAL_S``.
GOAL_CONTACTS = 20_000
GOAL_S = 10.0


@dataclass(frozen=True, slots=True)
class SimulateSizes:
    contacts: int  # expected in the day
    repeats: int


FULL_SIMULATE = SimulateSizes(contacts=GOAL_CONTACTS, repeats=3)
QUICK_SIMULATE = SimulateSizes(contacts=1_000, repeats=1)


async def _timed_day(sizes: SimulateSizes) -> tuple[list[float], int, int]:
    """Seconds of each run, the contacts of the day and the agents."""
    config = load_config(ROOT / "config.yaml", env={})
    if config.simulate is None:
        raise BenchError("config.yaml has no simulate: section to time")
    routing = routing_from_config(config)

    sim = config.simulate

    def scenario(scale: float) -> Scenario:
        return day_scenario(sim, routing, day=DAY, timezone=str(config.timezone), scale=scale)

    day = scenario(sizes.contacts / scenario(1.0).expected)
    took_s, contacts = [], 0
    for _ in range(sizes.repeats):
        began = time.perf_counter()
        report = await simulate(day, routing, seed=1)
        took_s.append(time.perf_counter() - began)
        contacts = report.day.desk.contacts
    return took_s, contacts, sum(s.agents for s in day.shifts)


def run_simulate(quick: bool) -> list[Figure]:
    sizes = QUICK_SIMULATE if quick else FULL_SIMULATE
    took_s, contacts, agents = asyncio.run(_timed_day(sizes))
    median_s = statistics.median(took_s)
    per_s = contacts / median_s
    return [
        Figure(
            "simulate.contacts_per_s",
            per_s,
            "contacts/s",
            note=f"the shipped day scaled: {contacts:,} contacts, {agents} agents, "
            f"median of {sizes.repeats}",
        ),
        Figure(
            "simulate.day_of_20000_contacts_s",
            GOAL_CONTACTS / per_s,
            "s",
            note=f"at the measured rate ({contacts:,} contacts in {median_s:.2f} s)",
            target=GOAL_S,
        ),
    ]
