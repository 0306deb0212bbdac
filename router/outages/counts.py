"""The topic counters of first messages, counted in groups (a group commit).

Every first message adds one to its topics' windowed counters (``Store.count_window``, in
minute slots and in day slots) and is tested on what the counters then say. Counted one by
one, that is two store calls per first message. Here the first messages of one process
that arrive while a flush of counts is in flight wait for the next flush, which carries
all of them: per slot kind, each key's adds summed over the batch (one ``count_window``
call per distinct sum, as the Protocol takes one ``add`` for all its keys; usually one or
two). Each caller awaits the flush that carries its message, so the count is in the store
before ``observe`` returns, as before, and nothing is kept only in memory.

The flush returns each key's total with the whole batch counted; each message gets back
what it would have seen counted alone, in arrival order: the total less the adds of the
messages after it in the batch. So the spike tests decide as they did, one message after
another (arrivals through other processes interleave with the batch as they did with
single messages).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from queues import Store

__all__ = ["Seen", "TopicCounts", "Window"]


@dataclass(frozen=True, slots=True)
class Window:
    """One kind of windowed counter (``Store.count_window``'s arguments but the keys)."""

    slot_s: int
    slots: int
    keep_s: float


@dataclass(frozen=True, slots=True)
class Seen:
    """What one message's counting saw: per key in its order, the count in each window."""

    counts: tuple[tuple[int, ...], ...]  # per window, per key


_Waiting = tuple[tuple[str, ...], asyncio.Future[Seen]]


class TopicCounts:
    """Adds one to keys' counters in every window; concurrent callers share a flush."""

    def __init__(self, store: Store, windows: Sequence[Window]) -> None:
        self._store = store
        self._windows = tuple(windows)
        self._waiting: list[_Waiting] = []
        self._flushing: asyncio.Task[None] | None = None

    async def count(self, keys: Sequence[str]) -> Seen:
        """Count one message under ``keys``; what it saw, once the store has the count."""
        future: asyncio.Future[Seen] = asyncio.get_running_loop().create_future()
        self._waiting.append((tuple(keys), future))
        if self._flushing is None:
            # A fresh context: the flush is everyone's, not the first caller's (its log
            # context, its deadline).
            self._flushing = asyncio.create_task(self._run(), context=contextvars.Context())
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    seen = await self._flush([keys for keys, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException:  # cancelled: nobody is left waiting for nothing
                    for _, future in (*batch, *self._waiting):
                        future.cancel()
                    self._waiting = []
                    raise
                for (_, future), found in zip(batch, seen, strict=True):
                    if not future.done():  # its caller may have given up: counted anyway
                        future.set_result(found)
        finally:
            self._flushing = None

    async def _flush(self, batch: list[tuple[str, ...]]) -> list[Seen]:
        adds = Counter(key for keys in batch for key in keys)
        by_add: defaultdict[int, list[str]] = defaultdict(list)
        for key, n in adds.items():
            by_add[n].append(key)
        # Per window, one call per distinct add (the Protocol takes one ``add`` for all the
        # keys of a call). One after another, as they were for one message: a gather's
        # tasks cost more than a memory store's calls, and there are few (two for one
        # message, a few for a crowd).
        calls = [(window, n, keys) for window in self._windows for n, keys in by_add.items()]
        found = [
            await self._store.count_window(
                keys, slot_s=window.slot_s, slots=window.slots, add=n, keep_s=window.keep_s
            )
            for window, n, keys in calls
        ]
        totals: dict[Window, dict[str, int]] = {window: {} for window in self._windows}
        for (window, _, keys), counts in zip(calls, found, strict=True):
            totals[window].update(zip(keys, counts, strict=True))
        per_window = [_one_by_one(batch, adds, totals[window]) for window in self._windows]
        return [Seen(tuple(window[i] for window in per_window)) for i in range(len(batch))]


def _one_by_one(
    batch: list[tuple[str, ...]], adds: Counter[str], totals: dict[str, int]
) -> list[tuple[int, ...]]:
    """What each message of ``batch`` would have seen counted alone, in arrival order:
    each key's total less the adds of the messages after it."""
    running = {key: totals[key] - n for key, n in adds.items()}
    seen = []
    for keys in batch:
        found = []
        for key in keys:
            running[key] += 1
            found.append(running[key])
        seen.append(tuple(found))
    return seen
