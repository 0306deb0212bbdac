"""Running the Redis store's Lua scripts: loading, and turning replies into exceptions.

Scripts are registered once and called with EVALSHA; a server that lost them (SCRIPT FLUSH,
a restart, a failover, a new cluster node) answers NOSCRIPT and the script is loaded again.
Every Redis keeps the text of each script loaded, so a script carries only the helpers of
``_common.lua`` it calls, without comments or indentation (their text: 395 KB, now 64 KB).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Coroutine
from importlib import resources
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

from queues.buckets import COUNTS, EXTRAS, RECENT_HANDLES, SATISFIED, SCALARS, WAIT_EDGES_S
from queues.capacity import MAX_WRAP_UP_S
from queues.errors import (
    ContactNotFound,
    InvalidTransition,
    NotHolder,
    QueueError,
    StoreUnavailable,
)
from queues.redis.batch import ScriptBatches
from queues.redis.keys import BUCKET_TTL_S, READY_CHANNELS, SCRIPTS

__all__ = [
    "UNAVAILABLE",
    "Client",
    "Scripts",
    "check",
    "script_source",
    "translated",
    "unavailable",
]

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
        #: Calls made together are sent together on one Redis (``batch.py``).
        self.batches = None if isinstance(client, RedisCluster) else ScriptBatches(client)

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
        script = self._scripts[name]
        if self.batches is not None:
            reply: list[Any] = await self.batches.run(script, keys, args)
        else:
            reply = await script(keys=keys, args=args)
        return reply


# -- the scripts' text -------------------------------------------------------------------
#: A top-level definition (at the start of a line, not indented) of _common.lua or of the
#: constants: ``local function f`` or ``local X =``; each runs up to the next one.
_DEFINITION = re.compile(r"^local (?:function )?([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.cache
def script_source(name: str) -> str:
    """A script's text with the constants and helpers of ``_common.lua`` it uses in front
    of it (and those they use), in their order there, without comments or indentation.

    The ``#!lua`` line (Redis 7) makes a cluster node refuse any key of another slot, even
    one the script builds itself (claim and requeue build entry keys from their team's
    prefix); on one Redis it changes nothing.
    """
    lua = resources.files("queues.redis") / "lua"
    script = _compact((lua / f"{name}.lua").read_text("utf-8"))
    helpers = _definitions(_constants() + (lua / "_common.lua").read_text("utf-8"))
    wanted = set(_NAME.findall(script))
    for helper, body in reversed(helpers):  # a helper calls only those defined before it
        if helper in wanted:
            wanted |= set(_NAME.findall(body))
    used = [body for helper, body in helpers if helper in wanted]
    return "\n".join(["#!lua", *used, script]) + "\n"


def _compact(lua: str) -> str:
    """Lua without its comment lines, blank lines and indentation (the scripts keep no
    long strings or block comments, so this is all a line-by-line cut)."""
    lines = (line.strip() for line in lua.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("--"))


def _definitions(lua: str) -> list[tuple[str, str]]:
    starts = [(m.start(), m.group(1)) for m in _DEFINITION.finditer(lua)]
    ends = [start for start, _ in starts[1:]] + [len(lua)]
    return [
        (helper, _compact(lua[start:end]))
        for (start, helper), end in zip(starts, ends, strict=True)
    ]


def _constants() -> str:
    """The constants the scripts share with Python: the buckets' layout and wait bins, the
    longest wrap-up a load counts, the lowest satisfied survey score, the channels whose
    ready indexes make a team's queue."""
    index = {name: i + 1 for i, name in enumerate(COUNTS)}  # Lua counts from 1
    names = (*SCALARS, "answered_0", "abandoned_0", *EXTRAS)
    edges_us = ", ".join(str(edge * 1_000_000) for edge in WAIT_EDGES_S)
    return (
        f"local BUCKET_TTL_S = {BUCKET_TTL_S}\n"
        f"local MAX_WRAP_UP_S = {MAX_WRAP_UP_S:.17g}\n"
        f"local SATISFIED = {SATISFIED}\n"
        f"local RECENT_HANDLES = {RECENT_HANDLES}\n"
        f"local WAIT_EDGES_US = {{{edges_us}}}\n"
        f"local B = {{{', '.join(f'{n} = {index[n]}' for n in names)}}}\n"
        f"local READY_CHANNELS = {{{', '.join(repr(c) for c in READY_CHANNELS)}}}\n"
    )
