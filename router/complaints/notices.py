"""Delay notices: a complaint still open near its due date tells the holder so, once.

When a complaint comes in, the time its notice falls due goes into a due-date index in the
store: one document per UTC day (``complaint_notices`` / ``YYYY-MM-DD``: contact id -> due
time) and a cursor, the earliest day that may still hold one. Each process looks every
``check_s`` seconds, but only one at a time (a store lock): it reads the cursor and the days
from there to today, which is one or two documents, sends what is due and takes it out of
the index. That costs the same whether one contact waits or ten thousand do: nothing is read
per waiting contact, nothing per second. The notice itself is posted under an id of its own
(``complaint-notice:<contact id>``), so even two processes sending it at once send it once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import structlog

from queues import Store, StoreUnavailable, stop_task

__all__ = ["KIND", "LOCK", "NoticeBook", "NoticeWatch"]

log = structlog.get_logger(__name__)

KIND = "complaint_notices"
CURSOR = "cursor"
LOCK = "complaints:notices"
_TRIES = 50


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).date().isoformat()


class NoticeBook:
    """The due-date index of delay notices, in the store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(self, contact_id: str, due_at: float) -> None:
        """Index ``contact_id``'s notice as due at ``due_at`` (again: no change)."""
        day = _day(due_at)
        await self._change(day, lambda ids: {**ids, contact_id: due_at})
        for _ in range(_TRIES):  # the cursor never stays after a day that holds a notice
            cursor, tag = await self._store.get_doc(KIND, CURSOR)
            if cursor is not None and str(cursor["day"]) <= day:
                return
            if await self._store.put_doc(KIND, CURSOR, {"day": day}, tag=tag) is not None:
                return
        raise StoreUnavailable("the complaint notice cursor kept changing; try again")

    async def due(self, now: float) -> list[tuple[str, str]]:
        """(day, contact id) of every notice due at ``now``, earliest day first; moves the
        cursor past the days that hold nothing any more."""
        cursor, _ = await self._store.get_doc(KIND, CURSOR)
        if cursor is None:
            return []
        today = date.fromisoformat(_day(now))
        day = date.fromisoformat(str(cursor["day"]))
        found: list[tuple[str, str]] = []
        first_left: date | None = None
        while day <= today:
            ids, _ = await self._store.get_doc(KIND, day.isoformat())
            for contact_id, due_at in sorted((ids or {}).items(), key=lambda item: item[1]):
                if float(due_at) <= now:
                    found.append((day.isoformat(), contact_id))
            if ids and first_left is None:
                first_left = day
            day += timedelta(days=1)
        await self._advance(str(cursor["day"]), (first_left or today).isoformat())
        return found

    async def done(self, day: str, contact_id: str) -> None:
        """Take ``contact_id``'s notice out of the index (sent, or no longer needed)."""
        await self._change(day, lambda ids: {k: v for k, v in ids.items() if k != contact_id})

    async def _advance(self, was: str, to: str) -> None:
        if to <= was:
            return
        cursor, tag = await self._store.get_doc(KIND, CURSOR)
        if cursor is not None and str(cursor["day"]) == was:  # else an add moved it back
            await self._store.put_doc(KIND, CURSOR, {"day": to}, tag=tag)

    async def _change(
        self, day: str, change: Callable[[dict[str, float]], dict[str, float]]
    ) -> None:
        for _ in range(_TRIES):
            data, tag = await self._store.get_doc(KIND, day)
            changed = change({str(k): float(v) for k, v in (data or {}).items()})
            if not changed and data is None:
                return
            # An emptied day stays as {} rather than deleted: a delete is not a
            # compare-and-set, and would lose a notice added meanwhile.
            if await self._store.put_doc(KIND, day, changed, tag=tag) is not None:
                return
        raise StoreUnavailable(f"the complaint notices of {day} kept changing; try again")


class NoticeWatch:
    """Sends the delay notices that are due, from one process at a time."""

    def __init__(
        self,
        store: Store,
        book: NoticeBook,
        send: Callable[[str], Awaitable[bool]],
        *,
        clock: Callable[[], float],
        check_s: float,
    ) -> None:
        self._store = store
        self._book = book
        self._send = send
        self._clock = clock
        self._check_s = check_s
        self._owner = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> int:
        """Send every notice due now (when no other process is at it); how many went."""
        if not await self._store.acquire_lock(LOCK, self._owner, ttl_s=self._check_s + 60):
            return 0
        sent = 0
        try:
            for day, contact_id in await self._book.due(self._clock()):
                if await self._send(contact_id):
                    sent += 1
                await self._book.done(day, contact_id)
        finally:
            await self._store.release_lock(LOCK, self._owner)
        return sent

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except StoreUnavailable as exc:
                log.warning("complaint_notices_unavailable", error=str(exc))
            except Exception:  # a bug must not stop every later notice
                log.exception("complaint_notices_error")
            await asyncio.sleep(self._check_s)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="complaint-notices")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await stop_task(task)
