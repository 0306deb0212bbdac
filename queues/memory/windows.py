"""The windowed counters of the in-memory store (``queues/windows.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from queues.base import Clock
from queues.windows import check_window, window_slots

__all__ = ["MemoryWindows"]


class MemoryWindows:
    """The windowed-counter part of ``MemoryStore``; each call is one step (no await)."""

    _clock: Clock

    def __init__(self) -> None:
        self._windows: dict[str, dict[int, tuple[int, float]]] = {}  # key -> slot -> n, expiry

    async def count_window(
        self, keys: Sequence[str], *, slot_s: int, slots: int, add: int = 1, keep_s: float
    ) -> list[int]:
        check_window(slot_s, slots, add, keep_s)
        now = self._clock()
        wanted = window_slots(now, slot_s, slots)
        totals = []
        for key in keys:
            counted = self._windows.get(key, {})
            counted = {s: kept for s, kept in counted.items() if kept[1] > now}
            if add:
                n = counted.get(wanted[0], (0, 0.0))[0]
                counted[wanted[0]] = (n + add, now + keep_s)
            if counted:
                self._windows[key] = counted
            else:
                self._windows.pop(key, None)
            totals.append(sum(counted[s][0] for s in wanted if s in counted))
        return totals
