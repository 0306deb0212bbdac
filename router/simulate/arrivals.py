"""Who arrives when, how long they take and how long they would wait: the scenario's random draws.

Each stream draws from a generator of its own, seeded from the run's seed and the stream's
team and channel, so a scenario that adds a stream (an outage) leaves the others' contacts
exactly as they were: two days differ only by what differs in their scenarios.

A Poisson process with a step rate is a homogeneous one on each step (exponential gaps are
memoryless: the gap running over a step's end is drawn again from its end at the next rate).
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

from router.simulate.scenario import Handle, Scenario, Stream

__all__ = ["Arrival", "draw_arrivals", "handle_draw"]


@dataclass(frozen=True, slots=True)
class Arrival:
    """One contact: when it arrives (POSIX s), where, its handle time and its patience (inf:
    it waits however long it takes)."""

    at: float
    team: str
    channel: str
    handle_s: float
    patience_s: float


def handle_draw(kind: Handle, aht_s: float, cv: float, rng: random.Random) -> float:
    """One handle time of mean ``aht_s``: exponential, or log-normal with sd/mean ``cv``."""
    if kind == "exponential":
        return rng.expovariate(1.0 / aht_s)
    sigma2 = math.log1p(cv * cv)
    return rng.lognormvariate(math.log(aht_s) - sigma2 / 2.0, math.sqrt(sigma2))


def _stream(scenario: Scenario, stream: Stream, index: int, seed: int) -> list[Arrival]:
    """The stream's contacts in order of arrival (its segments may come in any order)."""
    rng = random.Random(f"{seed}:{index}:{stream.team}:{stream.channel}")
    patience = scenario.patience_s.get(stream.channel)
    first, last = scenario.start - scenario.warmup_s, scenario.end
    found = []
    for segment in sorted(stream.segments, key=lambda s: (s.start, s.end)):
        if segment.rate_per_s <= 0 or segment.end <= first or segment.start >= last:
            continue
        at = max(segment.start, first)
        end = min(segment.end, last)
        while True:
            at += rng.expovariate(segment.rate_per_s)
            if at >= end:
                break
            handle_s = handle_draw(scenario.handle, segment.aht_s, scenario.handle_cv, rng)
            waits_s = rng.expovariate(1.0 / patience) if patience else math.inf
            found.append(Arrival(round(at, 6), stream.team, stream.channel, handle_s, waits_s))
    found.sort(key=lambda a: a.at)  # overlapping segments (a forecast's) interleave
    return found


def draw_arrivals(scenario: Scenario, seed: int) -> list[Arrival]:
    """Every contact of the scenario (warm-up included), in order of arrival."""
    streams = [_stream(scenario, s, i, seed) for i, s in enumerate(scenario.streams)]
    return list(heapq.merge(*streams, key=lambda a: a.at))
