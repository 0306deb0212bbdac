"""Running aggregates: per team, per minute and per channel, what the KPIs, the charts and the
wait estimate read, so that looking costs the same whatever the day holds.

Every store adds to them in the same step as the transition that records the event (memory:
the same call; sqlite: the same transaction; Redis: the same Lua script), and reads a window
in O(teams × minutes × channels), never O(events). One ``Bucket`` per (team, minute start,
channel) counts, for the events of that minute:

====================  ===================================================================
contact_created       ``created`` + 1, in team ``NO_TEAM`` (a new contact is in no team)
contact_enqueued      ``offered`` + 1 (a contact is enqueued once), ``waiting_delta`` + 1
contact_claimed       ``waiting_delta`` - 1; the contact's first claim ever (a claim after a
                      release, an expired lease or a transfer is not a new answer) also
                      ``answered`` + 1, its wait in ``answered_wait_us`` and in its wait bin
contact_released,     ``waiting_delta`` + 1
lease_expired
contact_transferred   ``waiting_delta`` + 1 in the destination (the event's team) and - 1 in
                      the source when the contact was waiting there (no agent held it)
contact_abandoned     only from a queue (with ``wait_s``): ``abandoned`` + 1, its wait bin,
                      ``waiting_delta`` - 1; a contact that leaves during its flow is not
contact_resolved      only by an agent (with ``handle_s``): ``resolved`` + 1, ``handle_us``;
                      with ``wrap_s`` (after-contact work) also ``wrap_us``
survey_asked          ``surveys_asked`` + 1 (a CSAT question went to the customer)
survey_answered       ``surveys_answered`` + 1, its ``score`` (1-5) in ``csat_sum``, and
                      ``csat_satisfied`` + 1 for a 4 or 5
fcr_counted           ``fcr_resolved`` + 1: a verified customer's contact was resolved and
                      their account is watched on the team (first-contact resolution)
fcr_repeat            ``fcr_returned`` + 1: a new contact came from a watched account on the
                      team within the watch, so the watched resolve was not first-contact
====================  ===================================================================

Waits and times are whole microseconds (events keep times to the microsecond), so sums are
exact and the same on every backend. Waits are counted in the bins that ``WAIT_EDGES_S``
bound: bin ``i`` holds the waits in ``(edge[i-1], edge[i]]`` and the last bin those over the
last edge. "Answered within T" and "abandoned after T" are therefore exact for a threshold
T that is an edge, and for no other: ``edge_index`` refuses one that is not.

A store also keeps each team's last ``RECENT_HANDLES`` handle times, after-contact work
included (what the wait estimate takes its typical handle time from). Agents' busy time is
not counted here: it depends on every contact an agent holds, across teams, which the step
of one team's transition cannot see on a Redis Cluster; occupancy is worked out from the
agents' events instead.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from queues.models import Event

__all__ = [
    "BINS",
    "COUNTS",
    "EXTRAS",
    "MINUTE_S",
    "NO_TEAM",
    "RECENT_HANDLES",
    "SATISFIED",
    "SCALARS",
    "WAIT_EDGES_S",
    "Bucket",
    "deltas",
    "edge_index",
    "handled_s",
    "microseconds",
    "minute_of",
    "minutes",
    "wait_bin",
]

MINUTE_S = 60
#: The team of the buckets that count new contacts (``created``), which are in no team yet.
NO_TEAM = ""
#: Upper edges of the wait bins, seconds; every service-level threshold must be one of them.
WAIT_EDGES_S: tuple[int, ...] = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600)
BINS = len(WAIT_EDGES_S) + 1  # the last holds the waits over the last edge
_EDGES_US = tuple(edge * 1_000_000 for edge in WAIT_EDGES_S)
#: Handle times a store keeps per team (its most recent).
RECENT_HANDLES = 50
#: A survey score at or above this counts as satisfied (CSAT is the share of them).
SATISFIED = 4

#: The scalar counts of a bucket, in the order of ``Bucket.counts()`` (the Redis and SQLite
#: encodings); the answered bins follow them, then the abandoned bins.
SCALARS = (
    "created",
    "offered",
    "answered",
    "answered_wait_us",
    "abandoned",
    "resolved",
    "handle_us",
    "waiting_delta",
)
#: Counts added after the bins (kept last, so buckets stored before they existed read
#: them as 0): after-contact work, CSAT surveys, first-contact resolution.
EXTRAS = (
    "wrap_us",
    "surveys_asked",
    "surveys_answered",
    "csat_sum",
    "csat_satisfied",
    "fcr_resolved",
    "fcr_returned",
)
#: Names of every count, in order: the scalars, ``answered_0`` .., ``abandoned_0`` ...,
#: then the extras.
COUNTS = (
    *SCALARS,
    *(f"answered_{i}" for i in range(BINS)),
    *(f"abandoned_{i}" for i in range(BINS)),
    *EXTRAS,
)
_ZERO_BINS = (0,) * BINS


def minute_of(at: float) -> int:
    """The start (POSIX seconds) of the minute holding ``at``."""
    return int(at // MINUTE_S) * MINUTE_S


def minutes(since: float, until: float) -> range:
    """The starts of the minutes from the one holding ``since`` to the one holding ``until``."""
    return range(minute_of(since), minute_of(until) + 1, MINUTE_S)


def microseconds(seconds: float) -> int:
    return round(seconds * 1_000_000)


def wait_bin(wait_us: int) -> int:
    """The bin of a wait: the first whose edge is at or above it (the last: above them all)."""
    return bisect.bisect_left(_EDGES_US, wait_us)


@functools.cache
def edge_index(threshold_s: float) -> int:
    """The bin whose upper edge is ``threshold_s``: waits within it are in bins 0..index.

    Raises ValueError for a threshold that is not an edge, since no bucket can tell which
    waits of a bin are within it.
    """
    for i, edge in enumerate(WAIT_EDGES_S):
        if float(threshold_s) == edge:
            return i
    raise ValueError(
        f"service-level threshold {threshold_s!r} s is not an edge of the wait bins; use one "
        f"of {', '.join(map(str, WAIT_EDGES_S))} s (queues.buckets.WAIT_EDGES_S)"
    )


@dataclass(frozen=True, slots=True)
class Bucket:
    """What one team's contacts of one channel did in one minute (see the module's table)."""

    team: str
    minute: int
    channel: str
    created: int = 0
    offered: int = 0
    answered: int = 0
    answered_wait_us: int = 0
    abandoned: int = 0
    resolved: int = 0
    handle_us: int = 0
    waiting_delta: int = 0
    answered_by_wait: tuple[int, ...] = _ZERO_BINS
    abandoned_by_wait: tuple[int, ...] = _ZERO_BINS
    wrap_us: int = 0
    surveys_asked: int = 0
    surveys_answered: int = 0
    csat_sum: int = 0
    csat_satisfied: int = 0
    fcr_resolved: int = 0
    fcr_returned: int = 0

    def counts(self) -> list[int]:
        """Every count in ``COUNTS`` order."""
        scalars = [getattr(self, name) for name in SCALARS]
        extras = [getattr(self, name) for name in EXTRAS]
        return [*scalars, *self.answered_by_wait, *self.abandoned_by_wait, *extras]

    @classmethod
    def from_counts(cls, team: str, minute: int, channel: str, counts: Sequence[int]) -> Bucket:
        """The bucket from counts in ``COUNTS`` order; missing trailing counts are 0."""
        c = [*counts, *(0,) * (len(COUNTS) - len(counts))]
        n = len(SCALARS)
        return cls(
            team,
            minute,
            channel,
            created=c[0],
            offered=c[1],
            answered=c[2],
            answered_wait_us=c[3],
            abandoned=c[4],
            resolved=c[5],
            handle_us=c[6],
            waiting_delta=c[7],
            answered_by_wait=tuple(c[n : n + BINS]),
            abandoned_by_wait=tuple(c[n + BINS : n + 2 * BINS]),
            **dict(zip(EXTRAS, c[n + 2 * BINS :], strict=True)),
        )

    def __add__(self, other: Bucket) -> Bucket:
        """The counts of both, under this bucket's team, minute and channel."""
        return Bucket.from_counts(
            self.team,
            self.minute,
            self.channel,
            [a + b for a, b in zip(self.counts(), other.counts(), strict=True)],
        )

    @property
    def empty(self) -> bool:
        return not any(self.counts())

    def answered_within(self, threshold_s: float) -> int:
        """Contacts answered (first claim) within ``threshold_s``, an edge of the bins."""
        return sum(self.answered_by_wait[: edge_index(threshold_s) + 1])

    def abandoned_after(self, threshold_s: float) -> int:
        """Contacts that gave up in the queue after waiting over ``threshold_s`` (an edge)."""
        return sum(self.abandoned_by_wait[edge_index(threshold_s) + 1 :])


