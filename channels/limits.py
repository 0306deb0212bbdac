"""Limits counted in the store, so every router process on it counts against one budget."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Counters", "WindowLimit"]


class Counters(Protocol):
    """The store's sliding-window counters (``queues.Store`` has both)."""

    async def record_hit(self, key: str, *, window_s: float, ttl_s: float) -> int: ...
    async def hits(self, key: str, *, window_s: float) -> list[float]: ...


class WindowLimit:
    """At most ``limit`` events per key within a sliding ``window_s``, across processes.

    Every attempt counts, refused ones too: a sender that keeps going stays refused.
    """

    def __init__(self, counters: Counters, limit: int, *, window_s: float, prefix: str) -> None:
        self._counters = counters
        self.limit = limit
        self._window_s = window_s
        self._prefix = prefix

    async def allow(self, key: str) -> float | None:
        """Count one event: None when it is within the limit, else the seconds to wait."""
        name = self._prefix + key
        count = await self._counters.record_hit(name, window_s=self._window_s, ttl_s=self._window_s)
        if count <= self.limit:
            return None
        times = await self._counters.hits(name, window_s=self._window_s)
        if len(times) < self.limit:
            return 0.1
        # Allowed again once the limit-th latest hit has left the window.
        return max(0.1, self._window_s - (times[-1] - times[-self.limit]))
