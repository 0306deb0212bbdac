"""The ``simulate:`` section of config.yaml: the day ``switchboard simulate`` plays through the
real queue (``router/simulate/``).

Each team's contacts of a whole day are spread over the day by the intraday ``profile``
(relative arrival rates, a step from each local time to the next, repeating daily) and split
over channels by their shares; agents work ``shifts``; ``outage`` is a spike of extra contacts
on one team that ``--outage`` adds. Times of day are local (the config's ``timezone``) and are
written in quotes ("09:30"), since YAML reads a bare 09:30 as a number.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
)

from router.config.models import Section
from router.config.types import ChannelName, DayHours, Filled, TeamRef

__all__ = ["ClockMinute", "Outage", "SimShift", "SimTeam", "Simulate"]

_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def _clock_minute(value: object) -> int:
    match = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'{value!r} is not a time of day; write it as "HH:MM" in quotes')
    hours, minutes = int(match[1]), int(match[2])
    if hours > 23 or minutes > 59:
        raise ValueError(f"{value!r} is not a time of day (00:00 to 23:59)")
    return hours * 60 + minutes


def _interval(interval_s: int) -> int:
    if interval_s % 60 or 86_400 % interval_s:
        raise ValueError(
            f"{interval_s} s does not divide a day into whole minutes; use e.g. 900, 1800, 3600"
        )
    return interval_s


def _some_weight(profile: dict[int, float]) -> dict[int, float]:
    if not any(weight > 0 for weight in profile.values()):
        raise ValueError("has no positive weight; contacts would never arrive")
    return profile


#: Minutes since local midnight, from "HH:MM".
ClockMinute = Annotated[int, BeforeValidator(_clock_minute)]
Shares = Annotated[dict[ChannelName, PositiveFloat], Filled]


class SimTeam(Section):
    """A team's day: how many contacts, on which channels (shares), handled how long."""

    contacts: NonNegativeFloat  # expected in a whole day; the profile spreads them
    aht_s: PositiveFloat
    channels: Shares


class SimShift(Section):
    """``agents`` agents serving ``teams`` during ``hours`` (one range or a split shift)."""

    agents: PositiveInt
    teams: Annotated[tuple[TeamRef, ...], Filled]
    hours: Annotated[DayHours, Filled]


class Outage(Section):
    """A spike: ``contacts_per_hour`` more contacts on ``team`` during ``hours``."""

    team: TeamRef
    hours: Annotated[DayHours, Filled]
    contacts_per_hour: PositiveFloat
    channels: Shares
    incident: bool = True  # an incident is open on the team meanwhile (its priority delay)


class Simulate(Section):
    interval_s: Annotated[PositiveInt, AfterValidator(_interval)] = 1800
    start: ClockMinute = 0
    hours: Annotated[float, Field(gt=0, le=24 * 14)] = 24.0
    handle: Literal["exponential", "lognormal"] = "lognormal"
    handle_cv: PositiveFloat = 1.0  # log-normal: standard deviation / mean
    patience_s: dict[ChannelName, PositiveFloat] = Field(default_factory=dict)  # mean
    # (exponential); a channel not named waits however long it takes
    profile: Annotated[dict[ClockMinute, NonNegativeFloat], Filled, AfterValidator(_some_weight)]
    teams: Annotated[dict[TeamRef, SimTeam], Filled]
    shifts: Annotated[tuple[SimShift, ...], Filled]
    outage: Outage | None = None
