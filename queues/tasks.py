"""Stopping a background task without losing a cancel of the task that stops it.

The usual way, ``task.cancel()`` then ``await task`` inside ``suppress(CancelledError)``,
cannot tell the CancelledError of the stopped task from one meant for the waiter. When the
waiter is cancelled while it awaits (a timeout, a TaskGroup, the app's shutdown), CPython
passes that cancel on to the awaited task and the waiter sees only how that task ends: its
CancelledError, which the ``suppress`` swallows, or its result, if it caught the cancel
and returned. Either way the waiter runs on after being cancelled, and whoever waits for it
in turn may wait for ever.

A task counts the cancels asked of it and not yet taken back (``Task.cancelling()``, as
``queues/redis/cancel.py`` uses it). When that count is higher after the wait than before,
the waiter was cancelled meanwhile, and ``stop_task`` raises CancelledError again.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["stop_task", "stop_tasks"]


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (None: nothing to stop) and wait until it has ended; see ``stop_tasks``."""
    await stop_tasks(task)


async def stop_tasks(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel ``tasks`` together (Nones skipped) and wait until every one has ended.

    A task's own CancelledError, or its result, is dropped. A task that failed otherwise
    (before or while it was stopped) raises its exception here, the first in argument
    order, once all have ended. CancelledError is raised when the task calling this was
    itself cancelled while it waited, chained to such an exception if there was one.
    """
    live = [task for task in tasks if task is not None]
    for task in live:
        task.cancel()
    current = asyncio.current_task()
    before = 0 if current is None else current.cancelling()
    error: Exception | None = None
    for task in live:
        try:
            await task
        except asyncio.CancelledError:
            pass  # the task's, or ours: ours shows in cancelling() below
        except Exception as exc:
            error = error or exc
    if current is not None and current.cancelling() > before:
        raise asyncio.CancelledError("cancelled while stopping a task") from error
    if error is not None:
        raise error
