"""Windowed counters: counts per key in fixed time slots, summed over a window of slots.

What the spike detector (``router.outages``) counts first messages by topic with: every
process adds to the same counters through the store, and a count costs O(slots) however
many were counted. Slot ``s`` of ``slot_s`` seconds holds the times in
``[s * slot_s, (s + 1) * slot_s)`` (minute slots start on the minute, as the buckets do).
"""

from __future__ import annotations

import math

__all__ = ["check_window", "slot_of", "window_slots"]


def slot_of(at: float, slot_s: int) -> int:
    """The start (POSIX seconds) of the slot of ``slot_s`` seconds holding ``at``."""
    return math.floor(round(at, 6) / slot_s) * slot_s


def window_slots(at: float, slot_s: int, slots: int) -> list[int]:
    """The starts of the ``slots`` latest slots at ``at``, the one holding ``at`` first."""
    current = slot_of(at, slot_s)
    return [current - i * slot_s for i in range(slots)]


def check_window(slot_s: int, slots: int, add: int, keep_s: float) -> None:
    """Refuse (ValueError) a window that cannot be counted."""
    if slot_s < 1 or slots < 1 or add < 0:
        raise ValueError(
            f"slot_s and slots must be 1 or more and add 0 or more, not {slot_s}, {slots}, {add}"
        )
    if keep_s < slot_s * slots:
        raise ValueError(
            f"keep_s {keep_s} is shorter than the window ({slot_s * slots} s); the window "
            "would lose counts it still covers: keep them at least slot_s * slots"
        )
