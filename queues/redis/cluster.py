"""Connecting the Redis store: one Redis, or a Redis Cluster.

``redis://host:port/0?cluster=1`` connects to a cluster through that node, ``cluster=0`` to
one Redis; without the option the server is asked (``INFO cluster``). On a cluster, every
script the store runs touches one hash tag (``queues/redis/keys.py``), commands that read
several tags are pipelined node by node, and pub/sub uses one plain connection to the
node of the URL (a cluster delivers PUBLISH to every node's subscribers).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from queues.redis.cancel import KeptCancel
from queues.redis.scripts import UNAVAILABLE, Client, unavailable

__all__ = ["Connection", "OnConnection", "connect", "operation", "split_url"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S", bound="OnConnection")

MAX_CONNECTIONS = 50  # per server; a cluster store also runs at most this many operations
_POOL_WAIT_S = 20.0  # a burst waits this long for a pooled connection
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _options() -> dict[str, Any]:
    # No automatic retries: a script resent after a timeout could run twice.
    return {
        "decode_responses": True,
        "retry": Retry(NoBackoff(), 0),
        "socket_connect_timeout": 5,
        "socket_timeout": 10,
    }


def split_url(url: str) -> tuple[str, bool | None]:
    """The URL without its ``cluster`` option, and the option (None when not given)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [value.lower() for name, value in query if name == "cluster"]
    rest = urlencode([(name, value) for name, value in query if name != "cluster"])
    plain = urlunsplit(parts._replace(query=rest))
    if not flags:
        return plain, None
    if flags[-1] in _TRUE:
        return plain, True
    if flags[-1] in _FALSE:
        return plain, False
    raise ValueError(f"store URL {url!r} has cluster={flags[-1]!r}; use cluster=1 or cluster=0")


@dataclass(slots=True)
class Connection:
    """What a store talks through: ``client`` for everything, ``pubsub`` for SUBSCRIBE."""

    client: Client
    pubsub: Redis
    cluster: bool
    limit: contextlib.AbstractAsyncContextManager[Any]

    async def aclose(self) -> None:
        if self.pubsub is not self.client:
            await self.pubsub.aclose()
        await self.client.aclose()


def _stale_retry() -> Retry:
    """One more try, on a new connection, of a command whose connection failed (a pooled
    connection the server closed: Redis restarted or a proxy dropped it). Never after a
    timeout: a command that may still be running is not sent twice."""
    return Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))


def _plain(url: str) -> Redis:
    options = {**_options(), "retry": _stale_retry()}
    pool = BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=_POOL_WAIT_S, **options
    )
    return Redis.from_pool(pool)


async def connect(url: str) -> Connection:
    """Connect to the Redis or Redis Cluster the URL names; nothing is sent but the probe."""
    plain_url, cluster = split_url(url)
    plain = _plain(plain_url)
    try:
        if cluster is None:
            info = await plain.info("cluster")
            cluster = str(info.get("cluster_enabled", 0)) == "1"
        if not cluster:
            return Connection(plain, plain, False, contextlib.nullcontext())
        client = RedisCluster.from_url(plain_url, max_connections=MAX_CONNECTIONS, **_options())
        try:
            await client.initialize()
        except BaseException:
            await client.aclose()
            raise
    except BaseException:
        await plain.aclose()
        raise
    # The cluster client raises instead of waiting when a node's connections run out, so
    # operations wait here for one of MAX_CONNECTIONS slots (each holds one connection per
    # node at a time).
    return Connection(client, plain, True, asyncio.Semaphore(MAX_CONNECTIONS))


class OnConnection:
    """A store on one ``Connection``; its ``operation`` methods share the connection's limit."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._redis = connection.client


def operation(
    method: Callable[Concatenate[_S, _P], Awaitable[_R]],
) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]]:
    """A store operation: waits for a connection slot (cluster mode) and turns an
    unreachable server into StoreUnavailable."""

    @functools.wraps(method)
    async def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with self._connection.limit:
            try:
                with KeptCancel():  # redis-py on Python 3.11 can lose a cancel (cancel.py)
                    return await method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                raise unavailable(exc) from exc

    return wrapper
