"""Agents needed now: Erlang C on the last hour's arrivals and handle time; pure.

The supervisor's figure compares the agents the recent load needs, at the desk's answer
target, with the agents logged in and serving the team. The load is the contacts offered to
the team (enqueued) in the KPI window and its AHT there (resolved contacts), so the figure
follows from the numbers the dashboard shows beside it. The target is one channel's
``sla.answer``: voice's, or the first configured when voice has none (``service_goal``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from router.staffing.erlang import MAX_TRAFFIC_ERL, agents_needed

__all__ = ["ServiceGoal", "service_goal", "staffing_now"]


@dataclass(frozen=True, slots=True)
class ServiceGoal:
    """Answer ``target`` (a share) of contacts within ``within_s``; ``channel`` it is from."""

    within_s: float
    target: float
    channel: str = "voice"


class _Answer(Protocol):
    @property
    def threshold_s(self) -> float: ...
    @property
    def target(self) -> float: ...


def service_goal(answers: Mapping[str, _Answer]) -> ServiceGoal | None:
    """The goal staffing aims at: voice's answer target, else the first channel's; None
    when no channel has one."""
    for channel in ("voice", *answers):
        if channel in answers:
            answer = answers[channel]
            return ServiceGoal(float(answer.threshold_s), float(answer.target), str(channel))
    return None


def staffing_now(
    *,
    arrivals: int,
    span_s: float,
    aht_s: float | None,
    agents_logged_in: int,
    goal: ServiceGoal,
) -> dict[str, Any]:
    """The JSON of the figure: ``agents_needed`` (None without a handle time to go on, or
    when the target cannot be met below 1.0), ``agents_logged_in`` (serving the team, idle
    or busy, not on a break), ``shortfall`` (needed - logged in, may be negative), and what
    it follows from: ``arrivals_last_hour`` over ``span_s``, ``aht_s``, ``traffic_erl``."""
    needed: int | None = None
    traffic: float | None = None
    if arrivals == 0:
        needed, traffic = 0, 0.0
    elif aht_s is not None and aht_s > 0 and 0.0 < goal.target < 1.0:
        traffic = arrivals * aht_s / span_s
        if traffic <= MAX_TRAFFIC_ERL:
            needed = agents_needed(arrivals, span_s, aht_s, goal.target, goal.within_s).agents
    return {
        "agents_needed": needed,
        "agents_logged_in": agents_logged_in,
        "shortfall": None if needed is None else needed - agents_logged_in,
        "arrivals_last_hour": arrivals,
        "span_s": span_s,
        "aht_s": aht_s,
        "traffic_erl": traffic,
        "target": goal.target,
        "within_s": goal.within_s,
        "channel": goal.channel,
    }
