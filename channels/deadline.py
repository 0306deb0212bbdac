"""Answering a provider within its timeout, whatever the store does.

Twilio gives a webhook 15 s, Telegram and SMTP senders about as long; a frozen Redis holds
a command for its 10 s socket timeout plus the wait for a pooled connection. ``Deadline``
runs the ingest (store the message, advance the flow) and, when it has not finished in
``seconds``, raises ``StoreUnavailable`` so the channel answers what makes the provider
come back (HTTP 503, SMTP 451, a chat error frame asking to resend) instead of timing out.

The work itself is not cut off: it finishes (or fails) after the answer, so a slow store
still gets the message stored once, and the provider's retry is answered from what was
stored (every ingest is idempotent on its key). Only when too many are left running (a
store that does not answer at all) are the oldest cancelled, so they hold nothing for ever.

Work run with a ``key`` (the message's idempotency key) can be rejoined: a provider that can
be asked to come back without losing its request (a phone call, redirected to the same step)
waits for the same work again (``running`` finds it, ``rejoin`` waits another deadline) instead
of starting a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, TypeVar

import structlog

from queues import StoreUnavailable

__all__ = ["DEFAULT_DEADLINE_S", "Deadline", "DeadlinePassed"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

DEFAULT_DEADLINE_S = 5.0
#: Ingests left running after their answer; beyond this the oldest are cancelled.
MAX_LATE = 1000


class DeadlinePassed(StoreUnavailable):
    """The deadline passed with the work still running: it goes on after the answer."""


class Deadline:
    """Runs ingests under one deadline; ``late`` counts those still running past it."""

    def __init__(self, seconds: float = DEFAULT_DEADLINE_S, *, max_late: int = MAX_LATE) -> None:
        if not seconds > 0:
            raise ValueError(f"the ingest deadline must be positive, not {seconds!r}")
        self.seconds = seconds
        self._max_late = max_late
        self._late: dict[asyncio.Task[Any], str | None] = {}  # oldest first, with its key
        self._keyed: dict[str, asyncio.Task[Any]] = {}

    @property
    def late(self) -> int:
        return len(self._late)

    async def run(self, work: Awaitable[T], *, key: str | None = None) -> T:
        """``work``'s result, or DeadlinePassed once ``seconds`` have passed without it (the
        work goes on; with a ``key``, ``running(key)`` finds it until it is over)."""
        task = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait({task}, timeout=self.seconds)
        except asyncio.CancelledError:
            task.cancel()  # the request itself went away: nobody waits for the answer
            raise
        if task in done:
            return task.result()
        self._keep(task, key)
        log.warning("ingest_deadline_passed", deadline_s=self.seconds, late=len(self._late))
        raise self._passed()

    def running(self, key: str) -> asyncio.Task[Any] | None:
        """The work run with ``key`` that is still going on past its deadline, if any."""
        return self._keyed.get(key)

    async def rejoin(self, task: asyncio.Task[T]) -> T:
        """Wait another deadline for late ``task``: its result, or DeadlinePassed (it goes on;
        a request that goes away meanwhile does not cancel it)."""
        done, _ = await asyncio.wait({task}, timeout=self.seconds)
        if task in done:
            return task.result()
        raise self._passed()

    def _passed(self) -> DeadlinePassed:
        return DeadlinePassed(
            f"the work did not finish within the ingest deadline of {self.seconds:g} s: the "
            "store is slow, or this router is answering more than it can"
        )

    def _keep(self, task: asyncio.Task[Any], key: str | None) -> None:
        self._late[task] = key
        if key is not None:
            self._keyed[key] = task
        task.add_done_callback(self._finished)
        while len(self._late) > self._max_late:
            oldest = next(iter(self._late))
            self._forget(oldest)
            oldest.cancel()

    def _forget(self, task: asyncio.Task[Any]) -> None:
        key = self._late.pop(task, None)
        if key is not None and self._keyed.get(key) is task:
            del self._keyed[key]

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._forget(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, StoreUnavailable):
            log.error("late_ingest_failed", error=repr(error))

    async def aclose(self) -> None:
        """Cancel what is still running (the app is stopping)."""
        tasks = list(self._late)
        self._late.clear()
        self._keyed.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