def _number(data: Mapping[str, object], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def deltas(event: Event, channel: str, *, first_claim: bool) -> list[Bucket]:
    """What one transition's event adds to the buckets (none for other events).

    ``channel`` is the contact's; ``first_claim``: a ``contact_claimed`` that is the
    contact's first claim ever. The stores running transitions in Python call this; the
    Redis scripts do the same in Lua (``queues/redis/lua/_common.lua``).
    """
    at, team, kind = minute_of(event.at), event.team, event.kind
    if kind == "contact_created":
        return [Bucket(NO_TEAM, at, channel, created=1)]
    if not team:
        return []
    if kind == "contact_enqueued":
        return [Bucket(team, at, channel, offered=1, waiting_delta=1)]
    if kind in ("contact_released", "lease_expired"):
        return [Bucket(team, at, channel, waiting_delta=1)]
    if kind == "contact_transferred":
        return _transferred(event, team, at, channel)
    wait_s = _number(event.data, "wait_s")
    if kind == "contact_claimed":
        if not first_claim or wait_s is None:
            return [Bucket(team, at, channel, waiting_delta=-1)]
        wait_us = microseconds(wait_s)
        answered = _one_in_bin(wait_us)
        return [
            Bucket(
                team,
                at,
                channel,
                answered=1,
                answered_wait_us=wait_us,
                waiting_delta=-1,
                answered_by_wait=answered,
            )
        ]
    if kind == "contact_abandoned" and wait_s is not None:
        abandoned = _one_in_bin(microseconds(wait_s))
        return [
            Bucket(team, at, channel, abandoned=1, waiting_delta=-1, abandoned_by_wait=abandoned)
        ]
    handle_s = _number(event.data, "handle_s")
    if kind == "contact_resolved" and handle_s is not None:
        wrap_us = microseconds(_number(event.data, "wrap_s") or 0.0)
        return [
            Bucket(team, at, channel, resolved=1, handle_us=microseconds(handle_s), wrap_us=wrap_us)
        ]
    return _outcome(event, team, at, channel)


def handled_s(event: Event) -> float | None:
    """What a ``contact_resolved`` event adds to its team's recent handle times: the
    handle time and the after-contact work that followed; None for other events."""
    handle_s = _number(event.data, "handle_s")
    if event.kind != "contact_resolved" or not event.team or handle_s is None:
        return None
    return round(handle_s + (_number(event.data, "wrap_s") or 0.0), 6)


def _outcome(event: Event, team: str, at: int, channel: str) -> list[Bucket]:
    """Surveys and first-contact resolution (recorded after a contact's queue transitions)."""
    kind = event.kind
    if kind == "survey_asked":
        return [Bucket(team, at, channel, surveys_asked=1)]
    score = _number(event.data, "score")
    if kind == "survey_answered" and score is not None:
        points = int(score)
        satisfied = int(points >= SATISFIED)
        return [
            Bucket(
                team,
                at,
                channel,
                surveys_answered=1,
                csat_sum=points,
                csat_satisfied=satisfied,
            )
        ]
    if kind == "fcr_counted":
        return [Bucket(team, at, channel, fcr_resolved=1)]
    if kind == "fcr_repeat":
        return [Bucket(team, at, channel, fcr_returned=1)]
    return []


def _transferred(event: Event, team: str, at: int, channel: str) -> list[Bucket]:
    source = event.data.get("from")
    if event.agent is not None or not isinstance(source, str) or not source:
        return [Bucket(team, at, channel, waiting_delta=1)]  # from an agent's hands
    if source == team:
        return []  # from its place in the queue back to the same queue
    return [
        Bucket(team, at, channel, waiting_delta=1),
        Bucket(source, at, channel, waiting_delta=-1),
    ]


def _one_in_bin(wait_us: int) -> tuple[int, ...]:
    bins = [0] * BINS
    bins[wait_bin(wait_us)] = 1
    return tuple(bins)
