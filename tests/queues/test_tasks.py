"""Stopping a background task (``queues/tasks.py``): the stopped task ends, and a cancel of
the task doing the stopping is kept, which ``suppress(CancelledError)`` around the await lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from queues import stop_task, stop_tasks


async def _forever() -> None:
    await asyncio.Event().wait()


async def _fails() -> None:
    raise ValueError("broken")


async def _fails_when_cancelled() -> None:
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        raise ValueError("broken on the way out") from None


async def _slow_to_end(cleaning: asyncio.Event, *, swallow: bool) -> None:
    """Cancelled, cleans up until cancelled again; then ends cancelled, or (``swallow``)
    returns as if nothing happened."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        cleaning.set()
        # The cleanup; the bound only ends a failed test's loop.
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(1.0):
                await asyncio.Event().wait()
        if not swallow:
            raise


async def _old_stop(task: asyncio.Task[None]) -> None:
    """What the shutdown paths did before ``stop_task``."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _cancel_while_stopping(
    stopper: Callable[[asyncio.Task[None]], Coroutine[Any, Any, None]], *, swallow: bool
) -> asyncio.Task[None]:
    """Stop a slow task with ``stopper`` in a waiter, cancel the waiter while the task
    cleans up; the waiter, ended."""
    cleaning = asyncio.Event()
    task = asyncio.create_task(_slow_to_end(cleaning, swallow=swallow))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(stopper(task))
    await cleaning.wait()
    waiter.cancel()
    await asyncio.wait({waiter})
    assert task.done()
    return waiter


async def test_stop_ends_a_running_task() -> None:
    task = asyncio.create_task(_forever())
    await asyncio.sleep(0)
    await stop_task(task)
    assert task.cancelled()


async def test_stop_ends_a_task_not_yet_started() -> None:
    task = asyncio.create_task(_forever())
    await stop_task(task)
    assert task.cancelled()


async def test_stop_tasks_cancels_every_task_before_waiting_for_one() -> None:
    cleaning = asyncio.Event()
    first = asyncio.create_task(_slow_to_end(cleaning, swallow=False))
    second = asyncio.create_task(_forever())
    await asyncio.sleep(0)
    stopping = asyncio.create_task(stop_tasks(first, None, second))
    await cleaning.wait()
    # `first` has not ended, and `second` is cancelled already.
    assert not first.done() and second.cancelled()
    first.cancel()  # ends the cleanup
    await stopping
    assert first.cancelled()


@pytest.mark.parametrize("swallow", [False, True], ids=["task_cancelled", "task_returns"])
async def test_a_waiter_cancelled_while_the_task_ends_is_cancelled(swallow: bool) -> None:
    waiter = await _cancel_while_stopping(stop_task, swallow=swallow)
    assert waiter.cancelled()


@pytest.mark.parametrize("swallow", [False, True], ids=["task_cancelled", "task_returns"])
async def test_the_suppress_pattern_lets_that_waiter_run_on(swallow: bool) -> None:
    """Why ``stop_task`` exists: the pattern it replaced, under the same cancel, returns."""
    waiter = await _cancel_while_stopping(_old_stop, swallow=swallow)
    assert not waiter.cancelled() and waiter.result() is None
    assert waiter.cancelling() == 1  # cancelled, and running on


async def test_a_timeout_around_stop_still_times_out() -> None:
    """The timeout's cancel, kept by ``stop_task``, becomes its TimeoutError."""
    cleaning = asyncio.Event()
    task = asyncio.create_task(_slow_to_end(cleaning, swallow=True))
    await asyncio.sleep(0)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.002):
            await stop_task(task)
    assert task.done()


async def test_a_cancel_taken_before_the_stop_is_not_raised_again() -> None:
    """Stopping from an ``except CancelledError`` or ``finally`` that handles a cancel."""
    task = asyncio.create_task(_forever())

    async def waiter() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await stop_task(task)
            return "cleaned up"
        return "not cancelled"

    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    waiting.cancel()
    assert await waiting == "cleaned up"
    assert task.cancelled()


async def test_a_finished_task_is_left_as_it_ended() -> None:
    async def answer() -> int:
        return 42

    task = asyncio.create_task(answer())
    await asyncio.sleep(0)
    await stop_task(task)
    assert task.result() == 42


async def test_a_task_cancelled_before_is_stopped_quietly() -> None:
    task = asyncio.create_task(_forever())
    task.cancel()
    await asyncio.wait({task})
    await stop_task(task)
    assert task.cancelled()


async def test_none_is_nothing_to_stop() -> None:
    await stop_task(None)
    await stop_tasks()
    await stop_tasks(None, None)


async def test_a_task_that_failed_raises_its_error() -> None:
    task = asyncio.create_task(_fails())
    await asyncio.wait({task})
    with pytest.raises(ValueError, match="broken"):
        await stop_task(task)


async def test_an_error_while_stopping_is_raised_once_every_task_has_ended() -> None:
    failing = asyncio.create_task(_fails_when_cancelled())
    cleaning = asyncio.Event()
    slow = asyncio.create_task(_slow_to_end(cleaning, swallow=False))
    later = asyncio.create_task(_fails())
    await asyncio.sleep(0)
    stopping = asyncio.create_task(stop_tasks(failing, slow, later))
    await cleaning.wait()
    assert not stopping.done()  # waits for `slow`, though `failing` has failed
    slow.cancel()
    with pytest.raises(ValueError, match="on the way out"):  # the first, in argument order
        await stopping
    assert slow.cancelled() and later.done()


async def test_a_cancel_of_the_waiter_wins_over_an_error_and_keeps_it() -> None:
    cleaning = asyncio.Event()
    slow = asyncio.create_task(_slow_to_end(cleaning, swallow=False))
    failing = asyncio.create_task(_fails_when_cancelled())
    await asyncio.sleep(0)

    async def waiter() -> BaseException | None:
        try:
            await stop_tasks(slow, failing)
        except asyncio.CancelledError as exc:
            return exc
        return None

    waiting = asyncio.create_task(waiter())
    await cleaning.wait()
    waiting.cancel()
    raised = await waiting
    assert isinstance(raised, asyncio.CancelledError)
    assert isinstance(raised.__cause__, ValueError)
