"""The outbox of the in-memory store: parcels by id, in groups that go out in post order.

Only the first pending parcel of a group is due; the next one becomes due (now) when it is
settled. Each call runs to completion without awaiting, so on one event loop each is one step.
"""

from __future__ import annotations

import copy
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from queues.base import Clock
from queues.models import Parcel, now_s

__all__ = ["MemoryOutbox"]


@dataclass(slots=True)
class _Held:
    payload: dict[str, Any]
    group: str
    attempts: int
    due_at: float
    posted_at: float
    seq: int


class MemoryOutbox:
    """Pending parcels, their groups' lines, the heads that are due, and the ids settled or
    posted within ``keep_s``."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or now_s
        self._parcels: dict[str, _Held] = {}
        self._groups: dict[str, deque[str]] = {}  # group -> pending ids in post order
        self._known: dict[str, float] = {}  # id -> forget after (pending or settled)
        self._seq = itertools.count()

    def _remembered(self, parcel_id: str, now: float) -> bool:
        until = self._known.get(parcel_id)
        if until is not None and until <= now and parcel_id not in self._parcels:
            del self._known[parcel_id]
            return False
        return until is not None

    async def post_parcel(
        self, parcel_id: str, payload: dict[str, Any], *, group: str, keep_s: float = 7 * 86_400
    ) -> bool:
        now = self._clock()
        if self._remembered(parcel_id, now):
            return False
        held = _Held(copy.deepcopy(payload), group, 0, now, now, next(self._seq))
        self._parcels[parcel_id] = held
        self._groups.setdefault(group, deque()).append(parcel_id)
        self._known[parcel_id] = now + keep_s
        return True

    async def take_parcels(
        self, *, lease_s: float, limit: int, ids: Sequence[str] = ()
    ) -> list[Parcel]:
        now = self._clock()
        heads = [line[0] for line in self._groups.values()]
        wanted = [i for i in ids if i in heads] if ids else heads
        due = sorted(
            (held.due_at, held.seq, parcel_id)
            for parcel_id in wanted
            if (held := self._parcels[parcel_id]).due_at <= now
        )
        taken: list[Parcel] = []
        for _, _, parcel_id in due[:limit]:
            held = self._parcels[parcel_id]
            held.attempts += 1
            held.due_at = now + lease_s
            taken.append(
                Parcel(
                    id=parcel_id,
                    payload=copy.deepcopy(held.payload),
                    attempts=held.attempts,
                    due_at=held.due_at,
                    posted_at=held.posted_at,
                )
            )
        return taken

    async def settle_parcel(self, parcel_id: str, attempts: int) -> bool:
        held = self._parcels.get(parcel_id)
        if held is None or held.attempts != attempts:
            return False
        del self._parcels[parcel_id]
        line = self._groups[held.group]
        line.remove(parcel_id)
        if line:
            self._parcels[line[0]].due_at = self._clock()
        else:
            del self._groups[held.group]
        return True

    async def defer_parcel(self, parcel_id: str, attempts: int, *, delay_s: float) -> bool:
        held = self._parcels.get(parcel_id)
        if held is None or held.attempts != attempts:
            return False
        held.due_at = self._clock() + delay_s
        return True

    async def parcels_pending(self) -> int:
        return len(self._parcels)
