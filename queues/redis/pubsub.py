"""Redis pub/sub for the Redis store: one connection per process, fanned out to subscribers.

Every subscription of a store shares one SUBSCRIBE connection and one reader task, so a
process holding many chat websockets holds one pub/sub connection, not one per socket.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from queues.errors import StoreUnavailable
from queues.redis.cancel import KeptCancel
from queues.tasks import stop_task

__all__ = ["Fanout"]

_SUBSCRIBE_TIMEOUT_S = 10.0


class Fanout:
    """Subscriptions to Redis channels, each delivering payloads to local iterators."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._queues: dict[str, set[asyncio.Queue[str | StoreUnavailable]]] = defaultdict(set)
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        """Subscribed when this returns: a payload published afterwards is delivered."""
        queue: asyncio.Queue[str | StoreUnavailable] = asyncio.Queue()
        async with self._lock:
            if not self._queues[channel]:
                await self._subscribe(channel)
            self._queues[channel].add(queue)
        try:
            yield _drain(queue)
        finally:
            async with self._lock:
                self._queues[channel].discard(queue)
                if not self._queues[channel]:
                    del self._queues[channel]
                    if self._pubsub is not None:
                        with suppress(RedisConnectionError, RedisTimeoutError), KeptCancel():
                            await self._pubsub.unsubscribe(channel)

    async def aclose(self) -> None:
        await self._reset(StoreUnavailable("the store was closed; open it again to subscribe"))

    async def _subscribe(self, channel: str) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmed[channel] = confirmed
        try:
            if self._pubsub is None:
                self._pubsub = self._client.pubsub()
            with KeptCancel():  # redis-py on Python 3.11 can lose a cancel (cancel.py)
                await self._pubsub.subscribe(channel)
            if self._reader is None:
                self._reader = asyncio.create_task(self._read(self._pubsub))
            async with asyncio.timeout(_SUBSCRIBE_TIMEOUT_S):
                await confirmed
        except (RedisConnectionError, RedisTimeoutError, TimeoutError) as exc:
            del self._confirmed[channel]
            confirmed.cancel()
            error = StoreUnavailable(
                f"Redis did not confirm SUBSCRIBE {channel} ({exc or 'timed out'}); retry"
            )
            await self._reset(error)
            raise error from exc
        finally:
            self._confirmed.pop(channel, None)

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                with KeptCancel():
                    message: dict[str, Any] | None = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                channel = str(message["channel"])
                if message["type"] == "message":
                    for queue in self._queues.get(channel, ()):
                        queue.put_nowait(str(message["data"]))
                elif message["type"] == "subscribe":
                    confirmed = self._confirmed.get(channel)
                    if confirmed is not None and not confirmed.done():
                        confirmed.set_result(None)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            self._reader = None  # _reset must not cancel this task, which is ending
            error = StoreUnavailable(f"Redis pub/sub connection lost ({exc}); subscribe again")
            await self._reset(error)

    async def _reset(self, error: StoreUnavailable) -> None:
        """Drop the connection; every subscriber's iterator raises ``error``."""
        reader, self._reader = self._reader, None
        pubsub, self._pubsub = self._pubsub, None
        await stop_task(reader)
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(error)
        # Subscribers after this one subscribe again, on a new connection.
        self._queues.clear()
        for confirmed in self._confirmed.values():
            if not confirmed.done():
                confirmed.set_exception(error)
        if pubsub is not None:
            # redis-py types aclose() in some releases and not in others: call it through a
            # typed name so both type-check.
            close = cast(Callable[[], Awaitable[None]], pubsub.aclose)
            await close()


async def _drain(queue: asyncio.Queue[str | StoreUnavailable]) -> AsyncIterator[str]:
    while True:
        item = await queue.get()
        if isinstance(item, StoreUnavailable):
            raise item
        yield item
