"""Running the Redis store's Lua scripts: loading, replies to exceptions, team hints.

Scripts that touch a team's keys take the team the caller believes the contact is in, with
that team's keys (so every key is declared in KEYS); a script that finds the contact in
another team answers ``team <name>`` and the call is retried with that team's keys. The
belief comes from a small per-process cache (filled by enqueue, claim and transfer) or a
HGET, so enqueue, claim and ack in one process are one EVALSHA each.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from queues.base import ContactNotFound, InvalidTransition, NotHolder, QueueError, StoreUnavailable
from queues.redis_keys import FIELDS, SCRIPTS, contact_key, script_source

__all__ = ["Build", "Scripts", "check", "translated", "unavailable"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_TEAM_CACHE_SIZE = 10_000
_TEAM_RETRIES = 8

#: Given the team a contact is believed to be in: the script's KEYS and ARGV.
Build = Callable[[str], tuple[list[str], list[str]]]


def unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"Redis is unavailable ({exc}); check that it runs, then retry")


def translated(method: Callable[_P, Awaitable[_R]]) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """Turn connection failures, timeouts and a read-only replica (mid-failover) into
    StoreUnavailable."""

    @functools.wraps(method)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await method(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, ReadOnlyError) as exc:
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

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._scripts = {name: client.register_script(script_source(name)) for name in SCRIPTS}
        self._teams: OrderedDict[str, str] = OrderedDict()

    async def load(self) -> None:
        """Load every script in one round trip, so the first calls need no NOSCRIPT."""
        async with self._client.pipeline(transaction=False) as pipe:
            for script in self._scripts.values():
                pipe.script_load(script.script)
            await pipe.execute()

    async def run(self, name: str, keys: list[str], args: list[str]) -> list[Any]:
        reply: list[Any] = await self._scripts[name](keys=keys, args=args)
        return reply

    async def run_in_team(self, name: str, contact_id: str, build: Build) -> list[Any]:
        """Run a script that needs the contact's team keys, retrying on a stale team."""
        team = self._teams.get(contact_id)
        if team is None:
            stored = await self._client.hget(contact_key(contact_id), FIELDS["team"])
            team = "" if stored is None else str(stored)
        for _ in range(_TEAM_RETRIES):
            reply = await self.run(name, *build(team))
            if reply[0] != "team":
                return reply
            team = str(reply[1])
            self.remember(contact_id, team)
        raise QueueError(
            f"contact {contact_id!r} kept moving between teams during {name}; try again"
        )

    def remember(self, contact_id: str, team: str) -> None:
        self._teams[contact_id] = team
        self._teams.move_to_end(contact_id)
        if len(self._teams) > _TEAM_CACHE_SIZE:
            self._teams.popitem(last=False)

    def forget(self, contact_id: str) -> None:
        self._teams.pop(contact_id, None)
