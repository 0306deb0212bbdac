"""A caller's callback as the store keeps it: where to call, how the tries went, what is due.

One document per contact (kind ``callback``, key the contact's id), changed only by
compare-and-set (``Store.put_doc`` with the tag it was read with), so that router processes
sharing the store agree on it without a lock: booking creates it only when absent; a claim's
dial moves it from booked to calling (one process wins, one call is placed); the answer moves
it to connected; an unanswered try back to booked, due again ``retry_s`` later, or after the
last try to failed. The contact itself stays in its queue, untouched, with its score.

Dials that are due later (a retry, or a claim before the team opens) are listed in one more
document (kind ``callback-due``, key ``all``: contact id -> due time) that every process
looks at now and then; it holds only those, a handful, however many callers wait.

States: ``booked`` (waiting for a claim, or for its due time), ``calling`` (the customer's
phone rings), ``connected`` (answered and put through), ``failed`` (every try went
unanswered), ``cancelled`` (an agent took the call while the caller was still booking it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from queues import Store, StoreUnavailable, to_iso

__all__ = ["Callback", "CallbackBook", "CallbackState"]

KIND = "callback"
DUE_KIND, DUE_KEY = "callback-due", "all"
#: Compare-and-set tries before giving up (each lost one means another writer came first).
_TRIES = 20


class CallbackState(StrEnum):
    BOOKED = "booked"
    CALLING = "calling"
    CONNECTED = "connected"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Callback:
    """One contact's callback. ``caller_id`` is our number the customer called (the
    callback comes from it, and so does the SMS); ``due_at`` is the earliest dial."""

    number: str
    caller_id: str
    language: str
    booked_at: float
    due_at: float
    state: CallbackState = CallbackState.BOOKED
    attempts: int = 0
    call_sid: str = ""  # the call that booked it
    attempt_sid: str = ""  # the current try's outbound call
    agent: str | None = None
    last_status: str | None = None  # how the last try ended: no-answer, busy, failed, ...
    sms: bool = False  # the "we could not reach you" SMS was posted

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["state"] = str(self.state)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Callback:
        fields = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in fields}
        known["state"] = CallbackState(known.get("state", "booked"))
        return cls(**known)

    def public(self, *, max_attempts: int | None = None) -> dict[str, Any]:
        """What the agent API and console show."""
        return {
            "number": self.number,
            "state": str(self.state),
            "attempts": self.attempts,
            "max_attempts": max_attempts,
            "booked_at": to_iso(self.booked_at),
            "due_at": to_iso(self.due_at),
            "agent": self.agent,
            "last_status": self.last_status,
            "sms": self.sms,
        }

    # -- transitions (pure) ------------------------------------------------------------------
    def dialing(self, agent: str, now: float) -> Callback:
        return dataclasses.replace(
            self,
            state=CallbackState.CALLING,
            attempts=self.attempts + 1,
            agent=agent,
            attempt_sid="",
            due_at=now,
        )

    def connected(self, attempt: int, call_sid: str) -> Callback | None:
        """Try ``attempt`` was answered (None: not the try under way)."""
        if self.attempts != attempt or self.state is not CallbackState.CALLING:
            return None
        sid = self.attempt_sid or call_sid
        return dataclasses.replace(self, state=CallbackState.CONNECTED, attempt_sid=sid)

    def cancelled(self) -> Callback | None:
        """An agent took the call while it was being booked (None: dialled already)."""
        if self.state is not CallbackState.BOOKED or self.attempts:
            return None
        return dataclasses.replace(self, state=CallbackState.CANCELLED)

    def replacing(self, old: Callback) -> Callback | None:
        """This booking instead of ``old`` (None: ``old`` is this same booking, made by a
        retried webhook, or its call is under way)."""
        if old.call_sid == self.call_sid or old.state is CallbackState.CALLING:
            return None
        return self

    def unanswered(self, status: str, now: float, *, attempts: int, retry_s: float) -> Callback:
        """A try that reached nobody: due again after ``retry_s``, or failed after the last."""
        if self.attempts >= attempts:
            return dataclasses.replace(self, state=CallbackState.FAILED, last_status=status)
        return dataclasses.replace(
            self, state=CallbackState.BOOKED, last_status=status, due_at=now + retry_s
        )


class CallbackBook:
    """The callbacks and the due list in the store, every change a compare-and-set."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, contact_id: str) -> Callback | None:
        data, _ = await self._store.get_doc(KIND, contact_id)
        return None if data is None else Callback.from_dict(data)

    async def create(self, contact_id: str, callback: Callback) -> bool:
        """Book it; False when the contact has a callback already."""
        return await self._store.put_doc(KIND, contact_id, callback.to_dict(), tag="") is not None

    async def change(
        self, contact_id: str, step: Callable[[Callback], Callback | None]
    ) -> Callback | None:
        """Apply ``step`` to the stored callback atomically (tried again when another writer
        came first); None when there is none or ``step`` wants no change (returns None)."""
        for _ in range(_TRIES):
            data, tag = await self._store.get_doc(KIND, contact_id)
            if data is None:
                return None
            changed = step(Callback.from_dict(data))
            if changed is None:
                return None
            if await self._store.put_doc(KIND, contact_id, changed.to_dict(), tag=tag):
                return changed
        raise StoreUnavailable(f"the callback of {contact_id} changed {_TRIES} times meanwhile")

    # -- the due list ----------------------------------------------------------------------
    async def schedule(self, contact_id: str, due_at: float) -> None:
        await self._edit_due(lambda due: {**due, contact_id: due_at})

    async def take_due(self, now: float) -> list[str]:
        """The contacts whose dial is due, taken off the list (by this caller only)."""
        taken: list[str] = []

        def take(due: dict[str, float]) -> dict[str, float] | None:
            taken[:] = [cid for cid, at in due.items() if at <= now]
            return {cid: at for cid, at in due.items() if at > now} if taken else None

        await self._edit_due(take)
        return taken

    async def next_due(self) -> float | None:
        data, _ = await self._store.get_doc(DUE_KIND, DUE_KEY)
        due = (data or {}).get("due") or {}
        return min(due.values(), default=None)

    async def _edit_due(self, edit: Callable[[dict[str, float]], dict[str, float] | None]) -> None:
        for _ in range(_TRIES):
            data, tag = await self._store.get_doc(DUE_KIND, DUE_KEY)
            due = {str(k): float(v) for k, v in ((data or {}).get("due") or {}).items()}
            edited = edit(due)
            if edited is None:
                return
            if await self._store.put_doc(DUE_KIND, DUE_KEY, {"due": edited}, tag=tag):
                return
        raise StoreUnavailable(f"the callback due list changed {_TRIES} times meanwhile")
