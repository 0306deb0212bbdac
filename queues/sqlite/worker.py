"""Store methods that run on the database's worker thread, one transaction each."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeAlias, TypeVar

from queues.base import Clock
from queues.models import now_s
from queues.sqlite import db

__all__ = ["Conn", "OnDatabase", "light_writes", "reads", "writes"]

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S", bound="OnDatabase")
Conn: TypeAlias = sqlite3.Connection


class OnDatabase:
    """A store on one ``db.Database``, whose methods run on its worker thread."""

    def __init__(self, database: db.Database, *, clock: Clock | None = None) -> None:
        self._db = database
        self._clock = clock or now_s


def _on_worker(
    write: bool, durable: bool = True
) -> Callable[
    [Callable[Concatenate[S, Conn, P], T]], Callable[Concatenate[S, P], Coroutine[Any, Any, T]]
]:
    """Make ``method(self, conn, ...)`` the coroutine ``method(self, ...)``.

    The method runs on the database's worker thread inside one transaction. It reads the
    clock there, so event times follow commit order.
    """

    def decorate(
        method: Callable[Concatenate[S, Conn, P], T],
    ) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
        @functools.wraps(method)
        async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
            return await self._db.run(
                lambda conn: method(self, conn, *args, **kwargs), write=write, durable=durable
            )

        return run

    return decorate


reads = _on_worker(write=False)
writes = _on_worker(write=True)
#: Writes that need not survive a power cut (locks, which expire anyway): no fsync.
light_writes = _on_worker(write=True, durable=False)
