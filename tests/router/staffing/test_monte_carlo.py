"""Erlang A against a discrete-event simulation of M/M/N+M written here from first principles.

The simulation is exact for FCFS with identical agents (Kiefer-Wolfowitz): callers are taken in
arrival order; each goes to the agent free soonest, waiting until then, unless its patience runs
out first, when it leaves without taking an agent. Nothing of ``router.staffing`` is used.

Tolerance: the run is cut into 20 batches of equal length; the spread of the batch means gives
the standard error of each figure (batch means absorb the correlation between successive
callers). A figure must lie within 4 standard errors of the formula: for a correct formula the
chance of failing is about 6e-5 per figure, and the seed is fixed so the outcome is the same on
every run. The test also requires the standard errors to be small, so a wrong formula (say,
Erlang C's figures, or the service level of those who wait in place of all) cannot hide in them.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from dataclasses import dataclass

import pytest

from router.staffing import erlang_a

BATCHES = 20
WITHIN_S = 20.0


@dataclass(slots=True)
class Batch:
    offered: int = 0
    waited: int = 0
    abandoned: int = 0
    answered: int = 0
    answered_within: int = 0
    waited_answered_within: int = 0
    answered_wait_s: float = 0.0


def simulate(
    agents: int, rate: float, aht_s: float, patience_s: float, *, callers: int, seed: int
) -> list[Batch]:
    rng = random.Random(seed)
    free_at = [0.0] * agents  # when each agent next becomes free (a heap)
    warm_up = callers // 20
    per_batch = (callers - warm_up) // BATCHES
    batches = [Batch() for _ in range(BATCHES)]
    now = 0.0
    for i in range(warm_up + per_batch * BATCHES):
        now += rng.expovariate(rate)
        patience = rng.expovariate(1 / patience_s)
        handle = rng.expovariate(1 / aht_s)
        wait = max(0.0, free_at[0] - now)
        answered = wait <= patience
        if answered:
            heapq.heapreplace(free_at, now + wait + handle)
        if i < warm_up:
            continue
        b = batches[(i - warm_up) // per_batch]
        b.offered += 1
        b.waited += wait > 0.0
        if answered:
            b.answered += 1
            b.answered_wait_s += wait
            b.answered_within += wait <= WITHIN_S
            b.waited_answered_within += 0.0 < wait <= WITHIN_S
        else:
            b.abandoned += 1
    return batches


def mean_and_error(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))


@pytest.mark.parametrize(
    ("agents", "traffic", "patience_s"),
    [
        (14, 10.0, 60.0),  # the worked example's desk, with impatient callers
        (9, 10.0, 120.0),  # fewer agents than erlangs: only abandonment keeps it stable
    ],
)
def test_erlang_a_matches_a_simulated_queue(agents: int, traffic: float, patience_s: float) -> None:
    aht_s = 180.0
    rate = traffic / aht_s
    formula = erlang_a(agents, rate, aht_s, patience_s, WITHIN_S)
    batches = simulate(agents, rate, aht_s, patience_s, callers=200_000, seed=13)
    observed = {
        "p_wait": [b.waited / b.offered for b in batches],
        "abandon_rate": [b.abandoned / b.offered for b in batches],
        "service_level": [b.answered_within / b.offered for b in batches],
        "service_level_waiting": [b.waited_answered_within / b.waited for b in batches],
        "asa_s": [b.answered_wait_s / b.answered for b in batches],
    }
    for name, values in observed.items():
        mean, error = mean_and_error(values)
        expected = getattr(formula, name)
        # Shares to within a point; the ASA to within 3% of itself.
        enough = 0.01 if name != "asa_s" else 0.03 * expected
        assert error < enough, f"{name}: the run is too short to tell ({error:.4f})"
        assert abs(mean - expected) < 4 * error, (
            f"{name}: simulated {mean:.4f} ± {error:.4f}, Erlang A says {expected:.4f}"
        )
