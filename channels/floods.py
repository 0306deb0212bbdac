"""Caps on floods: what one client may hold open at once, and logging what is refused
once per window rather than once per refusal (a flood must not become a flood of logs).

Rates across router processes are counted in the store (``channels.limits.WindowLimit``);
what is open at once (websockets, SMTP sessions) lives in the process that holds it, so
those caps are per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

__all__ = ["OpenCounts", "RefusalLog"]

log = structlog.get_logger(__name__)


class OpenCounts:
    """How many things each key holds open; ``open`` refuses past ``per_key`` or ``total``."""

    def __init__(self, per_key: int, total: int | None = None) -> None:
        if per_key < 1 or (total is not None and total < 1):
            raise ValueError(f"caps must be 1 or more, not per_key={per_key}, total={total}")
        self.per_key = per_key
        self.total = total
        self._open: dict[str, int] = {}
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def held(self, key: str) -> int:
        return self._open.get(key, 0)

    def open(self, key: str) -> str | None:
        """Count one more for ``key``: None when allowed, else which cap refused it."""
        if self.total is not None and self._count >= self.total:
            return "total"
        if self._open.get(key, 0) >= self.per_key:
            return "per_key"
        self._open[key] = self._open.get(key, 0) + 1
        self._count += 1
        return None

    def close(self, key: str) -> None:
        left = self._open.get(key, 0) - 1
        if left < 0:
            return
        self._count -= 1
        if left:
            self._open[key] = left
        else:
            del self._open[key]


class RefusalLog:
    """Logs ``flood_refused`` for a (what, client) once per ``window_s``: the first refusal,
    then, at the first one after the window, how many were refused silently meanwhile."""

    def __init__(
        self,
        window_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self._window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._seen: dict[tuple[str, str], list[float]] = {}  # [window end, refused since]

    def refused(self, what: str, client: str, **fields: Any) -> bool:
        """Note one refusal; True when it was logged (the first of its window)."""
        now = self._clock()
        key = (what, client)
        entry = self._seen.get(key)
        if entry is not None and now < entry[0]:
            entry[1] += 1
            return False
        silent = int(entry[1]) if entry is not None else 0
        self._seen.pop(key, None)
        self._seen[key] = [now + self._window_s, 0]
        while len(self._seen) > self._max_keys:
            del self._seen[next(iter(self._seen))]
        log.warning(
            "flood_refused",
            what=what,
            client=client,
            refused_silently=silent,
            window_s=self._window_s,
            **fields,
        )
        return True
