"""The running aggregates of the in-memory store (``queues/buckets.py``): buckets by team and
minute, each team's recent handle times, and which contacts were answered.

``MemoryStore`` counts each transition's event here in the same call that applies it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence

from queues.buckets import RECENT_HANDLES, Bucket, deltas, handled_s, minutes
from queues.models import Event

__all__ = ["MemoryBuckets"]


class MemoryBuckets:
    """The aggregates half of ``MemoryStore``."""

    def __init__(self) -> None:
        # (team, minute) -> channel -> the bucket's counts (``COUNTS`` order), added in place
        self._buckets: dict[tuple[str, int], dict[str, list[int]]] = defaultdict(dict)
        self._answered: set[str] = set()  # contacts claimed at least once
        self._handles: dict[str, deque[tuple[float, float]]] = defaultdict(
            lambda: deque(maxlen=RECENT_HANDLES)
        )

    def _count(self, event: Event, channel: str) -> None:
        """Add a transition's event (of a contact on ``channel``) to the aggregates."""
        first = False
        if event.kind == "contact_claimed":
            first = event.contact_id not in self._answered
            self._answered.add(event.contact_id)
        for delta in deltas(event, channel, first_claim=first):
            by_channel = self._buckets[(delta.team, delta.minute)]
            added = delta.counts()
            kept = by_channel.get(channel)
            if kept is None:
                by_channel[channel] = added
            else:
                for i, count in enumerate(added):
                    if count:
                        kept[i] += count
        handle_s = handled_s(event)
        if handle_s is not None and event.team:
            self._handles[event.team].append((event.at, handle_s))

    async def minute_buckets(
        self, teams: Sequence[str], *, since: float, until: float
    ) -> list[Bucket]:
        found = []
        for team in dict.fromkeys(teams):
            for minute in minutes(since, until):
                by_channel = self._buckets.get((team, minute), {})
                found += [
                    Bucket.from_counts(team, minute, channel, counts)
                    for channel, counts in sorted(by_channel.items())
                    if any(counts)
                ]
        return found

    async def handle_times(
        self, team: str, *, since: float, limit: int = RECENT_HANDLES
    ) -> list[float]:
        recent = [h for at, h in self._handles.get(team, ()) if at >= since]
        return recent[-limit:] if limit > 0 else []
