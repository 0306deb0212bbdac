"""In-process pub/sub for the single-process stores (memory, sqlite)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["InProcessPubSub", "LocalPubSub"]

_CLOSED = object()


class LocalPubSub:
    """Fan-out of payloads to every subscriber of a channel in this process."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[object]]] = defaultdict(set)

    def publish(self, channel: str, payload: str) -> int:
        subscribers = self._subscribers.get(channel, ())
        for queue in subscribers:
            queue.put_nowait(payload)
        return len(subscribers)

    def close(self) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(_CLOSED)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        queue: asyncio.Queue[object] = asyncio.Queue()
        self._subscribers[channel].add(queue)

        async def messages() -> AsyncIterator[str]:
            while (item := await queue.get()) is not _CLOSED:
                yield str(item)

        try:
            yield messages()
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]


class InProcessPubSub:
    """The store Protocol's ``publish``/``subscribe`` on a ``LocalPubSub`` (``_pubsub``)."""

    _pubsub: LocalPubSub

    # -- pub/sub -------------------------------------------------------------------------
    async def publish(self, channel: str, payload: str) -> None:
        self._pubsub.publish(channel, payload)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        async with self._pubsub.subscribe(channel) as messages:
            yield messages
