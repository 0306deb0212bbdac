"""Complaint numbers: ``<year>/<n>`` with n counting from 1 each year, kept in the store
(a document per year, changed by compare-and-set), so every router process hands out the
next one and none twice. A number is given to a complaint once (a document per complaint,
written only when absent): a resubmitted form keeps its number; two processes finishing the
same complaint at once may use up one number, never give the complaint two."""

from __future__ import annotations

from queues import Store, StoreUnavailable

__all__ = ["COUNTER_KIND", "NUMBER_KIND", "Numbers"]

COUNTER_KIND = "complaint_counter"
NUMBER_KIND = "complaint_number"
_TRIES = 50


class Numbers:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def of(self, contact_id: str, year: int) -> str:
        """The complaint's number, given now (the year's next) when it has none."""
        kept, _ = await self._store.get_doc(NUMBER_KIND, contact_id)
        if kept is not None:
            return str(kept["number"])
        number = f"{year}/{await self._next(year):05d}"
        if await self._store.put_doc(NUMBER_KIND, contact_id, {"number": number}, tag="") is None:
            kept, _ = await self._store.get_doc(NUMBER_KIND, contact_id)  # another was first
            if kept is not None:
                return str(kept["number"])
        return number

    async def _next(self, year: int) -> int:
        key = str(year)
        for _ in range(_TRIES):
            data, tag = await self._store.get_doc(COUNTER_KIND, key)
            n = int((data or {}).get("n", 0)) + 1
            if await self._store.put_doc(COUNTER_KIND, key, {"n": n}, tag=tag) is not None:
                return n
        raise StoreUnavailable(
            f"the complaint counter changed {_TRIES} times while a number was taken; try again"
        )
