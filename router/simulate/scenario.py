"""What a simulated day is made of: arrival streams, agents' shifts, incidents; as records.

Times are POSIX seconds. A ``Stream`` is a Poisson process of one team and channel whose rate
(and handle time) is a step function of time (``segments``); a ``Shift`` is a group of agents
serving the same teams at the same times. ``setup.py`` builds these from config.yaml or from
the command line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "HANDLE_KINDS",
    "Grid",
    "Handle",
    "IncidentWindow",
    "Scenario",
    "Segment",
    "Shift",
    "Span",
    "Stream",
    "overlap",
]

HANDLE_KINDS = ("exponential", "lognormal")
Handle = Literal["exponential", "lognormal"]
Span = tuple[float, float]


def overlap(spans: Sequence[Span], start: float, end: float) -> float:
    """Seconds of ``spans`` (not overlapping each other) within ``[start, end)``."""
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in spans)


@dataclass(frozen=True, slots=True)
class Grid:
    """The report's intervals: ``count`` of ``step_s`` from ``start`` (the last may end early
    at ``end``)."""

    start: float
    end: float
    step_s: float

    @property
    def count(self) -> int:
        return len(self.spans)

    @property
    def spans(self) -> list[Span]:
        spans: list[Span] = []
        at = self.start
        while at < self.end - 1e-9:
            spans.append((at, min(at + self.step_s, self.end)))
            at += self.step_s
        return spans

    def index(self, at: float) -> int | None:
        """The interval holding ``at``; None outside the period."""
        if not self.start <= at < self.end:
            return None
        return int((at - self.start) // self.step_s)

    def spread(self, span: Span, into: list[float]) -> None:
        """Add the seconds of ``span`` to the intervals it covers."""
        start, end = max(span[0], self.start), min(span[1], self.end)
        while start < end:
            k = int((start - self.start) // self.step_s)
            stop = min(end, self.start + (k + 1) * self.step_s)
            into[k] += stop - start
            start = stop


@dataclass(frozen=True, slots=True)
class Segment:
    """A step of a stream: ``rate_per_s`` arrivals from ``start`` to ``end``, handled in
    ``aht_s`` on average."""

    start: float
    end: float
    rate_per_s: float
    aht_s: float


@dataclass(frozen=True, slots=True)
class Stream:
    """Contacts of ``team`` on ``channel``: ``rate_per_s`` from each segment's start to its
    end, handled in ``aht_s`` on average."""

    team: str
    channel: str
    segments: tuple[Segment, ...]

    @property
    def expected(self) -> float:
        """The expected number of contacts."""
        return sum((s.end - s.start) * s.rate_per_s for s in self.segments)


@dataclass(frozen=True, slots=True)
class Shift:
    """``agents`` agents, serving ``teams``, logged in during each of ``spans``."""

    agents: int
    teams: tuple[str, ...]
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class IncidentWindow:
    """An incident open on ``team`` (its priority delay applies) from ``start`` to ``end``."""

    team: str
    start: float
    end: float
    text: str = "simulated outage"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A simulated period: contacts arrive from ``start - warmup_s``; the report covers
    ``start`` to ``end`` in intervals of ``interval_s`` (local time ``timezone``)."""

    start: float
    end: float
    timezone: str
    streams: tuple[Stream, ...]
    shifts: tuple[Shift, ...]
    interval_s: int = 1800
    handle: Handle = "exponential"
    handle_cv: float = 1.0
    patience_s: Mapping[str, float] = field(default_factory=dict)  # channel -> mean
    incidents: tuple[IncidentWindow, ...] = ()
    warmup_s: float = 0.0
    lease_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ValueError(f"the simulated period ends ({self.end}) before it starts")
        if self.interval_s <= 0 or self.interval_s % 60:
            raise ValueError(f"interval {self.interval_s} s is not a whole number of minutes")
        if self.handle not in HANDLE_KINDS:
            raise ValueError(f"handle {self.handle!r} is unknown; use {' or '.join(HANDLE_KINDS)}")
        if not self.handle_cv > 0:
            raise ValueError(f"handle_cv {self.handle_cv} must be more than 0")
        for channel, mean in self.patience_s.items():
            if not mean > 0:
                raise ValueError(f"the patience of {channel} ({mean} s) must be more than 0")
        if self.warmup_s < 0:
            raise ValueError(f"warmup_s {self.warmup_s} must be 0 or more")

    @property
    def teams(self) -> tuple[str, ...]:
        """Every team a stream or a shift names, in order of first mention."""
        names = [s.team for s in self.streams] + [t for s in self.shifts for t in s.teams]
        return tuple(dict.fromkeys(names))

    @property
    def expected(self) -> float:
        """The expected number of contacts, warm-up included."""
        return sum(s.expected for s in self.streams)

    @property
    def grid(self) -> Grid:
        """The report's intervals."""
        return Grid(self.start, self.end, self.interval_s)
