"""What the simulator's tests share: a desk open around the clock, and a reference queue."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from router.routing import BusinessHours, PriorityRules, Routing, SlaRules
from router.simulate import Arrival

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def always_open(team: str = "support", *, threshold_s: float = 20.0) -> Routing:
    """One team, open around the clock, voice answered within ``threshold_s`` (80%)."""
    hours = BusinessHours.from_spec("UTC", {day: "00:00-24:00" for day in WEEK})
    return Routing(
        teams=(team,),
        default_team=team,
        hours={team: hours},
        priority=PriorityRules(channel={"voice": 120}, tier={}, incident=60, complaint=0),
        sla=SlaRules(
            answer={"voice": (threshold_s, 0.8)},
            first_response_business_days={},
            complaint_business_days=14,
        ),
    )


@dataclass(frozen=True, slots=True)
class Served:
    """A contact's fate in the reference queue: answered after ``wait_s``, or gone then."""

    wait_s: float
    answered: bool
    at: float  # when it was answered or gave up


def fifo(arrivals: Sequence[Arrival], agents: int, open_at: float) -> list[Served]:
    """First come, first served by ``agents`` agents free from ``open_at``; a contact whose
    patience runs out before an agent is free gives up (and takes no agent's time). Times
    are kept to the microsecond, as the store keeps them."""
    free = [open_at] * agents  # when each agent is free next: a heap
    fates = []
    for arrival in arrivals:
        begins = max(arrival.at, free[0])
        if begins - arrival.at > arrival.patience_s:
            gives_up = round(arrival.at + arrival.patience_s, 6)
            fates.append(Served(round(gives_up - arrival.at, 6), False, gives_up))
            continue
        heapq.heapreplace(free, round(begins + arrival.handle_s, 6))
        fates.append(Served(round(begins - arrival.at, 6), True, begins))
    return fates
