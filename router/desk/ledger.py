"""An agent's ledger of time (``router.stats.occupancy``) as their presence record keeps it:
two dense arrays over the minutes kept, busy and logged-in seconds, from the first minute.

A window is two slices summed, without a dict of minutes to build: the KPI board reads every
agent's record on each answer, so what a record costs to decode is what the board costs.
Stored as ``{"first": minute, "busy_s": [...], "logged_in_s": [...]}``, seconds to the
microsecond (the clock's resolution), whole ones without a fraction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from router.stats import AgentTime

__all__ = ["MAX_MINUTES", "Minutes"]

#: Minutes a record holds at most: what a ledger keeps (two hours and the minute of now,
#: ``router.stats.prune``) and an hour of slack for a clock ahead of the others; a clock far
#: ahead cannot make a record grow past it.
MAX_MINUTES = 3 * 60 + 1

Ledger = Mapping[int, tuple[float, float]]  # as router.stats.occupancy keeps it


def _num(seconds: float) -> float | int:
    kept = round(float(seconds), 6)
    return int(kept) if kept.is_integer() else kept


@dataclass(frozen=True, slots=True)
class Minutes:
    """Busy and logged-in seconds of the minutes ``first``, ``first + 1``, ..."""

    first: int = 0
    busy_s: tuple[float, ...] = ()
    logged_in_s: tuple[float, ...] = ()

    @classmethod
    def of(cls, ledger: Ledger) -> Minutes:
        """The ledger's minutes, dense (the ``MAX_MINUTES`` from its first)."""
        if not ledger:
            return cls()
        first = min(ledger)
        size = min(max(ledger) - first + 1, MAX_MINUTES)
        busy, logged = [0.0] * size, [0.0] * size
        for minute, (b, lg) in ledger.items():
            if minute - first < size:
                busy[minute - first], logged[minute - first] = b, lg
        return cls(first, tuple(busy), tuple(logged))

    @property
    def ledger(self) -> dict[int, tuple[float, float]]:
        """As ``router.stats.occupancy`` keeps it: minute -> (busy, logged in)."""
        pairs = zip(self.busy_s, self.logged_in_s, strict=True)
        return {self.first + i: (b, lg) for i, (b, lg) in enumerate(pairs) if b or lg}

    def window(self, start: float, now: float) -> AgentTime:
        """The time of the minutes from the one holding ``start`` through the one holding
        ``now`` (``router.stats.window_time`` without the interval still open)."""
        i = max(0, math.floor(start / 60) - self.first)
        j = max(i, min(len(self.busy_s), math.floor(now / 60) - self.first + 1))
        return AgentTime(float(sum(self.busy_s[i:j])), float(sum(self.logged_in_s[i:j])))

    def to_json(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "busy_s": [_num(s) for s in self.busy_s],
            "logged_in_s": [_num(s) for s in self.logged_in_s],
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Minutes:
        """From a presence record; one written before these arrays keeps a ``ledger`` dict
        ("<minute>": [busy, logged in])."""
        stored = data.get("minutes")
        if stored is None:
            old = data.get("ledger") or {}
            return cls.of({int(m): (float(t[0]), float(t[1])) for m, t in old.items()})
        # As decoded (whole seconds are ints): a float each would cost more than the sums.
        busy, logged = tuple(stored["busy_s"]), tuple(stored["logged_in_s"])
        if len(busy) != len(logged):
            raise ValueError(f"a presence record's minutes differ in length: {stored!r}")
        return cls(int(stored["first"]), busy, logged)
