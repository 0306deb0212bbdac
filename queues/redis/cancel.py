"""A cancellation redis-py lost, raised again when the call returns.

On Python 3.11, ``asyncio.wait_for`` returns the awaited result when a cancel arrives in
the loop turn where that result is ready, and the cancel is gone (CPython gh-86296, fixed
in 3.12). redis-py sends every command through ``wait_for`` when a socket timeout is set,
so a task cancelled while its command is being written goes on as if nothing happened: a
background loop stopped at shutdown runs on, and whoever awaits it waits for ever (seen: a
router's teardown hung on its directory refresh). Measured on a real redis-server, a loop
of HGETs cancelled at a random instant lost the cancel in 4 runs of 7.

A task keeps count of the cancels asked of it and not yet taken back
(``Task.cancelling()``). A call that returns (or fails) with that count higher than when
it began lost a cancel on the way: ``KeptCancel`` raises CancelledError there, as the
call should have. A timeout's cancel lost this way becomes its TimeoutError again, since
``asyncio.timeout`` sees the CancelledError it caused.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

__all__ = ["KeptCancel"]


class KeptCancel:
    """Around a Redis call in a task: a cancel it swallowed is raised when it ends."""

    __slots__ = ("_before", "_task")

    def __enter__(self) -> None:
        self._task = asyncio.current_task()
        self._before = 0 if self._task is None else self._task.cancelling()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is not None and issubclass(kind, asyncio.CancelledError):
            return  # not lost
        if self._task is not None and self._task.cancelling() > self._before:
            raise asyncio.CancelledError("cancelled during a Redis call") from error
