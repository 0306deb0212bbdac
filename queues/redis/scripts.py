"""Running the Redis store's Lua scripts: loading, and turning replies into exceptions.

Scripts are registered once and called with EVALSHA; a server that lost them (SCRIPT FLUSH,
a restart, a failover, a new cluster node) answers NOSCRIPT and the script is loaded again.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import (
    ClusterDownError,
    ClusterError,
    ReadOnlyError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from queues.errors import (
    ContactNotFound,
    InvalidTransition,
    NotHolder,
    QueueError,
    StoreUnavailable,
)
from queues.redis.keys import SCRIPTS, script_source

__all__ = ["UNAVAILABLE", "Client", "Scripts", "check", "translated", "unavailable"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: The connection a store uses: one Redis, or a Redis Cluster.
Client = Redis | RedisCluster

#: What a server that cannot answer now raises: down, timing out, a read-only replica
#: (mid-failover), a cluster that is down, resharding or missing slots.
UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    ClusterDownError,
    ClusterError,
    TryAgainError,
    SlotNotCoveredError,
)


def unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"Redis is unavailable ({exc}); check that it runs, then retry")


def translated(method: Callable[_P, Awaitable[_R]]) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """Turn what ``UNAVAILABLE`` lists into StoreUnavailable."""

    @functools.wraps(method)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await method(*args, **kwargs)
        except UNAVAILABLE as exc:
            raise unavailable(exc) from exc

    return wrapper


def check(reply: list[Any], contact_id: str, operation: str, agent: str = "") -> list[Any]:
    """The reply when its status is 'ok'; otherwise the exception the status stands for."""
    status = reply[0]
    if status == "ok":
        return reply
    if status == "notfound":
        raise ContactNotFound(contact_id)
    if status == "state":
        raise InvalidTransition(contact_id, reply[1], operation)
    if status == "notholder":
        raise NotHolder(contact_id, agent)
    raise QueueError(f"the Redis script for {operation} answered {reply!r}; this is a bug")


class Scripts:
    """The store's scripts, registered once (EVALSHA, reloaded on NOSCRIPT)."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._scripts = {name: client.register_script(script_source(name)) for name in SCRIPTS}

    async def load(self) -> None:
        """Load every script, so the first calls need no NOSCRIPT (on a cluster, SCRIPT
        LOAD goes to every primary)."""
        if isinstance(self._client, RedisCluster):
            for script in self._scripts.values():
                await self._client.script_load(script.script)
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for script in self._scripts.values():
                pipe.script_load(script.script)
            await pipe.execute()

    async def run(self, name: str, keys: list[str], args: list[str]) -> list[Any]:
        reply: list[Any] = await self._scripts[name](keys=keys, args=args)
        return reply
