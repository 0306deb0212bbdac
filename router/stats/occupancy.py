"""Agent time: how long agents were logged in and busy, kept as a small ledger in each
agent's presence record (``router.desk.presence``); pure, no I/O.

An agent is logged in while available (until their presence expires) or while holding a
contact, and busy while holding at least one or wrapping one up (after-contact work, until
``wrap_until``). Each change of an agent's presence closes
the interval since the last one and ``accrue`` adds it to the ledger, minute by minute
(busy seconds, logged-in seconds); ``window_time`` sums a window of it and the interval
still open. Reading a window costs O(agents × minutes), however many contacts the day had.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "KEEP_MINUTES",
    "AgentTime",
    "Ledger",
    "accrue",
    "accrue_interval",
    "prune",
    "window_time",
]

#: Minutes a ledger keeps (the KPI window is an hour).
KEEP_MINUTES = 120

#: minute (POSIX seconds // 60) -> (busy seconds, logged-in seconds) in that minute.
Ledger = Mapping[int, tuple[float, float]]


@dataclass(frozen=True, slots=True)
class AgentTime:
    """Seconds agents were busy (holding a contact) and logged in (available or busy)."""

    busy_s: float = 0.0
    logged_in_s: float = 0.0

    def __add__(self, other: AgentTime) -> AgentTime:
        return AgentTime(self.busy_s + other.busy_s, self.logged_in_s + other.logged_in_s)


def accrue(
    ledger: Ledger, start: float, end: float, *, busy: bool
) -> dict[int, tuple[float, float]]:
    """``ledger`` with the seconds from ``start`` to ``end`` added, logged in (and busy
    when ``busy``), split at minute boundaries."""
    out = dict(ledger)
    at = start
    while at < end:
        minute = math.floor(at / 60)
        stop = min(end, (minute + 1) * 60.0)
        busy_s, logged_s = out.get(minute, (0.0, 0.0))
        out[minute] = (busy_s + (stop - at if busy else 0.0), logged_s + (stop - at))
        at = stop
    return out


def prune(ledger: Ledger, now: float) -> dict[int, tuple[float, float]]:
    """The last ``KEEP_MINUTES`` of ``ledger``."""
    first = math.floor(now / 60) - KEEP_MINUTES
    return {minute: times for minute, times in ledger.items() if minute >= first}


def accrue_interval(
    ledger: Ledger,
    start: float,
    end: float,
    *,
    busy: bool,
    logged_until: float,
    wrap_until: float | None = None,
) -> dict[int, tuple[float, float]]:
    """``ledger`` with the interval from ``start`` to ``end`` added: busy throughout when
    ``busy``; else busy until ``wrap_until`` (a wrap-up still running) and then logged in
    until ``logged_until``."""
    if busy:
        return accrue(ledger, start, end, busy=True)
    wrapped = min(end, max(start, wrap_until or start))
    out = accrue(ledger, start, wrapped, busy=True)
    return accrue(out, wrapped, max(wrapped, min(end, logged_until)), busy=False)


def window_time(
    ledger: Ledger,
    *,
    start: float,
    now: float,
    open_since: float,
    busy: bool,
    logged_until: float,
    wrap_until: float | None = None,
) -> AgentTime:
    """The agent's time in the whole minutes from the one holding ``start`` through the one
    holding ``now``: the ledger's, plus the interval open since ``open_since`` (busy; or
    busy until ``wrap_until`` and then logged in until ``logged_until``: when the presence
    expires, or ``open_since`` for an agent on a break)."""
    first, last = math.floor(start / 60), math.floor(now / 60)
    busy_s = logged_s = 0.0
    for minute, (b, logged) in ledger.items():
        if first <= minute <= last:
            busy_s += b
            logged_s += logged
    begin = max(open_since, first * 60.0)
    if busy:
        busy_s += max(0.0, now - begin)
        logged_s += max(0.0, now - begin)
    else:
        wrapped = min(now, max(begin, wrap_until or begin))
        busy_s += wrapped - begin
        logged_s += wrapped - begin + max(0.0, min(now, logged_until) - wrapped)
    return AgentTime(busy_s, logged_s)
