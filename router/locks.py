"""Per-key locks: work on one key (a conversation, an account) runs one at a time, in this
process and, through the store, across every process sharing it.

In a process, waiters queue on an asyncio.Lock, so only one of them at a time asks the
store. The store's lock has a time to live (``ttl_s``): a process that dies holding it
blocks the key for at most that long. A key held elsewhere longer than ``wait_s`` raises
``StoreUnavailable``, so a channel answers the provider to retry later (503, SMTP 451).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from queues import Store, StoreUnavailable

__all__ = ["KeyLocks"]

#: The waits between tries for a key held by another process: short first, then longer.
_RETRY_S = (0.005, 0.01, 0.02, 0.05, 0.1)


class KeyLocks:
    """One lock per key, dropped from memory when nobody holds or waits for it; with a
    ``store``, also held in the store under ``prefix`` + key."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        prefix: str = "lock:",
        ttl_s: float = 30.0,
        wait_s: float = 10.0,
    ) -> None:
        self._store = store
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._wait_s = wait_s
        self._owner = uuid.uuid4().hex  # this process
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                if self._store is None:
                    yield
                    return
                name = self._prefix + key
                await self._acquire(self._store, name)
                try:
                    yield
                finally:
                    await self._store.release_lock(name, self._owner)
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def _acquire(self, store: Store, name: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_s
        tries = 0
        while not await store.acquire_lock(name, self._owner, ttl_s=self._ttl_s):
            if loop.time() >= deadline:
                raise StoreUnavailable(
                    f"{name} has been held by another process for {self._wait_s:g} s; retry"
                )
            await asyncio.sleep(_RETRY_S[min(tries, len(_RETRY_S) - 1)])
            tries += 1
