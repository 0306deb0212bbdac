"""One team's queue in the in-memory store: its waiting contacts kept in serving order (and by
channel, and by time queued), and its leased contacts.

A crowd costs nothing per waiting contact: adding, taking out, the head, a contact's position
and the longest wait are each O(log n) in the contacts waiting; only ``ids`` (every position
in one read) walks them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sortedcontainers import SortedList

__all__ = ["Entry", "TeamQueue"]

#: (score, seq, contact id): lower is served first; seq (unique per enqueue) breaks ties FIFO.
Entry = tuple[float, int, str]


class _Spot(NamedTuple):
    score: float
    seq: int
    queued_at: float
    channel: str


class TeamQueue:
    """The waiting contacts of one team, indexed three ways and kept in step by ``push`` and
    ``pop`` (the only writers), and the team's leased contacts."""

    __slots__ = ("_by_channel", "_order", "_since", "_waiting", "leased")

    def __init__(self) -> None:
        self.leased: set[str] = set()
        self._waiting: dict[str, _Spot] = {}
        self._order: SortedList[Entry] = SortedList()
        # The same entries by channel: a claim under capacity looks at the channels it may take.
        self._by_channel: dict[str, SortedList[Entry]] = {}
        self._since: SortedList[tuple[float, str]] = SortedList()  # (queued_at, id)

    def __len__(self) -> int:
        return len(self._waiting)

    def push(
        self, contact_id: str, score: float, seq: int, queued_at: float, channel: str = ""
    ) -> None:
        """Put ``contact_id`` in the queue (first taking it out if it is already waiting)."""
        self.pop(contact_id)
        self._waiting[contact_id] = _Spot(score, seq, queued_at, channel)
        entry = (score, seq, contact_id)
        self._order.add(entry)
        self._by_channel.setdefault(channel, SortedList()).add(entry)
        self._since.add((queued_at, contact_id))

    def pop(self, contact_id: str) -> bool:
        """Take ``contact_id`` out of the waiting contacts; False when it was not there."""
        spot = self._waiting.pop(contact_id, None)
        if spot is None:
            return False
        entry = (spot.score, spot.seq, contact_id)
        self._order.remove(entry)
        by_channel = self._by_channel[spot.channel]
        by_channel.remove(entry)
        if not by_channel:
            del self._by_channel[spot.channel]
        self._since.remove((spot.queued_at, contact_id))
        return True

    def head(self) -> Entry | None:
        """The entry served next, if any contact waits."""
        return self._order[0] if self._order else None

    def head_of(self, channels: Iterable[str]) -> Entry | None:
        """The head among the contacts of ``channels``."""
        heads = [q[0] for ch in channels if (q := self._by_channel.get(ch))]
        return min(heads, default=None)

    def ahead(self, contact_id: str) -> int:
        """How many waiting contacts are served before ``contact_id`` (KeyError: it is not
        waiting here)."""
        spot = self._waiting[contact_id]
        return self._order.bisect_left((spot.score, spot.seq, contact_id))

    def ids(self) -> list[str]:
        """The waiting contacts' ids in serving order."""
        return [contact_id for _, _, contact_id in self._order]

    def oldest_queued_at(self) -> float | None:
        """The earliest ``queued_at`` among the waiting contacts; None when none waits."""
        return self._since[0][0] if self._since else None
