"""The windowed counters of the Redis store (``queues/windows.py``): one string per key and
slot, ``{sb:win:<key>}:<slot>``, expiring ``keep_s`` after its last add. A key's slots share
one hash tag, so the script that adds to one and sums its window is single-slot on a Redis
Cluster; different keys are different slots, counted one after the other."""

from __future__ import annotations

import math
from collections.abc import Sequence

from queues.base import Clock
from queues.redis.cluster import OnConnection, operation
from queues.redis.keys import window_key
from queues.redis.scripts import Scripts, check
from queues.windows import check_window, window_slots

__all__ = ["WindowsRedis"]


class WindowsRedis(OnConnection):
    """The windowed-counter part of ``RedisStore`` (uses the store's scripts and clock)."""

    _scripts: Scripts
    _clock: Clock

    @operation
    async def count_window(
        self, keys: Sequence[str], *, slot_s: int, slots: int, add: int = 1, keep_s: float
    ) -> list[int]:
        check_window(slot_s, slots, add, keep_s)
        wanted = window_slots(self._clock(), slot_s, slots)
        keep_ms = str(max(1, math.ceil(keep_s * 1000)))

        totals = []
        # One after the other: an operation holds one connection per node (cluster mode).
        for key in keys:
            names = [window_key(key, slot) for slot in wanted]
            reply = await self._scripts.run("count_window", names, [str(add), keep_ms])
            totals.append(int(check(reply, key, "count_window")[1]))
        return totals
